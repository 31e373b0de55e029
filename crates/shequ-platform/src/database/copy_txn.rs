//! A PostgreSQL write transaction that can also `COPY … FROM STDIN`, which sea-orm's own
//! transactions cannot reach. It runs sea-orm statements as well (`ConnectionTrait`), so a write
//! that copies its bulk rows keeps every other statement it shares with the general path.

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::postgres::{PgPool, PgRow};
use sea_orm::sqlx::{self, Postgres};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Mutex;

/// An open transaction on one pooled connection. It returns the connection to the pool only after
/// its `COMMIT` or `ROLLBACK` has been answered; dropped any other way (the caller cancelled
/// mid-copy, say) it closes the connection, since a `COPY` cut off half-way leaves the protocol in
/// a state no later statement should meet. Closing also ends the transaction on the server.
pub struct CopyTxn {
    conn: Mutex<PoolConnection<Postgres>>,
    clean: bool,
}

impl std::fmt::Debug for CopyTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CopyTxn")
    }
}

impl Drop for CopyTxn {
    fn drop(&mut self) {
        if !self.clean {
            self.conn.get_mut().close_on_drop();
        }
    }
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(e.into()))
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e.into()))
}

fn query(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

impl CopyTxn {
    /// Begins a transaction on a connection of `pool`, on a task of its own so that a caller
    /// cancelled meanwhile cannot leave a half-begun transaction on a pooled connection.
    pub async fn begin(pool: &PgPool) -> Result<Self, DbErr> {
        let pool = pool.clone();
        super::detached(async move {
            let conn = pool
                .acquire()
                .await
                .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?;
            let txn = Self {
                conn: Mutex::new(conn),
                clean: false,
            };
            txn.execute_unprepared("BEGIN").await?;
            Ok(txn)
        })
        .await
    }

    /// Runs `statement`, a `COPY … FROM STDIN`, with `data` as its whole input: the rows copied.
    /// On an error (a unique violation, say) the transaction can only roll back.
    pub async fn copy_in(&self, statement: &str, data: &[u8]) -> Result<u64, DbErr> {
        let mut conn = self.conn.lock().await;
        let mut copy = conn.copy_in_raw(statement).await.map_err(exec_err)?;
        // The server reports a failed row only when the copy ends, so a failed `send` (the
        // connection lost) and a failed `finish` surface the same way.
        if let Err(e) = copy.send(data).await {
            drop(copy);
            return Err(exec_err(e));
        }
        copy.finish().await.map_err(exec_err)
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.end("COMMIT").await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.end("ROLLBACK").await
    }

    async fn end(mut self, statement: &str) -> Result<(), DbErr> {
        self.execute_unprepared(statement).await?;
        self.clean = true;
        Ok(())
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for CopyTxn {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut conn = self.conn.lock().await;
        query(&stmt)
            .execute(&mut **conn)
            .await
            .map(ExecResult::from)
            .map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut conn = self.conn.lock().await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut **conn)
            .await
            .map(ExecResult::from)
            .map_err(exec_err)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut conn = self.conn.lock().await;
        query(&stmt)
            .fetch_optional(&mut **conn)
            .await
            .map(|row: Option<PgRow>| row.map(QueryResult::from))
            .map_err(query_err)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.conn.lock().await;
        query(&stmt)
            .fetch_all(&mut **conn)
            .await
            .map(|rows| rows.into_iter().map(QueryResult::from).collect())
            .map_err(query_err)
    }
}
