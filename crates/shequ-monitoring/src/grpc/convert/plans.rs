//! Plans, their targets with milestones and overrides, target revisions and alignment, between
//! the wire and the domain.

use shequ_domain::Milestone;
use shequ_proto::monitoring::v1 as pb;

use crate::names::{
    division_name, indicator_name, parse_optional_division_name, plan_name, round_name,
};
use crate::plan::{
    Alignment, Method, Misalignment, PlanDef, RevisionDef, RevisionSpec, TargetDef, TargetOverride,
};
use crate::service::results::code_name;
use crate::service::revisions::revision_name;

use super::{direction_to_pb, indicator_to_pb, timestamp};

pub(super) fn milestone_from_pb(m: &pb::Milestone) -> Milestone {
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
