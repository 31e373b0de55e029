//! One harness for every service: [`TestService`] runs a service's own `serve` in this process
//! on 127.0.0.1:0 over a [`TestDatabase`], hands out channels to it, and shuts it down. What
//! differs between the services (their configuration and `serve`) is a [`ServiceUnderTest`].

use std::marker::PhantomData;
use std::net::SocketAddr;

use shequ_platform::Shutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::{TestDatabase, init_test_logs};

/// A service a [`TestService`] can start: its configuration and its `serve`.
pub trait ServiceUnderTest: 'static {
    /// The name the harness logs a failed service under.
    const NAME: &'static str;
    /// The service's whole configuration.
    type Config: Send + 'static;

    /// The service's compiled-in configuration with `overrides` (`section.key`, value) on top.
    fn load(overrides: &[(&str, String)]) -> anyhow::Result<Self::Config>;

    /// The service's own `serve`: answers on `listener` until `shutdown` fires.
    fn serve(
        cfg: Self::Config,
        listener: TcpListener,
        shutdown: Shutdown,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static;
}

/// `S`'s configuration for a test: an ephemeral port, `database_url`, readiness checked often, a
/// short shutdown grace and development mode allowed on PostgreSQL, then `overrides`.
pub fn test_config<S: ServiceUnderTest>(
    database_url: &str,
    overrides: &[(&str, String)],
) -> anyhow::Result<S::Config> {
    let mut all = vec![
        ("server.listen", "127.0.0.1:0".to_owned()),
        ("database.url", database_url.to_owned()),
        ("server.readiness_interval_ms", "100".to_owned()),
        ("server.shutdown_grace_secs", "5".to_owned()),
        // The PostgreSQL lane runs in development mode, which is otherwise refused there.
        ("auth.allow_off_with_postgres", "true".to_owned()),
    ];
    all.extend(overrides.iter().cloned());
    S::load(&all)
}

/// A service serving on loopback until stopped or dropped. Each service adds its constructors
/// and clients: [`TestService::registry`], [`TestService::survey`],
/// [`TestService::monitoring`].
pub struct TestService<S: ServiceUnderTest> {
    pub addr: SocketAddr,
    pub database: TestDatabase,
    shutdown: Shutdown,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
    service: PhantomData<fn() -> S>,
}

impl<S: ServiceUnderTest> TestService<S> {
    /// The service with `cfg`, on `database` (which `cfg` names, or a way to it).
    pub async fn start_with(cfg: S::Config, database: TestDatabase) -> anyhow::Result<Self> {
        init_test_logs();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shutdown = Shutdown::new();
        let serving = S::serve(cfg, listener, shutdown.clone());
        // A service that stops with an error (one that could not migrate, say) has dropped its
        // listener, so its clients see only a reset connection: the error is logged here, where
        // the failing test's output shows it.
        let handle = tokio::spawn(async move {
            let result = serving.await;
            if let Err(e) = &result {
                tracing::error!(
                    service = S::NAME,
                    error = format!("{e:#}"),
                    "the service stopped with an error"
                );
            }
            result
        });
        Ok(Self {
            addr,
            database,
            shutdown,
            handle: Some(handle),
            service: PhantomData,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> anyhow::Result<Channel> {
        Ok(Endpoint::from_shared(self.endpoint())?.connect().await?)
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

impl<S: ServiceUnderTest> Drop for TestService<S> {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// Checks the development-mode rule: `S` with `cfg` (development mode, not forced on
/// PostgreSQL) on `database` must fail naming `allow_off_with_postgres` on PostgreSQL, and serve
/// health on SQLite until shut down.
pub async fn assert_development_mode_refused_on_postgres<S: ServiceUnderTest>(
    database: TestDatabase,
    cfg: S::Config,
) {
    let postgres = database.is_postgres();
    let service = TestService::<S>::start_with(cfg, database).await.unwrap();
    if postgres {
        let err = service.stop().await.unwrap_err();
        assert!(err.to_string().contains("allow_off_with_postgres"), "{err}");
    } else {
        // SQLite is a development database: the service serves.
        let mut health =
            tonic_health::pb::health_client::HealthClient::new(service.channel().await.unwrap());
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await;
        assert!(answer.is_ok(), "{answer:?}");
        service.stop().await.unwrap();
    }
}
