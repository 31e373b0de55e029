//! Plans of divisions below a province: a prefecture's and a county's, evaluated over their own
//! subtree (checked against the committed division files) and aligned with the nearest ancestor
//! plan that has the same indicator, in force for their division; and the levels that do not fit.

use std::collections::BTreeSet;
use std::io::Read;

use crate::plans;
use crate::*;

const PREFECTURE: &str = "divisions/4290";
const COUNTY: &str = "divisions/429004";

/// The leaf units and the townships under 仙桃市, read from the committed division files.
pub(crate) fn xiantao_subtree() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut townships = BTreeSet::new();
    let mut leaves = BTreeSet::new();
    for (file, into, parent_column) in [
        (registry::DivisionFile::Streets, &mut townships, 2),
        (registry::DivisionFile::Villages, &mut leaves, 2),
    ] {
        let (_, bytes) = SAMPLE.iter().find(|(kind, _)| *kind == file).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(*bytes)
            .read_to_string(&mut text)
            .unwrap();
        for row in csv::Reader::from_reader(text.as_bytes()).records() {
            let row = row.unwrap();
            if row[parent_column].starts_with("429004") {
                into.insert(row[0].to_owned());
            }
        }
    }
    (townships, leaves)
}

fn plan(name: &str, level: pb::PlanLevel, scope: &str, parent: &str) -> pb::Plan {
    pb::Plan {
        name: name.into(),
        display_name: name.trim_start_matches("plans/").into(),
        level: level as i32,
        scope: scope.into(),
        parent: parent.into(),
        start_year: 2021,
        end_year: 2025,
        ..Default::default()
    }
}

fn target(indicator: &str, value: f64) -> pb::Target {
    pb::Target {
        indicator: format!("indicators/{indicator}"),
        target_value: value,
        target_year: 2025,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_county_plan_covers_its_subtree_and_aligns_with_the_nearest_ancestor() {
    let mut env = env().await;
    let national = national(&mut env).await;
    standard_facilities(&env).await;

    // 湖北: rural coverage 85 %, but 78 % for the prefecture-level group 4290 (below the
    // national 80 %); opening hours 90 %.
    let mut hubei = plans::provincial_plan();
    hubei.targets = vec![
        pb::Target {
            overrides: vec![pb::TargetOverride {
                division: PREFECTURE.into(),
                target_value: 0.78,
                ..Default::default()
            }],
            ..target("rural_facility_coverage", 0.85)
        },
        target("opening_hours_compliance", 0.9),
    ];
    let hubei = create_plan(&mut env, hubei).await.unwrap();
    // The prefecture: opening hours only, 95 %.
    let mut prefecture = plan(
        "plans/4290",
        pb::PlanLevel::Prefectural,
        PREFECTURE,
        &hubei.name,
    );
    prefecture.targets = vec![target("opening_hours_compliance", 0.95)];
    let prefecture = create_plan(&mut env, prefecture).await.unwrap();
    assert_eq!(prefecture.level, pb::PlanLevel::Prefectural as i32);
    // The county names no parent: rural coverage 77 % (below 湖北's 78 % in force for it),
    // opening hours 92 % (below the prefecture's 95 %), online service 100 % (no ancestor has it).
    let mut county = plan("plans/xiantao", pb::PlanLevel::County, COUNTY, "");
    county.targets = vec![
        target("rural_facility_coverage", 0.77),
        target("opening_hours_compliance", 0.92),
        target("online_24h_coverage", 1.0),
    ];
    let county = create_plan(&mut env, county).await.unwrap();

    let aligned = env
        .plans
        .check_plan_alignment(pb::CheckPlanAlignmentRequest {
            name: county.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(aligned.parent, "");
    let found: BTreeSet<(String, String, String, String)> = aligned
        .misalignments
        .iter()
        .map(|m| {
            (
                m.indicator.clone(),
                m.parent_plan.clone(),
                m.parent_target_division.clone(),
                m.parent_target.as_ref().unwrap().target_value.to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        BTreeSet::from([
            (
                "indicators/rural_facility_coverage".to_owned(),
                hubei.name.clone(),
                "divisions/429000000000".to_owned(),
                "0.78".to_owned()
            ),
            (
                "indicators/opening_hours_compliance".to_owned(),
                prefecture.name.clone(),
                String::new(),
                "0.95".to_owned()
            ),
        ])
    );
    // 湖北's own override for 4290 is below the national plan's 80 %: reported for that division.
    let aligned = env
        .plans
        .check_plan_alignment(pb::CheckPlanAlignmentRequest {
            name: hubei.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let m: BTreeSet<_> = aligned
        .misalignments
        .iter()
        .map(|m| {
            (
                m.indicator.as_str(),
                m.division.as_str(),
                m.parent_plan.as_str(),
            )
        })
        .collect();
    assert_eq!(
        m,
        BTreeSet::from([
            (
                "indicators/rural_facility_coverage",
                "divisions/429000000000",
                national.as_str()
            ),
            // Its own opening-hours target is below the national 100 % too.
            ("indicators/opening_hours_compliance", "", national.as_str()),
        ])
    );

    // The county's evaluation covers its own subtree: the root, every township, every leaf unit.
    let e = evaluate(&mut env, &county.name, "2023-12-31", "").await;
    let (townships, leaves) = xiantao_subtree();
    assert_eq!(e.leaf_units as usize, leaves.len());
    assert_eq!(e.divisions as usize, 1 + townships.len() + leaves.len());
    let root = env
        .evaluations
        .get_division_result(pb::GetDivisionResultRequest {
            evaluation: e.name.clone(),
            division: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(root.division, "divisions/429004000000");
    assert_eq!(root.level, 3);
    assert_eq!(root.parent, "");
    // The same facts give the same figures as the national plan's evaluation of the county.
    let whole = evaluate(&mut env, &national, "2023-12-31", "").await;
    let theirs = division(&mut env, &whole.name, COUNTY).await;
    for r in &root.results {
        let code = r.indicator.trim_start_matches("indicators/");
        assert_eq!(r.value, theirs[code].value, "{code}");
        assert_eq!(r.numerator, theirs[code].numerator, "{code}");
        assert_eq!(r.denominator, theirs[code].denominator, "{code}");
    }
    let rural = root
        .results
        .iter()
        .find(|r| r.indicator == "indicators/rural_facility_coverage")
        .unwrap();
    assert_eq!(rural.target_value, Some(0.77));
    assert!(rural.denominator.unwrap() <= leaves.len() as f64);

    // Listed with the other plans.
    let listed = plan_names(&mut env).await;
    for name in [&hubei.name, &prefecture.name, &county.name] {
        assert!(listed.contains(name), "{name}");
    }
}

#[tokio::test]
async fn levels_that_do_not_fit_the_scope_are_refused() {
    let mut env = env().await;
    national(&mut env).await;
    let hubei = create_plan(&mut env, plans::provincial_plan())
        .await
        .unwrap();
    for (level, scope, field) in [
        // 4290 is a prefecture, 429004 a county, 42 a province.
        (pb::PlanLevel::County, PREFECTURE, "plan.level"),
        (pb::PlanLevel::Prefectural, COUNTY, "plan.level"),
        (pb::PlanLevel::Township, COUNTY, "plan.level"),
        (pb::PlanLevel::County, "divisions/42", "plan.scope"),
        (pb::PlanLevel::County, "", "plan.scope"),
    ] {
        let err = create_plan(&mut env, plan("plans/misfit", level, scope, ""))
            .await
            .unwrap_err();
        assert_violation(&err, Code::InvalidArgument, field);
    }
    // A scope the registry does not know, and a parent plan of another province.
    let err = create_plan(
        &mut env,
        plan(
            "plans/misfit",
            pb::PlanLevel::County,
            "divisions/429099",
            "",
        ),
    )
    .await
    .unwrap_err();
    assert_violation(&err, Code::NotFound, "plan.scope");
    let mut beijing = plans::provincial_plan();
    beijing.name = "plans/beijing".into();
    beijing.scope = "divisions/11".into();
    let beijing = create_plan(&mut env, beijing).await.unwrap();
    let err = create_plan(
        &mut env,
        plan("plans/misfit", pb::PlanLevel::County, COUNTY, &beijing.name),
    )
    .await
    .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "plan.scope");
    // The same with the right parent is a plan.
    create_plan(
        &mut env,
        plan("plans/fit", pb::PlanLevel::County, COUNTY, &hubei.name),
    )
    .await
    .unwrap();
    assert!(
        !plan_names(&mut env)
            .await
            .contains(&"plans/misfit".to_owned()),
        "nothing stored"
    );
}
