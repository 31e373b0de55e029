//! Database connection (SQLite in WAL mode or PostgreSQL, one sea-orm code path) and versioned,
//! per-service migrations.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use std::sync::Arc;

use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, IsolationLevel, RuntimeErr, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tracing::info;

use crate::config::{DatabaseConfig, redact_url};

mod copy_txn;
pub use copy_txn::CopyTxn;

/// One schema version of a service. The SQL may hold several statements; it runs in one
/// transaction, so a failed migration leaves no half-applied schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// A connected database and the service whose tables it holds.
#[derive(Debug, Clone)]
pub struct Database {
    pub conn: DatabaseConnection,
    service: &'static str,
    migrations: &'static [Migration],
    /// SQLite allows one writer; taking turns in-process avoids lock-upgrade failures between
    /// transactions that read before they write.
    write_turn: Arc<Mutex<()>>,
}

/// A write transaction and, on SQLite, this process's turn to write.
#[derive(Debug)]
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("unsupported database url `{0}`: use `sqlite://PATH` or `postgres://...`")]
    UnsupportedUrl(String),
    #[error("cannot create the data directory `{path}`: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error(
        "schema is at version {found}, newer than this binary knows ({known}); upgrade the binary"
    )]
    SchemaTooNew { found: i64, known: i64 },
}

impl Database {
    /// Connects; the SQLite file and its directory are created when missing.
    pub async fn connect(
        cfg: &DatabaseConfig,
        service: &'static str,
        migrations: &'static [Migration],
    ) -> Result<Self, DatabaseError> {
        let url = cfg.resolved_url();
        let mut opts = if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|source| DatabaseError::DataDir {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            let mut opts = ConnectOptions::new(url.clone());
            opts.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
            opts
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = ConnectOptions::new(url.clone());
            // Operators find a service's sessions in `pg_stat_activity` by this name.
            opts.set_application_name(format!("shequ-{service}"));
            opts
        } else {
            return Err(DatabaseError::UnsupportedUrl(redact_url(&url)));
        };
        opts.max_connections(cfg.max_connections)
            .min_connections(0)
            .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs))
            .acquire_timeout(Duration::from_secs(cfg.connect_timeout_secs))
            .test_before_acquire(true)
            .sqlx_logging(false);
        // A new SQLite file is switched to WAL by its first connection, which needs the file to
        // itself: another process (or pool) creating the same file at that moment makes SQLite
        // answer BUSY at once instead of waiting. Retry within the connect timeout.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(cfg.connect_timeout_secs);
        let conn = loop {
            match sea_orm::Database::connect(opts.clone()).await {
                Err(DbErr::Conn(RuntimeErr::SqlxError(e)))
                    if is_sqlite_busy(&e) && tokio::time::Instant::now() < deadline =>
                {
                    info!(service, error = %e, "the SQLite file is busy; connecting again");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => break other?,
            }
        };
        info!(database = %redact_url(&url), service, "database connected");
        Ok(Self {
            conn,
            service,
            migrations,
            write_turn: Arc::new(Mutex::new(())),
        })
    }

    /// Connects and, on SQLite or when `migrate_on_start` is set, applies pending migrations: what
    /// `serve` does before it answers.
    pub async fn open(
        cfg: &DatabaseConfig,
        service: &'static str,
        migrations: &'static [Migration],
    ) -> Result<Self, DatabaseError> {
        let db = Self::connect(cfg, service, migrations).await?;
        if db.is_sqlite() || cfg.migrate_on_start {
            db.migrate().await?;
        }
        Ok(db)
    }

    /// What `migrate` does: connect, apply pending migrations, report.
    pub async fn migrate_only(
        cfg: &DatabaseConfig,
        service: &'static str,
        migrations: &'static [Migration],
    ) -> Result<(), DatabaseError> {
        let db = Self::connect(cfg, service, migrations).await?;
        let applied = db.migrate().await?;
        info!(
            service,
            applied,
            version = db.latest_version(),
            "schema is current"
        );
        Ok(())
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    pub fn is_sqlite(&self) -> bool {
        self.backend() == DbBackend::Sqlite
    }

    fn table(&self) -> String {
        format!("{}_schema_migrations", self.service)
    }

    /// The latest version this binary knows.
    pub fn latest_version(&self) -> i64 {
        self.migrations.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// The version the database is at (0 before the first migration).
    pub async fn current_version(&self) -> Result<i64, DbErr> {
        let backend = self.backend();
        let exists_sql = match backend {
            DbBackend::Sqlite => format!(
                "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '{}'",
                self.table()
            ),
            _ => format!(
                "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = '{}' AND table_schema = current_schema()",
                self.table()
            ),
        };
        let row = self
            .conn
            .query_one_raw(Statement::from_string(backend, exists_sql))
            .await?;
        let exists: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
        if exists == 0 {
            return Ok(0);
        }
        let row = self
            .conn
            .query_one_raw(Statement::from_string(
                backend,
                format!(
                    "SELECT coalesce(max(version), 0) AS v FROM {}",
                    self.table()
                ),
            ))
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64>("", "v"))
            .transpose()?
            .unwrap_or(0))
    }

    /// Whether every migration this binary knows is applied.
    pub async fn is_migrated(&self) -> Result<bool, DbErr> {
        Ok(self.current_version().await? >= self.latest_version())
    }

    /// Applies pending migrations, each in its own transaction. On PostgreSQL an advisory lock
    /// keeps two replicas (or a Job and a replica) from migrating at once; on SQLite, a process that
    /// loses the race to another one migrating the same file finds the schema current and is done.
    /// Returns how many ran.
    pub async fn migrate(&self) -> Result<usize, DatabaseError> {
        // SQLite refuses a transaction that read and then wants to write while another holds the
        // write lock; the loser waits for the winner's migration and finds the schema current.
        let mut attempts = if self.is_sqlite() { 50 } else { 1 };
        loop {
            attempts -= 1;
            match self.migrate_pending().await {
                Err(e) if self.is_sqlite() && self.is_migrated().await.unwrap_or(false) => {
                    info!(service = self.service, error = %e, "another process migrated this database first");
                    return Ok(0);
                }
                Err(_) if attempts > 0 => tokio::time::sleep(Duration::from_millis(100)).await,
                other => return other,
            }
        }
    }

    async fn migrate_pending(&self) -> Result<usize, DatabaseError> {
        let backend = self.backend();
        let table = self.table();
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {table} (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        );
        let txn = self.conn.begin().await?;
        if backend == DbBackend::Postgres {
            txn.execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock(hashtext('{table}'))"
            ))
            .await?;
        }
        txn.execute_unprepared(&create).await?;
        let current: i64 = txn
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT coalesce(max(version), 0) AS v FROM {table}"),
            ))
            .await?
            .map(|r| r.try_get("", "v"))
            .transpose()?
            .unwrap_or(0);
        if current > self.latest_version() {
            return Err(DatabaseError::SchemaTooNew {
                found: current,
                known: self.latest_version(),
            });
        }
        let mut applied = 0;
        let mut pending: Vec<&Migration> = self
            .migrations
            .iter()
            .filter(|m| m.version > current)
            .collect();
        pending.sort_by_key(|m| m.version);
        for m in pending {
            let sql = if backend == DbBackend::Sqlite {
                m.sqlite
            } else {
                m.postgres
            };
            // A migration may change only one backend's schema.
            if !sql.trim().is_empty() {
                txn.execute_unprepared(sql).await?;
            }
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                format!("INSERT INTO {table} (version, name, applied_at) VALUES ($1, $2, $3)"),
                [m.version.into(), m.name.into(), chrono_now().into()],
            ))
            .await?;
            info!(
                service = self.service,
                version = m.version,
                name = m.name,
                "migration applied"
            );
            applied += 1;
        }
        txn.commit().await?;
        Ok(applied)
    }

    /// Begins a write transaction: on SQLite after taking this process's turn; on PostgreSQL,
    /// with `serialize_on` set, after an advisory lock of that name, so writers that append to a
    /// sequence commit in sequence order. The transaction begins on a task of its own (see
    /// [`detached`]), so a caller cancelled meanwhile leaves no transaction open on the pool.
    pub async fn begin_write(&self, serialize_on: Option<&str>) -> Result<WriteTxn, DbErr> {
        let turn = if self.is_sqlite() {
            Some(self.write_turn.clone().lock_owned().await)
        } else {
            None
        };
        let conn = self.conn.clone();
        let serialize_on = serialize_on
            .filter(|_| self.backend() == DbBackend::Postgres)
            .map(str::to_owned);
        detached(async move {
            // On SQLite the write lock is taken at BEGIN (IMMEDIATE), where the busy timeout
            // applies; a deferred transaction that read first could not upgrade to a write while
            // another process sharing the file writes, and would fail at once instead of waiting
            // its turn.
            let txn = if turn.is_some() {
                conn.begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await?
            } else {
                conn.begin().await?
            };
            if let Some(key) = serialize_on {
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_xact_lock(hashtext($1))",
                    [key.into()],
                ))
                .await?;
            }
            Ok(WriteTxn { txn, _turn: turn })
        })
        .await
    }

    /// Begins a read-only transaction that sees one snapshot throughout: REPEATABLE READ on
    /// PostgreSQL; on SQLite a deferred transaction, whose first read fixes its snapshot. Begun on
    /// a task of its own, like [`Database::begin_write`].
    pub async fn begin_snapshot(&self) -> Result<DatabaseTransaction, DbErr> {
        let conn = self.conn.clone();
        let postgres = self.backend() == DbBackend::Postgres;
        detached(async move {
            if postgres {
                conn.begin_with_config(
                    Some(IsolationLevel::RepeatableRead),
                    Some(AccessMode::ReadOnly),
                )
                .await
            } else {
                conn.begin().await
            }
        })
        .await
    }

    /// On PostgreSQL, a write transaction that can also `COPY`; `None` on SQLite.
    pub async fn begin_copy(&self) -> Result<Option<CopyTxn>, DbErr> {
        if self.backend() != DbBackend::Postgres {
            return Ok(None);
        }
        CopyTxn::begin(self.conn.get_postgres_connection_pool())
            .await
            .map(Some)
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.execute_unprepared("SELECT 1").await.map(|_| ())
    }
}

/// Runs the beginning of a transaction to its end on a task of its own, whatever happens to the
/// caller. sqlx counts a PostgreSQL transaction as open only once the server has answered its
/// `BEGIN`: a caller cancelled in between (a client's deadline, a dropped call) would return the
/// connection to the pool inside a transaction that nothing rolls back, and every later statement
/// on it would run in that transaction. Run here, a begun transaction always reaches its owner,
/// whose drop rolls it back before the connection is reused.
async fn detached<T: Send + 'static>(
    begin: impl Future<Output = Result<T, DbErr>> + Send + 'static,
) -> Result<T, DbErr> {
    match tokio::spawn(begin).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(DbErr::Conn(RuntimeErr::Internal(format!(
            "beginning a transaction was cut off: {e}"
        )))),
    }
}

fn chrono_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}", now.as_secs())
}

/// Whether an error means the database could not be reached (connection refused or lost, pool
/// exhausted or closed), as opposed to a problem with the statement or the data.
pub fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as SqlxError;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(
                e.as_ref(),
                SqlxError::Io(_)
                    | SqlxError::PoolTimedOut
                    | SqlxError::PoolClosed
                    | SqlxError::WorkerCrashed
                    | SqlxError::Tls(_)
                    | SqlxError::Protocol(_)
            ) || is_admin_shutdown(e)
        }
        _ => false,
    }
}

fn is_admin_shutdown(e: &sea_orm::sqlx::Error) -> bool {
    // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection errors
    // and SQLite's BUSY/LOCKED after the busy timeout.
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c.starts_with("57P") || c.starts_with("08"))
        || is_sqlite_busy(e)
}

/// Whether `e` is SQLite's BUSY or LOCKED. SQLite reports extended codes (BUSY_SNAPSHOT is 517,
/// BUSY_TIMEOUT 773), whose low byte is the primary code 5 or 6. Only SQLite's errors are read
/// so: a PostgreSQL SQLSTATE such as 42501 has the same low byte.
fn is_sqlite_busy(e: &sea_orm::sqlx::Error) -> bool {
    e.as_database_error()
        .filter(|d| {
            d.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
        })
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// Whether an error is a unique-constraint violation (a concurrent insert of the same key).
pub fn is_unique_violation(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .is_some_and(|d| d.is_unique_violation()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    use sea_orm::sqlx::{ConnectOptions as _, Connection as _};

    use super::*;

    fn sqlite_config(url: String) -> DatabaseConfig {
        DatabaseConfig {
            url,
            data_dir: String::new(),
            file_name: String::new(),
            max_connections: 2,
            connect_timeout_secs: 10,
            migrate_on_start: false,
        }
    }

    /// Two processes starting on one new SQLite file: the first to connect switches it to WAL,
    /// which SQLite refuses at once (BUSY) while the other is writing. Connecting waits instead.
    #[tokio::test]
    async fn a_new_sqlite_file_another_process_is_writing_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.db");
        let mut other = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            .connect()
            .await
            .unwrap();
        for sql in ["BEGIN IMMEDIATE", "CREATE TABLE other (x INTEGER)"] {
            sea_orm::sqlx::raw_sql(sql)
                .execute(&mut other)
                .await
                .unwrap();
        }
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            sea_orm::sqlx::raw_sql("COMMIT")
                .execute(&mut other)
                .await
                .unwrap();
            other.close().await.unwrap();
        });
        let cfg = sqlite_config(format!("sqlite://{}", path.display()));
        let db = Database::connect(&cfg, "test", &[])
            .await
            .expect("connects once the other writer is done");
        writer.await.unwrap();
        let mode = db
            .conn
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA journal_mode",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<String>(0)
            .unwrap();
        assert_eq!(mode, "wal");
        // The other process's table is there: nothing it wrote was lost.
        db.conn
            .execute_unprepared("INSERT INTO other (x) VALUES (1)")
            .await
            .unwrap();
    }

    /// A PostgreSQL database of its own for one test, when `SHEQU_TEST_DATABASE_URL` names an
    /// admin database; dropped with the guard.
    struct PostgresDatabase {
        admin: String,
        name: String,
        url: String,
    }

    impl PostgresDatabase {
        async fn create() -> Option<Self> {
            let admin = std::env::var("SHEQU_TEST_DATABASE_URL")
                .ok()
                .filter(|u| !u.is_empty())?;
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let name = format!("platform_{}_{nanos}", std::process::id());
            let conn = sea_orm::Database::connect(&admin).await.unwrap();
            conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            conn.close().await.unwrap();
            let (base, _) = admin.rsplit_once('/').unwrap();
            let url = format!("{base}/{name}");
            Some(Self { admin, name, url })
        }

        async fn drop_database(self) {
            let conn = sea_orm::Database::connect(&self.admin).await.unwrap();
            conn.execute_unprepared(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
                .await
                .unwrap();
        }
    }

    /// Whether the one pooled connection of `db` runs statements inside a transaction begun
    /// before them: a connection that went back to the pool with a transaction open.
    async fn pooled_connection_is_in_a_transaction(db: &Database) -> bool {
        // A savepoint outside a transaction block is refused (25P01).
        match db.conn.execute_unprepared("SAVEPOINT probe").await {
            Ok(_) => {
                db.conn
                    .execute_unprepared("RELEASE SAVEPOINT probe")
                    .await
                    .unwrap();
                true
            }
            Err(e) => {
                assert!(
                    e.to_string().contains("25P01") || e.to_string().contains("transaction blocks"),
                    "{e}"
                );
                false
            }
        }
    }

    /// Begins cut off at every point of their course, as a client's deadline or a dropped call
    /// cuts them: none may leave its connection inside a transaction when it returns to the pool.
    /// sqlx counts a transaction as open only once `BEGIN` is answered, so a begin cut off in
    /// between would otherwise leave one that nothing rolls back.
    #[tokio::test]
    async fn begins_cut_off_leave_no_transaction_on_the_pool() {
        let Some(pg) = PostgresDatabase::create().await else {
            return;
        };
        let mut cfg = sqlite_config(pg.url.clone());
        cfg.max_connections = 1;
        let db = Database::connect(&cfg, "cancelled_begins", &[])
            .await
            .unwrap();
        db.ping().await.unwrap();
        let mut left_open = Vec::new();
        for step in 0..180u64 {
            let cut = Duration::from_micros(step * 10);
            match step % 3 {
                0 => drop(tokio::time::timeout(cut, db.begin_write(Some("lock"))).await),
                1 => drop(tokio::time::timeout(cut, db.begin_snapshot()).await),
                _ => drop(tokio::time::timeout(cut, db.begin_copy()).await),
            }
            if pooled_connection_is_in_a_transaction(&db).await {
                left_open.push(step);
                // Clean the connection so that the next step is judged on its own.
                db.conn.execute_unprepared("ROLLBACK").await.unwrap();
            }
        }
        db.conn.close_by_ref().await.unwrap();
        pg.drop_database().await;
        assert!(
            left_open.is_empty(),
            "begins cut off at these steps left a transaction open: {left_open:?}"
        );
    }

    /// A `COPY` cut off half-way leaves the protocol mid-copy: the connection it ran on must
    /// never serve another statement. Later statements on the pool answer for themselves.
    #[tokio::test]
    async fn a_copy_cut_off_never_serves_another_statement() {
        let Some(pg) = PostgresDatabase::create().await else {
            return;
        };
        let mut cfg = sqlite_config(pg.url.clone());
        cfg.max_connections = 1;
        let db = Database::connect(&cfg, "cancelled_copies", &[])
            .await
            .unwrap();
        db.conn
            .execute_unprepared(
                "CREATE TABLE copied (x BIGINT NOT NULL); INSERT INTO copied VALUES (7)",
            )
            .await
            .unwrap();
        // Text-format rows, far more than one socket write takes.
        let rows: String = (0..200_000).map(|i| format!("{i}\n")).collect();
        for step in 0..40u64 {
            let cut = Duration::from_micros(step * 50);
            let _ = tokio::time::timeout(cut, async {
                let txn = db.begin_copy().await?.expect("postgres");
                txn.copy_in("COPY copied (x) FROM STDIN", rows.as_bytes())
                    .await?;
                txn.rollback().await
            })
            .await;
            let row = db
                .conn
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT count(*) AS n, min(x) AS low FROM copied",
                ))
                .await
                .unwrap_or_else(|e| panic!("step {step}: {e}"))
                .expect("one row");
            let n: i64 = row.try_get("", "n").unwrap();
            let low: i64 = row.try_get("", "low").unwrap();
            assert_eq!((n, low), (1, 7), "step {step}");
            assert!(
                !pooled_connection_is_in_a_transaction(&db).await,
                "step {step}"
            );
        }
        db.conn.close_by_ref().await.unwrap();
        pg.drop_database().await;
    }

    /// A transaction that read an older snapshot and then writes is refused with BUSY_SNAPSHOT
    /// (extended code 517), not the primary 5: it is still the database being busy, for the
    /// caller to retry, not a fault.
    #[tokio::test]
    async fn sqlite_busy_snapshot_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = sqlite_config(format!("sqlite://{}", dir.path().join("s.db").display()));
        let db = Database::connect(&cfg, "test", &[]).await.unwrap();
        db.conn
            .execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        let reader = db.conn.begin().await.unwrap();
        reader
            .execute_unprepared("SELECT count(*) FROM t")
            .await
            .unwrap();
        db.conn
            .execute_unprepared("INSERT INTO t (x) VALUES (1)")
            .await
            .unwrap();
        let err = reader
            .execute_unprepared("INSERT INTO t (x) VALUES (2)")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("517"), "{err}");
        assert!(is_unavailable(&err), "{err}");
    }
}
