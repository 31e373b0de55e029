//! Row types read back from the survey's tables.

use sea_orm::FromQueryResult;

#[derive(Debug, Clone, FromQueryResult)]
pub struct QuestionnaireRecord {
    pub id: String,
    pub title: String,
    /// JSON list of `QuestionDef`.
    pub questions: String,
    pub latest_version: i32,
    pub update_time: i64,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct VersionRecord {
    pub questionnaire_id: String,
    pub version: i32,
    pub title: String,
    pub questions: String,
    pub publish_time: i64,
}

pub const ROUND_COLUMNS: &str = "id, display_name, questionnaire_id, questionnaire_version, region_code, region_level, start_time, end_time, min_valid_responses, state, create_time, update_time";

#[derive(Debug, Clone, FromQueryResult)]
pub struct RoundRecord {
    pub id: String,
    pub display_name: String,
    pub questionnaire_id: String,
    pub questionnaire_version: i32,
    pub region_code: i64,
    pub region_level: i32,
    pub start_time: i64,
    pub end_time: i64,
    pub min_valid_responses: i32,
    /// `draft`, `open` or `closed`.
    pub state: String,
    pub create_time: i64,
    pub update_time: i64,
}

pub const RESPONSE_COLUMNS: &str = "round_id, response_id, leaf_code, channel, collect_time, receive_time, answers, body_hash, score, valid, invalid_actor, invalid_reason, invalid_time";

#[derive(Debug, Clone, FromQueryResult)]
pub struct ResponseRecord {
    pub round_id: String,
    pub response_id: String,
    pub leaf_code: i64,
    /// `online`, `paper`, `phone` or `kiosk`.
    pub channel: String,
    pub collect_time: i64,
    pub receive_time: i64,
    /// JSON list of `(question id, AnswerValue)`, free text masked.
    pub answers: String,
    pub body_hash: String,
    pub score: Option<f64>,
    pub valid: i32,
    pub invalid_actor: Option<String>,
    pub invalid_reason: Option<String>,
    pub invalid_time: Option<i64>,
}
