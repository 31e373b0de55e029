//! Plan files: a plan written in TOML (the `toml` crate the config loader already uses) or YAML
//! (`serde_norway`, the maintained fork of `serde_yaml`), told apart by their first line, with
//! enums as lowercase words and names with or without their collection prefix. A file becomes a
//! plan as sent (`PlanSpec`), checked like any plan.

use serde::Deserialize;
use shequ_domain::{FieldViolation, Violations};

use super::def::PlanLevel;
use super::validate::{IndicatorSpec, PlanSpec, TargetSpec};
use crate::indicators::{Better, Kind, Source, UnitFilter};
use crate::names::{
    DIVISIONS, INDICATORS, PLANS, ROUNDS, indicator_name, is_id, parse_optional_division_name,
    parse_optional_round_name, parse_plan_name,
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
        &[
            ("national", PlanLevel::National),
            ("provincial", PlanLevel::Provincial),
        ],
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
        .into_iter()
        .enumerate()
        .map(|(n, t)| {
            let direction = word(
                &mut v,
                &format!("content.targets[{n}].direction"),
                &t.direction,
                DIRECTIONS,
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
mod tests {
    use super::*;
    use crate::plan::{misalignments, national_plan, violated_fields as fields};

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
            parse_plan_file(&text, format).and_then(|p| p.validate().map(|_| ()))
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
        let plan = parse_plan_file(text, PlanFileFormat::Toml)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(plan.level, PlanLevel::Provincial);
        assert_eq!(plan.scope.unwrap().short_form(), "42");
        assert_eq!(plan.body.indicators[0].code, "parking_spaces");
        let national = national_plan();
        let m = misalignments(&plan, &national);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].target.indicator, "rural_facility_coverage");
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
        let spec = parse_plan_file(YAML, PlanFileFormat::Yaml).unwrap();
        assert_eq!(spec.id, Ok(Some("hubei-14th".to_owned())));
        assert_eq!(spec.scope.clone().unwrap().unwrap().short_form(), "42");
        assert_eq!(spec.parent, Some(Ok("national-14th-fyp".to_owned())));
        assert_eq!(spec.indicators[0].kind, Some(Kind::Sum));
        assert!(spec.targets[0].baseline.is_some());
        assert!(spec.targets[1].baseline.is_none());
        assert_eq!(spec.targets[1].indicator, "indicators/parking_spaces");
        let plan = spec.validate().unwrap();
        assert_eq!(plan.level, PlanLevel::Provincial);
        assert_eq!(plan.body.targets.len(), 2);
    }

    #[test]
    fn a_ratio_of_reported_sums_names_its_parts_and_factor() {
        let ratio = |den: &str, factor: &str| {
            let text = format!(
                "id = \"p\"\ndisplay_name = \"p\"\nlevel = \"provincial\"\nscope = \"42\"\nparent = \"n\"\n\
                 start_year = 2021\nend_year = 2025\n[[indicators]]\ncode = \"per_1000\"\n\
                 display_name = \"每千人\"\nkind = \"ratio\"\nsource = \"reported\"\n\
                 field = \"community_workers\"\ndenominator_field = \"{den}\"\n\
                 factor = {factor}\nunit = \"per 1000\"\n"
            );
            parse_plan_file(&text, PlanFileFormat::Toml)
                .unwrap()
                .validate()
        };
        let plan = ratio("social_workers", "1000").unwrap();
        assert_eq!(plan.body.indicators[0].factor, 1000.0);
        assert_eq!(
            fields(ratio("per_1000", "-1").unwrap_err()),
            ["plan.indicators[0].factor"]
        );
        assert_eq!(
            fields(ratio("per_1000", "2").unwrap_err()),
            ["plan.indicators[0].denominator_field"]
        );
    }

    #[test]
    fn yaml_plan_files_report_the_same_field_violations() {
        let bad = YAML
            .replace("level: provincial", "level: regional")
            .replace("kind: sum", "kind: median")
            .replace("id: hubei-14th", "id: Hubei_14th");
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
