//! Plan monitoring: the indicator catalogue and plan-defined indicators, reported values with
//! history, plans of the country or of any division with targets per division and alignment,
//! and immutable evaluations computed from the registry's and the survey service's facts
//! streams, read by division, ranked, compared, rendered as reports and run on a schedule.

pub mod config;
pub mod error;
pub mod facts;
pub mod grpc;
pub mod html;
pub mod indicators;
pub mod names;
pub mod plan;
pub mod rollup;
pub mod service;
pub mod sources;
pub mod store;

use shequ_platform::auth::Policy;
use shequ_platform::cli::ServiceCli;
use shequ_platform::error::ServiceName;
use shequ_platform::service::{ServiceSpec, Started};
use shequ_platform::{Database, Migration, Shutdown, grpc_routes};
use shequ_proto::monitoring::v1::evaluation_service_server::EvaluationServiceServer;
use shequ_proto::monitoring::v1::indicator_service_server::IndicatorServiceServer;
use shequ_proto::monitoring::v1::plan_service_server::PlanServiceServer;
use tokio::net::TcpListener;

pub use crate::config::MonitoringConfig;
pub use crate::service::Monitoring;

/// Service name used in logs, traces, statuses and the schema-migration table.
pub const SERVICE: &str = "monitoring";

/// Plan monitoring as the platform serves it.
#[derive(Debug)]
pub enum MonitoringSpec {}

impl ServiceName for MonitoringSpec {
    const NAME: &'static str = SERVICE;
}

impl ServiceSpec for MonitoringSpec {
    type Config = MonitoringConfig;
    const MIGRATIONS: &'static [Migration] = store::migrations::MIGRATIONS;

    fn policy() -> Policy {
        Policy::monitoring()
    }

    /// The three services, calling the sources as `[client]` says, and the schedule when one is
    /// set (it ends when `shutdown` fires).
    fn start(cfg: &MonitoringConfig, db: Database, shutdown: &Shutdown) -> anyhow::Result<Started> {
        let monitoring = Monitoring::new(db, cfg)?;
        if cfg.monitoring.schedule().map_err(anyhow::Error::msg)? != config::Schedule::Off {
            tokio::spawn(monitoring.clone().run_schedule(shutdown.wait()));
        }
        Ok(Started {
            audit: monitoring.audit_log().clone(),
            tasks: Vec::new(),
            routes: grpc_routes![cfg.server.max_message_bytes;
                IndicatorServiceServer::new(grpc::IndicatorApi(monitoring.clone())),
                PlanServiceServer::new(grpc::PlanApi(monitoring.clone())),
                EvaluationServiceServer::new(grpc::EvaluationApi(monitoring)),
            ],
        })
    }
}

/// Runs the `shequ-monitoring` command line.
pub async fn run_cli(cli: ServiceCli) -> anyhow::Result<()> {
    shequ_platform::service::run_cli::<MonitoringSpec>(cli).await
}

/// Connects, migrates where configured, starts the schedule, and serves on `listener` until
/// `shutdown` fires, authenticating callers as `[auth]` says.
pub async fn serve(
    cfg: MonitoringConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    shequ_platform::service::serve::<MonitoringSpec>(cfg, listener, shutdown).await
}
