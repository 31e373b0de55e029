//! Plan files: a plan written in TOML (the `toml` crate the config loader already uses) or YAML
//! (`serde_norway`, the maintained fork of `serde_yaml`), told apart by their first line, with
//! enums as lowercase words and names with or without their collection prefix. A file becomes a
//! plan as sent (`PlanSpec`), checked like any plan.

use serde::Deserialize;
use shequ_domain::{FieldViolation, Milestone, Violations};

use super::def::PlanLevel;
use super::targets::{MethodSpec, OverrideSpec, TargetSpec};
use super::validate::{IndicatorSpec, PlanSpec};
use crate::indicators::{Better, Kind, Source, UnitFilter};
use crate::names::{
    DIVISIONS, INDICATORS, PLANS, ROUNDS, indicator_name, is_id, parse_division_name,
    parse_optional_division_name, parse_optional_round_name, parse_plan_name,
};

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
    /// A reported ratio's multiplier; 1 when left out.
    factor: Option<f64>,
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
    #[serde(default)]
    milestones: Vec<MilestoneFile>,
    /// `linear` (the default) or `growth_rate`.
    #[serde(default)]
    method: String,
    on_track_ratio: Option<f64>,
    lagging_ratio: Option<f64>,
    #[serde(default)]
    overrides: Vec<OverrideFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MilestoneFile {
    year: i32,
    value: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    division: String,
    baseline_value: Option<f64>,
    baseline_year: Option<i32>,
    target_value: f64,
    /// Left out: the target's year.
    #[serde(default)]
    target_year: i32,
    #[serde(default)]
    milestones: Vec<MilestoneFile>,
}

fn milestones(m: Vec<MilestoneFile>) -> Vec<Milestone> {
    m.into_iter()
        .map(|m| Milestone {
            year: m.year,
            value: m.value,
        })
        .collect()
}

/// Reports half a baseline (a value without its year or a year without its value) at `prefix`.
fn check_baseline(v: &mut Violations, prefix: &str, value: Option<f64>, year: Option<i32>) {
    match (value, year) {
        (Some(_), None) => v.push(
            format!("{prefix}.baseline_year"),
            "is required with `baseline_value`",
        ),
        (None, Some(_)) => v.push(
            format!("{prefix}.baseline_value"),
            "is required with `baseline_year`",
        ),
        _ => {}
    }
}

fn higher() -> String {
    "higher".to_owned()
}

/// The value `text` names among `words`; `None`, with `field` reported, for a word not among them.
fn word<T: Copy>(v: &mut Violations, field: &str, text: &str, words: &[(&str, T)]) -> Option<T> {
    match words.iter().find(|(w, _)| *w == text) {
        Some((_, t)) => Some(*t),
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
            None
        }
    }
}
/// A direction as a plan file spells it; empty is none given.
const DIRECTIONS: &[(&str, Option<Better>)] = &[
    ("", None),
    ("higher", Some(Better::Higher)),
    ("lower", Some(Better::Lower)),
];

/// `text` as a resource name: as written when it starts with `prefix`, else below it.
fn named(prefix: &str, text: &str) -> String {
    if text.is_empty() || text.starts_with(prefix) {
        text.to_owned()
    } else {
        format!("{prefix}{text}")
    }
}

/// Parses a plan file into a plan as sent, which `PlanSpec::validate` then checks like any plan.
/// What the file itself gets wrong is named `content.…`; the file is refused before any check.
pub fn parse_plan_file(text: &str, format: PlanFileFormat) -> Result<PlanSpec, Violations> {
    let not_a_plan = |what: &str, message: String| {
        Violations::from(FieldViolation::new(
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
        &PlanLevel::ALL.map(|l| (l.word(), l)),
    );
    let mut indicators = Vec::new();
    for (n, i) in file.indicators.into_iter().enumerate() {
        let f = |x: &str| format!("content.indicators[{n}].{x}");
        let kind = word(
            &mut v,
            &f("kind"),
            &i.kind,
            &[
                ("count", Kind::Count),
                ("sum", Kind::Sum),
                ("ratio", Kind::Ratio),
                ("share", Kind::Share),
                ("mean", Kind::Mean),
            ],
        );
        let source = word(
            &mut v,
            &f("source"),
            &i.source,
            &[
                ("registry", Source::Registry),
                ("survey", Source::Survey),
                ("reported", Source::Reported),
            ],
        );
        let unit_kind = word(
            &mut v,
            &f("unit_kind"),
            &i.unit_kind,
            &[
                ("", UnitFilter::All),
                ("all", UnitFilter::All),
                ("community", UnitFilter::Community),
                ("village", UnitFilter::Village),
            ],
        );
        let direction = word(&mut v, &f("direction"), &i.direction, DIRECTIONS);
        indicators.push(IndicatorSpec {
            code: i.code,
            display_name: i.display_name,
            kind,
            source,
            field: i.field,
            denominator_field: i.denominator_field,
            unit_kind: Ok(unit_kind.unwrap_or_default()),
            unit: i.unit,
            direction: direction.flatten(),
            factor: i.factor,
        });
    }
    // A baseline is a value and its year: half of one is refused, never read as year 0.
    for (n, t) in file.targets.iter().enumerate() {
        let prefix = format!("content.targets[{n}]");
        check_baseline(&mut v, &prefix, t.baseline_value, t.baseline_year);
        for (k, o) in t.overrides.iter().enumerate() {
            let prefix = format!("{prefix}.overrides[{k}]");
            check_baseline(&mut v, &prefix, o.baseline_value, o.baseline_year);
        }
    }
    let targets = file
        .targets
        .into_iter()
        .enumerate()
        .map(|(n, t)| {
            let direction = word(
                &mut v,
                &format!("content.targets[{n}].direction"),
                &t.direction,
                DIRECTIONS,
            );
            let method = word(
                &mut v,
                &format!("content.targets[{n}].method"),
                &t.method,
                &[
                    ("", None),
                    ("linear", Some(false)),
                    ("growth_rate", Some(true)),
                ],
            );
            TargetSpec {
                indicator: if t.indicator.starts_with(INDICATORS) {
                    t.indicator
                } else {
                    indicator_name(&t.indicator)
                },
                baseline: t.baseline_value.zip(t.baseline_year),
                target_value: t.target_value,
                target_year: t.target_year,
                direction: Ok(direction.flatten()),
                milestones: milestones(t.milestones),
                method: Ok(method.flatten().map(|growth| {
                    if growth {
                        MethodSpec::GrowthRate {
                            on_track: t.on_track_ratio,
                            lagging: t.lagging_ratio,
                        }
                    } else {
                        MethodSpec::Linear
                    }
                })),
                overrides: t
                    .overrides
                    .into_iter()
                    .map(|o| OverrideSpec {
                        division: parse_division_name("division", &named(DIVISIONS, &o.division)),
                        baseline: o.baseline_value.zip(o.baseline_year),
                        target_value: o.target_value,
                        target_year: o.target_year,
                        milestones: milestones(o.milestones),
                    })
                    .collect(),
            }
        })
        .collect();
    let id = match file.id {
        Some(id) if !is_id(&id) => {
            v.push(
                "content.id",
                "must be 1 to 64 lowercase letters, digits or `-`",
            );
            None
        }
        id => id,
    };
    let parent = named(PLANS, &file.parent);
    let survey_round = named(ROUNDS, &file.survey_round);
    v.into_result(PlanSpec {
        id: Ok(id),
        display_name: file.display_name,
        level,
        scope: parse_optional_division_name("scope", &named(DIVISIONS, &file.scope)),
        parent: (!parent.is_empty()).then(|| parse_plan_name("parent", &parent).map(str::to_owned)),
        start_year: file.start_year,
        end_year: file.end_year,
        survey_round: parse_optional_round_name("survey_round", &survey_round)
            .map(|r| r.map(str::to_owned)),
        indicators,
        targets,
    })
}

#[cfg(test)]
mod tests;
