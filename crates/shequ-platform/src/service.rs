//! The skeleton every service runs in: read the configuration, start telemetry, then either apply
//! the schema migrations and exit, or open the database, configure authentication, build the
//! service on it and serve its gRPC services and its audit trail until shutdown. A service says
//! only what is its own, in a [`ServiceSpec`].

use std::convert::Infallible;

use anyhow::Context as _;
use shequ_proto::audit::v1::audit_service_server::AuditServiceServer;
use tokio::net::TcpListener;
use tokio::task::AbortHandle;
use tonic::body::Body;
use tonic::server::NamedService;

use crate::audit::{AuditApi, AuditLog};
use crate::auth::Policy;
use crate::cli::{ServiceCli, ServiceCommand};
use crate::config::ServiceConfig;
use crate::database::{Database, Migration};
use crate::error::ServiceName;
use crate::server::{self, Security, Shutdown};
use crate::telemetry;

/// What a service brings to the skeleton: its name (also its errors' and its schema's), its
/// configuration, migrations and policy, and how it is built on its database.
pub trait ServiceSpec: ServiceName + 'static {
    /// Its configuration: the platform's sections beside its own.
    type Config: ServiceConfig;

    /// Its schema, version by version.
    const MIGRATIONS: &'static [Migration];

    /// The roles and regional rule of every method it serves.
    fn policy() -> Policy;

    /// Builds the service on its open database: the gRPC services it answers with (see
    /// [`grpc_routes!`](crate::grpc_routes)), the audit trail it keeps, and the background work
    /// that stops when serving ends.
    fn start(cfg: &Self::Config, db: Database, shutdown: &Shutdown) -> anyhow::Result<Started>;
}

/// A service built on its database, ready to be served.
#[derive(Debug)]
pub struct Started {
    /// Its own gRPC services; the skeleton adds the audit trail's.
    pub routes: ServiceRoutes,
    /// The trail `shequ.audit.v1.AuditService` streams.
    pub audit: AuditLog,
    /// Background tasks aborted once serving has ended.
    pub tasks: Vec<AbortHandle>,
}

/// The gRPC services a server answers with, and their names for health.
#[derive(Debug, Default)]
pub struct ServiceRoutes {
    routes: tonic::service::Routes,
    names: Vec<&'static str>,
}

impl ServiceRoutes {
    /// Adds a generated server (with its message limits already set).
    pub fn add_service<T>(mut self, server: T) -> Self
    where
        T: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        T::Future: Send + 'static,
    {
        self.names.push(T::NAME);
        self.routes = self.routes.add_service(server);
        self
    }
}

/// Routes to generated gRPC servers, each held to `max` bytes a message either way (the
/// `[server] max_message_bytes` setting): `grpc_routes![max; AServer::new(a), BServer::new(b)]`.
#[macro_export]
macro_rules! grpc_routes {
    ($max:expr; $($server:expr),+ $(,)?) => {{
        let max: usize = $max;
        $crate::service::ServiceRoutes::default()
            $(.add_service($server.max_decoding_message_size(max).max_encoding_message_size(max)))+
    }};
}

/// Runs a service's command line: `serve` until SIGTERM or Ctrl-C, or `migrate` and exit.
pub async fn run_cli<S: ServiceSpec>(cli: ServiceCli) -> anyhow::Result<()> {
    let cfg = S::Config::load(cli.config.as_deref(), &cli.overrides())?;
    let sections = cfg.sections();
    let _telemetry = telemetry::init(&format!("shequ-{}", S::NAME), sections.telemetry);
    match cli.command {
        ServiceCommand::Migrate => {
            Ok(Database::migrate_only(sections.database, S::NAME, S::MIGRATIONS).await?)
        }
        ServiceCommand::Serve => {
            let listen = sections.server.listen;
            let listener = TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            serve::<S>(cfg, listener, Shutdown::on_signals()).await
        }
    }
}

/// Connects, migrates where configured, builds the service and serves it on `listener` until
/// `shutdown` fires, authenticating callers as `[auth]` says.
pub async fn serve<S: ServiceSpec>(
    cfg: S::Config,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let sections = cfg.sections();
    let db = Database::open(sections.database, S::NAME, S::MIGRATIONS).await?;
    let security = Security::configure(sections.auth, S::policy(), &db)?;
    let started = S::start(&cfg, db.clone(), &shutdown)?;
    let max = sections.server.max_message_bytes;
    let audit = AuditServiceServer::new(AuditApi::new(started.audit, shutdown.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let routes = started.routes.add_service(audit);
    let result = server::serve_secured(
        sections.server,
        security,
        db,
        listener,
        routes.routes,
        routes.names,
        shutdown,
    )
    .await;
    for task in started.tasks {
        task.abort();
    }
    result
}
