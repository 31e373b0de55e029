//! The facility registry: the five-level administrative hierarchy and every community
//! comprehensive service facility in it, with full change history, the facts stream the plan
//! monitor computes from, and a change feed.

pub mod config;
pub mod error;
pub mod grpc;
pub mod service;
pub mod store;

use anyhow::Context as _;
use shequ_platform::audit::AuditApi;
use shequ_platform::auth::Policy;
use shequ_platform::cli::{ServiceCli, ServiceCommand};
use shequ_platform::methods;
use shequ_platform::server::{self, Security};
use shequ_platform::{Database, Shutdown, telemetry};
use shequ_proto::audit::v1::audit_service_server::AuditServiceServer;
use shequ_proto::registry::v1::division_service_server::DivisionServiceServer;
use shequ_proto::registry::v1::facility_service_server::FacilityServiceServer;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use crate::config::RegistryConfig;
pub use crate::service::Registry;

/// Service name used in logs, traces, statuses and the schema-migration table.
pub const SERVICE: &str = "registry";

/// The registry as the platform names it in statuses.
#[derive(Debug)]
pub enum RegistrySpec {}

impl shequ_platform::error::ServiceName for RegistrySpec {
    const NAME: &'static str = SERVICE;
}

/// Runs the `shequ-registry` command line.
pub async fn run_cli(cli: ServiceCli) -> anyhow::Result<()> {
    let cfg = RegistryConfig::load(cli.config.as_deref(), &cli.overrides())?;
    let _telemetry = telemetry::init("shequ-registry", &cfg.telemetry);
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

/// Connects, migrates where configured, and serves on `listener` until `shutdown` fires.
pub async fn serve(
    cfg: RegistryConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let db = Database::open(&cfg.database, SERVICE, store::migrations::MIGRATIONS).await?;
    let security = Security::configure(&cfg.auth, Policy::registry(), &db)?;
    let registry = Registry::new(db.clone(), cfg.registry.clone(), shutdown.clone());
    let audit = AuditApi::new(registry.audit_log().clone(), shutdown.clone());
    let cache_follower = registry.clone();
    let max = cfg.server.max_message_bytes;
    let routes = Routes::new(
        DivisionServiceServer::new(grpc::DivisionApi(registry.clone()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    )
    .add_service(
        FacilityServiceServer::new(grpc::FacilityApi(registry))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    )
    .add_service(
        AuditServiceServer::new(audit)
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    );
    let services = vec![
        methods::registry::division_service::SERVICE,
        methods::registry::facility_service::SERVICE,
        methods::audit::audit_service::SERVICE,
    ];
    let follower = cache_follower.spawn_cache_follower();
    let result = server::serve_secured(
        &cfg.server,
        security,
        db,
        listener,
        routes,
        services,
        shutdown,
    )
    .await;
    follower.abort();
    result
}
