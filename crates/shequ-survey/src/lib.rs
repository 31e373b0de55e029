//! Survey collection: questionnaires with immutable published versions, survey rounds over a
//! region of the registry's hierarchy, resident satisfaction responses collected exactly once
//! (one at a time or in bulk), results, coverage, the facts stream the plan monitor reads and
//! CSV exports.

pub mod config;
pub mod error;
pub mod grpc;
pub mod mask;
pub mod model;
pub mod names;
pub mod region;
pub mod service;
pub mod store;

use shequ_platform::auth::Policy;
use shequ_platform::cli::ServiceCli;
use shequ_platform::error::ServiceName;
use shequ_platform::service::{ServiceSpec, Started};
use shequ_platform::{Database, Migration, Shutdown, grpc_routes};
use shequ_proto::survey::v1::questionnaire_service_server::QuestionnaireServiceServer;
use shequ_proto::survey::v1::response_service_server::ResponseServiceServer;
use shequ_proto::survey::v1::round_service_server::RoundServiceServer;
use tokio::net::TcpListener;

pub use crate::config::SurveyConfig;
pub use crate::service::Survey;

/// Service name used in logs, traces, statuses and the schema-migration table.
pub const SERVICE: &str = "survey";

/// Survey collection as the platform serves it.
#[derive(Debug)]
pub enum SurveySpec {}

impl ServiceName for SurveySpec {
    const NAME: &'static str = SERVICE;
}

impl ServiceSpec for SurveySpec {
    type Config = SurveyConfig;
    const MIGRATIONS: &'static [Migration] = store::migrations::MIGRATIONS;

    fn policy() -> Policy {
        Policy::survey()
    }

    /// The three services, calling the registry as `[client]` says.
    fn start(cfg: &SurveyConfig, db: Database, _shutdown: &Shutdown) -> anyhow::Result<Started> {
        let survey = Survey::new(db, cfg.survey.clone(), &cfg.client)?;
        Ok(Started {
            audit: survey.audit_log().clone(),
            tasks: Vec::new(),
            routes: grpc_routes![cfg.server.max_message_bytes;
                QuestionnaireServiceServer::new(grpc::QuestionnaireApi(survey.clone())),
                RoundServiceServer::new(grpc::RoundApi(survey.clone())),
                ResponseServiceServer::new(grpc::ResponseApi(survey)),
            ],
        })
    }
}

/// Runs the `shequ-survey` command line.
pub async fn run_cli(cli: ServiceCli) -> anyhow::Result<()> {
    shequ_platform::service::run_cli::<SurveySpec>(cli).await
}

/// Connects, migrates where configured, and serves on `listener` until `shutdown` fires.
pub async fn serve(
    cfg: SurveyConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    shequ_platform::service::serve::<SurveySpec>(cfg, listener, shutdown).await
}
