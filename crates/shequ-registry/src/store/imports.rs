//! The record of division imports (`registry_imports`).

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
