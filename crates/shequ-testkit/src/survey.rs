//! Survey collection as a [`TestService`], pointed at a test registry: its test configuration,
//! its constructor and its clients.

use shequ_platform::Shutdown;
use shequ_proto::audit::v1::audit_service_client::AuditServiceClient;
use shequ_proto::survey::v1::questionnaire_service_client::QuestionnaireServiceClient;
use shequ_proto::survey::v1::response_service_client::ResponseServiceClient;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use shequ_survey::{Survey, SurveyConfig};
use tokio::net::TcpListener;
use tonic::transport::Channel;

use crate::TestDatabase;
use crate::service::{ServiceUnderTest, TestService, test_config};

impl ServiceUnderTest for Survey {
    const NAME: &'static str = "survey";
    type Config = SurveyConfig;

    fn load(overrides: &[(&str, String)]) -> anyhow::Result<SurveyConfig> {
        Ok(SurveyConfig::load(None, overrides)?)
    }

    fn serve(
        cfg: SurveyConfig,
        listener: TcpListener,
        shutdown: Shutdown,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
        shequ_survey::serve(cfg, listener, shutdown)
    }
}

/// Configuration for a survey service on an ephemeral port with `database_url`, asking the
/// registry at `registry_endpoint`.
pub fn survey_config(database_url: &str, registry_endpoint: &str) -> anyhow::Result<SurveyConfig> {
    test_config::<Survey>(
        database_url,
        &[
            ("survey.registry_endpoint", registry_endpoint.to_owned()),
            ("survey.registry_timeout_ms", "5000".to_owned()),
        ],
    )
}

impl TestService<Survey> {
    /// A survey service with a fresh database of the kind the environment selects, asking the
    /// registry at `registry_endpoint` (`TestService::<Registry>::endpoint`).
    pub async fn survey(registry_endpoint: &str) -> anyhow::Result<Self> {
        let database = TestDatabase::fresh().await?;
        let cfg = survey_config(database.url(), registry_endpoint)?;
        Self::start_with(cfg, database).await
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
}
