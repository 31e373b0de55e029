//! The `shequ` command: client subcommands for the registry, the survey service and the
//! monitor (over gRPC, as any outside client), `shequ up` (the three services in one process)
//! and `shequ demo` (everything on a temporary database, from import to report).

pub mod cli;
pub mod client;
pub mod commands;
pub mod demo;
pub mod generate;
pub mod input;
pub mod output;
pub mod progress;
pub mod report;
pub mod residents;
pub mod slice;
pub mod up;

pub use crate::cli::{Cli, Command, run};
