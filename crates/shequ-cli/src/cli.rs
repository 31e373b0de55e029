//! The command line: subcommands and their flags, parsed with clap, and their dispatch.

use clap::{Parser, Subcommand};

use crate::client::{Clients, Endpoints};
use crate::commands::monitoring::{self, EvaluateArgs, EvaluationsCommand, ReportArgs};
use crate::commands::plans::{self, PlansCommand};
use crate::commands::registry::{self, DivisionsCommand, FacilitiesCommand};
use crate::commands::survey::{self, QuestionnairesCommand, ResponsesCommand, RoundsCommand};
use crate::demo::{self, DemoOptions};
use crate::output::Format;
use crate::up::{self, UpOptions};

/// Shequ: the urban-rural community service platform. Data goes to stdout, messages to stderr.
///
/// Exit codes: 0 success; 1 other failure; 2 usage; 3 bad input (a file, or INVALID_ARGUMENT);
/// 4 NOT_FOUND; 5 ALREADY_EXISTS, ABORTED or FAILED_PRECONDITION; 6 a service unreachable
/// (UNAVAILABLE, DEADLINE_EXCEEDED); 7 some responses of a submission rejected; 8 credentials
/// refused (UNAUTHENTICATED, PERMISSION_DENIED).
#[derive(Debug, Clone, Parser)]
#[command(name = "shequ", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub endpoints: Endpoints,
    /// Output format of the data on stdout (`html` only for `report`).
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Start the three services on free loopback ports with a temporary SQLite database, import
    /// Hebei, register facilities, collect a satisfaction round, evaluate the national plan and
    /// print the report.
    Demo {
        /// BatchCreateFacilities calls in flight at once.
        #[arg(long, default_value_t = crate::commands::registry::BATCHES_IN_FLIGHT, value_name = "N")]
        in_flight: usize,
        /// Directory for the HTML report; default the system's temporary directory.
        #[arg(long, value_name = "DIR")]
        report_dir: Option<std::path::PathBuf>,
    },
    /// Run the registry, the survey service and the monitor in this process until Ctrl-C.
    Up(UpOptions),
    /// The administrative hierarchy (registry).
    #[command(subcommand)]
    Divisions(DivisionsCommand),
    /// Community service facilities (registry).
    #[command(subcommand)]
    Facilities(FacilitiesCommand),
    /// Survey questionnaires.
    #[command(subcommand)]
    Questionnaires(QuestionnairesCommand),
    /// Survey rounds, their results and coverage.
    #[command(subcommand)]
    Rounds(RoundsCommand),
    /// Survey responses.
    #[command(subcommand)]
    Responses(ResponsesCommand),
    /// Plans and their targets (monitor).
    #[command(subcommand)]
    Plans(PlansCommand),
    /// Evaluate a plan now.
    Evaluate(EvaluateArgs),
    /// Stored evaluations (monitor).
    #[command(subcommand)]
    Evaluations(EvaluationsCommand),
    /// An evaluation's report: `-o table` (text), `csv`, `json`, or `html` (writes a file and
    /// prints its path).
    Report(ReportArgs),
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.format == Format::Html && !matches!(cli.command, Command::Report(_)) {
        return Err(crate::client::CliError::new(
            crate::client::ExitCode::Usage,
            "`-o html` is only for `shequ report`",
        )
        .into());
    }
    let clients = Clients::new(cli.endpoints);
    let format = cli.format;
    match cli.command {
        Command::Demo {
            in_flight,
            report_dir,
        } => {
            demo::run(&DemoOptions {
                in_flight,
                report_dir,
                ..DemoOptions::default()
            })
            .await
        }
        Command::Up(options) => up::run(&options).await,
        Command::Divisions(c) => registry::divisions(&clients, format, c).await,
        Command::Facilities(c) => registry::facilities(&clients, format, c).await,
        Command::Questionnaires(c) => survey::questionnaires(&clients, format, c).await,
        Command::Rounds(c) => survey::rounds(&clients, format, c).await,
        Command::Responses(c) => survey::responses(&clients, format, c).await,
        Command::Plans(c) => plans::plans(&clients, format, c).await,
        Command::Evaluate(args) => monitoring::evaluate(&clients, format, args).await,
        Command::Evaluations(c) => monitoring::evaluations(&clients, format, c).await,
        Command::Report(args) => monitoring::report(&clients, format, args).await,
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
        assert!(matches!(cli.command, Command::Demo { in_flight: 3, .. }));
        assert!(Cli::try_parse_from(["shequ", "demo", "--in-flight", "8"]).is_ok());
        assert!(Cli::try_parse_from(["shequ"]).is_err());
        let cli = Cli::try_parse_from([
            "shequ",
            "divisions",
            "get",
            "13",
            "-o",
            "json",
            "--registry",
            "http://127.0.0.1:1",
        ])
        .unwrap();
        assert_eq!(cli.format, Format::Json);
        assert_eq!(cli.endpoints.registry, "http://127.0.0.1:1");
        assert!(Cli::try_parse_from(["shequ", "report", "plans/x", "-o", "html"]).is_ok());
        assert!(Cli::try_parse_from(["shequ", "plans", "load", "--national"]).is_ok());
        assert!(Cli::try_parse_from(["shequ", "evaluations", "compare", "a", "b"]).is_ok());
        assert!(
            Cli::try_parse_from(["shequ", "rounds", "export", "rounds/x", "--out", "-"]).is_ok()
        );
        assert!(Cli::try_parse_from(["shequ", "facilities", "delete", "f"]).is_err());
        assert!(
            Cli::try_parse_from([
                "shequ",
                "divisions",
                "get",
                "13",
                "--token",
                "t",
                "--token-file",
                "f"
            ])
            .is_err()
        );
    }
}
