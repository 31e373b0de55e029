//! Row types read back from the monitoring tables.

use sea_orm::FromQueryResult;

pub const PLAN_COLUMNS: &str = "id, display_name, level, scope_code, parent_id, start_year, end_year, survey_round, body, create_time";

#[derive(Debug, Clone, FromQueryResult)]
pub struct PlanRecord {
    pub id: String,
    pub display_name: String,
    /// 1 national, 2 provincial.
    pub level: i32,
    /// 0 for the country.
    pub scope_code: i64,
    pub parent_id: Option<String>,
    pub start_year: i32,
    pub end_year: i32,
    pub survey_round: String,
    /// JSON `PlanBody`.
    pub body: String,
    pub create_time: i64,
}

pub const REPORTED_COLUMNS: &str =
    "indicator, division_code, period, period_start, revision, value, actor, reason, change_time";

#[derive(Debug, Clone, FromQueryResult)]
pub struct ReportedRecord {
    pub indicator: String,
    pub division_code: i64,
    pub period: String,
    pub period_start: i32,
    pub revision: i64,
    pub value: f64,
    pub actor: String,
    pub reason: String,
    pub change_time: i64,
}

pub const EVALUATION_COLUMNS: &str = "id, plan_id, evaluation_date, create_time, trigger_kind, actor, registry_cursor, registry_vintage, survey_round, divisions, leaf_units, indicators";

#[derive(Debug, Clone, FromQueryResult)]
pub struct EvaluationRecord {
    pub id: String,
    pub plan_id: String,
    pub evaluation_date: String,
    pub create_time: i64,
    /// `request` or `schedule`.
    pub trigger_kind: String,
    pub actor: String,
    pub registry_cursor: String,
    pub registry_vintage: String,
    pub survey_round: String,
    pub divisions: i64,
    pub leaf_units: i64,
    /// JSON list of the indicator codes, in result order.
    pub indicators: String,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct ResultRecord {
    pub division_code: i64,
    pub level: i32,
    pub parent_code: Option<i64>,
    /// JSON list of `StoredResult`.
    pub results: String,
}

/// `monitoring_target_revisions`: one revision of one target of a plan.
#[derive(Debug, Clone, FromQueryResult)]
pub struct RevisionRecord {
    pub plan_id: String,
    pub revision: i64,
    pub indicator: String,
    /// 0 for the plan's own target.
    pub division_code: i64,
    /// `YYYY-MM-DD`
    pub effective_date: String,
    /// The revised path as JSON (`plan::RevisedPath`).
    pub body: String,
    pub reason: String,
    pub actor: String,
    pub create_time: i64,
}

pub const REVISION_COLUMNS: &str =
    "plan_id, revision, indicator, division_code, effective_date, body, reason, actor, create_time";
