//! A plan's targets as sent and their checks: years and values of each path to a target (the
//! plan's own and each override's), milestones inside the plan's period, and the status method's
//! thresholds. Every offending field is named relative to the plan.

use shequ_domain::{DivisionCode, GrowthThresholds, Milestone, Violations};

use super::def::{Method, TargetDef, TargetOverride, YEARS};
use super::validate::{check_year, unread};
use crate::error::Sent;
use crate::indicators::{Better, IndicatorDef, builtin};
use crate::names::INDICATORS;

/// A target as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    /// The indicator as named: `indicators/{code}`, or the bare code.
    pub indicator: String,
    /// Value and year; `None` for a target without baseline (a floor).
    pub baseline: Option<(f64, i32)>,
    pub target_value: f64,
    pub target_year: i32,
    /// `None`: the indicator's own direction.
    pub direction: Sent<Option<Better>>,
    /// Values at the end of years between the baseline's and the target's.
    pub milestones: Vec<Milestone>,
    /// `None`: linear. For the growth-rate method, thresholds left `None` take Open SDG's.
    pub method: Sent<Option<MethodSpec>>,
    pub overrides: Vec<OverrideSpec>,
}

/// A status method as sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MethodSpec {
    Linear,
    GrowthRate {
        on_track: Option<f64>,
        lagging: Option<f64>,
    },
}

/// A target for one division below the plan's scope, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideSpec {
    pub division: Sent<DivisionCode>,
    pub baseline: Option<(f64, i32)>,
    pub target_value: f64,
    /// 0: the plan target's year.
    pub target_year: i32,
    pub milestones: Vec<Milestone>,
}

/// The plan's period, for the milestones' years.
#[derive(Debug, Clone, Copy)]
pub(super) struct Period {
    pub start_year: i32,
    pub end_year: i32,
}

/// One path to a target as sent, the plan's target's or an override's, before it is checked.
pub(super) struct Path<'a> {
    pub baseline: Option<(f64, i32)>,
    pub target_value: f64,
    pub target_year: i32,
    pub milestones: &'a [Milestone],
}

/// Checks a path's years and values; `field` names a field of the target or override.
pub(super) fn check_path(
    v: &mut Violations,
    field: &dyn Fn(&str) -> String,
    def: &IndicatorDef,
    period: Period,
    path: &Path<'_>,
) {
    // Without a baseline its year is not read (the trajectory starts before `start_year`).
    if let Some((_, baseline_year)) = path.baseline {
        check_year(v, field("baseline_year"), baseline_year);
    }
    check_year(v, field("target_year"), path.target_year);
    if let Some((_, baseline_year)) = path.baseline
        && YEARS.contains(&baseline_year)
        && YEARS.contains(&path.target_year)
        && path.target_year < baseline_year
    {
        v.push(field("target_year"), "must not be before `baseline_year`");
    }
    let in_range = |v: &mut Violations, name: String, value: f64| {
        let code = &def.code;
        if !value.is_finite() {
            v.push(name, "must be a finite number");
        } else if def.is_share() && !(0.0..=1.0).contains(&value) {
            v.push(name, format!("`{code}` is a share: must lie in 0 to 1"));
        } else if def.unit == "score" && !(0.0..=100.0).contains(&value) {
            v.push(name, format!("`{code}` is a score: must lie in 0 to 100"));
        }
    };
    in_range(v, field("target_value"), path.target_value);
    if let Some((value, _)) = path.baseline {
        in_range(v, field("baseline_value"), value);
    }
    // Milestones lie inside the plan's period, after the baseline and before the target, in
    // increasing years.
    let first = path.baseline.map_or(period.start_year - 1, |(_, y)| y);
    let mut previous = first;
    for (m, milestone) in path.milestones.iter().enumerate() {
        let name = field(&format!("milestones[{m}].year"));
        let year = milestone.year;
        if !(period.start_year..=period.end_year).contains(&year) {
            v.push(
                name,
                format!(
                    "must lie in the plan's period {} to {}, got {year}",
                    period.start_year, period.end_year
                ),
            );
        } else if year <= first || year >= path.target_year {
            v.push(
                name,
                format!(
                    "must lie after the baseline year {first} and before the target year {}",
                    path.target_year
                ),
            );
        } else if year <= previous {
            v.push(name, "must come after the milestone before it");
        }
        previous = previous.max(year);
        in_range(v, field(&format!("milestones[{m}].value")), milestone.value);
    }
}

/// Checks a growth-rate method's thresholds: finite, 0 < lagging ≤ on track.
fn check_method(v: &mut Violations, field: &dyn Fn(&str) -> String, sent: MethodSpec) -> Method {
    let (on_track, lagging) = match sent {
        MethodSpec::Linear => return Method::Linear,
        MethodSpec::GrowthRate { on_track, lagging } => (on_track, lagging),
    };
    let defaults = GrowthThresholds::default();
    let on_track = on_track.unwrap_or(defaults.on_track);
    let lagging = lagging.unwrap_or(defaults.lagging);
    for (name, value) in [("on_track_ratio", on_track), ("lagging_ratio", lagging)] {
        if !value.is_finite() || value <= 0.0 {
            v.push(field(name), "must be a finite number above 0");
        }
    }
    if lagging > on_track {
        v.push(
            field("lagging_ratio"),
            format!("must not be above `on_track_ratio` ({on_track})"),
        );
    }
    Method::GrowthRate(GrowthThresholds { on_track, lagging })
}

/// Checks the targets against the catalogue and the plan's own `indicators`. Whether each
/// override's division lies inside the plan's scope is checked by the caller, which can ask the
/// registry.
pub(super) fn validate_targets(
    v: &mut Violations,
    sent: Vec<TargetSpec>,
    indicators: &[IndicatorDef],
    period: Period,
    scope: Option<DivisionCode>,
) -> Vec<TargetDef> {
    let mut targets: Vec<TargetDef> = Vec::new();
    for (n, t) in sent.into_iter().enumerate() {
        let field = |f: &str| format!("targets[{n}].{f}");
        let code = t.indicator.strip_prefix(INDICATORS).unwrap_or(&t.indicator);
        let def = builtin(code).or_else(|| indicators.iter().find(|d| d.code == code).cloned());
        let Some(def) = def else {
            v.push(
                field("indicator"),
                format!("unknown indicator `{}`", t.indicator),
            );
            continue;
        };
        if targets.iter().any(|x| x.indicator == code) {
            v.push(field("indicator"), "has a target already");
        }
        check_path(
            v,
            &field,
            &def,
            period,
            &Path {
                baseline: t.baseline,
                target_value: t.target_value,
                target_year: t.target_year,
                milestones: &t.milestones,
            },
        );
        // None takes the indicator's own direction.
        let direction = match t.direction {
            Ok(direction) => direction.unwrap_or(def.direction),
            Err(e) => {
                unread(v, &format!("targets[{n}]"), e);
                def.direction
            }
        };
        let method = match t.method {
            Ok(method) => check_method(v, &field, method.unwrap_or(MethodSpec::Linear)),
            Err(e) => {
                unread(v, &format!("targets[{n}]"), e);
                Method::Linear
            }
        };
        let mut overrides: Vec<TargetOverride> = Vec::new();
        for (k, o) in t.overrides.into_iter().enumerate() {
            let prefix = format!("targets[{n}].overrides[{k}]");
            let field = |f: &str| format!("{prefix}.{f}");
            let division = match o.division {
                Ok(code) => code,
                Err(e) => {
                    unread(v, &prefix, e);
                    continue;
                }
            };
            if Some(division) == scope {
                v.push(
                    field("division"),
                    "is the plan's scope: set the target itself",
                );
            } else if overrides.iter().any(|x| x.division == division.as_u64()) {
                v.push(field("division"), "has an override already");
            }
            let target_year = if o.target_year == 0 {
                t.target_year
            } else {
                o.target_year
            };
            check_path(
                v,
                &field,
                &def,
                period,
                &Path {
                    baseline: o.baseline,
                    target_value: o.target_value,
                    target_year,
                    milestones: &o.milestones,
                },
            );
            overrides.push(TargetOverride {
                division: division.as_u64(),
                baseline: o.baseline,
                target_value: o.target_value,
                target_year,
                milestones: o.milestones,
            });
        }
        targets.push(TargetDef {
            indicator: code.to_owned(),
            baseline: t.baseline,
            target_value: t.target_value,
            target_year: t.target_year,
            direction,
            milestones: t.milestones,
            method,
            overrides,
        });
    }
    targets
}
