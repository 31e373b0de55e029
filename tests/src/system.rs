//! The three services as separate processes wired together on loopback: a registry holding the
//! sample divisions, a survey service and a monitor reading both, each with its own database.

use shequ_proto::monitoring::v1::evaluation_service_client::EvaluationServiceClient;
use shequ_proto::monitoring::v1::plan_service_client::PlanServiceClient;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_proto::survey::v1::questionnaire_service_client::QuestionnaireServiceClient;
use shequ_proto::survey::v1::response_service_client::ResponseServiceClient;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use shequ_testkit::TestDatabase;
use shequ_testkit::fixtures::{self, SAMPLE};
use tonic::transport::Channel;

use crate::{Launch, Service};

/// Largest message the clients accept: a facts stream or a report may be large.
const MAX_DECODE: usize = 64 << 20;

/// `shequ-registry`, `shequ-survey` and `shequ-monitoring` running as processes. Each has a fresh
/// database of the kind the environment selects ([`TestDatabase::fresh`]: SQLite, or PostgreSQL
/// with `SHEQU_TEST_DATABASE_URL`), kept for the life of the system so restarts find their data.
#[derive(Debug)]
pub struct System {
    pub registry: Service,
    pub survey: Service,
    pub monitoring: Service,
    /// Registry, survey, monitoring; dropped (PostgreSQL databases removed) after the processes.
    pub databases: [TestDatabase; 3],
}

impl System {
    /// Starts the registry, imports [`SAMPLE`] (东城区 and 仙桃市, vintage 2023), then starts the
    /// survey service and the monitor pointed at it. `env` is given to all three processes (say
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub async fn start(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let databases = [
            TestDatabase::fresh().await?,
            TestDatabase::fresh().await?,
            TestDatabase::fresh().await?,
        ];
        Self::start_on(databases, env, true).await
    }

    /// The three services on `databases` (registry, survey, monitoring), which may hold data
    /// already; [`SAMPLE`] is imported first when `import` is set.
    pub async fn start_on(
        databases: [TestDatabase; 3],
        env: &[(&str, &str)],
        import: bool,
    ) -> anyhow::Result<Self> {
        let with_env = |mut launch: Launch| {
            for (k, v) in env {
                launch = launch.env(*k, *v);
            }
            launch
        };
        let registry = with_env(Launch::new("shequ-registry").database_url(databases[0].url()))
            .env("SHEQU__REGISTRY__WATCH_POLL_INTERVAL_MS", "100")
            // These tests call without tokens: development mode, forced on PostgreSQL.
            .env("SHEQU__AUTH__ALLOW_OFF_WITH_POSTGRES", "true")
            .start()
            .await?;
        if import {
            let mut divisions = DivisionServiceClient::new(registry.channel().await?)
                .max_decoding_message_size(MAX_DECODE);
            fixtures::import(&mut divisions, &SAMPLE, "2023").await?;
        }
        let survey = with_env(Launch::new("shequ-survey").database_url(databases[1].url()))
            .env("SHEQU__SURVEY__REGISTRY_ENDPOINT", registry.endpoint())
            // Development mode too, forced on PostgreSQL.
            .env("SHEQU__AUTH__ALLOW_OFF_WITH_POSTGRES", "true")
            .start()
            .await?;
        let monitoring = with_env(Launch::new("shequ-monitoring").database_url(databases[2].url()))
            .env("SHEQU__MONITORING__REGISTRY_ENDPOINT", registry.endpoint())
            .env("SHEQU__MONITORING__SURVEY_ENDPOINT", survey.endpoint())
            .env("SHEQU__MONITORING__SOURCE_TIMEOUT_MS", "60000")
            // These tests call without tokens: development mode, forced on PostgreSQL.
            .env("SHEQU__AUTH__ALLOW_OFF_WITH_POSTGRES", "true")
            .start()
            .await?;
        Ok(Self {
            registry,
            survey,
            monitoring,
            databases,
        })
    }

    pub async fn divisions(&self) -> anyhow::Result<DivisionServiceClient<Channel>> {
        Ok(DivisionServiceClient::new(self.registry.channel().await?)
            .max_decoding_message_size(MAX_DECODE))
    }

    pub async fn facilities(&self) -> anyhow::Result<FacilityServiceClient<Channel>> {
        Ok(FacilityServiceClient::new(self.registry.channel().await?)
            .max_decoding_message_size(MAX_DECODE))
    }

    pub async fn questionnaires(&self) -> anyhow::Result<QuestionnaireServiceClient<Channel>> {
        Ok(QuestionnaireServiceClient::new(
            self.survey.channel().await?,
        ))
    }

    pub async fn rounds(&self) -> anyhow::Result<RoundServiceClient<Channel>> {
        Ok(RoundServiceClient::new(self.survey.channel().await?)
            .max_decoding_message_size(MAX_DECODE))
    }

    pub async fn responses(&self) -> anyhow::Result<ResponseServiceClient<Channel>> {
        Ok(ResponseServiceClient::new(self.survey.channel().await?))
    }

    pub async fn plans(&self) -> anyhow::Result<PlanServiceClient<Channel>> {
        Ok(PlanServiceClient::new(self.monitoring.channel().await?))
    }

    pub async fn evaluations(&self) -> anyhow::Result<EvaluationServiceClient<Channel>> {
        Ok(
            EvaluationServiceClient::new(self.monitoring.channel().await?)
                .max_decoding_message_size(MAX_DECODE),
        )
    }
}
