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

use anyhow::Context as _;
use shequ_platform::audit::AuditApi;
use shequ_platform::auth::Policy;
use shequ_platform::cli::{ServiceCli, ServiceCommand};
use shequ_platform::methods;
use shequ_platform::server::{self, Security};
use shequ_platform::{Database, Shutdown, telemetry};
use shequ_proto::audit::v1::audit_service_server::AuditServiceServer;
use shequ_proto::survey::v1::questionnaire_service_server::QuestionnaireServiceServer;
use shequ_proto::survey::v1::response_service_server::ResponseServiceServer;
use shequ_proto::survey::v1::round_service_server::RoundServiceServer;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use crate::config::SurveyConfig;
pub use crate::service::Survey;

/// Service name used in logs, traces, statuses and the schema-migration table.
pub const SERVICE: &str = "survey";

/// Survey collection as the platform names it in statuses.
#[derive(Debug)]
pub enum SurveySpec {}

impl shequ_platform::error::ServiceName for SurveySpec {
    const NAME: &'static str = SERVICE;
}

/// Runs the `shequ-survey` command line.
pub async fn run_cli(cli: ServiceCli) -> anyhow::Result<()> {
    let cfg = SurveyConfig::load(cli.config.as_deref(), &cli.overrides())?;
    let _telemetry = telemetry::init("shequ-survey", &cfg.telemetry);
    match cli.command {
        ServiceCommand::Migrate => {
            Ok(
                Database::migrate_only(&cfg.database, SERVICE, store::migrations::MIGRATIONS)
                    .await?,
            )
        }
        ServiceCommand::Serve => {
            let listener = TcpListener::bind(cfg.server.listen)
                .await
                .with_context(|| format!("cannot listen on {}", cfg.server.listen))?;
            serve(cfg, listener, Shutdown::on_signals()).await
        }
    }
}

/// Connects, migrates where configured, and serves on `listener` until `shutdown` fires.
pub async fn serve(
    cfg: SurveyConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let db = Database::open(&cfg.database, SERVICE, store::migrations::MIGRATIONS).await?;
    let security = Security::configure(&cfg.auth, Policy::survey(), &db)?;
    let survey = Survey::new(db.clone(), cfg.survey.clone(), &cfg.client)?;
    let audit = AuditApi::new(survey.audit_log().clone(), shutdown.clone());
    let max = cfg.server.max_message_bytes;
    let routes = Routes::new(
        QuestionnaireServiceServer::new(grpc::QuestionnaireApi(survey.clone()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    )
    .add_service(
        RoundServiceServer::new(grpc::RoundApi(survey.clone()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    )
    .add_service(
        ResponseServiceServer::new(grpc::ResponseApi(survey))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    )
    .add_service(
        AuditServiceServer::new(audit)
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
    );
    let services = vec![
        methods::survey::questionnaire_service::SERVICE,
        methods::survey::round_service::SERVICE,
        methods::survey::response_service::SERVICE,
        methods::audit::audit_service::SERVICE,
    ];
    server::serve_secured(
        &cfg.server,
        security,
        db,
        listener,
        routes,
        services,
        shutdown,
    )
    .await
}
