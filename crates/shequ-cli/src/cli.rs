//! The command line: subcommands and their flags, parsed with clap.

use clap::{Parser, Subcommand};

use crate::demo::{self, DemoOptions};

/// Shequ: the urban-rural community service platform.
#[derive(Debug, Clone, Parser)]
#[command(name = "shequ", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the facility registry in-process on a temporary SQLite database, import Hebei's
    /// divisions, register facilities over gRPC and report the plan's indicators.
    Demo {
        /// CreateFacility calls in flight at once.
        #[arg(long, default_value_t = 32, value_name = "N")]
        in_flight: usize,
    },
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo { in_flight } => {
            demo::run(&DemoOptions {
                in_flight,
                ..DemoOptions::default()
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_line_is_well_formed() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["shequ", "demo"]).unwrap();
        assert!(matches!(cli.command, Command::Demo { in_flight: 32 }));
        assert!(Cli::try_parse_from(["shequ", "demo", "--in-flight", "8"]).is_ok());
        assert!(Cli::try_parse_from(["shequ"]).is_err());
    }
}
