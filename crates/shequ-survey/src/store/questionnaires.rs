//! The questionnaires (`survey_questionnaires`: one editable draft each) and their published
//! versions (`survey_questionnaire_versions`, never changed once written).

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::rows::{QuestionnaireRecord, VersionRecord};
use super::{lock_clause, stmt};

/// Inserts a new questionnaire's draft, never published, created at `now`.
pub async fn insert(
    conn: &impl ConnectionTrait,
    id: &str,
    title: String,
    questions: String,
    now: i64,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "INSERT INTO survey_questionnaires (id, title, questions, latest_version, create_time, update_time) VALUES ($1, $2, $3, 0, $4, $4)",
        [id.into(), title.into(), questions.into(), now.into()],
    ))
    .await?;
    Ok(())
}

/// The draft; with `lock`, held until the transaction ends (PostgreSQL).
pub async fn draft(
    conn: &impl ConnectionTrait,
    id: &str,
    lock: bool,
) -> Result<Option<QuestionnaireRecord>, DbErr> {
    let lock = lock_clause(conn, lock, " FOR UPDATE");
    QuestionnaireRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT id, title, questions, latest_version, update_time FROM survey_questionnaires WHERE id = $1{lock}"),
        [id.into()],
    ))
    .one(conn)
    .await
}

/// Published version `version` of questionnaire `id`.
pub async fn version(
    conn: &impl ConnectionTrait,
    id: &str,
    version: i32,
) -> Result<Option<VersionRecord>, DbErr> {
    VersionRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        "SELECT questionnaire_id, version, title, questions, publish_time FROM survey_questionnaire_versions WHERE questionnaire_id = $1 AND version = $2",
        [id.into(), version.into()],
    ))
    .one(conn)
    .await
}

/// Replaces the draft's title and questions at `now`; false when there is no such draft.
pub async fn update_draft(
    conn: &impl ConnectionTrait,
    id: &str,
    title: String,
    questions: String,
    now: i64,
) -> Result<bool, DbErr> {
    let result = conn
        .execute_raw(stmt(
            conn.get_database_backend(),
            "UPDATE survey_questionnaires SET title = $2, questions = $3, update_time = $4 WHERE id = $1",
            [id.into(), title.into(), questions.into(), now.into()],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Stores `draft` as published version `version` at `now`, and makes it the latest.
pub async fn publish(
    conn: &impl ConnectionTrait,
    draft: &QuestionnaireRecord,
    version: i32,
    now: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let id = draft.id.as_str();
    conn.execute_raw(stmt(
        backend,
        "INSERT INTO survey_questionnaire_versions (questionnaire_id, version, title, questions, publish_time) VALUES ($1, $2, $3, $4, $5)",
        [id.into(), version.into(), draft.title.clone().into(), draft.questions.clone().into(), now.into()],
    ))
    .await?;
    conn.execute_raw(stmt(
        backend,
        "UPDATE survey_questionnaires SET latest_version = $2 WHERE id = $1 AND latest_version = $3",
        [id.into(), version.into(), draft.latest_version.into()],
    ))
    .await?;
    Ok(())
}

/// Up to `limit` drafts after id `after` in id order; `published` keeps only the published
/// (`Some(true)`) or the never published.
pub async fn page(
    conn: &impl ConnectionTrait,
    after: &str,
    published: Option<bool>,
    limit: u64,
) -> Result<Vec<QuestionnaireRecord>, DbErr> {
    let filter = match published {
        None => "",
        Some(false) => " AND latest_version = 0",
        Some(true) => " AND latest_version > 0",
    };
    QuestionnaireRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!(
            "SELECT id, title, questions, latest_version, update_time FROM survey_questionnaires WHERE id > $1{filter} ORDER BY id LIMIT {limit}"
        ),
        [after.into()],
    ))
    .all(conn)
    .await
}
