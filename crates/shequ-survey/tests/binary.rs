//! The `shequ-survey` binary as an operator runs it: `serve` with nothing configured, and
//! `migrate` as a one-off job.

use shequ_testkit::binary;

const BINARY: &str = env!("CARGO_BIN_EXE_shequ-survey");

#[tokio::test]
async fn serve_needs_no_configuration() {
    binary::serves_with_no_configuration(BINARY, 50052, "survey.sqlite").await;
}

#[tokio::test]
async fn migrate_applies_once_and_is_idempotent() {
    binary::migrates_once_and_refuses_unknown_urls(BINARY).await;
}
