//! Checking a plan as a caller sent it (`PlanSpec`, from the wire or a plan file) into a
//! `PlanDef`: the one place where the rules of a plan live. Every offending field is named (as
//! `plan.…`), in the order of the plan's fields.

use shequ_domain::text::{self, TextRule};
use shequ_domain::{DivisionCode, FieldViolation, Violations};

use super::def::{Method, PlanBody, PlanDef, PlanLevel, YEARS};
use super::targets::{MethodSpec, OverrideSpec, Period, TargetSpec, validate_targets};
use crate::error::Sent;
use crate::indicators::{Better, IndicatorDef, Kind, Source, UnitFilter, builtin};
use crate::names::{indicator_name, new_id};

/// A plan as a caller asks for it, before it is checked. A field that could not be read is named
/// relative to the plan, or to its indicator or target.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSpec {
    /// The plan's id; `None` to have one assigned.
    pub id: Sent<Option<String>>,
    pub display_name: String,
    /// `None` when none (or none the contract knows) was given.
    pub level: Option<PlanLevel>,
    /// `None` for none given.
    pub scope: Sent<Option<DivisionCode>>,
    /// The parent plan's id; `None` for none given.
    pub parent: Option<Sent<String>>,
    pub start_year: i32,
    pub end_year: i32,
    /// The survey round's id; `None` for none.
    pub survey_round: Sent<Option<String>>,
    pub indicators: Vec<IndicatorSpec>,
    pub targets: Vec<TargetSpec>,
}

/// A plan-defined indicator as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorSpec {
    pub code: String,
    pub display_name: String,
    /// `None` when none (or none the contract knows) was given.
    pub kind: Option<Kind>,
    /// `None` when none (or none the contract knows) was given.
    pub source: Option<Source>,
    pub field: String,
    pub denominator_field: String,
    pub unit_kind: Sent<UnitFilter>,
    pub unit: String,
    /// `None` when none (or none the contract knows) was given.
    pub direction: Option<Better>,
    /// `None`: 1.
    pub factor: Option<f64>,
}

/// Reports `field` unless `year` lies in [`YEARS`].
pub(super) fn check_year(v: &mut Violations, field: String, year: i32) {
    if !YEARS.contains(&year) {
        v.push(
            field,
            format!(
                "must be a year from {} to {}, got {year}",
                YEARS.start(),
                YEARS.end()
            ),
        );
    }
}

/// Reports a field that could not be read, below `prefix` (empty for the plan itself).
pub(super) fn unread(v: &mut Violations, prefix: &str, violation: FieldViolation) {
    let violation = Violations::from(violation);
    v.extend(if prefix.is_empty() {
        violation
    } else {
        violation.prefixed(prefix)
    });
}

impl PlanSpec {
    /// Checks the plan; every offending field is named (as `plan.…`). The parent's existence and
    /// scope are checked by the caller, which can read it.
    pub fn validate(self) -> Result<PlanDef, Violations> {
        let mut v = Violations::new();
        let id = match self.id {
            Ok(Some(id)) => id,
            Ok(None) => new_id(),
            Err(e) => {
                unread(&mut v, "", e);
                String::new()
            }
        };
        let display_name =
            TextRule::required_unbounded().apply(&mut v, "display_name", &self.display_name);
        let scope = match &self.scope {
            Ok(scope) => *scope,
            Err(e) => {
                unread(&mut v, "", e.clone());
                None
            }
        };
        let level = match self.level {
            Some(PlanLevel::National) => {
                if scope.is_some() {
                    v.push(
                        "scope",
                        "must be empty for a national plan (it covers the country)",
                    );
                }
                if self.parent.is_some() {
                    v.push("parent", "must be empty for a national plan");
                }
                PlanLevel::National
            }
            Some(PlanLevel::Provincial) => {
                match (&self.scope, scope) {
                    (Ok(None), _) => v.push("scope", "is required for a provincial plan"),
                    (_, Some(code)) if code.short_form().len() != 2 => {
                        v.push("scope", "must be a province for a provincial plan")
                    }
                    _ => {}
                }
                match &self.parent {
                    None => v.push("parent", "is required for a provincial plan"),
                    Some(Err(e)) => unread(&mut v, "", e.clone()),
                    Some(Ok(_)) => {}
                }
                PlanLevel::Provincial
            }
            // A plan of a division below a province: the registry tells its level, checked by
            // the caller; the parent is optional.
            Some(level) => {
                let word = level.word();
                if let Ok(None) = &self.scope {
                    v.push("scope", format!("is required for a {word} plan"));
                } else if let Some(code) = scope
                    && code.short_form().len() == 2
                {
                    v.push(
                        "scope",
                        format!("must lie below a province for a {word} plan"),
                    );
                }
                if let Some(Err(e)) = &self.parent {
                    unread(&mut v, "", e.clone());
                }
                level
            }
            None => {
                v.push(
                    "level",
                    "is required: national, provincial, prefectural, county or township",
                );
                PlanLevel::National
            }
        };
        check_year(&mut v, "start_year".into(), self.start_year);
        check_year(&mut v, "end_year".into(), self.end_year);
        if YEARS.contains(&self.start_year)
            && YEARS.contains(&self.end_year)
            && self.end_year < self.start_year
        {
            v.push("end_year", "must not be before `start_year`");
        }
        let survey_round = match self.survey_round {
            Ok(round) => round.unwrap_or_default(),
            Err(e) => {
                unread(&mut v, "", e);
                String::new()
            }
        };
        let mut indicators = Vec::new();
        for (n, i) in self.indicators.into_iter().enumerate() {
            match i.validate() {
                Ok(def) => {
                    if indicators.iter().any(|d: &IndicatorDef| d.code == def.code) {
                        v.push(format!("indicators[{n}].code"), "is defined twice");
                    }
                    indicators.push(def);
                }
                Err(e) => v.extend(e.prefixed(&format!("indicators[{n}]"))),
            }
        }
        validate_parts(&mut v, &indicators);
        let period = Period {
            start_year: self.start_year,
            end_year: self.end_year,
        };
        let targets = validate_targets(&mut v, self.targets, &indicators, period, scope);
        let def = PlanDef {
            id,
            display_name,
            level,
            scope,
            parent: self.parent.and_then(Result::ok),
            start_year: self.start_year,
            end_year: self.end_year,
            survey_round,
            body: PlanBody {
                indicators,
                targets,
            },
            create_time: 0,
        };
        v.prefixed("plan").into_result(def)
    }
}

/// Checks that every reported ratio of the plan divides two reported sums, built in or the plan's
/// own.
fn validate_parts(v: &mut Violations, indicators: &[IndicatorDef]) {
    for (n, d) in indicators.iter().enumerate() {
        if !d.has_parts() {
            continue;
        }
        for (name, code) in [
            ("field", &d.field),
            ("denominator_field", &d.denominator_field),
        ] {
            let known = builtin(code)
                .or_else(|| indicators.iter().find(|i| &i.code == code).cloned())
                .is_some_and(|i| i.is_reported_sum());
            if !code.is_empty() && !known {
                v.push(
                    format!("indicators[{n}].{name}"),
                    format!(
                        "`{code}` is not a reported sum indicator of the plan (built in or its own)"
                    ),
                );
            }
        }
    }
}

impl IndicatorSpec {
    /// Checks a plan-defined indicator; fields are relative to the indicator.
    pub fn validate(self) -> Result<IndicatorDef, Violations> {
        let mut v = Violations::new();
        let kind = self.kind.unwrap_or_else(|| {
            v.push("kind", "is required: count, sum, ratio, share or mean");
            Kind::Sum
        });
        let source = self.source.unwrap_or_else(|| {
            v.push("source", "is required: registry, survey or reported");
            Source::Reported
        });
        let unit_kind = self.unit_kind.unwrap_or_else(|e| {
            unread(&mut v, "", e);
            UnitFilter::All
        });
        let direction = self.direction.unwrap_or_else(|| {
            v.push("direction", "is required");
            Better::Higher
        });
        let def = IndicatorDef {
            code: self.code,
            display_name: self.display_name,
            kind,
            source,
            field: self.field,
            denominator_field: self.denominator_field,
            unit_kind,
            unit: self.unit,
            direction,
            factor: self.factor.unwrap_or(1.0),
        };
        if v.is_empty() {
            v.extend(def.validate());
        }
        v.into_result(IndicatorDef {
            display_name: text::trim(&def.display_name).to_owned(),
            ..def
        })
    }
}

/// A checked plan as its caller would send it again, so it is checked again the same way (the
/// built-in national plan is stored through the same checks as any other).
impl From<PlanDef> for PlanSpec {
    fn from(p: PlanDef) -> Self {
        Self {
            id: Ok(Some(p.id)),
            display_name: p.display_name,
            level: Some(p.level),
            scope: Ok(p.scope),
            parent: p.parent.map(Ok),
            start_year: p.start_year,
            end_year: p.end_year,
            survey_round: Ok((!p.survey_round.is_empty()).then_some(p.survey_round)),
            indicators: p
                .body
                .indicators
                .into_iter()
                .map(|i| IndicatorSpec {
                    code: i.code,
                    display_name: i.display_name,
                    kind: Some(i.kind),
                    source: Some(i.source),
                    field: i.field,
                    denominator_field: i.denominator_field,
                    unit_kind: Ok(i.unit_kind),
                    unit: i.unit,
                    direction: Some(i.direction),
                    factor: Some(i.factor),
                })
                .collect(),
            targets: p
                .body
                .targets
                .into_iter()
                .map(|t| TargetSpec {
                    indicator: indicator_name(&t.indicator),
                    baseline: t.baseline,
                    target_value: t.target_value,
                    target_year: t.target_year,
                    direction: Ok(Some(t.direction)),
                    milestones: t.milestones,
                    method: Ok(Some(match t.method {
                        Method::Linear => MethodSpec::Linear,
                        Method::GrowthRate(th) => MethodSpec::GrowthRate {
                            on_track: Some(th.on_track),
                            lagging: Some(th.lagging),
                        },
                    })),
                    overrides: t
                        .overrides
                        .into_iter()
                        .map(|o| OverrideSpec {
                            division: DivisionCode::from_u64(o.division)
                                .map_err(|e| FieldViolation::new("division", e.to_string())),
                            baseline: o.baseline,
                            target_value: o.target_value,
                            target_year: o.target_year,
                            milestones: o.milestones,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{NATIONAL_PLAN_ID, national_plan, violated_fields as fields};

    #[test]
    fn the_national_plan_is_valid() {
        let plan = PlanSpec::from(national_plan()).validate().unwrap();
        assert_eq!(plan, national_plan());
        assert_eq!(plan.id, NATIONAL_PLAN_ID);
        let rural = plan.target("rural_facility_coverage").unwrap();
        assert_eq!(rural.baseline, Some((0.657, 2020)));
        let floor = plan.target("activity_area_share").unwrap().trajectory(2021);
        assert_eq!(floor.baseline_value, 0.6);
    }

    #[test]
    fn inconsistent_plans_name_every_field() {
        let mut p = PlanSpec::from(national_plan());
        p.targets[1].target_year = 2019;
        p.targets[2].target_value = 1.5;
        p.targets.push(TargetSpec {
            indicator: "indicators/parking_spaces".into(),
            baseline: None,
            target_value: 1.0,
            target_year: 2025,
            direction: Ok(None),
            milestones: Vec::new(),
            method: Ok(None),
            overrides: Vec::new(),
        });
        assert_eq!(
            fields(p.validate().unwrap_err()),
            [
                "plan.targets[1].target_year",
                "plan.targets[2].target_value",
                "plan.targets[7].indicator"
            ]
        );
    }

    /// Every year of a plan lies in 1949 to 2100; outside, the field is named.
    #[test]
    fn years_outside_1949_to_2100_are_refused_naming_the_field() {
        type Set = fn(&mut PlanSpec, i32);
        let cases: [(Set, &str); 4] = [
            (
                |p, y| {
                    p.start_year = y;
                    p.end_year = 2100;
                },
                "plan.start_year",
            ),
            (
                |p, y| {
                    p.start_year = 1949;
                    p.end_year = y;
                },
                "plan.end_year",
            ),
            // Target 1 has a baseline (2020); target 2 has none.
            (
                |p, y| {
                    p.targets[1].baseline = p.targets[1].baseline.map(|(value, _)| (value, y));
                    p.targets[1].target_year = 2100;
                },
                "plan.targets[1].baseline_year",
            ),
            (
                |p, y| p.targets[2].target_year = y,
                "plan.targets[2].target_year",
            ),
        ];
        for (set, field) in cases {
            for (year, valid) in [
                (0, false),
                (1948, false),
                (1949, true),
                (2100, true),
                (2101, false),
                (-2025, false),
            ] {
                let mut p = PlanSpec::from(national_plan());
                set(&mut p, year);
                match p.validate() {
                    Ok(plan) => assert!(valid, "{field} = {year} was accepted: {plan:?}"),
                    Err(v) => {
                        assert!(!valid, "{field} = {year} was refused: {v}");
                        assert_eq!(fields(v), [field], "{field} = {year}");
                    }
                }
            }
        }
        // Without a baseline there is no baseline year to read.
        let plan = PlanSpec::from(national_plan()).validate().unwrap();
        assert_eq!(plan.target("activity_area_share").unwrap().baseline, None);
    }
}
