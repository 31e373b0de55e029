//! Property tests of the monitor's entry points: arbitrary bytes decoded as requests, arbitrary
//! TOML and YAML text given to the plan-file loader, structured plans with arbitrary years,
//! values, indicator codes and shares, and arbitrary reporting periods, dates and names. None may
//! panic; bad input is refused with the offending fields. Case counts are in FUZZING.md.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use prost::Message;
use shequ_domain::Violations;
use shequ_monitoring::grpc::convert::plan_from_pb;
use shequ_monitoring::indicators::REGISTRY_FIELDS;
use shequ_monitoring::names::{
    parse_date, parse_evaluation_name, parse_indicator_name, parse_optional_round_name,
    parse_period, parse_plan_name,
};
use shequ_monitoring::plan::{
    PlanDef, PlanFileFormat, YEARS, misalignments, national_plan, parse_plan_file,
};
use shequ_proto::monitoring::v1 as pb;
use shequ_proto::names::parse_division_name;

/// Cases per property; `PROPTEST_CASES` overrides it for longer runs.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Checks a plan from the wire; what it accepts must be a plan the evaluation can use.
fn check_plan(plan: &pb::Plan) -> Result<(), TestCaseError> {
    check_checked_plan(plan_from_pb(plan))
}

/// What the plan check made of a plan: a plan the evaluation can use, or `plan…` fields refused.
fn check_checked_plan(checked: Result<PlanDef, Violations>) -> Result<(), TestCaseError> {
    match checked {
        Ok(def) => {
            prop_assert!(YEARS.contains(&def.start_year));
            prop_assert!(YEARS.contains(&def.end_year));
            prop_assert!(def.end_year >= def.start_year);
            let indicators = def.indicators();
            for t in &def.body.targets {
                prop_assert!(YEARS.contains(&t.target_year));
                prop_assert!(t.target_value.is_finite());
                let ind = indicators.iter().find(|d| d.code == t.indicator);
                prop_assert!(ind.is_some(), "unknown indicator {}", t.indicator);
                let ind = ind.unwrap();
                let mut values = vec![t.target_value];
                if let Some((value, year)) = t.baseline {
                    prop_assert!(value.is_finite());
                    prop_assert!(YEARS.contains(&year));
                    prop_assert!(year <= t.target_year);
                    values.push(value);
                }
                for value in values {
                    if ind.is_share() {
                        prop_assert!((0.0..=1.0).contains(&value), "{} {}", t.indicator, value);
                    }
                    if ind.unit == "score" {
                        prop_assert!((0.0..=100.0).contains(&value), "{} {}", t.indicator, value);
                    }
                }
                // The trajectory gives a status for any value on any date.
                let trajectory = t.trajectory(def.start_year);
                for date in [
                    NaiveDate::MIN,
                    NaiveDate::MAX,
                    NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
                ] {
                    for value in [
                        None,
                        Some(f64::NAN),
                        Some(f64::INFINITY),
                        Some(-1.0),
                        Some(0.5),
                        Some(1e300),
                    ] {
                        let _ = trajectory.status(value, date);
                    }
                    let expected = trajectory.expected(date);
                    prop_assert!(expected.is_finite(), "{:?} {}", trajectory, expected);
                }
            }
            let national = national_plan();
            let _ = misalignments(&def, &national);
            let _ = misalignments(&national, &def);
        }
        Err(violations) => {
            prop_assert!(!violations.is_empty());
            for v in violations.iter() {
                prop_assert!(v.field.starts_with("plan."), "{}", v.field);
            }
        }
    }
    Ok(())
}

/// Loads a plan file as the service does: refused with `content…` fields, or a plan then checked.
fn check_plan_file(text: &str, format: PlanFileFormat) -> Result<(), TestCaseError> {
    match parse_plan_file(text, format) {
        Ok(plan) => check_checked_plan(plan.validate())?,
        Err(violations) => {
            prop_assert!(!violations.is_empty());
            for v in violations.iter() {
                prop_assert!(v.field.starts_with("content"), "{}", v.field);
            }
        }
    }
    Ok(())
}

fn year() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => 2015..2035i32,
        1 => 1940..1955i32,
        1 => 2095..2105i32,
        1 => -5..5i32,
        1 => any::<i32>()
    ]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => 0.0..=1.0f64,
        1 => -1.0..=2.0f64,
        1 => 0.0..=120.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => any::<f64>(),
    ]
}

fn indicator_code() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("activity_area_share".to_owned()),
        Just("online_24h_coverage".to_owned()),
        Just("survey_coverage".to_owned()),
        Just("satisfaction_index".to_owned()),
        Just("social_workers".to_owned()),
        Just("own_share".to_owned()),
        Just("own_sum".to_owned()),
        Just("rural_facility_coverage".to_owned()),
        "[a-z][a-z0-9_]{0,12}",
        ".{0,12}",
    ]
}

fn target() -> impl Strategy<Value = pb::Target> {
    (
        prop_oneof![
            indicator_code().prop_map(|c| format!("indicators/{c}")),
            indicator_code(),
        ],
        any::<bool>(),
        value(),
        year(),
        value(),
        year(),
        -1..4i32,
        -1..4i32,
        prop::collection::vec((year(), value()), 0..3),
        prop::option::of(value()),
    )
        .prop_map(
            |(
                indicator,
                has_baseline,
                baseline_value,
                baseline_year,
                target_value,
                target_year,
                direction,
                method,
                milestones,
                lagging_ratio,
            )| {
                pb::Target {
                    indicator,
                    has_baseline,
                    baseline_value,
                    baseline_year,
                    target_value,
                    target_year,
                    direction,
                    method,
                    milestones: milestones
                        .into_iter()
                        .map(|(year, value)| pb::Milestone { year, value })
                        .collect(),
                    lagging_ratio,
                    ..Default::default()
                }
            },
        )
}

fn indicator() -> impl Strategy<Value = pb::Indicator> {
    (
        indicator_code(),
        prop_oneof![Just("自定义".to_owned()), ".{0,8}"],
        -1..7i32,
        -1..5i32,
        prop_oneof![
            "[a-z_]{0,20}",
            Just("facilities".to_owned()),
            Just("valid_responses".to_owned())
        ],
        prop_oneof![Just(String::new()), "[a-z_]{0,20}"],
        -1..4i32,
        prop_oneof![
            Just("share".to_owned()),
            Just("score".to_owned()),
            Just("person".to_owned()),
            ".{0,6}"
        ],
        -1..4i32,
    )
        .prop_map(
            |(
                code,
                display_name,
                kind,
                source,
                field,
                denominator_field,
                unit_kind,
                unit,
                direction,
            )| {
                pb::Indicator {
                    code,
                    display_name,
                    kind,
                    source,
                    field,
                    denominator_field,
                    unit_kind,
                    unit,
                    direction,
                    ..Default::default()
                }
            },
        )
}

/// Plan-defined indicators that pass validation: a reported sum and a registry share.
fn own_indicators() -> Vec<pb::Indicator> {
    let own = |code: &str,
               kind: pb::IndicatorKind,
               source: pb::IndicatorSource,
               field: &str,
               unit: &str| {
        pb::Indicator {
            code: code.into(),
            display_name: code.into(),
            kind: kind as i32,
            source: source as i32,
            field: field.into(),
            unit: unit.into(),
            direction: pb::Direction::HigherIsBetter as i32,
            ..Default::default()
        }
    };
    vec![
        own(
            "own_sum",
            pb::IndicatorKind::Sum,
            pb::IndicatorSource::Reported,
            "",
            "person",
        ),
        own(
            "own_share",
            pb::IndicatorKind::Share,
            pb::IndicatorSource::Registry,
            REGISTRY_FIELDS[0],
            "share",
        ),
    ]
}

/// A plan whose frame is right (level, scope, parent, years), so that its targets, with arbitrary
/// years and values, are what decides.
fn framed_plan() -> impl Strategy<Value = pb::Plan> {
    (
        any::<bool>(),
        any::<bool>(),
        2016..2030i32,
        0..10i32,
        proptest::collection::vec(target(), 0..5),
    )
        .prop_map(|(national, own, start_year, length, targets)| pb::Plan {
            display_name: "规划".into(),
            level: if national {
                pb::PlanLevel::National
            } else {
                pb::PlanLevel::Provincial
            } as i32,
            scope: if national {
                String::new()
            } else {
                "divisions/42".into()
            },
            parent: if national {
                String::new()
            } else {
                "plans/national-14th-fyp".into()
            },
            start_year,
            end_year: start_year + length,
            indicators: if own { own_indicators() } else { Vec::new() },
            targets,
            ..Default::default()
        })
}

fn plan() -> impl Strategy<Value = pb::Plan> {
    prop_oneof![3 => framed_plan(), 1 => arbitrary_plan()]
}

fn arbitrary_plan() -> impl Strategy<Value = pb::Plan> {
    (
        (
            prop_oneof![Just(String::new()), "plans/[a-z0-9-]{1,10}", ".{0,12}"],
            prop_oneof![Just("省级规划".to_owned()), ".{0,8}"],
            -1..4i32,
            prop_oneof![
                Just(String::new()),
                Just("divisions/11".to_owned()),
                Just("divisions/42".to_owned()),
                "divisions/[0-9]{0,12}",
                ".{0,12}"
            ],
            prop_oneof![
                Just(String::new()),
                Just("plans/national-14th-fyp".to_owned()),
                ".{0,12}"
            ],
        ),
        (
            year(),
            year(),
            prop_oneof![Just(String::new()), "rounds/[a-z0-9-]{1,8}", ".{0,8}"],
            proptest::collection::vec(indicator(), 0..3),
            proptest::collection::vec(target(), 0..6),
        ),
    )
        .prop_map(
            |(
                (name, display_name, level, scope, parent),
                (start_year, end_year, survey_round, indicators, targets),
            )| {
                pb::Plan {
                    name,
                    display_name,
                    level,
                    scope,
                    parent,
                    start_year,
                    end_year,
                    survey_round,
                    indicators,
                    targets,
                    create_time: None,
                }
            },
        )
}

/// A scalar as either language writes it, or something that is not one.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,5}",
        "-?[0-9]{1,3}\\.[0-9]{1,4}",
        Just("nan".to_owned()),
        Just("inf".to_owned()),
        Just("-inf".to_owned()),
        Just(".nan".to_owned()),
        Just(".inf".to_owned()),
        Just("1e999".to_owned()),
        Just("99999999999".to_owned()),
        Just("true".to_owned()),
        Just("\"national\"".to_owned()),
        Just("\"provincial\"".to_owned()),
        Just("\"lower\"".to_owned()),
        Just("\"11\"".to_owned()),
        "\"[^\"\\\\]{0,10}\"",
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        ".{0,8}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("id".to_owned()),
        Just("display_name".to_owned()),
        Just("level".to_owned()),
        Just("scope".to_owned()),
        Just("parent".to_owned()),
        Just("start_year".to_owned()),
        Just("end_year".to_owned()),
        Just("survey_round".to_owned()),
        Just("indicator".to_owned()),
        Just("baseline_value".to_owned()),
        Just("baseline_year".to_owned()),
        Just("target_value".to_owned()),
        Just("target_year".to_owned()),
        Just("direction".to_owned()),
        Just("code".to_owned()),
        Just("kind".to_owned()),
        Just("source".to_owned()),
        Just("field".to_owned()),
        Just("unit".to_owned()),
        "[a-z_]{1,8}",
    ]
}

/// Text shaped like a TOML plan file: `key = value` lines and `[[targets]]`/`[[indicators]]`
/// tables in arbitrary order, with junk lines among them.
fn toml_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        6 => (key(), scalar()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => Just("[[targets]]".to_owned()),
        1 => Just("[[indicators]]".to_owned()),
        1 => Just("# 注释".to_owned()),
        1 => ".{0,12}",
    ];
    proptest::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

/// Text shaped like a YAML plan file: `key: value` lines, list items of `targets:` and
/// `indicators:` at arbitrary indentation, with junk lines among them.
fn yaml_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        6 => (0..3usize, any::<bool>(), key(), scalar()).prop_map(|(indent, item, k, v)| {
            format!("{}{}{k}: {v}", "  ".repeat(indent), if item { "- " } else { "" })
        }),
        1 => Just("targets:".to_owned()),
        1 => Just("indicators:".to_owned()),
        1 => Just("&a x: *a".to_owned()),
        1 => ".{0,12}",
    ];
    proptest::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

/// A value as a plan file may spell it (NaN and infinities included), or something else.
fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0.0..=1.0f64).prop_map(|v| format!("{v:?}")),
        1 => (0..=120i32).prop_map(|v| v.to_string()),
        1 => scalar(),
    ]
}

/// A year as a plan file may spell it, or something else.
fn year_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (2016..2032i32).prop_map(|y| y.to_string()),
        1 => any::<i64>().prop_map(|v| v.to_string()),
        1 => scalar(),
    ]
}

/// A whole plan file in TOML or YAML: the frame of a plan, then targets whose indicators, values
/// and years are arbitrary text, and now and then a field no plan file has.
fn plan_file() -> impl Strategy<Value = (String, String)> {
    let target = (
        prop_oneof![9 => indicator_code(), 1 => Just("own_sum".to_owned())],
        proptest::option::of((value_text(), year_text())),
        value_text(),
        year_text(),
        prop_oneof![4 => Just(String::new()), 1 => Just("lower".to_owned()), 1 => ".{0,6}"],
    );
    (
        prop_oneof![3 => Just("national"), 3 => Just("provincial"), 1 => Just("regional")],
        year_text(),
        year_text(),
        proptest::collection::vec(target, 0..4),
        proptest::option::weighted(0.1, key()),
    )
        .prop_map(|(level, start, end, targets, extra)| {
            let provincial = level == "provincial";
            let mut toml = format!(
                "display_name = \"规划\"\nlevel = \"{level}\"\nstart_year = {start}\nend_year = {end}\n"
            );
            let mut yaml = format!(
                "display_name: 规划\nlevel: {level}\nstart_year: {start}\nend_year: {end}\n"
            );
            if provincial {
                toml.push_str("scope = \"42\"\nparent = \"national-14th-fyp\"\n");
                yaml.push_str("scope: \"42\"\nparent: national-14th-fyp\n");
            }
            if let Some(k) = &extra {
                toml.push_str(&format!("{k} = \"x\"\n"));
                yaml.push_str(&format!("{k}: x\n"));
            }
            if !targets.is_empty() {
                yaml.push_str("targets:\n");
            }
            for (indicator, baseline, value, year, direction) in targets {
                let indicator = indicator.replace(['"', '\\', '\n', '\r'], "");
                toml.push_str(&format!(
                    "[[targets]]\nindicator = \"{indicator}\"\ntarget_value = {value}\ntarget_year = {year}\n"
                ));
                yaml.push_str(&format!(
                    "  - indicator: \"{indicator}\"\n    target_value: {value}\n    target_year: {year}\n"
                ));
                if let Some((bv, by)) = baseline {
                    toml.push_str(&format!("baseline_value = {bv}\nbaseline_year = {by}\n"));
                    yaml.push_str(&format!("    baseline_value: {bv}\n    baseline_year: {by}\n"));
                }
                if !direction.is_empty() {
                    let direction = direction.replace(['"', '\\', '\n', '\r'], "");
                    toml.push_str(&format!("direction = \"{direction}\"\n"));
                    yaml.push_str(&format!("    direction: \"{direction}\"\n"));
                }
            }
            (toml, yaml)
        })
}

/// Whether `text` is written as a period (`2025`, `2025-Q1`, `2025-03`).
fn looks_like_period(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        4 => digits(b),
        7 if b[4] == b'-' && b[5] == b'Q' => digits(&b[..4]) && (b'1'..=b'4').contains(&b[6]),
        7 => digits(&b[..4]) && b[4] == b'-' && digits(&b[5..]),
        _ => false,
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn request_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(request) = pb::CreatePlanRequest::decode(bytes.as_slice())
            && let Some(plan) = &request.plan
        {
            check_plan(plan)?;
        }
        if let Ok(request) = pb::LoadPlanFileRequest::decode(bytes.as_slice()) {
            check_plan_file(&request.content, PlanFileFormat::detect(&request.content))?;
        }
        if let Ok(request) = pb::ReportValueRequest::decode(bytes.as_slice())
            && let Some(value) = &request.value
        {
            let _ = parse_indicator_name("value.indicator", &value.indicator);
            let _ = parse_division_name("value.division", &value.division);
            let _ = parse_period("value.period", &value.period);
        }
        if let Ok(request) = pb::EvaluatePlanRequest::decode(bytes.as_slice()) {
            let _ = parse_plan_name("plan", &request.plan);
            let _ = parse_date("evaluation_date", &request.evaluation_date);
            let _ = parse_optional_round_name("survey_round", &request.survey_round);
        }
        if let Ok(request) = pb::GetDivisionResultRequest::decode(bytes.as_slice()) {
            let _ = parse_evaluation_name("evaluation", &request.evaluation);
            let _ = parse_division_name("division", &request.division);
        }
        let _ = pb::GetEvaluationRequest::decode(bytes.as_slice());
        let _ = pb::ListChildResultsRequest::decode(bytes.as_slice());
        let _ = pb::CompareEvaluationsRequest::decode(bytes.as_slice());
        let _ = pb::RenderReportRequest::decode(bytes.as_slice());
        let _ = pb::ListReportedValueHistoryRequest::decode(bytes.as_slice());
        let _ = pb::CheckPlanAlignmentRequest::decode(bytes.as_slice());
        let _ = pb::ListPlansRequest::decode(bytes.as_slice());
        let _ = pb::GetIndicatorRequest::decode(bytes.as_slice());
    }

    #[test]
    fn plan_files_parse_or_are_refused(
        toml in toml_text(),
        yaml in yaml_text(),
        text in ".{0,200}",
    ) {
        for t in [&toml, &yaml, &text] {
            check_plan_file(t, PlanFileFormat::Toml)?;
            check_plan_file(t, PlanFileFormat::Yaml)?;
            check_plan_file(t, PlanFileFormat::detect(t))?;
        }
    }

    #[test]
    fn whole_plan_files_load_or_are_refused((toml, yaml) in plan_file()) {
        check_plan_file(&toml, PlanFileFormat::Toml)?;
        check_plan_file(&yaml, PlanFileFormat::Yaml)?;
        prop_assert_eq!(PlanFileFormat::detect(&toml), PlanFileFormat::Toml);
        prop_assert_eq!(PlanFileFormat::detect(&yaml), PlanFileFormat::Yaml);
    }

    #[test]
    fn plans_validate_without_panicking(plan in plan()) {
        check_plan(&plan)?;
    }

    #[test]
    fn periods_dates_and_names_parse_or_fail(
        shaped in "(19[4-9][0-9]|20[0-9][0-9]|2[12]00|[0-9+ -]{0,5})(-(Q[0-9+-]{0,2}|[0-9+ -]{0,3}))?",
        text in ".{0,24}",
    ) {
        for t in [&shaped, &text] {
            match parse_period("value.period", t) {
                Ok(day) => {
                    prop_assert!(looks_like_period(t), "`{}` accepted as {}", t, day);
                    let date = NaiveDate::from_ymd_opt(day / 10_000, (day / 100 % 100) as u32, (day % 100) as u32);
                    prop_assert!(date.is_some_and(|d| d.day() == 1 && (1949..=2200).contains(&d.year())), "{}", day);
                }
                Err(e) => prop_assert_eq!(e.field, "value.period"),
            }
            let _ = parse_date("evaluation_date", t);
            let _ = parse_plan_name("plan", t);
            let _ = parse_indicator_name("indicator", t);
            let _ = parse_evaluation_name("name", t);
            let _ = parse_optional_round_name("survey_round", t);
            let _ = PlanFileFormat::detect(t);
        }
    }
}
