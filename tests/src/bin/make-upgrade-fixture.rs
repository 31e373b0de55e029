//! Makes a set of upgrade fixtures with the service binaries built beside it: the three services
//! on fresh databases, [`populate`]d, then each database saved with what [`read_back`] reads.
//!
//! ```text
//! cargo build --bins && cargo run -p shequ-system-tests --bin make-upgrade-fixture -- \
//!     tests/fixtures/upgrade/<release> postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! Writes `<service>.sqlite` (one file, no WAL beside it), `<service>.postgres.sql` (`pg_dump
//! --inserts`, so it restores as plain statements) and `expected.<backend>.txt`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use shequ_system_tests::System;
use shequ_system_tests::upgrade::{SERVICES, populate, read_back};
use shequ_testkit::TestDatabase;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        bail!("usage: make-upgrade-fixture DIR [POSTGRES_ADMIN_URL]");
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let sqlite = [
        TestDatabase::fresh_sqlite()?,
        TestDatabase::fresh_sqlite()?,
        TestDatabase::fresh_sqlite()?,
    ];
    let databases = make("sqlite", sqlite, &dir).await?;
    for (database, service) in databases.iter().zip(SERVICES) {
        let target = std::path::absolute(dir.join(format!("{service}.sqlite")))?;
        let _ = std::fs::remove_file(&target);
        database
            .execute(&format!("VACUUM INTO '{}'", target.display()))
            .await?;
    }
    if let Some(admin) = args.next() {
        let postgres = [
            TestDatabase::fresh_postgres(&admin).await?,
            TestDatabase::fresh_postgres(&admin).await?,
            TestDatabase::fresh_postgres(&admin).await?,
        ];
        let databases = make("postgres", postgres, &dir).await?;
        for (database, service) in databases.iter().zip(SERVICES) {
            dump(database.url(), &dir.join(format!("{service}.postgres.sql")))?;
        }
    }
    Ok(())
}

/// Populates `databases` through the services and writes `expected.<backend>.txt`; the services
/// have stopped when it returns.
async fn make(
    backend: &str,
    databases: [TestDatabase; 3],
    dir: &Path,
) -> anyhow::Result<[TestDatabase; 3]> {
    let mut sys = System::start_on(databases, &[], true).await?;
    populate(&sys).await?;
    let lines = read_back(&sys).await?;
    std::fs::write(
        dir.join(format!("expected.{backend}.txt")),
        lines.join("\n") + "\n",
    )?;
    for service in [&mut sys.monitoring, &mut sys.survey, &mut sys.registry] {
        let exit = service.terminate().await?;
        if !exit.success() {
            bail!("a service failed to stop: {}", service.stderr());
        }
    }
    let System { databases, .. } = sys;
    Ok(databases)
}

/// `pg_dump --inserts` of `url` into `path`, without the session-bound `\restrict` lines that
/// newer `pg_dump` releases add, so that the dump runs as plain SQL.
fn dump(url: &str, path: &Path) -> anyhow::Result<()> {
    let out = std::process::Command::new("pg_dump")
        .args([
            "--inserts",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            url,
        ])
        .output()
        .context("running pg_dump")?;
    if !out.status.success() {
        bail!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8(out.stdout)?;
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect();
    std::fs::write(path, kept.join("\n") + "\n")?;
    Ok(())
}
