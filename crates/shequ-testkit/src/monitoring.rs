//! Plan monitoring as a [`TestService`], pointed at a test registry and a test survey service:
//! its test configuration, its constructor and its clients.

use shequ_monitoring::{Monitoring, MonitoringConfig};
use shequ_platform::Shutdown;
use shequ_proto::monitoring::v1::evaluation_service_client::EvaluationServiceClient;
use shequ_proto::monitoring::v1::indicator_service_client::IndicatorServiceClient;
use shequ_proto::monitoring::v1::plan_service_client::PlanServiceClient;
use tokio::net::TcpListener;
use tonic::transport::Channel;

use crate::TestDatabase;
use crate::service::{ServiceUnderTest, TestService, test_config};

impl ServiceUnderTest for Monitoring {
    const NAME: &'static str = "monitoring";
    type Config = MonitoringConfig;

    fn load(overrides: &[(&str, String)]) -> anyhow::Result<MonitoringConfig> {
        Ok(MonitoringConfig::load(None, overrides)?)
    }

    fn serve(
        cfg: MonitoringConfig,
        listener: TcpListener,
        shutdown: Shutdown,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
        shequ_monitoring::serve(cfg, listener, shutdown)
    }
}

/// Configuration for a monitor on an ephemeral port with `database_url`, reading the registry at
/// `registry_endpoint` and the survey service at `survey_endpoint`; the schedule is off.
pub fn monitoring_config(
    database_url: &str,
    registry_endpoint: &str,
    survey_endpoint: &str,
) -> anyhow::Result<MonitoringConfig> {
    test_config::<Monitoring>(
        database_url,
        &[
            ("monitoring.registry_endpoint", registry_endpoint.to_owned()),
            ("monitoring.survey_endpoint", survey_endpoint.to_owned()),
            ("monitoring.source_timeout_ms", "5000".to_owned()),
        ],
    )
}

impl TestService<Monitoring> {
    /// A monitor with a fresh database of the kind the environment selects, reading the test
    /// registry and survey service at the given endpoints.
    pub async fn monitoring(
        registry_endpoint: &str,
        survey_endpoint: &str,
    ) -> anyhow::Result<Self> {
        let database = TestDatabase::fresh().await?;
        let cfg = monitoring_config(database.url(), registry_endpoint, survey_endpoint)?;
        Self::start_with(cfg, database).await
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
}
