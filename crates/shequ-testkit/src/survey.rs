//! A survey collection service on loopback with a fresh database, pointed at a test registry.

use std::net::SocketAddr;

use shequ_platform::Shutdown;
use shequ_proto::audit::v1::audit_service_client::AuditServiceClient;
use shequ_proto::survey::v1::questionnaire_service_client::QuestionnaireServiceClient;
use shequ_proto::survey::v1::response_service_client::ResponseServiceClient;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use shequ_survey::SurveyConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::{TestDatabase, TestIssuer, init_test_logs};

/// Configuration for a survey service on an ephemeral port with `database_url`, asking the
/// registry at `registry_endpoint`.
pub fn survey_config(database_url: &str, registry_endpoint: &str) -> anyhow::Result<SurveyConfig> {
    Ok(SurveyConfig::load(
        None,
        &[
            ("server.listen", "127.0.0.1:0".to_owned()),
            ("database.url", database_url.to_owned()),
            ("server.readiness_interval_ms", "100".to_owned()),
            ("server.shutdown_grace_secs", "5".to_owned()),
            ("survey.registry_endpoint", registry_endpoint.to_owned()),
            ("survey.registry_timeout_ms", "5000".to_owned()),
            // The PostgreSQL lane runs in development mode, which is otherwise refused there.
            ("auth.allow_off_with_postgres", "true".to_owned()),
        ],
    )?)
}

/// As [`survey_config`], authenticating calls with tokens of `issuer`, and calling the registry
/// with the token in `token_file` when given.
pub fn survey_config_with_auth(
    database_url: &str,
    registry_endpoint: &str,
    issuer: &TestIssuer,
    token_file: Option<&std::path::Path>,
) -> anyhow::Result<SurveyConfig> {
    let mut cfg = survey_config(database_url, registry_endpoint)?;
    cfg.auth = issuer.auth_config();
    if let Some(path) = token_file {
        cfg.client.token_file = path.display().to_string();
    }
    Ok(cfg)
}

/// A survey service serving on loopback until stopped or dropped.
pub struct TestSurvey {
    pub addr: SocketAddr,
    pub database: TestDatabase,
    shutdown: Shutdown,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestSurvey {
    /// A survey service with a fresh database of the kind the environment selects, asking the
    /// registry at `registry_endpoint` (`TestRegistry::endpoint`).
    pub async fn start(registry_endpoint: &str) -> anyhow::Result<Self> {
        let database = TestDatabase::fresh().await?;
        let cfg = survey_config(database.url(), registry_endpoint)?;
        Self::start_with(cfg, database).await
    }

    pub async fn start_with(cfg: SurveyConfig, database: TestDatabase) -> anyhow::Result<Self> {
        init_test_logs();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shutdown = Shutdown::new();
        let handle = crate::spawn_service(
            "survey",
            shequ_survey::serve(cfg, listener, shutdown.clone()),
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

    pub async fn questionnaires(&self) -> anyhow::Result<QuestionnaireServiceClient<Channel>> {
        Ok(QuestionnaireServiceClient::new(self.channel().await?))
    }

    pub async fn rounds(&self) -> anyhow::Result<RoundServiceClient<Channel>> {
        Ok(RoundServiceClient::new(self.channel().await?).max_decoding_message_size(64 << 20))
    }

    pub async fn responses(&self) -> anyhow::Result<ResponseServiceClient<Channel>> {
        Ok(ResponseServiceClient::new(self.channel().await?))
    }

    pub async fn audit(&self) -> anyhow::Result<AuditServiceClient<Channel>> {
        Ok(AuditServiceClient::new(self.channel().await?))
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

impl Drop for TestSurvey {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}
