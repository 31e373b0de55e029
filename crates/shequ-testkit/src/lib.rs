//! Test support shared by every crate's tests and the benchmarks: a service on 127.0.0.1:0 with a
//! fresh database (SQLite, or PostgreSQL when `SHEQU_TEST_DATABASE_URL` names an admin database),
//! the committed division slices, a valid facility template, a TCP proxy that can cut a
//! connection and a fake OTLP collector.

pub mod binary;
pub mod fixtures;
pub mod monitoring;
pub mod otlp;
pub mod proxy;
pub mod survey;

use std::net::SocketAddr;

use sea_orm::ConnectionTrait;
use shequ_platform::Shutdown;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_registry::RegistryConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

/// Environment variable naming a PostgreSQL admin URL; tests then run against fresh databases
/// created from it.
pub const POSTGRES_ENV: &str = "SHEQU_TEST_DATABASE_URL";

/// A database only this test uses: a SQLite file in a temporary directory, or a PostgreSQL
/// database created for it and dropped afterwards.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn fresh() -> anyhow::Result<Self> {
        match std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty()) {
            Some(admin) => Self::fresh_postgres(&admin).await,
            None => Self::fresh_sqlite(),
        }
    }

    pub fn fresh_sqlite() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
        Ok(Self {
            url,
            _dir: Some(dir),
            postgres: None,
        })
    }

    pub async fn fresh_postgres(admin: &str) -> anyhow::Result<Self> {
        let name = format!("shequ_test_{}", uuid::Uuid::new_v4().simple());
        let conn = sea_orm::Database::connect(admin).await?;
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        conn.close().await?;
        let (base, _) = admin
            .rsplit_once('/')
            .ok_or_else(|| anyhow::anyhow!("admin url has no database"))?;
        Ok(Self {
            url: format!("{base}/{name}"),
            _dir: None,
            postgres: Some((admin.to_owned(), name)),
        })
    }

    /// The same database again, for a second service instance; the original still owns it and
    /// cleans it up.
    pub fn alias(&self) -> Self {
        Self {
            url: self.url.clone(),
            _dir: None,
            postgres: None,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee, so use a small one of our own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(conn) = sea_orm::Database::connect(&admin).await {
                    let _ = conn
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// Configuration for a registry on an ephemeral port with `database_url`, checking readiness often.
pub fn registry_config(database_url: &str) -> anyhow::Result<RegistryConfig> {
    Ok(RegistryConfig::load(
        None,
        &[
            ("server.listen", "127.0.0.1:0".to_owned()),
            ("database.url", database_url.to_owned()),
            ("server.readiness_interval_ms", "100".to_owned()),
            ("server.shutdown_grace_secs", "5".to_owned()),
            ("registry.watch_poll_interval_ms", "100".to_owned()),
        ],
    )?)
}

/// Waits, up to 30 s, until `127.0.0.1:port` can be bound. Tests of a service's default port use
/// it first: on a busy machine a default port inside the ephemeral range can briefly be held by
/// another socket.
pub async fn wait_for_free_port(port: u16) {
    for _ in 0..300 {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Logs of the services under test, captured per test; `SHEQU_TEST_LOG=debug` shows more.
pub fn init_test_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHEQU_TEST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A registry serving on loopback until stopped or dropped.
pub struct TestRegistry {
    pub addr: SocketAddr,
    pub database: TestDatabase,
    shutdown: Shutdown,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestRegistry {
    /// A registry with a fresh database of the kind the environment selects.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(TestDatabase::fresh().await?).await
    }

    pub async fn start_on(database: TestDatabase) -> anyhow::Result<Self> {
        let cfg = registry_config(database.url())?;
        Self::start_with(cfg, database).await
    }

    pub async fn start_with(cfg: RegistryConfig, database: TestDatabase) -> anyhow::Result<Self> {
        init_test_logs();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shutdown = Shutdown::new();
        let handle = tokio::spawn(shequ_registry::serve(cfg, listener, shutdown.clone()));
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

    pub async fn divisions(&self) -> anyhow::Result<DivisionServiceClient<Channel>> {
        Ok(DivisionServiceClient::new(self.channel().await?).max_decoding_message_size(64 << 20))
    }

    pub async fn facilities(&self) -> anyhow::Result<FacilityServiceClient<Channel>> {
        Ok(FacilityServiceClient::new(self.channel().await?).max_decoding_message_size(64 << 20))
    }

    pub fn shutdown_signal(&self) -> Shutdown {
        self.shutdown.clone()
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

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}
