//! `shequ-survey`: serve survey collection over gRPC, or apply its migrations.

use clap::Parser;
use shequ_platform::cli::ServiceCli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shequ_survey::run_cli(ServiceCli::parse()).await
}
