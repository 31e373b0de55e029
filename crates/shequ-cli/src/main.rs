//! `shequ`: the platform's command line; the work happens in the `shequ_cli` library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shequ_cli::run(shequ_cli::Cli::parse()).await
}
