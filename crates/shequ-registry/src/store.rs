//! Storage of the registry: migrations, row types and the SQL shared by both backends.

pub mod migrations;
pub mod rows;

use sea_orm::{DbBackend, Statement, Value};

/// A statement with `$n` placeholders, which both SQLite (through sqlx) and PostgreSQL accept.
pub fn stmt(
    backend: DbBackend,
    sql: impl Into<String>,
    values: impl IntoIterator<Item = Value>,
) -> Statement {
    Statement::from_sql_and_values(backend, sql.into(), values)
}

/// Microseconds since the epoch, the registry's time format.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
