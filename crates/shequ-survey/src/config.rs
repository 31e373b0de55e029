//! Configuration of the survey service: the platform sections and its own `[survey]` section.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use shequ_platform::config::{self, ConfigError};
use shequ_platform::{DatabaseConfig, ServerConfig, TelemetryConfig};

/// Compiled-in defaults: port 50052, `survey.sqlite` and a registry on 127.0.0.1:50051.
pub const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyConfig {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub telemetry: TelemetryConfig,
    pub survey: SurveySettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveySettings {
    pub registry_endpoint: String,
    pub registry_timeout_ms: u64,
    pub max_batch_responses: usize,
    pub facts_batch_size: usize,
    pub export_chunk_bytes: usize,
}

impl SurveySettings {
    pub fn registry_timeout(&self) -> Duration {
        Duration::from_millis(self.registry_timeout_ms.max(100))
    }
}

impl SurveyConfig {
    /// Defaults, then `file`, then `SHEQU__*` environment variables, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &[(&str, String)]) -> Result<Self, ConfigError> {
        config::load(DEFAULTS, file, overrides)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_name_the_port_file_and_registry() {
        let cfg = SurveyConfig::load(None, &[]).unwrap();
        assert_eq!(cfg.server.listen.port(), 50052);
        assert_eq!(cfg.database.file_name, "survey.sqlite");
        assert_eq!(cfg.survey.registry_endpoint, "http://127.0.0.1:50051");
    }
}
