//! `shequ-survey`: serve survey collection over gRPC, or apply its migrations.

use clap::Parser;
use shequ_platform::cli::ServiceCli;

/// mimalloc: a bulk load allocates and frees a few small buffers for every answer, and the system
/// allocator took about a fifth of the service's time doing it. It also peaks lower over a
/// national load; idle, the service holds about 30 MiB more (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shequ_survey::run_cli(ServiceCli::parse()).await
}
