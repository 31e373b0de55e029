//! gRPC server assembly: the standard health service with a `readiness` entry that follows the
//! database, reflection (v1 and v1alpha), trace context and RPC metrics on every call, checked
//! request frames and bounded error statuses ([`crate::wire`]), connection ageing, and graceful
//! shutdown that drains in-flight calls within a grace period.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::{info, warn};

use crate::auth::{AuthConfig, AuthLayer, Authenticator, Policy, check_deployment};
use crate::config::ServerConfig;
use crate::database::Database;
use crate::telemetry::{RpcMetrics, server_span};
use crate::wire::WireLayer;

/// Name of the health entry that is SERVING only while the database answers and is migrated.
pub const READINESS: &str = "readiness";

/// A shutdown signal shared by the server and long-lived streams (which end when it fires).
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(false);
        Self { tx, rx }
    }

    /// A signal that fires on SIGTERM or Ctrl-C.
    pub fn on_signals() -> Self {
        let shutdown = Self::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            info!("shutdown signal received, draining");
            trigger.trigger();
        });
        shutdown
    }

    pub fn trigger(&self) {
        let _ = self.tx.send(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once the signal has fired.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.rx.clone();
        async move {
            let _ = rx.wait_for(|&fired| fired).await;
        }
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Health entries of a service: the process (empty name), `readiness`, and each named gRPC service.
#[derive(Clone)]
pub struct Readiness {
    reporter: HealthReporter,
    services: Vec<&'static str>,
}

impl Readiness {
    pub fn new(reporter: HealthReporter, services: Vec<&'static str>) -> Self {
        Self { reporter, services }
    }

    pub async fn set(&self, ready: bool) {
        let status = if ready {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.reporter.set_service_status(READINESS, status).await;
        for name in &self.services {
            self.reporter.set_service_status(*name, status).await;
        }
    }

    /// Checks the database every `interval` until shutdown, then reports NOT_SERVING for good.
    pub fn spawn_monitor(
        self,
        db: Database,
        interval: Duration,
        shutdown: Shutdown,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut last = None;
            while !shutdown.is_triggered() {
                let ready = matches!(
                    tokio::time::timeout(
                        interval.max(Duration::from_millis(500)),
                        db.is_migrated()
                    )
                    .await,
                    Ok(Ok(true))
                );
                if last != Some(ready) {
                    if ready {
                        info!("ready: database answers and is migrated");
                    } else {
                        warn!("not ready: database unreachable or not migrated");
                    }
                    last = Some(ready);
                }
                self.set(ready).await;
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = shutdown.wait() => {}
                }
            }
            self.set(false).await;
        })
    }
}

/// How a server authenticates and authorizes calls: the [`Authenticator`] built from `[auth]`
/// and the [`Policy`] naming the roles of every method it serves.
#[derive(Debug, Clone)]
pub struct Security {
    pub authenticator: Arc<Authenticator>,
    pub policy: Policy,
}

impl Security {
    /// From `[auth]`, after checking it suits the database (development mode is refused on
    /// PostgreSQL unless forced) and warning loudly when authentication is off.
    pub fn configure(auth: &AuthConfig, policy: Policy, db: &Database) -> anyhow::Result<Self> {
        check_deployment(auth, !db.is_sqlite())?;
        Ok(Self {
            authenticator: Arc::new(Authenticator::new(auth)?),
            policy,
        })
    }
}

/// Serves a service: its `routes` (named `services` in health) plus health, readiness following
/// `db`, and reflection, until `shutdown` fires and the calls in flight have drained. Every call is
/// authenticated and its roles checked by `security` before it reaches a service, which finds the
/// caller with [`Principal::of`](crate::Principal::of); in development mode (`[auth] mode =
/// "off"`) every caller is the development principal.
pub async fn serve_secured(
    cfg: &ServerConfig,
    security: Security,
    db: Database,
    listener: TcpListener,
    routes: Routes,
    services: Vec<&'static str>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let readiness = Readiness::new(reporter, services);
    readiness.set(db.is_migrated().await.unwrap_or(false)).await;
    let monitor = readiness
        .clone()
        .spawn_monitor(db, cfg.readiness_interval(), shutdown.clone());
    let result = serve(
        cfg, &security, listener, routes, health, readiness, shutdown,
    )
    .await;
    monitor.abort();
    result
}

/// Serves `routes` plus health and reflection on `listener` until `shutdown` fires, then stops
/// accepting, lets in-flight calls finish for up to the grace period, and returns. With
/// `[server.tls]` the port speaks only TLS and health is also served in plaintext on
/// `health_listen`.
pub async fn serve(
    cfg: &ServerConfig,
    security: &Security,
    listener: TcpListener,
    routes: Routes,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    readiness: Readiness,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(shequ_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(shequ_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let local = listener.local_addr()?;
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|s| {
            let _ = s.set_nodelay(true);
        })
    });

    let mut builder = Server::builder();
    let mut plaintext_health = None;
    if let Some(tls) = &cfg.tls {
        builder = builder.tls_config(tls.server_config()?)?;
        let health_listener = TcpListener::bind(tls.health_listen)
            .await
            .with_context(|| format!("cannot listen on {} for health", tls.health_listen))?;
        info!(listen = %health_listener.local_addr()?, "serving plaintext health");
        let health = health.clone();
        let stop = shutdown.wait();
        plaintext_health = Some(tokio::spawn(async move {
            let incoming = TcpListenerStream::new(health_listener);
            if let Err(e) = Server::builder()
                .add_service(health)
                .serve_with_incoming_shutdown(incoming, stop)
                .await
            {
                warn!(error = %e, "plaintext health server failed");
            }
        }));
    }
    let router = builder
        .trace_fn(server_span)
        .max_connection_age(cfg.max_connection_age())
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .layer(MetricsLayer(RpcMetrics::new()))
        .layer(WireLayer::new(cfg.max_message_bytes))
        .layer(AuthLayer::new(
            security.authenticator.clone(),
            security.policy.clone(),
        ))
        .add_routes(routes)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    info!(listen = %local, tls = cfg.tls.is_some(), auth = ?security.authenticator.mode(), "serving gRPC");
    let drain_started = shutdown.wait();
    let not_ready = readiness.clone();
    let serving = router.serve_with_incoming_shutdown(incoming, async move {
        drain_started.await;
        not_ready.set(false).await;
    });
    tokio::pin!(serving);
    let grace = cfg.shutdown_grace();
    let cut = {
        let fired = shutdown.wait();
        async move {
            fired.await;
            tokio::time::sleep(grace).await;
        }
    };
    tokio::select! {
        result = &mut serving => {
            result?;
            info!("server stopped, all calls drained");
        }
        _ = cut => warn!(grace_secs = grace.as_secs(), "grace period over, cutting remaining calls"),
    }
    if let Some(task) = plaintext_health {
        task.abort();
    }
    Ok(())
}

/// Records `rpc.server.duration` for every call.
#[derive(Debug, Clone)]
struct MetricsLayer(RpcMetrics);

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            metrics: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct MetricsService<S> {
    inner: S,
    metrics: RpcMetrics,
}

impl<S, B, R> tower::Service<http::Request<B>> for MetricsService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let code = match &result {
                // Errors travel in the headers of a trailers-only response; success in trailers.
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0")
                    .to_owned(),
                Err(_) => "2".to_owned(),
            };
            metrics.record(&path, &code, started.elapsed().as_secs_f64() * 1000.0);
            result
        })
    }
}

/// The deadline a client set with the `grpc-timeout` header, if any.
pub fn deadline_of(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let text = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Ends a response stream with DEADLINE_EXCEEDED once the client's deadline passes; tonic enforces
/// deadlines only up to the response headers, and a following stream could otherwise run forever.
pub fn within_deadline<T, S>(
    stream: S,
    deadline: Option<Duration>,
) -> Pin<Box<dyn futures::Stream<Item = Result<T, tonic::Status>> + Send + 'static>>
where
    T: Send + 'static,
    S: futures::Stream<Item = Result<T, tonic::Status>> + Send + 'static,
{
    let Some(deadline) = deadline else {
        return Box::pin(stream);
    };
    let expired = tokio::time::sleep(deadline);
    Box::pin(until_expired(stream, expired))
}

fn until_expired<T, S>(
    stream: S,
    expired: tokio::time::Sleep,
) -> impl futures::Stream<Item = Result<T, tonic::Status>> + Send + 'static
where
    T: Send + 'static,
    S: futures::Stream<Item = Result<T, tonic::Status>> + Send + 'static,
{
    let stream = Box::pin(stream);
    let expired = Box::pin(expired);
    futures::stream::unfold(Some((stream, expired)), |state| async move {
        let (mut stream, mut expired) = state?;
        tokio::select! {
            item = futures::StreamExt::next(&mut stream) => item.map(|i| (i, Some((stream, expired)))),
            _ = &mut expired => Some((Err(tonic::Status::deadline_exceeded("the call's deadline passed")), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_grpc_timeout() {
        let mut m = tonic::metadata::MetadataMap::new();
        assert_eq!(deadline_of(&m), None);
        m.insert("grpc-timeout", "250m".parse().unwrap());
        assert_eq!(deadline_of(&m), Some(Duration::from_millis(250)));
        m.insert("grpc-timeout", "2S".parse().unwrap());
        assert_eq!(deadline_of(&m), Some(Duration::from_secs(2)));
        m.insert("grpc-timeout", "x".parse().unwrap());
        assert_eq!(deadline_of(&m), None);
    }
}
