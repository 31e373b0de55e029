//! Protobuf <-> domain: plans and indicators as sent (what cannot be read is kept as a field
//! violation with its path, for the plan's check to report in its place), and every resource the
//! service returns, in its wire form: indicators and reported values here, plans, targets,
//! revisions and alignment in `plans`, evaluations, results and records in `evaluations`.

use prost_types::Timestamp;
use shequ_domain::{DivisionCode, FieldViolation, Violations};
use shequ_proto::monitoring::v1 as pb;

use crate::indicators::{Better, IndicatorDef, Kind, Source, UnitFilter};
use crate::names::{
    division_name, indicator_name, parse_division_name, parse_indicator_name,
    parse_optional_division_name, parse_optional_round_name, parse_plan_name, plan_name,
};
use crate::plan::{
    IndicatorSpec, MethodSpec, OverrideSpec, PlanDef, PlanLevel, PlanSpec, TargetSpec,
};
use crate::service::plans::ListedIndicator;
use crate::service::reported::ReportedValueSpec;
use crate::store::rows::ReportedRecord;

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

mod evaluations;
mod plans;

pub use evaluations::*;
use plans::milestone_from_pb;
pub use plans::*;

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
