//! A plan monitoring service on loopback with a fresh database, pointed at a test registry and a
//! test survey service.

use std::net::SocketAddr;

use shequ_monitoring::MonitoringConfig;
use shequ_platform::Shutdown;
use shequ_proto::monitoring::v1::evaluation_service_client::EvaluationServiceClient;
use shequ_proto::monitoring::v1::indicator_service_client::IndicatorServiceClient;
use shequ_proto::monitoring::v1::plan_service_client::PlanServiceClient;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::{TestDatabase, TestIssuer, init_test_logs};

/// Configuration for a monitor on an ephemeral port with `database_url`, reading the registry at
/// `registry_endpoint` and the survey service at `survey_endpoint`; the schedule is off.
pub fn monitoring_config(
    database_url: &str,
    registry_endpoint: &str,
    survey_endpoint: &str,
) -> anyhow::Result<MonitoringConfig> {
    Ok(MonitoringConfig::load(
        None,
        &[
            ("server.listen", "127.0.0.1:0".to_owned()),
            ("database.url", database_url.to_owned()),
            ("server.readiness_interval_ms", "100".to_owned()),
            ("server.shutdown_grace_secs", "5".to_owned()),
            ("monitoring.registry_endpoint", registry_endpoint.to_owned()),
            ("monitoring.survey_endpoint", survey_endpoint.to_owned()),
            ("monitoring.source_timeout_ms", "5000".to_owned()),
            // The PostgreSQL lane runs in development mode, which is otherwise refused there.
            ("auth.allow_off_with_postgres", "true".to_owned()),
        ],
    )?)
}

/// As [`monitoring_config`], authenticating callers with tokens of `issuer`.
pub fn monitoring_config_with_auth(
    database_url: &str,
    registry_endpoint: &str,
    survey_endpoint: &str,
    issuer: &TestIssuer,
) -> anyhow::Result<MonitoringConfig> {
    let mut cfg = monitoring_config(database_url, registry_endpoint, survey_endpoint)?;
    cfg.auth = issuer.auth_config();
    Ok(cfg)
}

/// A monitoring service serving on loopback until stopped or dropped.
pub struct TestMonitoring {
    pub addr: SocketAddr,
    pub database: TestDatabase,
    shutdown: Shutdown,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestMonitoring {
    /// A monitor with a fresh database of the kind the environment selects, reading the test
    /// registry and survey service at the given endpoints.
    pub async fn start(registry_endpoint: &str, survey_endpoint: &str) -> anyhow::Result<Self> {
        let database = TestDatabase::fresh().await?;
        let cfg = monitoring_config(database.url(), registry_endpoint, survey_endpoint)?;
        Self::start_with(cfg, database).await
    }

    pub async fn start_with(cfg: MonitoringConfig, database: TestDatabase) -> anyhow::Result<Self> {
        init_test_logs();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shutdown = Shutdown::new();
        let handle = crate::spawn_service(
            "monitoring",
            shequ_monitoring::serve(cfg, listener, shutdown.clone()),
        );
        Ok(Self {
            addr,
            database,
            shutdown,
            handle: Some(handle),
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> anyhow::Result<Channel> {
        Ok(Endpoint::from_shared(self.endpoint())?.connect().await?)
    }

    pub async fn indicators(&self) -> anyhow::Result<IndicatorServiceClient<Channel>> {
        Ok(IndicatorServiceClient::new(self.channel().await?))
    }

    pub async fn plans(&self) -> anyhow::Result<PlanServiceClient<Channel>> {
        Ok(PlanServiceClient::new(self.channel().await?))
    }

    pub async fn evaluations(&self) -> anyhow::Result<EvaluationServiceClient<Channel>> {
        Ok(EvaluationServiceClient::new(self.channel().await?).max_decoding_message_size(64 << 20))
    }

    /// Signals shutdown and waits for the server to drain and return.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        match self.handle.take() {
            Some(h) => h.await?,
            None => Ok(()),
        }
    }
}

impl Drop for TestMonitoring {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}
