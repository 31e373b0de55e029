//! Checks of a service binary as an operator runs it: `serve` with nothing configured, and
//! `migrate` as a one-off job. Every service's `tests/binary.rs` calls them.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Starts `binary serve` with nothing configured but the data directory (through the standard
/// `XDG_DATA_HOME`), checks it listens on `127.0.0.1:{port}`, creates `shequ/{sqlite_file}` and
/// turns ready, then stops it with SIGTERM and expects a clean exit.
pub async fn serves_with_no_configuration(binary: &str, port: u16, sqlite_file: &str) {
    // Only the data directory is redirected, through the standard XDG variable.
    let home = tempfile::tempdir().unwrap();
    crate::wait_for_free_port(port).await;
    let mut child = tokio::process::Command::new(binary)
        .arg("serve")
        .env("XDG_DATA_HOME", home.path())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("serving gRPC") {
                return Some(line);
            }
        }
        None
    })
    .await
    .unwrap();
    let line = started
        .unwrap_or_else(|| panic!("{binary} stopped before serving; is 127.0.0.1:{port} taken?"));
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(home.path().join("shequ").join(sqlite_file).exists());

    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "readiness".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(r)) = watch.next().await {
            if r.status == ServingStatus::Serving as i32 {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true));
    // An open Watch would hold the drain until the grace period ends.
    drop(watch);
    drop(health);

    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// Runs `binary migrate` twice on a fresh SQLite file (every migration, then none) and once against
/// an unsupported URL.
pub async fn migrates_once_and_refuses_unknown_urls(binary: &str) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.sqlite").display());
    for first in [true, false] {
        let out = tokio::process::Command::new(binary)
            .args(["migrate", "--database-url", &url])
            .env("NO_COLOR", "1")
            .output()
            .await
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{log}");
        let none = log.contains("applied=0");
        assert!(log.contains("applied="), "no migration count in {log}");
        assert_eq!(
            none, !first,
            "first run applies, second applies none: {log}"
        );
    }
    let bad = tokio::process::Command::new(binary)
        .args(["migrate", "--database-url", "mysql://nowhere/db"])
        .output()
        .await
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unsupported database url"));
}
