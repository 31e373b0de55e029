//! Storage of the monitoring service: every SQL statement it runs, as typed methods of [`Store`]
//! (one file per table or aggregate), its migrations and its row types. The same statements run
//! on SQLite and PostgreSQL (`$n` placeholders, times in microseconds).

pub mod evaluations;
pub mod leases;
pub mod migrations;
pub mod plans;
pub mod reported;
pub mod results;
pub mod revisions;
pub mod rows;

use sea_orm::{ConnectionTrait, ExecResult, FromQueryResult, Statement, Value};

pub use shequ_platform::sql::now_micros;

use crate::error::Result;

/// The monitoring tables as seen through one connection: the pool, for reads and single
/// statements, or a write transaction (`Store::on(&*txn)`), for what must commit together.
#[derive(Debug, Clone, Copy)]
pub struct Store<'c, C> {
    conn: &'c C,
}

impl<'c, C: ConnectionTrait> Store<'c, C> {
    pub fn on(conn: &'c C) -> Self {
        Self { conn }
    }

    /// `sql` with its values, for this connection's backend.
    fn stmt(&self, sql: impl Into<String>, values: impl IntoIterator<Item = Value>) -> Statement {
        shequ_platform::sql::stmt(self.conn.get_database_backend(), sql, values)
    }

    /// The first row `sql` selects, if any.
    async fn one<T: FromQueryResult>(
        &self,
        sql: impl Into<String>,
        values: impl IntoIterator<Item = Value>,
    ) -> Result<Option<T>> {
        Ok(T::find_by_statement(self.stmt(sql, values))
            .one(self.conn)
            .await?)
    }

    /// Every row `sql` selects.
    async fn all<T: FromQueryResult>(
        &self,
        sql: impl Into<String>,
        values: impl IntoIterator<Item = Value>,
    ) -> Result<Vec<T>> {
        Ok(T::find_by_statement(self.stmt(sql, values))
            .all(self.conn)
            .await?)
    }

    async fn execute(
        &self,
        sql: impl Into<String>,
        values: impl IntoIterator<Item = Value>,
    ) -> Result<ExecResult> {
        Ok(self.conn.execute_raw(self.stmt(sql, values)).await?)
    }
}
