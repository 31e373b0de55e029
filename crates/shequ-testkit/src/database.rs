//! A database only one test uses: a SQLite file in a temporary directory, or a PostgreSQL
//! database created from the admin URL in `SHEQU_TEST_DATABASE_URL` and dropped afterwards.

use sea_orm::ConnectionTrait;

use crate::POSTGRES_ENV;

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
