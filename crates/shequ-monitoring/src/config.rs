//! Configuration of the monitoring service: the platform sections, `[auth]` for its callers,
//! `[client]` for its own calls to the sources, and its own `[monitoring]` section (source
//! endpoints and the schedule).

use std::time::Duration;

use serde::Deserialize;
use shequ_platform::client::ClientConfig;
use shequ_platform::{AuthConfig, DatabaseConfig, ServerConfig, TelemetryConfig};

/// Compiled-in defaults: port 50053, `monitoring.sqlite`, the registry on 50051, the survey on 50052.
pub const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringConfig {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub telemetry: TelemetryConfig,
    /// How callers of the monitor are authenticated.
    #[serde(default)]
    pub auth: AuthConfig,
    /// How the monitor authenticates to the registry and the survey service.
    #[serde(default)]
    pub client: ClientConfig,
    pub monitoring: MonitoringSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSettings {
    pub registry_endpoint: String,
    pub survey_endpoint: String,
    pub source_timeout_ms: u64,
    pub schedule: String,
    pub schedule_plan: String,
    pub schedule_poll_secs: u64,
    pub schedule_lease_secs: u64,
    pub insert_batch_rows: usize,
    /// Evaluations kept per plan: the newest N; 0 keeps all.
    pub keep_evaluations: u32,
}

/// When scheduled evaluations are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Off,
    /// Once per calendar month (UTC).
    Monthly,
    /// When the last scheduled evaluation is at least this old.
    Every(Duration),
}

impl Schedule {
    /// `off`, `monthly`, or a number with `s`, `m`, `h` or `d`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        match text {
            "" | "off" => return Ok(Self::Off),
            "monthly" => return Ok(Self::Monthly),
            _ => {}
        }
        let (digits, unit) = text.split_at(text.len() - 1);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("schedule `{text}`: use `off`, `monthly` or e.g. `12h`"))?;
        let secs = match unit {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86_400,
            _ => return Err(format!("schedule `{text}`: the unit is one of s, m, h, d")),
        };
        if secs == 0 {
            return Err(format!("schedule `{text}`: the interval must be positive"));
        }
        Ok(Self::Every(Duration::from_secs(secs)))
    }
}

impl MonitoringSettings {
    pub fn source_timeout(&self) -> Duration {
        Duration::from_millis(self.source_timeout_ms.max(100))
    }

    pub fn schedule(&self) -> Result<Schedule, String> {
        Schedule::parse(&self.schedule)
    }
}

shequ_platform::service_config!(MonitoringConfig, DEFAULTS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_name_the_port_file_and_sources() {
        let cfg = MonitoringConfig::load(None, &[]).unwrap();
        assert_eq!(cfg.server.listen.port(), 50053);
        assert_eq!(cfg.database.file_name, "monitoring.sqlite");
        assert_eq!(cfg.monitoring.registry_endpoint, "http://127.0.0.1:50051");
        assert_eq!(cfg.monitoring.survey_endpoint, "http://127.0.0.1:50052");
        assert_eq!(cfg.monitoring.schedule(), Ok(Schedule::Off));
        assert_eq!(cfg.monitoring.keep_evaluations, 0, "keeps every evaluation");
    }

    #[test]
    fn schedules_parse() {
        assert_eq!(Schedule::parse("monthly"), Ok(Schedule::Monthly));
        assert_eq!(
            Schedule::parse("12h"),
            Ok(Schedule::Every(Duration::from_secs(43_200)))
        );
        assert!(Schedule::parse("0s").is_err());
        assert!(Schedule::parse("weekly").is_err());
    }
}
