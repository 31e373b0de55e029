//! Layered configuration with the `config` crate: defaults compiled in from a real TOML file, then
//! an optional file, then `SHEQU__SECTION__KEY` environment variables, then command-line flags.
//! Unknown keys are refused so a misspelt setting never passes silently.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::AuthConfig;

/// Settings common to the platform; each service adds its own section next to these.
pub const PLATFORM_DEFAULTS: &str = include_str!("../config/platform.toml");

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(#[from] config::ConfigError);

/// Loads a service's configuration. `service_defaults` overrides the platform defaults (ports, file
/// names) and adds the service's own section; `overrides` are `(key, value)` pairs from flags.
pub fn load<T: DeserializeOwned>(
    service_defaults: &str,
    file: Option<&Path>,
    overrides: &[(&str, String)],
) -> Result<T, ConfigError> {
    load_with_env(
        service_defaults,
        file,
        overrides,
        Environment::with_prefix("SHEQU"),
    )
}

/// As [`load`], with the environment given explicitly (tests pass a map instead of the process env).
pub fn load_with_env<T: DeserializeOwned>(
    service_defaults: &str,
    file: Option<&Path>,
    overrides: &[(&str, String)],
    env: Environment,
) -> Result<T, ConfigError> {
    let mut builder = Config::builder()
        .add_source(File::from_str(PLATFORM_DEFAULTS, FileFormat::Toml))
        .add_source(File::from_str(service_defaults, FileFormat::Toml));
    if let Some(path) = file {
        builder = builder.add_source(File::from(path).required(true));
    }
    builder = builder.add_source(env.prefix_separator("__").separator("__").try_parsing(true));
    for (key, value) in overrides {
        builder = builder.set_override(*key, value.clone())?;
    }
    Ok(builder.build()?.try_deserialize()?)
}

/// A service's whole configuration: the platform's sections beside the service's own.
pub trait ServiceConfig: DeserializeOwned + Send + Sync + 'static {
    /// The service's compiled-in defaults over [`PLATFORM_DEFAULTS`]: its port, its database
    /// file and its own section.
    const DEFAULTS: &'static str;

    /// The sections the platform reads to serve the service.
    fn sections(&self) -> Sections<'_>;

    /// Defaults, then `file`, then `SHEQU__*` environment variables, then `overrides`.
    fn load(file: Option<&Path>, overrides: &[(&str, String)]) -> Result<Self, ConfigError> {
        load(Self::DEFAULTS, file, overrides)
    }
}

/// The platform's sections of a service's configuration.
#[derive(Debug, Clone, Copy)]
pub struct Sections<'a> {
    pub server: &'a ServerConfig,
    pub database: &'a DatabaseConfig,
    pub telemetry: &'a TelemetryConfig,
    pub auth: &'a AuthConfig,
}

/// Makes a service's configuration (a struct with `server`, `database`, `telemetry` and `auth`
/// fields beside its own section) a [`ServiceConfig`] over its `defaults`, with an inherent `load`
/// for callers that do not name the trait: `service_config!(RegistryConfig, DEFAULTS);`.
#[macro_export]
macro_rules! service_config {
    ($config:ty, $defaults:expr) => {
        impl $crate::config::ServiceConfig for $config {
            const DEFAULTS: &'static str = $defaults;

            fn sections(&self) -> $crate::config::Sections<'_> {
                $crate::config::Sections {
                    server: &self.server,
                    database: &self.database,
                    telemetry: &self.telemetry,
                    auth: &self.auth,
                }
            }
        }

        impl $config {
            /// Defaults, then `file`, then `SHEQU__*` environment variables, then `overrides`.
            pub fn load(
                file: Option<&::std::path::Path>,
                overrides: &[(&str, String)],
            ) -> Result<Self, $crate::config::ConfigError> {
                <Self as $crate::config::ServiceConfig>::load(file, overrides)
            }
        }
    };
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// Connections are closed gracefully after this long so clients rebalance across replicas.
    pub max_connection_age_secs: u64,
    /// How long in-flight calls may take to finish after SIGTERM before they are cut.
    pub shutdown_grace_secs: u64,
    /// How often readiness checks the database.
    pub readiness_interval_ms: u64,
    /// TLS, and mutual TLS with a client CA; absent means plaintext.
    #[serde(default)]
    pub tls: Option<crate::tls::TlsConfig>,
}

impl ServerConfig {
    pub fn max_connection_age(&self) -> Duration {
        Duration::from_secs(self.max_connection_age_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    pub fn readiness_interval(&self) -> Duration {
        Duration::from_millis(self.readiness_interval_ms)
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://...`; empty means a SQLite file `file_name` in `data_dir`.
    pub url: String,
    /// Directory for the default SQLite file; empty means `$XDG_DATA_HOME/shequ` or
    /// `~/.local/share/shequ`.
    pub data_dir: String,
    /// File name of the default SQLite database.
    pub file_name: String,
    pub max_connections: u32,
    pub connect_timeout_secs: u64,
    /// Apply pending migrations when `serve` starts on PostgreSQL; SQLite always migrates on start.
    pub migrate_on_start: bool,
}

impl DatabaseConfig {
    /// The URL to connect to, with the SQLite default resolved.
    pub fn resolved_url(&self) -> String {
        if !self.url.is_empty() {
            return self.url.clone();
        }
        let dir = if self.data_dir.is_empty() {
            default_data_dir()
        } else {
            PathBuf::from(&self.data_dir)
        };
        format!("sqlite://{}", dir.join(&self.file_name).display())
    }
}

/// Never prints the URL: it may carry a password.
impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("data_dir", &self.data_dir)
            .field("file_name", &self.file_name)
            .field("max_connections", &self.max_connections)
            .field("migrate_on_start", &self.migrate_on_start)
            .finish()
    }
}

/// Replaces the password of a URL with `***` for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("shequ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    /// An `EnvFilter` directive such as `info` or `shequ_registry=debug,info`.
    pub log_level: String,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        server: ServerConfig,
        database: DatabaseConfig,
        telemetry: TelemetryConfig,
    }

    const SERVICE: &str =
        "[server]\nlisten = \"127.0.0.1:50051\"\n[database]\nfile_name = \"t.sqlite\"\n";

    fn env(vars: &[(&str, &str)]) -> Environment {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Environment::with_prefix("SHEQU").source(Some(map))
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"0.0.0.0:1\"\nmax_message_bytes = 7\n",
        )
        .unwrap();
        let cfg: Sample = load_with_env(
            SERVICE,
            Some(&file),
            &[("server.listen", "127.0.0.1:9".into())],
            env(&[
                ("SHEQU__DATABASE__URL", "postgres://u:secret@h/db"),
                ("SHEQU__SERVER__MAX_MESSAGE_BYTES", "8"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.server.listen.port(), 9);
        assert_eq!(cfg.server.max_message_bytes, 8);
        assert_eq!(cfg.database.url, "postgres://u:secret@h/db");
        assert!(!format!("{:?}", cfg.database).contains("secret"));
        assert_eq!(cfg.telemetry.log_format, LogFormat::Text);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err =
            load_with_env::<Sample>(SERVICE, None, &[], env(&[("SHEQU__DATABASE__URLL", "x")]))
                .unwrap_err();
        assert!(err.to_string().contains("urll"), "{err}");
    }

    #[test]
    fn default_database_is_a_sqlite_file() {
        let cfg: Sample = load_with_env(
            SERVICE,
            None,
            &[("database.data_dir", "/tmp/x".into())],
            env(&[]),
        )
        .unwrap();
        assert_eq!(cfg.database.resolved_url(), "sqlite:///tmp/x/t.sqlite");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://a:b@h:5432/d"),
            "postgres://a:***@h:5432/d"
        );
        assert_eq!(redact_url("postgres://a@h/d"), "postgres://a@h/d");
        assert_eq!(redact_url("sqlite:///x"), "sqlite:///x");
    }
}
