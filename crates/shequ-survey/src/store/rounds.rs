//! The rounds (`survey_rounds`): inserted as drafts, read whole or for their state alone, moved
//! from one state to the next, and paged by id.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::rows::{ROUND_COLUMNS, RoundRecord};
use super::{lock_clause, stmt};

/// Inserts `round`, created and last updated at its `create_time`.
pub async fn insert(conn: &impl ConnectionTrait, round: &RoundRecord) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        format!("INSERT INTO survey_rounds ({ROUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"),
        [
            round.id.clone().into(),
            round.display_name.clone().into(),
            round.questionnaire_id.clone().into(),
            round.questionnaire_version.into(),
            round.region_code.into(),
            round.region_level.into(),
            round.start_time.into(),
            round.end_time.into(),
            round.min_valid_responses.into(),
            round.state.clone().into(),
            round.create_time.into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn find(conn: &impl ConnectionTrait, id: &str) -> Result<Option<RoundRecord>, DbErr> {
    RoundRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT {ROUND_COLUMNS} FROM survey_rounds WHERE id = $1"),
        [id.into()],
    ))
    .one(conn)
    .await
}

/// The round's state; with `lock`, the round is read `FOR SHARE` (PostgreSQL), which keeps it
/// in that state and present until the transaction ends.
pub async fn state(
    conn: &impl ConnectionTrait,
    id: &str,
    lock: bool,
) -> Result<Option<String>, DbErr> {
    let lock = lock_clause(conn, lock, " FOR SHARE");
    conn.query_one_raw(stmt(
        conn.get_database_backend(),
        format!("SELECT state FROM survey_rounds WHERE id = $1{lock}"),
        [id.into()],
    ))
    .await?
    .map(|row| row.try_get_by_index(0))
    .transpose()
}

/// Moves the round from state `from` to `to` at `now`; false when it was not in `from`.
pub async fn transition(
    conn: &impl ConnectionTrait,
    id: &str,
    from: &str,
    to: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let changed = conn
        .execute_raw(stmt(
            conn.get_database_backend(),
            "UPDATE survey_rounds SET state = $3, update_time = $4 WHERE id = $1 AND state = $2",
            [id.into(), from.into(), to.into(), now.into()],
        ))
        .await?
        .rows_affected();
    Ok(changed > 0)
}

/// Up to `limit` rounds after id `after` in id order, only those in `state` or over
/// `questionnaire` (an id) when given.
pub async fn page(
    conn: &impl ConnectionTrait,
    after: &str,
    state: Option<&str>,
    questionnaire: Option<&str>,
    limit: u64,
) -> Result<Vec<RoundRecord>, DbErr> {
    let mut sql = format!("SELECT {ROUND_COLUMNS} FROM survey_rounds WHERE id > $1");
    let mut values: Vec<Value> = vec![after.into()];
    if let Some(s) = state {
        values.push(s.into());
        sql.push_str(&format!(" AND state = ${}", values.len()));
    }
    if let Some(q) = questionnaire {
        values.push(q.into());
        sql.push_str(&format!(" AND questionnaire_id = ${}", values.len()));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {limit}"));
    RoundRecord::find_by_statement(stmt(conn.get_database_backend(), sql, values))
        .all(conn)
        .await
}
