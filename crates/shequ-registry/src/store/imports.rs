//! The record of division imports (`registry_imports`): one row per import written.

use sea_orm::{ConnectionTrait, DbErr};

use super::stmt;

/// The vintage of the last import; none before the first.
pub async fn latest_vintage(conn: &impl ConnectionTrait) -> Result<Option<String>, DbErr> {
    Ok(conn
        .query_one_raw(stmt(
            conn.get_database_backend(),
            "SELECT vintage FROM registry_imports ORDER BY id DESC LIMIT 1",
            [],
        ))
        .await?
        .and_then(|r| r.try_get_by_index::<Option<String>>(0).ok().flatten()))
}

/// What one import did, as `registry_imports` keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord<'a> {
    pub vintage: &'a str,
    /// Microseconds since the epoch.
    pub at: i64,
    pub actor: &'a str,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub retired: u64,
}

pub async fn insert(conn: &impl ConnectionTrait, import: &ImportRecord<'_>) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "INSERT INTO registry_imports (vintage, at, actor, inserted, updated, unchanged, retired) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            import.vintage.into(),
            import.at.into(),
            import.actor.into(),
            (import.inserted as i64).into(),
            (import.updated as i64).into(),
            (import.unchanged as i64).into(),
            (import.retired as i64).into(),
        ],
    ))
    .await?;
    Ok(())
}
