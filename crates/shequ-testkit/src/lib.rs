//! Test support shared by every crate's tests and the benchmarks: any service on 127.0.0.1:0
//! with a fresh database (SQLite, or PostgreSQL when `SHEQU_TEST_DATABASE_URL` names an admin
//! database) through one harness, [`TestService`]; the committed division slices, a valid
//! facility template, a TCP proxy that can cut a connection, a fake OTLP collector, a token
//! issuer with the services that trust it ([`AuthWorld`]), and the checks of a service's
//! migration list.

pub mod binary;
mod database;
pub mod fixtures;
mod issuer;
pub mod migrations;
mod monitoring;
pub mod otlp;
pub mod proxy;
mod registry;
mod service;
mod survey;
mod world;

pub use database::TestDatabase;
pub use issuer::{TestAlgorithm, TestIssuer, with_token};
pub use monitoring::monitoring_config;
pub use registry::registry_config;
pub use service::{ServiceUnderTest, TestService, assert_development_mode_refused_on_postgres};
// The services a `TestService` starts, named by their own types.
pub use shequ_monitoring::Monitoring;
pub use shequ_registry::Registry;
pub use shequ_survey::Survey;
pub use survey::survey_config;
pub use world::AuthWorld;

/// Environment variable naming a PostgreSQL admin URL; tests then run against fresh databases
/// created from it.
pub const POSTGRES_ENV: &str = "SHEQU_TEST_DATABASE_URL";

/// Waits, up to 30 s, until `127.0.0.1:port` can be bound. Tests of a service's default port use
/// it first: on a busy machine a default port inside the ephemeral range can briefly be held by
/// another socket.
pub async fn wait_for_free_port(port: u16) {
    for _ in 0..300 {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Logs of the services under test, captured per test; `SHEQU_TEST_LOG=debug` shows more.
pub fn init_test_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHEQU_TEST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
