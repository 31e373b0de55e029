//! Support for the system tests: locating the service binaries that `cargo test --workspace`
//! builds, and running them as separate processes on loopback, configured only through flags and
//! the environment, as an operator runs them. For the suites that walk every method
//! (`robustness`, `authorization`), [`rpc`] calls any method by name and [`suite`] runs the three
//! services in the test's process with seeded resources.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use shequ_system_tests::Launch;
//! let mut registry = Launch::new("shequ-registry")
//!     .database_url("sqlite:///tmp/r.sqlite")
//!     .start()
//!     .await?; // listening on a free port and ready
//! let channel = registry.channel().await?;
//! registry.kill().await?; // SIGKILL
//! registry.restart().await?; // same port, flags and environment
//! let exit = registry.terminate().await?; // SIGTERM, then waits for the exit
//! assert!(exit.success(), "{}", registry.stderr());
//! # drop(channel);
//! # Ok(())
//! # }
//! ```

pub mod rpc;
pub mod suite;
pub mod survey;
pub mod system;
pub mod upgrade;

pub use system::System;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The service binaries, by the name of their executable.
pub const SERVICES: [&str; 3] = ["shequ-registry", "shequ-survey", "shequ-monitoring"];

/// How long a process may take to log that it serves, and then to turn ready. Generous: five
/// builds may share a 2-core machine with the tests.
pub const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a process may take to exit after SIGTERM or SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Path of a workspace binary (`shequ-registry`, `shequ`, ...) built beside the running test.
///
/// `cargo test --workspace` builds every package's binaries before it runs any test; a test of
/// this package alone needs them built first, which the panic message says.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    // A test runs as target/<profile>/deps/<test>-<hash>, a binary of this package as
    // target/<profile>/<name>: the service binaries sit in target/<profile>.
    let dir = exe.parent().expect("the executable lives in a directory");
    let profile_dir = if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().expect("target/<profile>/deps has a parent")
    } else {
        dir
    };
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, or build the binaries \
         first with `cargo build --bins`",
        path.display()
    );
    path
}

/// How to start one service process: `<binary> serve --listen 127.0.0.1:<port>` plus the flags
/// and environment added here.
///
/// Every process gets its own data directory (`XDG_DATA_HOME`, kept across restarts), so a service
/// started without a database URL uses a SQLite file there. The defaults suit tests: readiness is
/// checked every 100 ms, shutdown waits at most 5 s for calls in flight, logs are plain text
/// without colour, and `OTEL_EXPORTER_OTLP_ENDPOINT` is not inherited from the test's
/// environment (set it with [`Launch::env`]).
#[derive(Debug, Clone)]
pub struct Launch {
    binary: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Launch {
    /// The binary `name` (one of [`SERVICES`]) as built beside the test, see [`binary`].
    pub fn new(name: &str) -> Self {
        Self::from_path(binary(name))
    }

    /// Any binary that shares the services' command line.
    pub fn from_path(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            args: Vec::new(),
            env: vec![
                ("NO_COLOR".into(), "1".into()),
                ("SHEQU__SERVER__READINESS_INTERVAL_MS".into(), "100".into()),
                ("SHEQU__SERVER__SHUTDOWN_GRACE_SECS".into(), "5".into()),
            ],
        }
    }

    /// `--database-url URL` (`sqlite://PATH` or `postgres://...`).
    pub fn database_url(self, url: &str) -> Self {
        self.arg("--database-url").arg(url)
    }

    /// One more command-line argument after `serve --listen ADDR`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// An environment variable, e.g. `SHEQU__SURVEY__REGISTRY_ENDPOINT`; later values win.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
        self
    }

    /// Starts the process on a free loopback port and waits until its readiness check serves.
    /// A port another process grabbed in between is retried with a new one.
    pub async fn start(self) -> anyhow::Result<Service> {
        let mut data_dir = Some(tempfile::tempdir().context("a data directory")?);
        let mut last = None;
        for _ in 0..3 {
            let port = free_port()?;
            let mut service = Service {
                launch: self.clone(),
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                data_dir: data_dir.take(),
                child: None,
                log: Log::default(),
            };
            match service.spawn_and_wait().await {
                Ok(()) => return Ok(service),
                Err(e) if service.stderr().contains("in use") => {
                    last = Some(e);
                    data_dir = service.data_dir.take();
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("three attempts were made"))
    }
}

/// A port that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").context("binding a probe port")?;
    Ok(probe.local_addr()?.port())
}

/// Everything a process wrote to stderr, line by line, across restarts.
#[derive(Debug, Clone, Default)]
struct Log {
    lines: Arc<Mutex<Vec<String>>>,
}

/// A service binary running as a separate process. Dropping it kills the process (and, while a
/// test panics, prints the last lines of its stderr).
#[derive(Debug)]
pub struct Service {
    launch: Launch,
    addr: SocketAddr,
    data_dir: Option<tempfile::TempDir>,
    child: Option<Child>,
    log: Log,
}

impl Service {
    /// `127.0.0.1:<port>`, the same across restarts.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, for another service's configuration or a client.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The data directory the process sees as `XDG_DATA_HOME`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .as_ref()
            .expect("a service keeps its data directory")
            .path()
            .to_owned()
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// A new connection to the service.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        Endpoint::from_shared(self.endpoint())?
            .connect_timeout(Duration::from_secs(30))
            .connect()
            .await
            .with_context(|| format!("connecting to {}{}", self.endpoint(), self.log_tail()))
    }

    /// Everything the process wrote to stderr so far, across restarts.
    pub fn stderr(&self) -> String {
        self.log.lines.lock().expect("log lock").join("\n")
    }

    /// The last lines of stderr, for failure messages.
    fn log_tail(&self) -> String {
        let lines = self.log.lines.lock().expect("log lock");
        let from = lines.len().saturating_sub(40);
        format!(
            "\n--- last stderr lines of {} ---\n{}",
            self.launch.binary.display(),
            lines[from..].join("\n")
        )
    }

    /// Waits until the `readiness` health check serves (the database answers, the schema is
    /// current).
    pub async fn wait_ready(&self) -> anyhow::Result<()> {
        self.wait_health("readiness", ServingStatus::Serving).await
    }

    /// Waits until the health check of `service` (`""` is the process, `readiness` the database)
    /// reports `wanted`, following the health `Watch` stream.
    pub async fn wait_health(&self, service: &str, wanted: ServingStatus) -> anyhow::Result<()> {
        let reached = tokio::time::timeout(START_TIMEOUT, async {
            let mut health = HealthClient::new(self.channel().await?);
            let mut watch = health
                .watch(HealthCheckRequest {
                    service: service.into(),
                })
                .await?
                .into_inner();
            while let Some(r) = watch.next().await {
                if r?.status == wanted as i32 {
                    return Ok(());
                }
            }
            Err(anyhow!("the health watch ended"))
        })
        .await;
        match reached {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.context(format!(
                "waiting for `{service}` to be {wanted:?}{}",
                self.log_tail()
            ))),
            Err(_) => bail!(
                "`{service}` was not {wanted:?} within {START_TIMEOUT:?}{}",
                self.log_tail()
            ),
        }
    }

    /// Sends SIGTERM and waits for the process to exit: a graceful shutdown.
    pub async fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        self.signal("TERM")?;
        self.wait_exit().await
    }

    /// Sends SIGKILL and waits for the process to be gone: a crash, nothing flushed.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        let child = self.child.as_mut().context("the process is not running")?;
        child.start_kill().context("sending SIGKILL")?;
        self.wait_exit().await.map(drop)
    }

    /// Starts the process again with the same port, flags, environment and data directory, and
    /// waits until it is ready. The previous process must have exited ([`Service::kill`],
    /// [`Service::terminate`]).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.child.is_none(),
            "stop {} before restarting it",
            self.launch.binary.display()
        );
        // The port was ours a moment ago; wait until the kernel lets it go.
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        while std::net::TcpListener::bind(self.addr).is_err() {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{} stayed taken",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.spawn_and_wait().await
    }

    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self.pid().context("the process is not running")?;
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .context("running kill")?;
        anyhow::ensure!(status.success(), "kill -{signal} {pid} failed");
        Ok(())
    }

    async fn wait_exit(&mut self) -> anyhow::Result<ExitStatus> {
        let mut child = self.child.take().context("the process is not running")?;
        match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                let _ = child.start_kill();
                bail!(
                    "the process did not exit within {STOP_TIMEOUT:?}{}",
                    self.log_tail()
                )
            }
        }
    }

    /// Spawns `serve`, waits for the log line saying it serves on our address, then readiness.
    async fn spawn_and_wait(&mut self) -> anyhow::Result<()> {
        let mut command = Command::new(&self.launch.binary);
        command
            .arg("serve")
            .arg("--listen")
            .arg(self.addr.to_string())
            .args(&self.launch.args)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env("XDG_DATA_HOME", self.data_dir())
            .envs(self.launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", self.launch.binary.display()))?;
        let stderr = child.stderr.take().context("stderr is piped")?;
        self.child = Some(child);

        let (seen_tx, mut seen) = watch::channel(0usize);
        let lines = self.log.lines.clone();
        let first_line = lines.lock().expect("log lock").len();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let mut all = lines.lock().expect("log lock");
                all.push(line);
                seen_tx.send_replace(all.len());
            }
        });

        let serving = format!("{}", self.addr);
        let started = tokio::time::timeout(START_TIMEOUT, async {
            loop {
                let found = self.log.lines.lock().expect("log lock")[first_line..]
                    .iter()
                    .any(|l| l.contains("serving gRPC") && l.contains(&serving));
                if found {
                    return true;
                }
                if seen.changed().await.is_err() {
                    // stderr closed: the process is gone.
                    return false;
                }
            }
        })
        .await;
        match started {
            Ok(true) => {}
            Ok(false) => {
                let status = self.wait_exit().await?;
                bail!(
                    "{} exited ({status}) before serving on {}{}",
                    self.launch.binary.display(),
                    self.addr,
                    self.log_tail()
                )
            }
            Err(_) => bail!(
                "{} did not serve on {} within {START_TIMEOUT:?}{}",
                self.launch.binary.display(),
                self.addr,
                self.log_tail()
            ),
        }
        self.wait_ready().await
    }
}

impl Drop for Service {
    /// Kills the process; when a test is failing, prints its stderr so the failure shows what the
    /// service said.
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
    }
}
