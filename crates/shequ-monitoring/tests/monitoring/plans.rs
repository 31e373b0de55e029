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
