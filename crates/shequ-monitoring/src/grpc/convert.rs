//! Protobuf <-> domain: plans and indicators as sent (what cannot be read is kept as a field
//! violation with its path, for the plan's check to report in its place), and every resource the
//! service returns, in its wire form.

use prost_types::Timestamp;
use shequ_domain::{DivisionCode, FieldViolation, Milestone, Status, Violations};
use shequ_proto::monitoring::v1 as pb;

use crate::indicators::{Better, IndicatorDef, Kind, Source, UnitFilter};
use crate::names::{
    division_name, evaluation_name, indicator_name, parse_division_name, parse_indicator_name,
    parse_optional_division_name, parse_optional_round_name, parse_plan_name, plan_name,
    round_name,
};
use crate::plan::{
    Alignment, IndicatorSpec, Method, MethodSpec, Misalignment, OverrideSpec, PlanDef, PlanLevel,
    PlanSpec, RevisionDef, RevisionSpec, TargetDef, TargetOverride, TargetSpec,
};
use crate::service::plans::ListedIndicator;
use crate::service::report::ReportFormat;
use crate::service::reported::ReportedValueSpec;
use crate::service::results::{DivisionRow, IndicatorChange, LoadedEvaluation, code_name};
use crate::service::revisions::revision_name;
use crate::store::rows::{EvaluationRecord, ReportedRecord};

pub fn timestamp(micros: i64) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

/// Converts and checks a plan from the wire; every offending field is named (as `plan.…`).
pub fn plan_from_pb(p: &pb::Plan) -> Result<PlanDef, Violations> {
    PlanSpec::from(p).validate()
}

fn direction_from_pb(d: i32) -> Option<Better> {
    match pb::Direction::try_from(d).ok()? {
        pb::Direction::HigherIsBetter => Some(Better::Higher),
        pb::Direction::LowerIsBetter => Some(Better::Lower),
        pb::Direction::Unspecified => None,
    }
}

pub fn direction_to_pb(b: Better) -> pb::Direction {
    match b {
        Better::Higher => pb::Direction::HigherIsBetter,
        Better::Lower => pb::Direction::LowerIsBetter,
    }
}

impl From<&pb::Plan> for PlanSpec {
    fn from(p: &pb::Plan) -> Self {
        Self {
            id: if p.name.is_empty() {
                Ok(None)
            } else {
                parse_plan_name("name", &p.name).map(|id| Some(id.to_owned()))
            },
            display_name: p.display_name.clone(),
            level: match pb::PlanLevel::try_from(p.level) {
                Ok(pb::PlanLevel::Unspecified) | Err(_) => None,
                Ok(_) => PlanLevel::from_number(p.level),
            },
            scope: parse_optional_division_name("scope", &p.scope),
            parent: (!p.parent.is_empty())
                .then(|| parse_plan_name("parent", &p.parent).map(str::to_owned)),
            start_year: p.start_year,
            end_year: p.end_year,
            survey_round: parse_optional_round_name("survey_round", &p.survey_round)
                .map(|r| r.map(str::to_owned)),
            indicators: p.indicators.iter().map(IndicatorSpec::from).collect(),
            targets: p.targets.iter().map(TargetSpec::from).collect(),
        }
    }
}

impl From<&pb::Indicator> for IndicatorSpec {
    fn from(i: &pb::Indicator) -> Self {
        Self {
            code: i.code.clone(),
            display_name: i.display_name.clone(),
            kind: match pb::IndicatorKind::try_from(i.kind) {
                Ok(pb::IndicatorKind::Count) => Some(Kind::Count),
                Ok(pb::IndicatorKind::Sum) => Some(Kind::Sum),
                Ok(pb::IndicatorKind::Ratio) => Some(Kind::Ratio),
                Ok(pb::IndicatorKind::Share) => Some(Kind::Share),
                Ok(pb::IndicatorKind::Mean) => Some(Kind::Mean),
                Ok(pb::IndicatorKind::Unspecified) | Err(_) => None,
            },
            source: match pb::IndicatorSource::try_from(i.source) {
                Ok(pb::IndicatorSource::Registry) => Some(Source::Registry),
                Ok(pb::IndicatorSource::Survey) => Some(Source::Survey),
                Ok(pb::IndicatorSource::Reported) => Some(Source::Reported),
                Ok(pb::IndicatorSource::Unspecified) | Err(_) => None,
            },
            field: i.field.clone(),
            denominator_field: i.denominator_field.clone(),
            unit_kind: match pb::UnitKindFilter::try_from(i.unit_kind) {
                Ok(pb::UnitKindFilter::Community) => Ok(UnitFilter::Community),
                Ok(pb::UnitKindFilter::Village) => Ok(UnitFilter::Village),
                Ok(pb::UnitKindFilter::Unspecified) => Ok(UnitFilter::All),
                Err(_) => Err(FieldViolation::new("unit_kind", "is not a known unit kind")),
            },
            unit: i.unit.clone(),
            direction: direction_from_pb(i.direction),
            factor: i.factor,
        }
    }
}

impl From<&pb::Target> for TargetSpec {
    fn from(t: &pb::Target) -> Self {
        Self {
            indicator: t.indicator.clone(),
            baseline: t
                .has_baseline
                .then_some((t.baseline_value, t.baseline_year)),
            target_value: t.target_value,
            target_year: t.target_year,
            // Unspecified takes the indicator's own direction; a value the contract does not
            // name is refused rather than read as unspecified.
            direction: match pb::Direction::try_from(t.direction) {
                Ok(_) => Ok(direction_from_pb(t.direction)),
                Err(_) => Err(FieldViolation::new(
                    "direction",
                    format!("`{}` is not a direction", t.direction),
                )),
            },
            milestones: t.milestones.iter().map(milestone_from_pb).collect(),
            method: match pb::StatusMethod::try_from(t.method) {
                Ok(pb::StatusMethod::Unspecified) => Ok(None),
                Ok(pb::StatusMethod::Linear) => Ok(Some(MethodSpec::Linear)),
                Ok(pb::StatusMethod::GrowthRate) => Ok(Some(MethodSpec::GrowthRate {
                    on_track: t.on_track_ratio,
                    lagging: t.lagging_ratio,
                })),
                Err(_) => Err(FieldViolation::new(
                    "method",
                    format!("`{}` is not a status method", t.method),
                )),
            },
            overrides: t
                .overrides
                .iter()
                .map(|o| OverrideSpec {
                    division: parse_division_name("division", &o.division),
                    baseline: o
                        .has_baseline
                        .then_some((o.baseline_value, o.baseline_year)),
                    target_value: o.target_value,
                    target_year: o.target_year,
                    milestones: o.milestones.iter().map(milestone_from_pb).collect(),
                })
                .collect(),
        }
    }
}

pub fn indicator_to_pb(d: &IndicatorDef) -> pb::Indicator {
    pb::Indicator {
        name: indicator_name(&d.code),
        code: d.code.clone(),
        display_name: d.display_name.clone(),
        kind: match d.kind {
            Kind::Count => pb::IndicatorKind::Count,
            Kind::Sum => pb::IndicatorKind::Sum,
            Kind::Ratio => pb::IndicatorKind::Ratio,
            Kind::Share => pb::IndicatorKind::Share,
            Kind::Mean => pb::IndicatorKind::Mean,
        } as i32,
        source: match d.source {
            Source::Registry => pb::IndicatorSource::Registry,
            Source::Survey => pb::IndicatorSource::Survey,
            Source::Reported => pb::IndicatorSource::Reported,
        } as i32,
        field: d.field.clone(),
        denominator_field: d.denominator_field.clone(),
        unit_kind: match d.unit_kind {
            UnitFilter::All => pb::UnitKindFilter::Unspecified,
            UnitFilter::Community => pb::UnitKindFilter::Community,
            UnitFilter::Village => pb::UnitKindFilter::Village,
        } as i32,
        unit: d.unit.clone(),
        direction: direction_to_pb(d.direction) as i32,
        rollup: d.rollup().to_owned(),
        plan: String::new(),
        factor: (d.factor != 1.0).then_some(d.factor),
    }
}

/// An indicator as listed: a built-in one, or one a plan defines, naming its plan.
pub fn listed_indicator_to_pb(i: &ListedIndicator) -> pb::Indicator {
    pb::Indicator {
        plan: i.plan.as_deref().map(plan_name).unwrap_or_default(),
        ..indicator_to_pb(&i.def)
    }
}

fn milestone_from_pb(m: &pb::Milestone) -> Milestone {
    Milestone {
        year: m.year,
        value: m.value,
    }
}

fn milestone_to_pb(m: &Milestone) -> pb::Milestone {
    pb::Milestone {
        year: m.year,
        value: m.value,
    }
}

fn override_to_pb(o: &TargetOverride) -> pb::TargetOverride {
    let (baseline_value, baseline_year) = o.baseline.unwrap_or_default();
    pb::TargetOverride {
        division: code_name(o.division as i64),
        has_baseline: o.baseline.is_some(),
        baseline_value,
        baseline_year,
        target_value: o.target_value,
        target_year: o.target_year,
        milestones: o.milestones.iter().map(milestone_to_pb).collect(),
    }
}

impl From<&pb::TargetRevision> for RevisionSpec {
    fn from(r: &pb::TargetRevision) -> Self {
        Self {
            indicator: r.indicator.clone(),
            division: parse_optional_division_name("division", &r.division),
            effective_date: r.effective_date.clone(),
            baseline: r
                .has_baseline
                .then_some((r.baseline_value, r.baseline_year)),
            target_value: r.target_value,
            target_year: r.target_year,
            milestones: r.milestones.iter().map(milestone_from_pb).collect(),
            reason: r.reason.clone(),
        }
    }
}

pub fn revision_to_pb(plan_id: &str, r: &RevisionDef) -> pb::TargetRevision {
    let (baseline_value, baseline_year) = r.path.baseline.unwrap_or_default();
    pb::TargetRevision {
        name: revision_name(plan_id, r.number),
        indicator: indicator_name(&r.indicator),
        division: r.division.map(|c| code_name(c as i64)).unwrap_or_default(),
        effective_date: r.effective_date.format("%Y-%m-%d").to_string(),
        has_baseline: r.path.baseline.is_some(),
        baseline_value,
        baseline_year,
        target_value: r.path.target_value,
        target_year: r.path.target_year,
        milestones: r.path.milestones.iter().map(milestone_to_pb).collect(),
        reason: r.reason.clone(),
        actor: r.actor.clone(),
        create_time: Some(timestamp(r.create_time)),
    }
}

pub fn target_to_pb(t: &TargetDef) -> pb::Target {
    let (baseline_value, baseline_year) = t.baseline.unwrap_or_default();
    let (method, thresholds) = match t.method {
        Method::Linear => (pb::StatusMethod::Linear, None),
        Method::GrowthRate(th) => (pb::StatusMethod::GrowthRate, Some(th)),
    };
    pb::Target {
        indicator: indicator_name(&t.indicator),
        has_baseline: t.baseline.is_some(),
        baseline_value,
        baseline_year,
        target_value: t.target_value,
        target_year: t.target_year,
        direction: direction_to_pb(t.direction) as i32,
        milestones: t.milestones.iter().map(milestone_to_pb).collect(),
        method: method as i32,
        on_track_ratio: thresholds.map(|th| th.on_track),
        lagging_ratio: thresholds.map(|th| th.lagging),
        overrides: t.overrides.iter().map(override_to_pb).collect(),
    }
}

pub fn plan_to_pb(p: &PlanDef) -> pb::Plan {
    pb::Plan {
        name: plan_name(&p.id),
        display_name: p.display_name.clone(),
        level: p.level as i32,
        scope: p.scope.map(division_name).unwrap_or_default(),
        parent: p.parent.as_deref().map(plan_name).unwrap_or_default(),
        start_year: p.start_year,
        end_year: p.end_year,
        survey_round: round_name(&p.survey_round),
        indicators: p
            .body
            .indicators
            .iter()
            .map(|i| pb::Indicator {
                plan: plan_name(&p.id),
                ..indicator_to_pb(i)
            })
            .collect(),
        targets: p.body.targets.iter().map(target_to_pb).collect(),
        create_time: Some(timestamp(p.create_time)),
    }
}

fn misalignment_to_pb(m: &Misalignment) -> pb::Misalignment {
    let division = |code: Option<u64>| code.map(|c| code_name(c as i64)).unwrap_or_default();
    pb::Misalignment {
        indicator: indicator_name(&m.target.indicator),
        target: Some(target_to_pb(&m.target)),
        parent_target: Some(target_to_pb(&m.parent_target)),
        parent_plan: plan_name(&m.parent_plan),
        division: division(m.division),
        parent_target_division: division(m.parent_target_division),
    }
}

pub fn alignment_to_pb(a: &Alignment) -> pb::CheckPlanAlignmentResponse {
    pb::CheckPlanAlignmentResponse {
        parent: a.parent.as_deref().map(plan_name).unwrap_or_default(),
        misalignments: a.misalignments.iter().map(misalignment_to_pb).collect(),
    }
}

pub fn reported_to_pb(r: &ReportedRecord) -> pb::ReportedValue {
    pb::ReportedValue {
        indicator: indicator_name(&r.indicator),
        division: DivisionCode::from_u64(r.division_code as u64)
            .map(division_name)
            .unwrap_or_default(),
        period: r.period.clone(),
        value: r.value,
        actor: r.actor.clone(),
        reason: r.reason.clone(),
        change_time: Some(timestamp(r.change_time)),
        revision: r.revision,
    }
}

impl From<&pb::ReportedValue> for ReportedValueSpec {
    fn from(v: &pb::ReportedValue) -> Self {
        Self {
            indicator: parse_indicator_name("value.indicator", &v.indicator).map(str::to_owned),
            division: parse_division_name("value.division", &v.division),
            period: v.period.clone(),
            value: v.value,
            reason: v.reason.clone(),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{national_plan, violated_fields};

    /// The built-in plan as the wire shows it reads back as itself; its floors carry baseline
    /// year 0, which is not read without a baseline.
    #[test]
    fn the_national_plan_round_trips_through_the_wire() {
        let wire = plan_to_pb(&national_plan());
        assert_eq!(wire.targets[2].baseline_year, 0);
        assert!(!wire.targets[2].has_baseline);
        assert_eq!(plan_from_pb(&wire), Ok(national_plan()));
    }

    /// What cannot be read from the wire is named in its place among the plan's checks.
    #[test]
    fn unreadable_fields_are_named_in_the_order_of_the_plan() {
        let mut wire = plan_to_pb(&national_plan());
        wire.name = "plans/Not Ok".into();
        wire.display_name = String::new();
        wire.survey_round = "round-1".into();
        wire.start_year = 0;
        wire.targets[0].direction = 7;
        wire.targets[1].target_value = 2.0;
        wire.indicators.push(pb::Indicator {
            unit_kind: 9,
            kind: 0,
            ..indicator_to_pb(&crate::indicators::builtin("social_workers").unwrap())
        });
        assert_eq!(
            violated_fields(plan_from_pb(&wire).unwrap_err()),
            [
                "plan.name",
                "plan.display_name",
                "plan.start_year",
                "plan.survey_round",
                "plan.indicators[0].kind",
                "plan.indicators[0].unit_kind",
                "plan.targets[0].direction",
                "plan.targets[1].target_value",
            ]
        );
    }
}
