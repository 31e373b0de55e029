//! Target revisions: a mid-term review changes one target of a plan (its own, or one division's)
//! from a date on, with the reason. A plan is never rewritten; the revisions effective by an
//! evaluation's date are laid over it, in order, to give the targets in force then.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shequ_domain::text::TextRule;
use shequ_domain::{DivisionCode, Milestone, Violations};

use super::def::{PlanDef, TargetOverride};
use super::targets::{Path, Period, check_path};
use super::validate::unread;
use crate::error::Sent;
use crate::indicators::builtin;
use crate::names::INDICATORS;

/// A revision as kept: what changed from when, why, and who recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionDef {
    /// 1, 2, … per plan, in the order recorded; 0 before it is stored.
    pub number: i64,
    pub indicator: String,
    /// The division's 12-digit code; `None` for the plan's own target.
    pub division: Option<u64>,
    pub effective_date: NaiveDate,
    pub path: RevisedPath,
    pub reason: String,
    pub actor: String,
    pub create_time: i64,
}

/// The revised path to the target, as stored (`monitoring_target_revisions.body`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisedPath {
    pub baseline: Option<(f64, i32)>,
    pub target_value: f64,
    pub target_year: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
}

/// A revision as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionSpec {
    /// `indicators/{code}` or the bare code.
    pub indicator: String,
    pub division: Sent<Option<DivisionCode>>,
    pub effective_date: String,
    pub baseline: Option<(f64, i32)>,
    pub target_value: f64,
    /// 0: the revised target's year.
    pub target_year: i32,
    pub milestones: Vec<Milestone>,
    pub reason: String,
}

impl RevisionSpec {
    /// Checks the revision against `plan`; fields are named `revision.…`. Whether the division
    /// lies inside the plan's scope is checked by the caller, which can ask the registry.
    pub fn validate(self, plan: &PlanDef) -> Result<RevisionDef, Violations> {
        let mut v = Violations::new();
        let code = self
            .indicator
            .strip_prefix(INDICATORS)
            .unwrap_or(&self.indicator)
            .to_owned();
        let target = plan.target(&code);
        if target.is_none() {
            v.push(
                "indicator",
                format!(
                    "`{}` has no target in plan `plans/{}`",
                    self.indicator, plan.id
                ),
            );
        }
        let division = match self.division {
            Ok(division) => division,
            Err(e) => {
                unread(&mut v, "", e);
                None
            }
        };
        if division.is_some() && division == plan.scope {
            v.push(
                "division",
                "is the plan's scope: leave it empty for the plan's own target",
            );
        }
        let first = NaiveDate::from_ymd_opt(plan.start_year, 1, 1);
        let last = NaiveDate::from_ymd_opt(plan.end_year, 12, 31);
        let effective_date = match NaiveDate::parse_from_str(&self.effective_date, "%Y-%m-%d") {
            Ok(date) if first.is_some_and(|f| date < f) || last.is_some_and(|l| date > l) => {
                v.push(
                    "effective_date",
                    format!(
                        "must lie in the plan's years {} to {}",
                        plan.start_year, plan.end_year
                    ),
                );
                date
            }
            Ok(date) => date,
            Err(_) => {
                v.push("effective_date", "must be a date `YYYY-MM-DD`");
                NaiveDate::MIN
            }
        };
        let reason = TextRule::required_unbounded().apply(&mut v, "reason", &self.reason);
        // The year of what is revised: the division's override, else the target itself.
        let revised_year = target.map_or(self.target_year, |t| {
            division
                .and_then(|d| t.overrides.iter().find(|o| o.division == d.as_u64()))
                .map_or(t.target_year, |o| o.target_year)
        });
        let target_year = if self.target_year == 0 {
            revised_year
        } else {
            self.target_year
        };
        let def = builtin(&code).or_else(|| {
            plan.body
                .indicators
                .iter()
                .find(|i| i.code == code)
                .cloned()
        });
        if let Some(def) = &def {
            check_path(
                &mut v,
                &|f: &str| f.to_owned(),
                def,
                Period {
                    start_year: plan.start_year,
                    end_year: plan.end_year,
                },
                &Path {
                    baseline: self.baseline,
                    target_value: self.target_value,
                    target_year,
                    milestones: &self.milestones,
                },
            );
        }
        v.prefixed("revision").into_result(RevisionDef {
            number: 0,
            indicator: code,
            division: division.map(DivisionCode::as_u64),
            effective_date,
            path: RevisedPath {
                baseline: self.baseline,
                target_value: self.target_value,
                target_year,
                milestones: self.milestones,
            },
            reason,
            actor: String::new(),
            create_time: 0,
        })
    }
}

impl PlanDef {
    /// The plan with the revisions effective by `date` laid over its targets, by effective date
    /// and then as recorded: a division's revision replaces its override, or adds one.
    pub fn revised_on(&self, revisions: &[RevisionDef], date: NaiveDate) -> PlanDef {
        let mut in_force: Vec<&RevisionDef> = revisions
            .iter()
            .filter(|r| r.effective_date <= date)
            .collect();
        in_force.sort_by_key(|r| (r.effective_date, r.number));
        let mut plan = self.clone();
        for r in in_force {
            let Some(t) = plan
                .body
                .targets
                .iter_mut()
                .find(|t| t.indicator == r.indicator)
            else {
                continue;
            };
            let p = r.path.clone();
            match r.division {
                None => {
                    t.baseline = p.baseline;
                    t.target_value = p.target_value;
                    t.target_year = p.target_year;
                    t.milestones = p.milestones;
                }
                Some(code) => {
                    let revised = TargetOverride {
                        division: code,
                        baseline: p.baseline,
                        target_value: p.target_value,
                        target_year: p.target_year,
                        milestones: p.milestones,
                    };
                    match t.overrides.iter_mut().find(|o| o.division == code) {
                        Some(o) => *o = revised,
                        None => t.overrides.push(revised),
                    }
                }
            }
        }
        plan
    }
}
