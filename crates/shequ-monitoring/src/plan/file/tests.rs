//! Plan files in TOML and YAML: years, baselines, targets per division, and what a file gets
//! wrong.

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

/// Milestones, the growth-rate method and overrides read the same from TOML and YAML.
#[test]
fn targets_per_division_in_both_languages() {
    let toml = r#"
display_name = "湖北"
level = "provincial"
scope = "42"
parent = "national-14th-fyp"
start_year = 2021
end_year = 2025

[[targets]]
indicator = "rural_facility_coverage"
baseline_value = 0.7
baseline_year = 2020
target_value = 0.9
target_year = 2025
method = "growth_rate"
lagging_ratio = 0.5
milestones = [{ year = 2023, value = 0.8 }]

[[targets.overrides]]
division = "4201"
baseline_value = 0.6
baseline_year = 2020
target_value = 0.75
milestones = [{ year = 2022, value = 0.65 }]

[[targets.overrides]]
division = "divisions/420102"
target_value = 0.8
target_year = 2024
"#;
    let yaml = r#"
display_name: 湖北
level: provincial
scope: "42"
parent: national-14th-fyp
start_year: 2021
end_year: 2025
targets:
  - indicator: rural_facility_coverage
    baseline_value: 0.7
    baseline_year: 2020
    target_value: 0.9
    target_year: 2025
    method: growth_rate
    lagging_ratio: 0.5
    milestones: [{ year: 2023, value: 0.8 }]
    overrides:
      - division: "4201"
        baseline_value: 0.6
        baseline_year: 2020
        target_value: 0.75
        milestones: [{ year: 2022, value: 0.65 }]
      - division: divisions/420102
        target_value: 0.8
        target_year: 2024
"#;
    let read = |text: &str, format| {
        let mut plan = parse_plan_file(text, format).unwrap().validate().unwrap();
        plan.id.clear();
        plan
    };
    let plan = read(toml, PlanFileFormat::Toml);
    assert_eq!(plan, read(yaml, PlanFileFormat::Yaml));
    let t = plan.target("rural_facility_coverage").unwrap();
    assert_eq!(
        t.method,
        crate::plan::Method::GrowthRate(shequ_domain::GrowthThresholds {
            on_track: 0.95,
            lagging: 0.5
        })
    );
    assert_eq!(
        t.milestones,
        [Milestone {
            year: 2023,
            value: 0.8
        }]
    );
    assert_eq!(t.overrides.len(), 2);
    assert_eq!(t.overrides[0].division, 420_100_000_000);
    assert_eq!(t.overrides[0].target_year, 2025, "the target's year");
    assert_eq!(t.overrides[0].baseline, Some((0.6, 2020)));
    assert_eq!(t.overrides[1].baseline, None);
    assert_eq!(t.overrides[1].target_year, 2024);

    let bad = toml.replace("method = \"growth_rate\"", "method = \"compound\"");
    assert_eq!(
        fields(parse_plan_file(&bad, PlanFileFormat::Toml).unwrap_err()),
        ["content.targets[0].method"]
    );
    let half = toml.replace("baseline_value = 0.6\n", "");
    assert_eq!(
        fields(parse_plan_file(&half, PlanFileFormat::Toml).unwrap_err()),
        ["content.targets[0].overrides[0].baseline_value"]
    );
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
