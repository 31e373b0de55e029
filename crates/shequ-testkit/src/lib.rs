//! Test support shared by every crate's tests and the benchmarks: a service on 127.0.0.1:0 with a
//! fresh database (SQLite, or PostgreSQL when `SHEQU_TEST_DATABASE_URL` names an admin database),
//! the committed division slices, a valid facility template, a TCP proxy that can cut a
//! connection, a fake OTLP collector, and a token issuer for services that authenticate calls.

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

    /// The SQLite file, when this is a SQLite database.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self.url
            .strip_prefix("sqlite://")
            .map(|p| std::path::PathBuf::from(p.split('?').next().unwrap_or(p)))
    }

    /// Runs `sql` (one or more statements, no parameters) on this database.
    pub async fn execute(&self, sql: &str) -> anyhow::Result<()> {
        let conn = sea_orm::Database::connect(self.url.as_str()).await?;
        conn.execute_unprepared(sql).await?;
        conn.close().await?;
        Ok(())
    }

    /// On PostgreSQL, the `application_name` of every session on this database that sits idle
    /// inside a transaction: a connection a service returned to its pool mid-transaction. Empty
    /// on SQLite.
    pub async fn sessions_idle_in_transaction(&self) -> anyhow::Result<Vec<String>> {
        let Some((admin, name)) = &self.postgres else {
            return Ok(Vec::new());
        };
        let conn = sea_orm::Database::connect(admin.as_str()).await?;
        let rows = conn
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT application_name FROM pg_stat_activity \
                 WHERE datname = $1 AND state LIKE 'idle in transaction%'",
                [name.as_str().into()],
            ))
            .await?;
        conn.close().await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String>("", "application_name"))
            .collect::<Result<_, _>>()?)
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
            // The PostgreSQL lane runs in development mode, which is otherwise refused there.
            ("auth.allow_off_with_postgres", "true".to_owned()),
        ],
    )?)
}

/// As [`registry_config`], authenticating calls with tokens of `issuer`.
pub fn registry_config_with_auth(
    database_url: &str,
    issuer: &TestIssuer,
) -> anyhow::Result<RegistryConfig> {
    let mut cfg = registry_config(database_url)?;
    cfg.auth = issuer.auth_config();
    Ok(cfg)
}

/// A token issuer for tests: an RSA key (RS256) and a P-256 key (ES256) published in a JWKS file
/// that a service under test reads, and tokens signed with either.
pub struct TestIssuer {
    dir: tempfile::TempDir,
    ec: jsonwebtoken::EncodingKey,
    ec_kid: String,
    ec_jwk: serde_json::Value,
}

/// A signing algorithm a [`TestIssuer`] signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestAlgorithm {
    Rs256,
    Es256,
}

/// The test issuer's RSA key (PKCS#8), made for tests with `openssl genpkey`; it guards nothing.
const TEST_RSA_KEY: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDMA4CS+Eyc1BON\n\
OszgKPMqRZKZ0CUGuiimXT06C3TzDsDiz/eMSuby0NI7wyg38P8GNdaX/bIIRzg3\n\
BDumKNm7fPMA8cthyb7QodJqNsJtb0WCRzaDHUvDW2IGKglGInO5Mm1+Ss3ZMmJc\n\
UCuufO/Bvw+kZtSsH3lzuSVUgpqtJj/LQgLIzJ759kqz8hDtI2kmlPOsT8I5bOuY\n\
J90NdfY/Jo9yjqI7XW3AaX+kGv2XfhflvKkZ7XI0skU/VNwk4B3YHrE6PFX6QP9y\n\
5TlpK2xXy+nwiNn3MQqT6umUatHkdD2YK6YknePlkG9JKB+1cpfeUjEMg7cE4xME\n\
PXqIfWmHAgMBAAECggEABlO7epNhyOFY4+HldbQ/almzBLssUsuWNCajHfg5/cnA\n\
2KfrfPnbtL8eLgVM64M5XYdw6tDO4yvWRfqHIQ2WRxbGcIqPLK61kMHcBThCimNP\n\
jA1KVwGjFmFwplFKbVbnMOCr/aUzQh+qZkOEP0qXovIaeZZI1Te6rAibbEYKpwEA\n\
+tsUXJogMCt/SV9aahM2wrSP4hU4p7qIQxJWz/ZZNGplVR0NlKt/V85GT/wkKaTk\n\
kfkHSwujEJVcstaUg54gv3rU5tOcB+pqLKmjynbkQ/yaZw0+1tbXOj+2NrRDiQXX\n\
Yu0By7tawMbdkVxlHAb3jxfpdkFOrEkZmb9GeOGryQKBgQDwjggLqFUBVpnRTiS/\n\
U0xT0m/rChaGmFsuBZCrsvToIxIPJ+qpvbYLvP119pXck+3AfHar8FqAVeoQI6r0\n\
9JfkT+Y3pmFnfmpnMZ8pcZKw9iNuZmFC4gp7erqQrthMIkTalBPSuiAUZO12l5VX\n\
bNNIgeyk9zef6Jb6XCbRfNQbvwKBgQDZHNlU8GrrwUB0gHyL7SRgWBJRitiYxyWE\n\
MBUZAa/TYdh0AovzvVA4ubl78px5hesgcxXXXfq3ZnFj390fJmB81y7q2kL8pnrz\n\
0DDod7smtX8e8cuodBjCOWCnsO093biv8JVvsaLXvGLxnJtZ1R0QQC/SN9ZlYPhq\n\
KugXzTvEOQKBgD4Oth6jx4I34Cix+yLsj1VUhZDiIluItIUT5HWXDj1QxtjoGE6/\n\
5VXz5INpINIty3kL4uWKdR6Ei4SsXu8gpoq83gxfPOOhJjwG/iOH7CsA5LUXbmH9\n\
xGyEhdrLcHt7n72v08laQOph+yzMADf0mDEta2pHaK81JrXhzhXfGS0rAoGAQ0Uv\n\
CaRcXKPKJs7QyEI37SocsutEZUH/G9ASGWduZR6CBJ/tYR4dRxY0pHTtirG1wp4l\n\
/E8AKecx5vIr/0TSzJuXy+jIrKOgoP62yLCgakP+GUZuBcnDChrhGdQ2Dd8vJER0\n\
6OCvRgz200nk0Ja5pJlet9HZOhwrnCmjNAzBIfECgYA7auKFLMvTs9M/seyIMZ69\n\
+RH+EsvMe9RQgaDTnqc1RVMDWkiipVYG+z6ots7uytwuI8ZS7i+gviQHjYqQm5b7\n\
8wZx+PMqnt/mvQA8BAhqxXHl/kJqo6qe/ipOIRKDc/7LL8CF5X70xw9izjXFcyl5\n\
KtfGEHee38eM+3tXXUWqpA==\n\
-----END PRIVATE KEY-----\n\
";
/// Its public modulus and exponent, base64url, as a JWK publishes them.
const TEST_RSA_N: &str = "zAOAkvhMnNQTjTrM4CjzKkWSmdAlBroopl09Ogt08w7A4s_3jErm8tDSO8MoN_D_BjXWl_2yCEc4NwQ7pijZu3zzAPHLYcm-0KHSajbCbW9Fgkc2gx1Lw1tiBioJRiJzuTJtfkrN2TJiXFArrnzvwb8PpGbUrB95c7klVIKarSY_y0ICyMye-fZKs_IQ7SNpJpTzrE_COWzrmCfdDXX2PyaPco6iO11twGl_pBr9l34X5bypGe1yNLJFP1TcJOAd2B6xOjxV-kD_cuU5aStsV8vp8IjZ9zEKk-rplGrR5HQ9mCumJJ3j5ZBvSSgftXKX3lIxDIO3BOMTBD16iH1phw";
const TEST_RSA_E: &str = "AQAB";

impl TestIssuer {
    pub const ISSUER: &'static str = "https://issuer.shequ.test";
    pub const AUDIENCE: &'static str = "shequ";
    pub const RSA_KID: &'static str = "rsa-1";

    pub fn new() -> anyhow::Result<Self> {
        let (ec, ec_jwk) = p256_key("ec-1")?;
        let issuer = Self {
            dir: tempfile::tempdir()?,
            ec,
            ec_kid: "ec-1".to_owned(),
            ec_jwk,
        };
        issuer.publish()?;
        Ok(issuer)
    }

    /// The JWKS file a service reads.
    pub fn jwks_path(&self) -> std::path::PathBuf {
        self.dir.path().join("jwks.json")
    }

    fn publish(&self) -> anyhow::Result<()> {
        let set = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": Self::RSA_KID, "use": "sig", "alg": "RS256", "n": TEST_RSA_N, "e": TEST_RSA_E},
            self.ec_jwk,
        ]});
        // Written beside and renamed, so a reader never sees half a file.
        let next = self.dir.path().join("jwks.json.next");
        std::fs::write(&next, serde_json::to_vec(&set)?)?;
        std::fs::rename(next, self.jwks_path())?;
        Ok(())
    }

    /// Replaces the P-256 key with a new one under the id `kid` and republishes the key set.
    pub fn rotate_ec_key(&mut self, kid: &str) -> anyhow::Result<()> {
        let (ec, jwk) = p256_key(kid)?;
        self.ec = ec;
        self.ec_jwk = jwk;
        self.ec_kid = kid.to_owned();
        self.publish()
    }

    /// `[auth]` settings that trust this issuer.
    pub fn auth_config(&self) -> shequ_platform::AuthConfig {
        shequ_platform::AuthConfig {
            mode: shequ_platform::auth::AuthMode::Jwt,
            jwks_file: self.jwks_path().display().to_string(),
            issuer: Self::ISSUER.to_owned(),
            audience: Self::AUDIENCE.to_owned(),
            leeway_secs: 0,
            allow_off_with_postgres: false,
        }
    }

    /// Claims of a principal valid for ten minutes.
    pub fn claims(subject: &str, roles: &[&str], divisions: &[&str]) -> serde_json::Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        serde_json::json!({
            "iss": Self::ISSUER,
            "aud": Self::AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + 600,
            "roles": roles,
            "divisions": divisions,
        })
    }

    /// A valid RS256 token for the principal.
    pub fn token(&self, subject: &str, roles: &[&str], divisions: &[&str]) -> String {
        self.sign(
            TestAlgorithm::Rs256,
            &Self::claims(subject, roles, divisions),
        )
    }

    /// `claims` signed with this issuer's key for `algorithm`.
    pub fn sign(&self, algorithm: TestAlgorithm, claims: &serde_json::Value) -> String {
        match algorithm {
            TestAlgorithm::Rs256 => {
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
                header.kid = Some(Self::RSA_KID.to_owned());
                let key = jsonwebtoken::EncodingKey::from_rsa_pem(TEST_RSA_KEY.as_bytes())
                    .expect("the test RSA key parses");
                jsonwebtoken::encode(&header, claims, &key).expect("signing succeeds")
            }
            TestAlgorithm::Es256 => {
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
                header.kid = Some(self.ec_kid.clone());
                jsonwebtoken::encode(&header, claims, &self.ec).expect("signing succeeds")
            }
        }
    }

    /// `claims` signed by a key nobody published, under this issuer's P-256 key id: a forgery.
    pub fn forge(&self, claims: &serde_json::Value) -> String {
        let (key, _) = p256_key(&self.ec_kid).expect("a P-256 key is generated");
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.ec_kid.clone());
        jsonwebtoken::encode(&header, claims, &key).expect("signing succeeds")
    }
}

/// A fresh P-256 signing key and its public JWK.
fn p256_key(kid: &str) -> anyhow::Result<(jsonwebtoken::EncodingKey, serde_json::Value)> {
    use base64::Engine as _;
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let point = pair.public_key_raw();
    anyhow::ensure!(point.len() == 65 && point[0] == 4, "unexpected P-256 point");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
        "x": b64.encode(&point[1..33]), "y": b64.encode(&point[33..65]),
    });
    Ok((
        jsonwebtoken::EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk,
    ))
}

/// `message` as a request carrying `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a token is ASCII"),
    );
    request
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

/// Runs a service's `serve` as a task. A service that stops with an error (one that could not
/// migrate, say) has dropped its listener, so its clients see only a reset connection: the error
/// is logged here, where the failing test's output shows it.
pub fn spawn_service<F>(service: &'static str, serve: F) -> JoinHandle<anyhow::Result<()>>
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    tokio::spawn(async move {
        let result = serve.await;
        if let Err(e) = &result {
            tracing::error!(
                service,
                error = format!("{e:#}"),
                "the service stopped with an error"
            );
        }
        result
    })
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
        let handle = spawn_service(
            "registry",
            shequ_registry::serve(cfg, listener, shutdown.clone()),
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

/// Checks the development-mode rule on `database` for a service whose configuration refuses to
/// be forced: `serve` (the service's own `serve` with such a configuration) must fail naming
/// `allow_off_with_postgres` on PostgreSQL, and serve health on SQLite until shut down.
pub async fn assert_development_mode_refused_on_postgres<F, Fut>(database: &TestDatabase, serve: F)
where
    F: FnOnce(TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let serving = tokio::spawn(serve(listener, shutdown.clone()));
    if database.is_postgres() {
        let err = serving.await.unwrap().unwrap_err();
        assert!(err.to_string().contains("allow_off_with_postgres"), "{err}");
    } else {
        // SQLite is a development database: the service serves.
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        assert!(
            health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .is_ok()
        );
        shutdown.trigger();
        serving.await.unwrap().unwrap();
    }
}
