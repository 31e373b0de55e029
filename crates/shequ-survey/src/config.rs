//! Configuration of the survey service: the platform sections, `[auth]` (how its callers are
//! authenticated), `[client]` (how it authenticates to the registry) and its own `[survey]`.

use std::time::Duration;

use serde::Deserialize;
use shequ_platform::client::ClientConfig;
use shequ_platform::{AuthConfig, DatabaseConfig, ServerConfig, TelemetryConfig};

/// Compiled-in defaults: port 50052, `survey.sqlite` and a registry on 127.0.0.1:50051.
pub const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyConfig {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub telemetry: TelemetryConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub client: ClientConfig,
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

shequ_platform::service_config!(SurveyConfig, DEFAULTS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_name_the_port_file_and_registry() {
        let cfg = SurveyConfig::load(None, &[]).unwrap();
        assert_eq!(cfg.server.listen.port(), 50052);
        assert_eq!(cfg.database.file_name, "survey.sqlite");
        assert_eq!(cfg.survey.registry_endpoint, "http://127.0.0.1:50051");
        assert_eq!(cfg.auth.mode, shequ_platform::auth::AuthMode::Off);
        assert!(cfg.client.token_file.is_empty());
    }

    #[test]
    fn auth_and_client_come_from_their_sections() {
        let cfg = SurveyConfig::load(
            None,
            &[
                ("auth.mode", "jwt".to_owned()),
                ("auth.jwks_file", "/etc/shequ/jwks.json".to_owned()),
                ("client.token_file", "/var/run/shequ/token".to_owned()),
            ],
        )
        .unwrap();
        assert_eq!(cfg.auth.mode, shequ_platform::auth::AuthMode::Jwt);
        assert_eq!(cfg.auth.jwks_file, "/etc/shequ/jwks.json");
        assert_eq!(cfg.client.token_file, "/var/run/shequ/token");
        assert!(SurveyConfig::load(None, &[("client.token", "x".to_owned())]).is_err());
    }
}
