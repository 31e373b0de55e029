//! Evaluations, judged results, the records behind them, comparisons and report formats, in
//! their wire form.

use shequ_domain::Status;
use shequ_proto::monitoring::v1 as pb;

use crate::names::{evaluation_name, indicator_name, round_name};
use crate::plan::Method;
use crate::service::records::Record;
use crate::service::report::ReportFormat;
use crate::service::results::{DivisionRow, IndicatorChange, LoadedEvaluation, code_name};
use crate::store::rows::EvaluationRecord;

use super::timestamp;

pub fn evaluation_to_pb(r: &EvaluationRecord) -> pb::Evaluation {
    pb::Evaluation {
        name: evaluation_name(&r.plan_id, &r.id),
        evaluation_date: r.evaluation_date.clone(),
        create_time: Some(timestamp(r.create_time)),
        trigger: if r.trigger_kind == "schedule" {
            pb::EvaluationTrigger::Schedule
        } else {
            pb::EvaluationTrigger::Request
        } as i32,
        registry_change_cursor: r.registry_cursor.clone(),
        registry_vintage: r.registry_vintage.clone(),
        survey_round: round_name(&r.survey_round),
        divisions: r.divisions,
        leaf_units: r.leaf_units,
        actor: r.actor.clone(),
    }
}

pub fn status_to_pb(s: Option<Status>) -> pb::IndicatorStatus {
    match s {
        None => pb::IndicatorStatus::NoTarget,
        Some(Status::Achieved) => pb::IndicatorStatus::Achieved,
        Some(Status::OnTrack) => pb::IndicatorStatus::OnTrack,
        Some(Status::Lagging) => pb::IndicatorStatus::Lagging,
        Some(Status::OffTrack) => pb::IndicatorStatus::OffTrack,
        Some(Status::NoData) => pb::IndicatorStatus::NoData,
        Some(Status::Undetermined) => pb::IndicatorStatus::Undetermined,
    }
}

fn method_to_pb(m: Option<Method>) -> pb::StatusMethod {
    match m {
        None => pb::StatusMethod::Unspecified,
        Some(Method::Linear) => pb::StatusMethod::Linear,
        Some(Method::GrowthRate(_)) => pb::StatusMethod::GrowthRate,
    }
}

/// One division's results in `eval`, every indicator judged.
pub fn division_result_to_pb(eval: &LoadedEvaluation, row: &DivisionRow) -> pb::DivisionResult {
    pb::DivisionResult {
        division: code_name(row.code),
        level: row.level,
        parent: row.parent.map(code_name).unwrap_or_default(),
        results: eval
            .columns
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let j = eval.judge(row, i);
                let behind = eval.behind(row, i);
                pb::IndicatorResult {
                    indicator: indicator_name(&c.code),
                    value: j.value,
                    expected_value: j.expected,
                    target_value: j.target,
                    status: status_to_pb(j.status) as i32,
                    reported_value: row.values.r.get(i).copied().flatten(),
                    children_sum: row.values.c.get(i).copied().flatten(),
                    numerator: behind.numerator,
                    denominator: behind.denominator,
                    as_of: behind.as_of.map(timestamp),
                    periods: behind.periods,
                    method: method_to_pb(j.method) as i32,
                    status_note: j.note.unwrap_or_default(),
                    growth_ratio: j.growth_ratio,
                    target_division: j
                        .target_division
                        .map(|code| code_name(code as i64))
                        .unwrap_or_default(),
                }
            })
            .collect(),
    }
}

pub fn record_to_pb(r: &Record) -> pb::ResultRecord {
    pb::ResultRecord {
        division: code_name(r.code),
        level: r.level,
        indicator: indicator_name(&r.indicator),
        value: r.value,
        numerator: r.numerator,
        denominator: r.denominator,
        as_of: r.as_of.map(timestamp),
        periods: r.periods.clone(),
    }
}

pub fn change_to_pb(c: &IndicatorChange) -> pb::IndicatorChange {
    pb::IndicatorChange {
        division: code_name(c.division),
        indicator: indicator_name(&c.indicator),
        base_value: c.base_value,
        other_value: c.other_value,
        delta: c.delta,
        base_status: status_to_pb(c.base_status) as i32,
        other_status: status_to_pb(c.other_status) as i32,
    }
}

/// Unspecified is text.
pub fn report_format_from_pb(f: pb::ReportFormat) -> ReportFormat {
    match f {
        pb::ReportFormat::Text | pb::ReportFormat::Unspecified => ReportFormat::Text,
        pb::ReportFormat::Csv => ReportFormat::Csv,
        pb::ReportFormat::Json => ReportFormat::Json,
        pb::ReportFormat::Html => ReportFormat::Html,
    }
}
