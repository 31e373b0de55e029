//! `shequ up`: the registry, the survey service and the monitor in one process, each through its
//! crate's own `serve` (the code the separate binaries run), wired to one another over loopback
//! gRPC, on SQLite files under one data directory unless a database URL is given.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use futures::StreamExt as _;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use shequ_monitoring::MonitoringConfig;
use shequ_platform::{Shutdown, telemetry};
use shequ_registry::RegistryConfig;
use shequ_survey::SurveyConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Flags of `shequ up`.
#[derive(Debug, Clone, Args)]
pub struct UpOptions {
    /// Directory of the three SQLite files (`registry.sqlite`, `survey.sqlite`,
    /// `monitoring.sqlite`); default `$XDG_DATA_HOME/shequ` or `~/.local/share/shequ`.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// One database for all three services (`sqlite://PATH` or `postgres://...`); their tables
    /// carry distinct prefixes. Prefer `SHEQU__DATABASE__URL` for credentials.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Where the registry listens.
    #[arg(long, default_value = "127.0.0.1:50051", value_name = "ADDR")]
    pub registry_listen: SocketAddr,
    /// Where the survey service listens.
    #[arg(long, default_value = "127.0.0.1:50052", value_name = "ADDR")]
    pub survey_listen: SocketAddr,
    /// Where the monitor listens.
    #[arg(long, default_value = "127.0.0.1:50053", value_name = "ADDR")]
    pub monitoring_listen: SocketAddr,
}

/// The three services running in this process.
pub struct Stack {
    pub registry: SocketAddr,
    pub survey: SocketAddr,
    pub monitoring: SocketAddr,
    shutdown: Shutdown,
    tasks: FuturesUnordered<BoxFuture<'static, Outcome>>,
    finished: Vec<Outcome>,
}

/// A service and how it stopped.
type Outcome = (&'static str, anyhow::Result<()>);

fn watch(
    service: &'static str,
    handle: JoinHandle<anyhow::Result<()>>,
) -> BoxFuture<'static, Outcome> {
    Box::pin(async move {
        let outcome = match handle.await {
            Ok(outcome) => outcome,
            Err(e) => Err(anyhow::anyhow!("the task panicked: {e}")),
        };
        (service, outcome)
    })
}

/// Where the stack's data goes and how its servers are tuned.
#[derive(Debug, Clone, Default)]
pub struct StackSettings {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    /// Extra `section.key` overrides applied to all three services.
    pub common: Vec<(&'static str, String)>,
}

impl Stack {
    /// Binds the three listeners, then starts the services, each told the others' addresses.
    /// A `:0` port is chosen by the system.
    pub async fn start(
        listen: [SocketAddr; 3],
        settings: &StackSettings,
        shutdown: Shutdown,
    ) -> anyhow::Result<Self> {
        let bind = |addr: SocketAddr, service: &'static str| async move {
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("the {service} cannot listen on {addr}"))
        };
        let registry_listener = bind(listen[0], "registry").await?;
        let survey_listener = bind(listen[1], "survey service").await?;
        let monitoring_listener = bind(listen[2], "monitor").await?;
        let registry = registry_listener.local_addr()?;
        let survey = survey_listener.local_addr()?;
        let monitoring = monitoring_listener.local_addr()?;

        let overrides = |addr: SocketAddr| {
            let mut out: Vec<(&str, String)> = vec![("server.listen", addr.to_string())];
            if let Some(dir) = &settings.data_dir {
                out.push(("database.data_dir", dir.display().to_string()));
            }
            if let Some(url) = &settings.database_url {
                out.push(("database.url", url.clone()));
            }
            out.extend(settings.common.iter().cloned());
            out
        };
        let registry_cfg = RegistryConfig::load(None, &overrides(registry))?;
        let mut survey_overrides = overrides(survey);
        survey_overrides.push(("survey.registry_endpoint", format!("http://{registry}")));
        let survey_cfg = SurveyConfig::load(None, &survey_overrides)?;
        let mut monitoring_overrides = overrides(monitoring);
        monitoring_overrides.push(("monitoring.registry_endpoint", format!("http://{registry}")));
        monitoring_overrides.push(("monitoring.survey_endpoint", format!("http://{survey}")));
        let monitoring_cfg = MonitoringConfig::load(None, &monitoring_overrides)?;

        let tasks = FuturesUnordered::new();
        tasks.push(watch(
            "registry",
            tokio::spawn(shequ_registry::serve(
                registry_cfg,
                registry_listener,
                shutdown.clone(),
            )),
        ));
        tasks.push(watch(
            "survey",
            tokio::spawn(shequ_survey::serve(
                survey_cfg,
                survey_listener,
                shutdown.clone(),
            )),
        ));
        tasks.push(watch(
            "monitoring",
            tokio::spawn(shequ_monitoring::serve(
                monitoring_cfg,
                monitoring_listener,
                shutdown.clone(),
            )),
        ));
        Ok(Self {
            registry,
            survey,
            monitoring,
            shutdown,
            tasks,
            finished: Vec::new(),
        })
    }

    /// Resolves when any service stops by itself (an error, or the shutdown signal).
    pub async fn any_stopped(&mut self) {
        if let Some(outcome) = self.tasks.next().await {
            self.finished.push(outcome);
        }
    }

    /// Triggers shutdown and waits for all three; the first failure is returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        while let Some(outcome) = self.tasks.next().await {
            self.finished.push(outcome);
        }
        let failure = self.finished.into_iter().find_map(|(service, outcome)| {
            outcome
                .err()
                .map(|e| e.context(format!("the {service} service failed")))
        });
        failure.map_or(Ok(()), Err)
    }
}

/// Runs `shequ up` until SIGTERM or Ctrl-C, or until a service fails.
pub async fn run(options: &UpOptions) -> anyhow::Result<()> {
    let registry_defaults = RegistryConfig::load(None, &[])?;
    let _telemetry = telemetry::init("shequ", &registry_defaults.telemetry);
    let settings = StackSettings {
        data_dir: options.data_dir.clone(),
        database_url: options.database_url.clone(),
        common: Vec::new(),
    };
    let shutdown = Shutdown::on_signals();
    let mut stack = Stack::start(
        [
            options.registry_listen,
            options.survey_listen,
            options.monitoring_listen,
        ],
        &settings,
        shutdown.clone(),
    )
    .await?;
    let storage = match (&options.database_url, &options.data_dir) {
        (Some(url), _) => shequ_platform::config::redact_url(url),
        (None, Some(dir)) => format!("SQLite files in {}", dir.display()),
        (None, None) => format!(
            "SQLite files in {}",
            PathBuf::from(
                registry_defaults
                    .database
                    .resolved_url()
                    .trim_start_matches("sqlite://")
            )
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
        ),
    };
    eprintln!(
        "shequ up: registry on {}, survey on {}, monitoring on {}; {storage}",
        stack.registry, stack.survey, stack.monitoring
    );
    eprintln!(
        "clients: export SHEQU_REGISTRY=http://{} SHEQU_SURVEY=http://{} SHEQU_MONITORING=http://{}",
        stack.registry, stack.survey, stack.monitoring
    );
    eprintln!("press Ctrl-C to stop");
    stack.any_stopped().await;
    let stopping_on_signal = shutdown.is_triggered();
    let outcome = stack.stop().await;
    match (&outcome, stopping_on_signal) {
        (Ok(()), true) => eprintln!("shequ up: stopped"),
        (Ok(()), false) => {
            return Err(anyhow::anyhow!("a service stopped unexpectedly"));
        }
        (Err(_), _) => {}
    }
    outcome
}
