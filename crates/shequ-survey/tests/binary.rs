//! The `shequ-survey` binary as an operator runs it: `serve` with nothing configured, and
//! `migrate` as a one-off job.

use shequ_testkit::binary;

const BINARY: &str = env!("CARGO_BIN_EXE_shequ-survey");

#[tokio::test]
async fn serve_needs_no_configuration() {
    binary::serves_with_no_configuration(BINARY, 50052, "survey.sqlite").await;
}

/// `migrate` on a fresh SQLite file applies both schema versions, then none; an unsupported URL
/// is refused.
#[tokio::test]
async fn migrate_applies_once_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.sqlite").display());
    for expected in ["applied=2", "applied=0"] {
        let out = tokio::process::Command::new(BINARY)
            .args(["migrate", "--database-url", &url])
            .env("NO_COLOR", "1")
            .output()
            .await
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{log}");
        assert!(log.contains(expected), "expected `{expected}` in {log}");
    }
    let bad = tokio::process::Command::new(BINARY)
        .args(["migrate", "--database-url", "mysql://nowhere/db"])
        .output()
        .await
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unsupported database url"));
}
