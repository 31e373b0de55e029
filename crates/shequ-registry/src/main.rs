//! `shequ-registry`: serve the facility registry over gRPC, or apply its migrations.

use clap::Parser;
use shequ_platform::cli::ServiceCli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shequ_registry::run_cli(ServiceCli::parse()).await
}
