//! Plan monitoring: the indicator catalogue and plan-defined indicators, reported values with
//! history, national and provincial plans with targets and alignment, and immutable evaluations
//! computed from the registry's and the survey service's facts streams, read by division,
//! ranked, compared, rendered as reports and run on a schedule.

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

use anyhow::Context as _;
use shequ_platform::audit::AuditApi;
use shequ_platform::auth::Policy;
use shequ_platform::cli::{ServiceCli, ServiceCommand};
use shequ_platform::methods;
use shequ_platform::server::{self, Security};
use shequ_platform::{Database, Shutdown, telemetry};
use shequ_proto::audit::v1::audit_service_server::AuditServiceServer;
use shequ_proto::monitoring::v1::evaluation_service_server::EvaluationServiceServer;
use shequ_proto::monitoring::v1::indicator_service_server::IndicatorServiceServer;
use shequ_proto::monitoring::v1::plan_service_server::PlanServiceServer;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use crate::config::MonitoringConfig;
pub use crate::service::Monitoring;

/// Service name used in logs, traces, statuses and the schema-migration table.
pub const SERVICE: &str = "monitoring";

/// Plan monitoring as the platform names it in statuses.
#[derive(Debug)]
pub enum MonitoringSpec {}

impl shequ_platform::error::ServiceName for MonitoringSpec {
    const NAME: &'static str = SERVICE;
}

/// Runs the `shequ-monitoring` command line.
pub async fn run_cli(cli: ServiceCli) -> anyhow::Result<()> {
    let cfg = MonitoringConfig::load(cli.config.as_deref(), &cli.overrides())?;
    let _telemetry = telemetry::init("shequ-monitoring", &cfg.telemetry);
    match cli.command {
        ServiceCommand::Migrate => {
            Ok(
                Database::migrate_only(&cfg.database, SERVICE, store::migrations::MIGRATIONS)
                    .await?,
            )
        }
        ServiceCommand::Serve => {
            let listener = TcpListener::bind(cfg.server.listen)
                .await
                .with_context(|| format!("cannot listen on {}", cfg.server.listen))?;
            serve(cfg, listener, Shutdown::on_signals()).await
        }
    }
}

/// Connects, migrates where configured, starts the schedule, and serves on `listener` until
/// `shutdown` fires, authenticating callers as `[auth]` says.
pub async fn serve(
    cfg: MonitoringConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let db = Database::open(&cfg.database, SERVICE, store::migrations::MIGRATIONS).await?;
    let security = Security::configure(&cfg.auth, Policy::monitoring(), &db)?;
    let monitoring = Monitoring::new(db.clone(), &cfg)?;
    let audit = AuditApi::new(monitoring.audit_log().clone(), shutdown.clone());
    if cfg.monitoring.schedule().map_err(anyhow::Error::msg)? != config::Schedule::Off {
        tokio::spawn(monitoring.clone().run_schedule(shutdown.wait()));
    }
    let max = cfg.server.max_message_bytes;
    let routes = Routes::new(
        IndicatorServiceServer::new(grpc::IndicatorApi(monitoring.clone()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    )
    .add_service(
        PlanServiceServer::new(grpc::PlanApi(monitoring.clone()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    )
    .add_service(
        EvaluationServiceServer::new(grpc::EvaluationApi(monitoring))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    )
    .add_service(
        AuditServiceServer::new(audit)
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    );
    let services = vec![
        methods::monitoring::indicator_service::SERVICE,
        methods::monitoring::plan_service::SERVICE,
        methods::monitoring::evaluation_service::SERVICE,
        methods::audit::audit_service::SERVICE,
    ];
    server::serve_secured(
        &cfg.server,
        security,
        db,
        listener,
        routes,
        services,
        shutdown,
    )
    .await
}
