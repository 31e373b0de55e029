//! The facility registry: the five-level administrative hierarchy and every community
//! comprehensive service facility in it, with full change history, the facts stream the plan
//! monitor computes from, and a change feed.

pub mod config;
pub mod error;
pub mod grpc;
pub mod service;
pub mod store;

use shequ_platform::auth::Policy;
use shequ_platform::cli::ServiceCli;
use shequ_platform::error::ServiceName;
use shequ_platform::service::{ServiceSpec, Started};
use shequ_platform::{Database, Migration, Shutdown, grpc_routes};
use shequ_proto::registry::v1::division_service_server::DivisionServiceServer;
use shequ_proto::registry::v1::facility_service_server::FacilityServiceServer;
use tokio::net::TcpListener;

pub use crate::config::RegistryConfig;
pub use crate::service::Registry;

/// Service name used in logs, traces, statuses and the schema-migration table.
pub const SERVICE: &str = "registry";

/// The registry as the platform serves it.
#[derive(Debug)]
pub enum RegistrySpec {}

impl ServiceName for RegistrySpec {
    const NAME: &'static str = SERVICE;
}

impl ServiceSpec for RegistrySpec {
    type Config = RegistryConfig;
    const MIGRATIONS: &'static [Migration] = store::migrations::MIGRATIONS;

    fn policy() -> Policy {
        Policy::registry()
    }

    /// The two services, and the follower that keeps the facility cache current.
    fn start(cfg: &RegistryConfig, db: Database, shutdown: &Shutdown) -> anyhow::Result<Started> {
        let registry = Registry::new(db, cfg.registry.clone(), shutdown.clone());
        Ok(Started {
            audit: registry.audit_log().clone(),
            tasks: vec![registry.spawn_cache_follower().abort_handle()],
            routes: grpc_routes![cfg.server.max_message_bytes;
                DivisionServiceServer::new(grpc::DivisionApi(registry.clone())),
                FacilityServiceServer::new(grpc::FacilityApi(registry)),
            ],
        })
    }
}

/// Runs the `shequ-registry` command line.
pub async fn run_cli(cli: ServiceCli) -> anyhow::Result<()> {
    shequ_platform::service::run_cli::<RegistrySpec>(cli).await
}

/// Connects, migrates where configured, and serves on `listener` until `shutdown` fires.
pub async fn serve(
    cfg: RegistryConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    shequ_platform::service::serve::<RegistrySpec>(cfg, listener, shutdown).await
}
