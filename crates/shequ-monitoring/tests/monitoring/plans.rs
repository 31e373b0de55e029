//! Plans: the built-in national plan, plan files, refused inconsistent plans and alignment.

use crate::*;

const PROVINCIAL: &str = r#"
id = "hubei-14th"
display_name = "湖北省“十四五”城乡社区服务体系建设规划"
level = "provincial"
scope = "42"
parent = "national-14th-fyp"
start_year = 2021
end_year = 2025

[[indicators]]
code = "village_terminals"
display_name = "村级政务服务一体机"
kind = "sum"
source = "registry"
field = "self_service_terminals"
unit_kind = "village"
unit = "terminals"

[[targets]]
indicator = "rural_facility_coverage"
baseline_value = 0.70
baseline_year = 2020
target_value = 0.78
target_year = 2025

[[targets]]
indicator = "urban_facility_coverage"
baseline_value = 1.0
baseline_year = 2020
target_value = 1.0
target_year = 2025

[[targets]]
indicator = "village_terminals"
target_value = 100
target_year = 2025
"#;

#[tokio::test]
async fn the_national_plan_loads_with_one_call_and_is_listed() {
    let mut env = env().await;
    let first = env
        .plans
        .load_national_plan(pb::LoadNationalPlanRequest {})
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let again = env
        .plans
        .load_national_plan(pb::LoadNationalPlanRequest {})
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(first.name, "plans/national-14th-fyp");
    let rural = first
        .targets
        .iter()
        .find(|t| t.indicator == "indicators/rural_facility_coverage")
        .unwrap();
    assert_eq!((rural.baseline_value, rural.baseline_year), (0.657, 2020));
    assert_eq!((rural.target_value, rural.target_year), (0.8, 2025));
    let listed = env
        .plans
        .list_plans(pb::ListPlansRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.plans, [first]);
    let catalogue = env
        .indicators
        .list_indicators(pb::ListIndicatorsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(catalogue.indicators.len() >= 10);
}

#[tokio::test]
async fn a_provincial_plan_file_loads_and_its_misaligned_targets_are_reported() {
    let mut env = env().await;
    national(&mut env).await;
    facility(&env, DUHU_VILLAGE_A, true).await;
    let plan = env
        .plans
        .load_plan_file(pb::LoadPlanFileRequest {
            content: PROVINCIAL.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(plan.scope, "divisions/420000000000");
    assert_eq!(plan.parent, "plans/national-14th-fyp");
    let alignment = env
        .plans
        .check_plan_alignment(pb::CheckPlanAlignmentRequest {
            name: plan.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let misaligned: Vec<_> = alignment
        .misalignments
        .iter()
        .map(|m| m.indicator.as_str())
        .collect();
    assert_eq!(misaligned, ["indicators/rural_facility_coverage"]);
    assert_eq!(
        alignment.misalignments[0]
            .parent_target
            .as_ref()
            .unwrap()
            .target_value,
        0.8
    );

    // The provincial plan evaluates its province only, with its own indicator.
    let e = evaluate(&mut env, &plan.name, "2023-12-31", "").await;
    assert_eq!(e.leaf_units, 767);
    let root = division(&mut env, &e.name, "").await;
    approx(root["village_terminals"].value, 2.0);
    assert_eq!(
        status(&root["village_terminals"]),
        pb::IndicatorStatus::OffTrack
    );
    let outside = env
        .evaluations
        .get_division_result(pb::GetDivisionResultRequest {
            evaluation: e.name.clone(),
            division: QIANMEN.into(),
        })
        .await
        .unwrap_err();
    assert_violation(&outside, Code::NotFound, "division");
}

#[tokio::test]
async fn inconsistent_plans_are_refused_with_every_field() {
    let mut env = env().await;
    national(&mut env).await;
    let mut plan = provincial_plan();
    plan.targets = vec![
        pb::Target {
            indicator: "indicators/rural_facility_coverage".into(),
            has_baseline: true,
            baseline_value: 0.7,
            baseline_year: 2024,
            target_value: 1.2,
            target_year: 2023,
            ..Default::default()
        },
        pb::Target {
            indicator: "indicators/parking_spaces".into(),
            target_value: 10.0,
            target_year: 2025,
            ..Default::default()
        },
    ];
    let err = env
        .plans
        .create_plan(pb::CreatePlanRequest { plan: Some(plan) })
        .await
        .unwrap_err();
    for field in [
        "plan.targets[0].target_year",
        "plan.targets[0].target_value",
        "plan.targets[1].indicator",
    ] {
        assert_violation(&err, Code::InvalidArgument, field);
    }

    // A provincial plan under another province's plan lies outside its parent's scope.
    let hubei = env
        .plans
        .create_plan(pb::CreatePlanRequest {
            plan: Some(provincial_plan()),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let mut beijing = provincial_plan();
    beijing.name = "plans/beijing".into();
    beijing.scope = "divisions/11".into();
    beijing.parent = hubei.name;
    let err = env
        .plans
        .create_plan(pb::CreatePlanRequest {
            plan: Some(beijing),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "plan.scope");

    let mut orphan = provincial_plan();
    orphan.name = "plans/orphan".into();
    orphan.parent = "plans/nowhere".into();
    let err = env
        .plans
        .create_plan(pb::CreatePlanRequest { plan: Some(orphan) })
        .await
        .unwrap_err();
    assert_violation(&err, Code::NotFound, "plan.parent");

    let err = env
        .plans
        .load_plan_file(pb::LoadPlanFileRequest {
            content: "level = [".into(),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "content");
}

pub fn provincial_plan() -> pb::Plan {
    pb::Plan {
        name: "plans/hubei".into(),
        display_name: "湖北".into(),
        level: pb::PlanLevel::Provincial as i32,
        scope: "divisions/42".into(),
        parent: "plans/national-14th-fyp".into(),
        start_year: 2021,
        end_year: 2025,
        ..Default::default()
    }
}

const PROVINCIAL_YAML: &str = r#"
# 湖北省“十四五”规划,YAML 写法
id: hubei-yaml
display_name: 湖北省“十四五”城乡社区服务体系建设规划
level: provincial
scope: "42"
parent: national-14th-fyp
start_year: 2021
end_year: 2025
indicators:
  - code: village_terminals
    display_name: 村级政务服务一体机
    kind: sum
    source: registry
    field: self_service_terminals
    unit_kind: village
    unit: terminals
targets:
  - indicator: rural_facility_coverage
    baseline_value: 0.70
    baseline_year: 2020
    target_value: 0.78
    target_year: 2025
  - indicator: village_terminals
    target_value: 100
    target_year: 2025
"#;

#[tokio::test]
async fn a_yaml_plan_file_loads_like_a_toml_one() {
    let mut env = env().await;
    national(&mut env).await;
    let plan = env
        .plans
        .load_plan_file(pb::LoadPlanFileRequest {
            content: PROVINCIAL_YAML.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(plan.name, "plans/hubei-yaml");
    assert_eq!(plan.scope, "divisions/420000000000");
    assert_eq!(plan.indicators[0].code, "village_terminals");
    assert_eq!(plan.targets.len(), 2);
    let misaligned = env
        .plans
        .check_plan_alignment(pb::CheckPlanAlignmentRequest {
            name: plan.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .misalignments;
    assert_eq!(
        misaligned[0].indicator,
        "indicators/rural_facility_coverage"
    );

    // The same checks as for any plan, naming the field in the file.
    let bad = PROVINCIAL_YAML
        .replace("id: hubei-yaml", "id: hubei-bad")
        .replace("source: registry", "source: census");
    let err = env
        .plans
        .load_plan_file(pb::LoadPlanFileRequest { content: bad })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "content.indicators[0].source");
    let dangling = PROVINCIAL_YAML
        .replace("id: hubei-yaml", "id: hubei-dangling")
        .replace("indicator: village_terminals", "indicator: nowhere");
    let err = env
        .plans
        .load_plan_file(pb::LoadPlanFileRequest { content: dangling })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "plan.targets[1].indicator");
    let err = env
        .plans
        .load_plan_file(pb::LoadPlanFileRequest {
            content: "display_name: [".into(),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "content");
}

/// The years of a plan (start, end, baseline, target) lie in 1949 to 2100, as the contract
/// says; outside, CreatePlan and LoadPlanFile (TOML and YAML) are INVALID_ARGUMENT naming the
/// field, and nothing is stored.
#[tokio::test]
async fn plan_years_outside_1949_to_2100_are_refused() {
    let mut env = env().await;
    national(&mut env).await;
    let rural = |baseline_year: Option<i32>, target_year: i32| pb::Target {
        indicator: "indicators/rural_facility_coverage".into(),
        has_baseline: baseline_year.is_some(),
        baseline_value: 0.7,
        baseline_year: baseline_year.unwrap_or_default(),
        target_value: 0.8,
        target_year,
        ..Default::default()
    };
    type Set = fn(&mut pb::Plan, i32);
    let cases: [(&str, Set, &str); 4] = [
        (
            "start",
            |p, y| {
                p.start_year = y;
                p.end_year = 2100;
            },
            "plan.start_year",
        ),
        (
            "end",
            |p, y| {
                p.start_year = 1949;
                p.end_year = y;
            },
            "plan.end_year",
        ),
        (
            "baseline",
            |p, y| p.targets[0].baseline_year = y,
            "plan.targets[0].baseline_year",
        ),
        (
            "target",
            |p, y| {
                p.targets[0].has_baseline = false;
                p.targets[0].target_year = y;
            },
            "plan.targets[0].target_year",
        ),
    ];
    let years = [
        (0, false),
        (1948, false),
        (1949, true),
        (2100, true),
        (2101, false),
    ];
    for (what, set, field) in cases {
        for (year, valid) in years {
            let mut plan = provincial_plan();
            plan.name = format!("plans/{what}-{year}");
            plan.targets = vec![rural(Some(2020), 2100)];
            set(&mut plan, year);
            let created = env
                .plans
                .create_plan(pb::CreatePlanRequest { plan: Some(plan) })
                .await;
            match created {
                Ok(_) => assert!(valid, "{field} = {year} was accepted"),
                Err(err) => {
                    assert!(!valid, "{field} = {year} was refused: {err:?}");
                    assert_violation(&err, Code::InvalidArgument, field);
                }
            }
        }
    }

    let toml_target = "baseline_year = 2020\ntarget_value = 0.78\ntarget_year = 2025";
    let yaml_target = "baseline_year: 2020\n    target_value: 0.78\n    target_year: 2025";
    for (year, valid) in years {
        for (text, id, target, with_year) in [
            (
                PROVINCIAL,
                "id = \"hubei-14th\"",
                toml_target,
                format!("baseline_year = {year}\ntarget_value = 0.78\ntarget_year = 2100"),
            ),
            (
                PROVINCIAL_YAML,
                "id: hubei-yaml",
                yaml_target,
                format!("baseline_year: {year}\n    target_value: 0.78\n    target_year: 2100"),
            ),
        ] {
            let content = text
                .replace(id, &id.replace("hubei", &format!("file-{year}")))
                .replacen(target, &with_year, 1);
            assert_ne!(content, text);
            let loaded = env
                .plans
                .load_plan_file(pb::LoadPlanFileRequest { content })
                .await;
            match loaded {
                Ok(plan) => {
                    assert!(valid, "baseline year {year} was accepted");
                    let target = &plan.into_inner().plan.unwrap().targets[0];
                    assert_eq!((target.baseline_year, target.target_year), (year, 2100));
                }
                Err(err) => {
                    assert!(!valid, "baseline year {year} was refused: {err:?}");
                    assert_violation(&err, Code::InvalidArgument, "plan.targets[0].baseline_year");
                }
            }
        }
    }
    // A baseline value without its year is refused, never read as year 0.
    for (text, line) in [
        (PROVINCIAL, "baseline_year = 2020\n"),
        (PROVINCIAL_YAML, "baseline_year: 2020\n    "),
    ] {
        let content = text.replacen(line, "", 1);
        assert_ne!(content, text);
        let err = env
            .plans
            .load_plan_file(pb::LoadPlanFileRequest { content })
            .await
            .unwrap_err();
        assert_violation(
            &err,
            Code::InvalidArgument,
            "content.targets[0].baseline_year",
        );
    }
    let listed = env
        .plans
        .list_plans(pb::ListPlansRequest::default())
        .await
        .unwrap()
        .into_inner()
        .plans;
    let mut names: Vec<_> = listed.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "plans/baseline-1949",
            "plans/baseline-2100",
            "plans/end-1949",
            "plans/end-2100",
            "plans/file-1949-14th",
            "plans/file-1949-yaml",
            "plans/file-2100-14th",
            "plans/file-2100-yaml",
            "plans/national-14th-fyp",
            "plans/start-1949",
            "plans/start-2100",
            "plans/target-1949",
            "plans/target-2100",
        ]
    );
}

#[tokio::test]
async fn plan_defined_indicators_are_listed_by_plan() {
    let mut env = env().await;
    national(&mut env).await;
    let builtin = list_indicators(&mut env, "").await.unwrap();
    assert!(builtin.iter().all(|i| i.plan.is_empty()));
    // Two provincial plans define an indicator with the same code; a refused file adds nothing.
    let refused = PROVINCIAL_YAML.replace("id: hubei-yaml", "id: hubei-other\nmore: 1");
    for content in [PROVINCIAL.to_owned(), PROVINCIAL_YAML.to_owned(), refused] {
        let loaded = env
            .plans
            .load_plan_file(pb::LoadPlanFileRequest { content })
            .await;
        if let Err(e) = loaded {
            assert_violation(&e, Code::InvalidArgument, "content");
        }
    }
    let mut list = async |plan: &str| list_indicators(&mut env, plan).await;
    let all = list("").await.unwrap();
    let own: Vec<(&str, &str)> = all[builtin.len()..]
        .iter()
        .map(|i| (i.plan.as_str(), i.name.as_str()))
        .collect();
    assert_eq!(
        own,
        [
            ("plans/hubei-14th", "indicators/village_terminals"),
            ("plans/hubei-yaml", "indicators/village_terminals"),
        ]
    );
    assert_eq!(all[..builtin.len()], builtin[..]);

    let hubei = list("plans/hubei-yaml").await.unwrap();
    assert_eq!(hubei.len(), builtin.len() + 1);
    let own = hubei.last().unwrap();
    assert_eq!(own.display_name, "村级政务服务一体机");
    assert_eq!(own.unit_kind, pb::UnitKindFilter::Village as i32);
    assert_eq!(own.rollup, "sum of parts");
    let national = list("plans/national-14th-fyp").await.unwrap();
    assert_eq!(national, builtin);

    let err = list("plans/nowhere").await.unwrap_err();
    assert_violation(&err, Code::NotFound, "plan");
    let err = list("hubei").await.unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "plan");
}

async fn list_indicators(env: &mut Env, plan: &str) -> Result<Vec<pb::Indicator>, Status> {
    env.indicators
        .list_indicators(pb::ListIndicatorsRequest { plan: plan.into() })
        .await
        .map(|r| r.into_inner().indicators)
}

/// Plan and indicator names follow the contract's rule for text (shequ.common.v1): stored trimmed
/// and returned as stored; white space alone is refused.
#[tokio::test]
async fn plan_and_indicator_names_are_stored_trimmed() {
    let mut env = env().await;
    national(&mut env).await;
    let indicator = |display_name: &str| pb::Indicator {
        code: "parking_spaces".into(),
        display_name: display_name.into(),
        kind: pb::IndicatorKind::Sum as i32,
        source: pb::IndicatorSource::Reported as i32,
        unit: "spaces".into(),
        direction: pb::Direction::HigherIsBetter as i32,
        ..Default::default()
    };
    let mut plan = provincial_plan();
    plan.display_name = "\u{3000}湖北省规划 ".into();
    plan.indicators = vec![indicator("  停车位\t")];
    let created = env
        .plans
        .create_plan(pb::CreatePlanRequest { plan: Some(plan) })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(created.display_name, "湖北省规划");
    assert_eq!(created.indicators[0].display_name, "停车位");
    let read = env
        .plans
        .get_plan(pb::GetPlanRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(read.display_name, "湖北省规划");
    assert_eq!(read.indicators[0].display_name, "停车位");

    let mut blank = provincial_plan();
    blank.name = "plans/blank".into();
    blank.display_name = "\u{3000}".into();
    blank.indicators = vec![indicator(" ")];
    let err = env
        .plans
        .create_plan(pb::CreatePlanRequest { plan: Some(blank) })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "plan.display_name");
    assert_violation(
        &err,
        Code::InvalidArgument,
        "plan.indicators[0].display_name",
    );
}
