//! What every Shequ service gets by calling it: the skeleton that loads its configuration and
//! serves it, layered configuration, logs and OpenTelemetry, the gRPC server with health,
//! readiness, reflection, TLS, checks of the wire, authentication, role checks and graceful
//! shutdown, the audit trail, the database connection with versioned migrations, the error core
//! with its one mapping of failures to gRPC statuses, and the registry client with its ancestry
//! cache.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod database;
pub mod error;
pub mod idempotency;
pub mod page;
pub mod registry;
pub mod rpc;
pub mod server;
pub mod service;
pub mod sql;
pub mod status;
pub mod telemetry;
pub mod tls;
pub mod wire;

pub use auth::{AuthConfig, Principal, Role};
pub use config::{DatabaseConfig, ServerConfig, TelemetryConfig};
pub use database::{Database, Migration};
pub use server::{Readiness, Shutdown};
/// Service names and full method paths, generated from the contracts.
pub use shequ_proto::methods;
