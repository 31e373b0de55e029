//! Configuration of the registry: the platform sections and its own `[registry]` section.

use std::time::Duration;

use serde::Deserialize;
use shequ_platform::{AuthConfig, DatabaseConfig, ServerConfig, TelemetryConfig};

/// Compiled-in defaults: port 50051 and `registry.sqlite`.
pub const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub telemetry: TelemetryConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    pub registry: RegistrySettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySettings {
    pub facts_batch_size: usize,
    pub watch_poll_interval_ms: u64,
    /// Facilities kept in memory for `GetFacility`; 0 turns the cache off.
    pub facility_cache_entries: usize,
}

impl RegistrySettings {
    pub fn watch_poll_interval(&self) -> Duration {
        Duration::from_millis(self.watch_poll_interval_ms.max(10))
    }
}

shequ_platform::service_config!(RegistryConfig, DEFAULTS);
