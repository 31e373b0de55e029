//! The `shequ` command: for now `shequ demo`, which runs the facility registry in-process on a
//! temporary SQLite database and drives it over gRPC like any outside client.

pub mod cli;
pub mod demo;
pub mod generate;
pub mod report;
pub mod slice;

pub use crate::cli::{Cli, Command, run};
