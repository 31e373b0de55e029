//! `shequ-monitoring`: serve plan monitoring over gRPC, or apply its migrations.

use clap::Parser;
use shequ_platform::cli::ServiceCli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shequ_monitoring::run_cli(ServiceCli::parse()).await
}
