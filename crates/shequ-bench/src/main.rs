//! `shequ-bench`: benchmarks of the registry over gRPC that print their figures, and ratios to
//! baselines measured in the same run. Each run starts a registry on loopback with a fresh
//! database (SQLite, PostgreSQL or both) through `shequ_testkit`; nothing is asserted.
//!
//! - `import`: ImportDivisions of the five statistical files, then the same again (all unchanged).
//! - `get-facility`: closed-loop GetFacility on random existing facilities against the standard
//!   gRPC health Check on the same server as the empty-RPC baseline.
//! - `facts`: StreamLeafUnitFacts for the whole country, one call per province.
//! - `survey-ingest`: BulkSubmitResponses into a survey service (SQLite / PostgreSQL), against a
//!   raw COPY of the same rows on PostgreSQL, with the process's peak memory.
//! - `survey-results`: the same ingest, then GetRoundResults / GetRoundCoverage of the region.

mod common;
mod evaluate;
mod facts;
mod get_facility;
mod import;
mod survey;

use clap::{Parser, Subcommand};

use crate::common::{BackendArgs, CreateArgs, DataArgs};

#[derive(Debug, Parser)]
#[command(name = "shequ-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The built-in national plan evaluated over the whole country, then reads of one division's
    /// stored results.
    Evaluate {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        backend: BackendArgs,
        /// Facilities to create before evaluating, so the indicators have values.
        #[arg(long, default_value_t = 0)]
        facilities: u64,
        #[command(flatten)]
        create: CreateArgs,
        /// Reads of one division's results after the evaluation.
        #[arg(long, default_value_t = 2000)]
        reads: u64,
        /// Responses to a national survey round submitted before evaluating (0: no round, so the
        /// survey indicators have no data and no survey facts are streamed).
        #[arg(long, default_value_t = 0)]
        survey_responses: u64,
    },
    /// Import the five division files over gRPC, then import them again.
    Import {
        /// Directory with the five `*.csv.gz` files.
        #[arg(long)]
        data: std::path::PathBuf,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// GetFacility throughput and latency against the empty-RPC (health Check) baseline.
    GetFacility {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        backend: BackendArgs,
        /// Facilities to create before the load.
        #[arg(long, default_value_t = 600_000)]
        facilities: u64,
        #[command(flatten)]
        create: CreateArgs,
        /// Concurrent callers in the closed loop, each with its own client clone.
        #[arg(long, default_value_t = 16)]
        callers: usize,
        /// HTTP/2 connections the callers share (caller i uses connection i mod N).
        #[arg(long, default_value_t = 1)]
        channels: usize,
        /// Measured duration of each load phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Unmeasured warm-up before each load phase.
        #[arg(long, default_value_t = 1)]
        warmup_seconds: u64,
    },
    /// StreamLeafUnitFacts for the whole country: one call per province, in turn and at once.
    Facts {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        backend: BackendArgs,
        /// Facilities to create before timing, so the facts carry aggregates.
        #[arg(long, default_value_t = 0)]
        facilities: u64,
        #[command(flatten)]
        create: CreateArgs,
        /// HTTP/2 connections the concurrent pass spreads its calls over.
        #[arg(long, default_value_t = 1)]
        channels: usize,
    },
    /// Bulk ingest of survey responses over BulkSubmitResponses (and a COPY baseline).
    SurveyIngest(survey::IngestArgs),
    /// A bulk ingest, then GetRoundResults and GetRoundCoverage of the round's region.
    SurveyResults(survey::IngestArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "shequ-bench {}: {} build, {} CPUs available to this process (nproc)",
        env!("CARGO_PKG_VERSION"),
        if cfg!(debug_assertions) {
            "DEBUG (figures not meaningful)"
        } else {
            "release"
        },
        cpus
    );
    println!("client and registry share one process and one tokio runtime on loopback");
    match cli.command {
        Command::Import { data, backend } => import::run(&data, &backend).await,
        Command::GetFacility {
            data,
            backend,
            facilities,
            create,
            callers,
            channels,
            seconds,
            warmup_seconds,
        } => {
            get_facility::run(get_facility::Options {
                data,
                backend,
                facilities,
                create,
                callers,
                channels,
                seconds,
                warmup_seconds,
            })
            .await
        }
        Command::Facts {
            data,
            backend,
            facilities,
            create,
            channels,
        } => facts::run(&data, &backend, facilities, &create, channels).await,
        Command::Evaluate {
            data,
            backend,
            facilities,
            create,
            reads,
            survey_responses,
        } => {
            evaluate::run(
                &data,
                &backend,
                facilities,
                &create,
                reads,
                survey_responses,
            )
            .await
        }
        Command::SurveyIngest(args) => survey::run(&args).await,
        Command::SurveyResults(mut args) => {
            args.results = true;
            survey::run(&args).await
        }
    }
}
