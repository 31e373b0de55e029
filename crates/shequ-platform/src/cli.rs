//! The command line every service binary shares: `serve` and `migrate`, with `--listen`,
//! `--database-url` and `--config`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Clone, Parser)]
pub struct ServiceCli {
    #[command(subcommand)]
    pub command: ServiceCommand,
    /// Configuration file (TOML), layered over the compiled-in defaults.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to listen on, e.g. 0.0.0.0:50051.
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// `sqlite://PATH` or `postgres://...`; prefer SHEQU__DATABASE__URL for credentials.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ServiceCommand {
    /// Serve gRPC until SIGTERM or Ctrl-C.
    Serve,
    /// Apply pending schema migrations and exit (for a Kubernetes Job).
    Migrate,
}

impl ServiceCli {
    /// The flags as configuration overrides, highest precedence.
    pub fn overrides(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(listen) = self.listen {
            out.push(("server.listen", listen.to_string()));
        }
        if let Some(url) = &self.database_url {
            out.push(("database.url", url.clone()));
        }
        out
    }
}
