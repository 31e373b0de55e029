//! Plans as the monitor keeps them: scope, period, plan-defined indicators and targets; their
//! validation, the built-in national plan, plan files (TOML) and alignment with the parent plan.

use serde::{Deserialize, Serialize};
use shequ_domain::text::{self, TextRule};
use shequ_domain::{DivisionCode, Trajectory, Violations};
use shequ_proto::monitoring::v1 as pb;
use shequ_proto::names::{division_name, parse_optional_division_name};

use crate::indicators::{Better, IndicatorDef, Kind, Source, UnitFilter, builtin, catalogue};
use crate::names::{
    indicator_name, is_id, parse_optional_round_name, parse_plan_name, plan_name, round_name,
};

/// Id of the built-in national plan.
pub const NATIONAL_PLAN_ID: &str = "national-14th-fyp";

/// The years a plan may name (start, end, baseline and target years): from the founding of the
/// People's Republic to the end of the century; anything else is a typing mistake.
pub const YEARS: std::ops::RangeInclusive<i32> = 1949..=2100;

/// Reports `field` unless `year` lies in [`YEARS`].
fn check_year(v: &mut Violations, field: String, year: i32) {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanLevel {
    National = 1,
    Provincial = 2,
}

/// A target; without a baseline the target is a floor: the trajectory starts at the target, so
/// a value short of it is off track (DOMAIN.md's "—" baselines).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetDef {
    pub indicator: String,
    pub baseline: Option<(f64, i32)>,
    pub target_value: f64,
    pub target_year: i32,
    pub direction: Better,
}

impl TargetDef {
    pub fn trajectory(&self, start_year: i32) -> Trajectory {
        let (baseline_value, baseline_year) =
            self.baseline.unwrap_or((self.target_value, start_year - 1));
        Trajectory {
            baseline_value,
            baseline_year,
            target_value: self.target_value,
            target_year: self.target_year,
            direction: self.direction.into(),
        }
    }
}

/// What a plan stores besides its columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanBody {
    pub indicators: Vec<IndicatorDef>,
    pub targets: Vec<TargetDef>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanDef {
    pub id: String,
    pub display_name: String,
    pub level: PlanLevel,
    /// `None` for the country.
    pub scope: Option<DivisionCode>,
    pub parent: Option<String>,
    pub start_year: i32,
    pub end_year: i32,
    pub survey_round: String,
    pub body: PlanBody,
    pub create_time: i64,
}

impl PlanDef {
    /// The built-in catalogue followed by the plan's own indicators: the evaluation's columns.
    pub fn indicators(&self) -> Vec<IndicatorDef> {
        let mut all = catalogue();
        all.extend(self.body.indicators.iter().cloned());
        all
    }

    pub fn target(&self, indicator: &str) -> Option<&TargetDef> {
        self.body.targets.iter().find(|t| t.indicator == indicator)
    }

    /// The scope's code in storage: 0 for the country.
    pub fn scope_code(&self) -> i64 {
        self.scope.map_or(0, DivisionCode::as_i64)
    }
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
    }
}

fn indicator_from_pb(i: &pb::Indicator) -> Result<IndicatorDef, Violations> {
    let mut v = Violations::new();
    let kind = match pb::IndicatorKind::try_from(i.kind) {
        Ok(pb::IndicatorKind::Count) => Kind::Count,
        Ok(pb::IndicatorKind::Sum) => Kind::Sum,
        Ok(pb::IndicatorKind::Ratio) => Kind::Ratio,
        Ok(pb::IndicatorKind::Share) => Kind::Share,
        Ok(pb::IndicatorKind::Mean) => Kind::Mean,
        _ => {
            v.push("kind", "is required: count, sum, ratio, share or mean");
            Kind::Sum
        }
    };
    let source = match pb::IndicatorSource::try_from(i.source) {
        Ok(pb::IndicatorSource::Registry) => Source::Registry,
        Ok(pb::IndicatorSource::Survey) => Source::Survey,
        Ok(pb::IndicatorSource::Reported) => Source::Reported,
        _ => {
            v.push("source", "is required: registry, survey or reported");
            Source::Reported
        }
    };
    let unit_kind = match pb::UnitKindFilter::try_from(i.unit_kind) {
        Ok(pb::UnitKindFilter::Community) => UnitFilter::Community,
        Ok(pb::UnitKindFilter::Village) => UnitFilter::Village,
        Ok(pb::UnitKindFilter::Unspecified) => UnitFilter::All,
        Err(_) => {
            v.push("unit_kind", "is not a known unit kind");
            UnitFilter::All
        }
    };
    let direction = direction_from_pb(i.direction).unwrap_or_else(|| {
        v.push("direction", "is required");
        Better::Higher
    });
    let def = IndicatorDef {
        code: i.code.clone(),
        display_name: i.display_name.clone(),
        kind,
        source,
        field: i.field.clone(),
        denominator_field: i.denominator_field.clone(),
        unit_kind,
        unit: i.unit.clone(),
        direction,
    };
    if v.is_empty() {
        v.extend(def.validate());
    }
    v.into_result(IndicatorDef {
        display_name: text::trim(&def.display_name).to_owned(),
        ..def
    })
}

/// Converts and checks a plan from the wire; every offending field is named (as `plan.…`).
/// The parent's existence and scope are checked by the caller, which can read it.
pub fn plan_from_pb(p: &pb::Plan) -> Result<PlanDef, Violations> {
    let mut v = Violations::new();
    let id = if p.name.is_empty() {
        crate::names::new_id()
    } else {
        match parse_plan_name("name", &p.name) {
            Ok(id) => id.to_owned(),
            Err(e) => {
                v.push(e.field, e.description);
                String::new()
            }
        }
    };
    let display_name =
        TextRule::required_unbounded().apply(&mut v, "display_name", &p.display_name);
    let scope = parse_optional_division_name("scope", &p.scope).unwrap_or_else(|e| {
        v.push(e.field, e.description);
        None
    });
    let level = match pb::PlanLevel::try_from(p.level) {
        Ok(pb::PlanLevel::National) => {
            if scope.is_some() {
                v.push(
                    "scope",
                    "must be empty for a national plan (it covers the country)",
                );
            }
            if !p.parent.is_empty() {
                v.push("parent", "must be empty for a national plan");
            }
            PlanLevel::National
        }
        Ok(pb::PlanLevel::Provincial) => {
            match scope {
                None if p.scope.is_empty() => v.push("scope", "is required for a provincial plan"),
                Some(code) if code.short_form().len() != 2 => {
                    v.push("scope", "must be a province for a provincial plan")
                }
                _ => {}
            }
            if p.parent.is_empty() {
                v.push("parent", "is required for a provincial plan");
            } else if let Err(e) = parse_plan_name("parent", &p.parent) {
                v.push(e.field, e.description);
            }
            PlanLevel::Provincial
        }
        _ => {
            v.push("level", "is required: national or provincial");
            PlanLevel::National
        }
    };
    check_year(&mut v, "start_year".into(), p.start_year);
    check_year(&mut v, "end_year".into(), p.end_year);
    if YEARS.contains(&p.start_year) && YEARS.contains(&p.end_year) && p.end_year < p.start_year {
        v.push("end_year", "must not be before `start_year`");
    }
    let survey_round = match parse_optional_round_name("survey_round", &p.survey_round) {
        Ok(r) => r.unwrap_or_default().to_owned(),
        Err(e) => {
            v.push(e.field, e.description);
            String::new()
        }
    };
    let mut indicators = Vec::new();
    for (n, i) in p.indicators.iter().enumerate() {
        match indicator_from_pb(i) {
            Ok(def) => {
                if indicators.iter().any(|d: &IndicatorDef| d.code == def.code) {
                    v.push(format!("indicators[{n}].code"), "is defined twice");
                }
                indicators.push(def);
            }
            Err(e) => v.extend(e.prefixed(&format!("indicators[{n}]"))),
        }
    }
    let mut targets: Vec<TargetDef> = Vec::new();
    for (n, t) in p.targets.iter().enumerate() {
        let field = |f: &str| format!("targets[{n}].{f}");
        let code = t
            .indicator
            .strip_prefix("indicators/")
            .unwrap_or(&t.indicator);
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
        // Without a baseline its year is not read (the trajectory starts before `start_year`).
        if t.has_baseline {
            check_year(&mut v, field("baseline_year"), t.baseline_year);
        }
        check_year(&mut v, field("target_year"), t.target_year);
        if t.has_baseline
            && YEARS.contains(&t.baseline_year)
            && YEARS.contains(&t.target_year)
            && t.target_year < t.baseline_year
        {
            v.push(field("target_year"), "must not be before `baseline_year`");
        }
        for (name, value, checked) in [
            ("target_value", t.target_value, true),
            ("baseline_value", t.baseline_value, t.has_baseline),
        ] {
            if !checked {
                continue;
            }
            if !value.is_finite() {
                v.push(field(name), "must be a finite number");
            } else if def.is_share() && !(0.0..=1.0).contains(&value) {
                v.push(
                    field(name),
                    format!("`{code}` is a share: must lie in 0 to 1"),
                );
            } else if def.unit == "score" && !(0.0..=100.0).contains(&value) {
                v.push(
                    field(name),
                    format!("`{code}` is a score: must lie in 0 to 100"),
                );
            }
        }
        // Unspecified takes the indicator's own direction; a value the contract does not name
        // is refused rather than read as unspecified.
        if pb::Direction::try_from(t.direction).is_err() {
            v.push(
                field("direction"),
                format!("`{}` is not a direction", t.direction),
            );
        }
        targets.push(TargetDef {
            indicator: code.to_owned(),
            baseline: t
                .has_baseline
                .then_some((t.baseline_value, t.baseline_year)),
            target_value: t.target_value,
            target_year: t.target_year,
            direction: direction_from_pb(t.direction).unwrap_or(def.direction),
        });
    }
    let def = PlanDef {
        id,
        display_name,
        level,
        scope,
        parent: (!p.parent.is_empty()).then(|| p.parent.trim_start_matches("plans/").to_owned()),
        start_year: p.start_year,
        end_year: p.end_year,
        survey_round,
        body: PlanBody {
            indicators,
            targets,
        },
        create_time: 0,
    };
    v.prefixed("plan").into_result(def)
}

pub fn target_to_pb(t: &TargetDef) -> pb::Target {
    let (baseline_value, baseline_year) = t.baseline.unwrap_or_default();
    pb::Target {
        indicator: indicator_name(&t.indicator),
        has_baseline: t.baseline.is_some(),
        baseline_value,
        baseline_year,
        target_value: t.target_value,
        target_year: t.target_year,
        direction: direction_to_pb(t.direction) as i32,
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
        create_time: Some(crate::names::timestamp(p.create_time)),
    }
}

/// The national plan of DOMAIN.md §5: baselines 2020, targets 2025. Indicators whose baseline is
/// "—" get a target without baseline (a floor); "plan-defined" targets are left to the plans.
pub fn national_plan() -> pb::Plan {
    let t = |code: &str, baseline: Option<f64>, target: f64| pb::Target {
        indicator: indicator_name(code),
        has_baseline: baseline.is_some(),
        baseline_value: baseline.unwrap_or_default(),
        baseline_year: if baseline.is_some() { 2020 } else { 0 },
        target_value: target,
        target_year: 2025,
        direction: pb::Direction::HigherIsBetter as i32,
    };
    pb::Plan {
        name: plan_name(NATIONAL_PLAN_ID),
        display_name: "“十四五”城乡社区服务体系建设规划".to_owned(),
        level: pb::PlanLevel::National as i32,
        start_year: 2021,
        end_year: 2025,
        targets: vec![
            t("urban_facility_coverage", Some(1.0), 1.0),
            t("rural_facility_coverage", Some(0.657), 0.80),
            t("activity_area_share", None, 0.60),
            t("activity_area_compliance", None, 1.0),
            t("opening_hours_compliance", None, 1.0),
            t("online_24h_coverage", None, 1.0),
            t("survey_coverage", None, 1.0),
        ],
        ..Default::default()
    }
}

/// The language of a plan file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFileFormat {
    Toml,
    Yaml,
}

impl PlanFileFormat {
    /// TOML when the first line that is not blank or a comment is a table header or a
    /// `key = value` pair, YAML otherwise.
    pub fn detect(text: &str) -> Self {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'));
        match first {
            Some(l) if l.starts_with('[') => Self::Toml,
            Some(l) => {
                let key_end = l.find(['=', ':']);
                if key_end.is_some_and(|i| l[i..].starts_with('=')) {
                    Self::Toml
                } else {
                    Self::Yaml
                }
            }
            None => Self::Toml,
        }
    }
}

/// A plan file (TOML or YAML): the fields of `Plan` with enums as lowercase words.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    id: Option<String>,
    display_name: String,
    level: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    parent: String,
    start_year: i32,
    end_year: i32,
    #[serde(default)]
    survey_round: String,
    #[serde(default)]
    indicators: Vec<IndicatorFile>,
    #[serde(default)]
    targets: Vec<TargetFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorFile {
    code: String,
    display_name: String,
    kind: String,
    source: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    denominator_field: String,
    #[serde(default)]
    unit_kind: String,
    unit: String,
    #[serde(default = "higher")]
    direction: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    indicator: String,
    baseline_value: Option<f64>,
    baseline_year: Option<i32>,
    target_value: f64,
    target_year: i32,
    #[serde(default)]
    direction: String,
}

fn higher() -> String {
    "higher".to_owned()
}

fn word<T: Copy>(
    v: &mut Violations,
    field: &str,
    text: &str,
    words: &[(&str, T)],
    default: T,
) -> T {
    match words.iter().find(|(w, _)| *w == text) {
        Some((_, t)) => *t,
        None => {
            let known: Vec<_> = words
                .iter()
                .map(|(w, _)| *w)
                .filter(|w| !w.is_empty())
                .collect();
            v.push(
                field,
                format!("must be one of {}, got `{text}`", known.join(", ")),
            );
            default
        }
    }
}

/// Parses a plan file into the wire form, which `plan_from_pb` then checks like any plan.
pub fn parse_plan_file(text: &str, format: PlanFileFormat) -> Result<pb::Plan, Violations> {
    let not_a_plan = |what: &str, message: String| {
        Violations::from(shequ_domain::FieldViolation::new(
            "content",
            format!("is not a {what} plan file: {message}"),
        ))
    };
    let file: PlanFile = match format {
        PlanFileFormat::Toml => toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(" (line {})", text[..s.start].lines().count().max(1)))
                .unwrap_or_default();
            not_a_plan("TOML", format!("{}{at}", e.message()))
        })?,
        PlanFileFormat::Yaml => {
            serde_norway::from_str(text).map_err(|e| not_a_plan("YAML", e.to_string()))?
        }
    };
    let mut v = Violations::new();
    let level = word(
        &mut v,
        "content.level",
        &file.level,
        &[
            ("national", pb::PlanLevel::National),
            ("provincial", pb::PlanLevel::Provincial),
        ],
        pb::PlanLevel::Unspecified,
    );
    let dir = |v: &mut Violations, field: &str, text: &str| {
        word(
            v,
            field,
            text,
            &[
                ("", pb::Direction::Unspecified),
                ("higher", pb::Direction::HigherIsBetter),
                ("lower", pb::Direction::LowerIsBetter),
            ],
            pb::Direction::Unspecified,
        ) as i32
    };
    let mut indicators = Vec::new();
    for (n, i) in file.indicators.iter().enumerate() {
        let f = |x: &str| format!("content.indicators[{n}].{x}");
        indicators.push(pb::Indicator {
            code: i.code.clone(),
            display_name: i.display_name.clone(),
            kind: word(
                &mut v,
                &f("kind"),
                &i.kind,
                &[
                    ("count", pb::IndicatorKind::Count),
                    ("sum", pb::IndicatorKind::Sum),
                    ("ratio", pb::IndicatorKind::Ratio),
                    ("share", pb::IndicatorKind::Share),
                    ("mean", pb::IndicatorKind::Mean),
                ],
                pb::IndicatorKind::Unspecified,
            ) as i32,
            source: word(
                &mut v,
                &f("source"),
                &i.source,
                &[
                    ("registry", pb::IndicatorSource::Registry),
                    ("survey", pb::IndicatorSource::Survey),
                    ("reported", pb::IndicatorSource::Reported),
                ],
                pb::IndicatorSource::Unspecified,
            ) as i32,
            field: i.field.clone(),
            denominator_field: i.denominator_field.clone(),
            unit_kind: word(
                &mut v,
                &f("unit_kind"),
                &i.unit_kind,
                &[
                    ("", pb::UnitKindFilter::Unspecified),
                    ("all", pb::UnitKindFilter::Unspecified),
                    ("community", pb::UnitKindFilter::Community),
                    ("village", pb::UnitKindFilter::Village),
                ],
                pb::UnitKindFilter::Unspecified,
            ) as i32,
            unit: i.unit.clone(),
            direction: dir(&mut v, &f("direction"), &i.direction),
            ..Default::default()
        });
    }
    // A baseline is a value and its year: half of one is refused, never read as year 0.
    for (n, t) in file.targets.iter().enumerate() {
        match (t.baseline_value, t.baseline_year) {
            (Some(_), None) => v.push(
                format!("content.targets[{n}].baseline_year"),
                "is required with `baseline_value`",
            ),
            (None, Some(_)) => v.push(
                format!("content.targets[{n}].baseline_value"),
                "is required with `baseline_year`",
            ),
            _ => {}
        }
    }
    let targets = file
        .targets
        .iter()
        .enumerate()
        .map(|(n, t)| pb::Target {
            indicator: if t.indicator.starts_with("indicators/") {
                t.indicator.clone()
            } else {
                indicator_name(&t.indicator)
            },
            has_baseline: t.baseline_value.is_some(),
            baseline_value: t.baseline_value.unwrap_or_default(),
            baseline_year: t.baseline_year.unwrap_or_default(),
            target_value: t.target_value,
            target_year: t.target_year,
            direction: dir(
                &mut v,
                &format!("content.targets[{n}].direction"),
                &t.direction,
            ),
        })
        .collect();
    let name = match file.id {
        Some(id) if !is_id(&id) => {
            v.push(
                "content.id",
                "must be 1 to 64 lowercase letters, digits or `-`",
            );
            String::new()
        }
        Some(id) => plan_name(&id),
        None => String::new(),
    };
    let scope = match file.scope.as_str() {
        "" => String::new(),
        s if s.starts_with("divisions/") => s.to_owned(),
        s => format!("divisions/{s}"),
    };
    let parent = match file.parent.as_str() {
        "" => String::new(),
        p if p.starts_with("plans/") => p.to_owned(),
        p => plan_name(p),
    };
    let survey_round = match file.survey_round.as_str() {
        "" => String::new(),
        r if r.starts_with("rounds/") => r.to_owned(),
        r => round_name(r),
    };
    v.into_result(pb::Plan {
        name,
        display_name: file.display_name,
        level: level as i32,
        scope,
        parent,
        start_year: file.start_year,
        end_year: file.end_year,
        survey_round,
        indicators,
        targets,
        create_time: None,
    })
}

/// Targets of `plan` less ambitious than `parent`'s target for the same indicator.
pub fn misalignments(plan: &PlanDef, parent: &PlanDef) -> Vec<pb::Misalignment> {
    plan.body
        .targets
        .iter()
        .filter_map(|t| {
            let p = parent.target(&t.indicator)?;
            t.trajectory(plan.start_year)
                .is_less_ambitious_than(&p.trajectory(parent.start_year))
                .then(|| pb::Misalignment {
                    indicator: indicator_name(&t.indicator),
                    target: Some(target_to_pb(t)),
                    parent_target: Some(target_to_pb(p)),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_national_plan_is_valid() {
        let plan = plan_from_pb(&national_plan()).unwrap();
        assert_eq!(plan.id, NATIONAL_PLAN_ID);
        let rural = plan.target("rural_facility_coverage").unwrap();
        assert_eq!(rural.baseline, Some((0.657, 2020)));
        let floor = plan.target("activity_area_share").unwrap().trajectory(2021);
        assert_eq!(floor.baseline_value, 0.6);
    }

    #[test]
    fn inconsistent_plans_name_every_field() {
        let mut p = national_plan();
        p.targets[1].target_year = 2019;
        p.targets[2].target_value = 1.5;
        p.targets.push(pb::Target {
            indicator: "indicators/parking_spaces".into(),
            target_value: 1.0,
            target_year: 2025,
            ..Default::default()
        });
        let fields: Vec<_> = plan_from_pb(&p)
            .unwrap_err()
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(
            fields,
            [
                "plan.targets[1].target_year",
                "plan.targets[2].target_value",
                "plan.targets[7].indicator"
            ]
        );
    }

    fn fields(v: Violations) -> Vec<String> {
        v.into_vec().into_iter().map(|f| f.field).collect()
    }

    /// Every year of a plan lies in 1949 to 2100; outside, the field is named.
    #[test]
    fn years_outside_1949_to_2100_are_refused_naming_the_field() {
        type Set = fn(&mut pb::Plan, i32);
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
                    p.targets[1].baseline_year = y;
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
                let mut p = national_plan();
                set(&mut p, year);
                match plan_from_pb(&p) {
                    Ok(plan) => assert!(valid, "{field} = {year} was accepted: {plan:?}"),
                    Err(v) => {
                        assert!(!valid, "{field} = {year} was refused: {v}");
                        assert_eq!(fields(v), [field], "{field} = {year}");
                    }
                }
            }
        }
        // Without a baseline, its year is not read: the built-in plan's floors carry year 0.
        let plan = plan_from_pb(&national_plan()).unwrap();
        assert_eq!(plan.target("activity_area_share").unwrap().baseline, None);
    }

    /// Plan files (TOML and YAML) are held to the same years, and a baseline value without its
    /// year is refused rather than read as year 0.
    #[test]
    fn plan_file_years_are_checked_in_both_languages() {
        let toml = |baseline: &str, target_year: &str| {
            format!(
                "display_name = \"湖北\"\nlevel = \"provincial\"\nscope = \"42\"\n\
                 parent = \"national-14th-fyp\"\nstart_year = 2021\nend_year = 2025\n\
                 [[targets]]\nindicator = \"rural_facility_coverage\"\n{baseline}\
                 target_value = 0.8\ntarget_year = {target_year}\n"
            )
        };
        let yaml = |baseline: &str, target_year: &str| {
            let baseline = baseline.replace(" = ", ": ").replace("\n", "\n    ");
            format!(
                "display_name: 湖北\nlevel: provincial\nscope: \"42\"\n\
                 parent: national-14th-fyp\nstart_year: 2021\nend_year: 2025\ntargets:\n  \
                 - indicator: rural_facility_coverage\n    {baseline}\
                 target_value: 0.8\n    target_year: {target_year}\n"
            )
        };
        let load = |text: String, format: PlanFileFormat| {
            assert_eq!(PlanFileFormat::detect(&text), format, "{text}");
            parse_plan_file(&text, format).and_then(|p| plan_from_pb(&p).map(|_| ()))
        };
        for (file, format) in [
            (&toml as &dyn Fn(&str, &str) -> String, PlanFileFormat::Toml),
            (&yaml, PlanFileFormat::Yaml),
        ] {
            for (year, valid) in [
                (0, false),
                (1948, false),
                (1949, true),
                (2100, true),
                (2101, false),
            ] {
                let baseline = format!("baseline_value = 0.7\nbaseline_year = {year}\n");
                match load(file(&baseline, "2100"), format) {
                    Ok(()) => assert!(valid, "{format:?}: baseline year {year} accepted"),
                    Err(v) => assert_eq!(
                        (valid, fields(v)),
                        (false, vec!["plan.targets[0].baseline_year".to_owned()]),
                        "{format:?}: baseline year {year}"
                    ),
                }
                match load(file("", &year.to_string()), format) {
                    Ok(()) => assert!(valid, "{format:?}: target year {year} accepted"),
                    Err(v) => assert_eq!(
                        (valid, fields(v)),
                        (false, vec!["plan.targets[0].target_year".to_owned()]),
                        "{format:?}: target year {year}"
                    ),
                }
            }
            let half = load(file("baseline_value = 0.7\n", "2025"), format).unwrap_err();
            assert_eq!(fields(half), ["content.targets[0].baseline_year"]);
            let half = load(file("baseline_year = 2020\n", "2025"), format).unwrap_err();
            assert_eq!(fields(half), ["content.targets[0].baseline_value"]);
        }
    }

    #[test]
    fn plan_files_parse_into_plans() {
        let text = r#"
id = "hubei-14th"
display_name = "湖北省城乡社区服务体系建设规划"
level = "provincial"
scope = "42"
parent = "national-14th-fyp"
start_year = 2021
end_year = 2025

[[indicators]]
code = "parking_spaces"
display_name = "停车位"
kind = "sum"
source = "reported"
unit = "spaces"

[[targets]]
indicator = "rural_facility_coverage"
baseline_value = 0.7
baseline_year = 2020
target_value = 0.75
target_year = 2025
"#;
        assert_eq!(PlanFileFormat::detect(text), PlanFileFormat::Toml);
        let plan = plan_from_pb(&parse_plan_file(text, PlanFileFormat::Toml).unwrap()).unwrap();
        assert_eq!(plan.level, PlanLevel::Provincial);
        assert_eq!(plan.scope.unwrap().short_form(), "42");
        assert_eq!(plan.body.indicators[0].code, "parking_spaces");
        let national = plan_from_pb(&national_plan()).unwrap();
        let m = misalignments(&plan, &national);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].indicator, "indicators/rural_facility_coverage");
        assert!(parse_plan_file("level = 3", PlanFileFormat::Toml).is_err());
    }

    const YAML: &str = r#"
# 湖北省
id: hubei-14th
display_name: 湖北省城乡社区服务体系建设规划
level: provincial
scope: "42"
parent: national-14th-fyp
start_year: 2021
end_year: 2025
indicators:
  - code: parking_spaces
    display_name: 停车位
    kind: sum
    source: reported
    unit: spaces
targets:
  - indicator: rural_facility_coverage
    baseline_value: 0.7
    baseline_year: 2020
    target_value: 0.75
    target_year: 2025
  - indicator: parking_spaces
    target_value: 100
    target_year: 2025
"#;

    #[test]
    fn yaml_plan_files_parse_like_toml() {
        assert_eq!(PlanFileFormat::detect(YAML), PlanFileFormat::Yaml);
        assert_eq!(
            PlanFileFormat::detect("[[targets]]\nindicator = \"x\""),
            PlanFileFormat::Toml
        );
        assert_eq!(
            PlanFileFormat::detect("display_name = \"a: b\""),
            PlanFileFormat::Toml
        );
        assert_eq!(
            PlanFileFormat::detect("---\ndisplay_name: a = b"),
            PlanFileFormat::Yaml
        );
        let pb = parse_plan_file(YAML, PlanFileFormat::Yaml).unwrap();
        assert_eq!(pb.name, "plans/hubei-14th");
        assert_eq!(pb.scope, "divisions/42");
        assert_eq!(pb.parent, "plans/national-14th-fyp");
        assert_eq!(pb.indicators[0].kind, pb::IndicatorKind::Sum as i32);
        assert!(pb.targets[0].has_baseline);
        assert!(!pb.targets[1].has_baseline);
        assert_eq!(pb.targets[1].indicator, "indicators/parking_spaces");
        let plan = plan_from_pb(&pb).unwrap();
        assert_eq!(plan.level, PlanLevel::Provincial);
        assert_eq!(plan.body.targets.len(), 2);
    }

    #[test]
    fn yaml_plan_files_report_the_same_field_violations() {
        let bad = YAML
            .replace("level: provincial", "level: regional")
            .replace("kind: sum", "kind: median")
            .replace("id: hubei-14th", "id: Hubei_14th");
        let fields =
            |v: Violations| -> Vec<String> { v.into_vec().into_iter().map(|f| f.field).collect() };
        assert_eq!(
            fields(parse_plan_file(&bad, PlanFileFormat::Yaml).unwrap_err()),
            ["content.level", "content.indicators[0].kind", "content.id"]
        );
        let unknown = YAML.replace("end_year: 2025", "end_year: 2025\nbudget: 3");
        let err = parse_plan_file(&unknown, PlanFileFormat::Yaml).unwrap_err();
        let v = err.into_vec();
        assert_eq!(v[0].field, "content");
        assert!(v[0].description.contains("budget"), "{}", v[0].description);
        assert!(v[0].description.contains("line"), "{}", v[0].description);
        assert!(parse_plan_file("level: [", PlanFileFormat::Yaml).is_err());
    }
}
