//! Indicator values and statuses on a small real subtree, checked against hand-computed figures.

use shequ_domain::{Direction, Trajectory};
use shequ_proto::monitoring::v1::IndicatorStatus as S;

use crate::*;

#[tokio::test]
async fn coverage_compliance_and_survey_values_roll_up_the_hierarchy() {
    let mut env = env().await;
    standard_facilities(&env).await;
    let round = answered_round(&env).await;
    let plan = national(&mut env).await;
    let e = evaluate(&mut env, &plan, "2023-12-31", &round).await;
    assert_eq!(e.leaf_units, 936);
    assert_eq!(e.survey_round, round);
    assert_eq!(e.registry_vintage, "2023");
    assert!(!e.registry_change_cursor.is_empty());

    // 前门: 2 of 3 communities; 500 of 1000 m² for activities; 1 of 2 facilities compliant.
    let q = division(&mut env, &e.name, QIANMEN).await;
    approx(q["urban_facility_coverage"].value, 2.0 / 3.0);
    assert_eq!(
        q["rural_facility_coverage"].value, None,
        "no villages: no data"
    );
    assert_eq!(status(&q["rural_facility_coverage"]), S::NoData);
    approx(q["activity_area_share"].value, 0.5);
    approx(q["activity_area_compliance"].value, 0.5);
    approx(q["opening_hours_compliance"].value, 0.5);
    approx(q["online_24h_coverage"].value, 1.0 / 3.0);
    // One unit of three reached 2 responses; scores 100, 50 and 75.
    approx(q["survey_coverage"].value, 1.0 / 3.0);
    approx(q["satisfaction_index"].value, 75.0);
    assert_eq!(status(&q["satisfaction_index"]), S::NoTarget);
    approx(q["facility_community_workers"].value, 18.0);
    // The national target: 100% from a baseline of 100%, so 2/3 is off track.
    assert_eq!(status(&q["urban_facility_coverage"]), S::OffTrack);
    approx(q["urban_facility_coverage"].expected_value, 1.0);
    // A target without baseline is a floor: 50% of a 60% floor is off track.
    assert_eq!(status(&q["activity_area_share"]), S::OffTrack);

    // 杜湖: 1 of 5 communities, 2 of 5 villages, all three facilities compliant.
    let d = division(&mut env, &e.name, DUHU).await;
    approx(d["urban_facility_coverage"].value, 0.2);
    approx(d["rural_facility_coverage"].value, 0.4);
    approx(d["activity_area_share"].value, 0.6);
    assert_eq!(status(&d["activity_area_share"]), S::Achieved);
    assert_eq!(status(&d["activity_area_compliance"]), S::Achieved);
    approx(d["online_24h_coverage"].value, 0.3);
    assert_eq!(
        d["survey_coverage"].value, None,
        "outside the round's region"
    );
    let rural = Trajectory {
        baseline_value: 0.657,
        baseline_year: 2020,
        target_value: 0.8,
        target_year: 2025,
        direction: Direction::HigherIsBetter,
        milestones: Vec::new(),
    };
    let date = chrono::NaiveDate::from_ymd_opt(2023, 12, 31).unwrap();
    approx(
        d["rural_facility_coverage"].expected_value,
        rural.expected(date),
    );
    approx(d["rural_facility_coverage"].target_value, 0.8);
    assert_eq!(status(&d["rural_facility_coverage"]), S::OffTrack);

    // Leaf units: a village with a facility achieves the rural target; one without has no
    // floor area to share.
    let v = division(&mut env, &e.name, DUHU_VILLAGE_A).await;
    approx(v["rural_facility_coverage"].value, 1.0);
    assert_eq!(status(&v["rural_facility_coverage"]), S::Achieved);
    assert_eq!(v["urban_facility_coverage"].value, None);
    let empty = division(&mut env, &e.name, DUHU_VILLAGE_EMPTY).await;
    approx(empty["rural_facility_coverage"].value, 0.0);
    assert_eq!(empty["activity_area_share"].value, None);
    assert_eq!(status(&empty["activity_area_share"]), S::NoData);

    // Up the hierarchy: 东城区 has no villages; the country counts every unit of the sample.
    let dongcheng = division(&mut env, &e.name, DONGCHENG).await;
    assert_eq!(dongcheng["rural_facility_coverage"].value, None);
    approx(dongcheng["urban_facility_coverage"].value, 2.0 / 169.0);
    let country = division(&mut env, &e.name, "").await;
    approx(country["activity_area_share"].value, 1400.0 / 2500.0);
    approx(country["survey_coverage"].value, 1.0 / 3.0);
}

#[tokio::test]
async fn every_status_boundary_is_judged_as_the_domain_says() {
    let mut env = env().await;
    // Baseline 100 at the end of 2020, target 200 at the end of 2022: half-way at the end of
    // 2021, expected 150, lagging from 125.
    let plan = env
        .plans
        .create_plan(pb::CreatePlanRequest {
            plan: Some(pb::Plan {
                name: "plans/workers".into(),
                display_name: "社区工作者".into(),
                level: pb::PlanLevel::National as i32,
                start_year: 2021,
                end_year: 2022,
                targets: vec![pb::Target {
                    indicator: "indicators/community_workers".into(),
                    has_baseline: true,
                    baseline_value: 100.0,
                    baseline_year: 2020,
                    target_value: 200.0,
                    target_year: 2022,
                    direction: pb::Direction::HigherIsBetter as i32,
                    ..Default::default()
                }],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    for (township, value) in [
        ("divisions/110101001", 200.0),
        ("divisions/110101002", 150.0),
        ("divisions/110101003", 125.0),
        ("divisions/110101004", 124.9),
    ] {
        reported::report(
            &mut env,
            "community_workers",
            township,
            "2021",
            value,
            "年报",
        )
        .await;
    }
    let e = evaluate(&mut env, &plan.name, "2021-12-31", "").await;
    for (township, wanted) in [
        ("divisions/110101001", S::Achieved),
        ("divisions/110101002", S::OnTrack),
        ("divisions/110101003", S::Lagging),
        ("divisions/110101004", S::OffTrack),
        ("divisions/110101005", S::NoData),
    ] {
        let r = division(&mut env, &e.name, township).await;
        let w = &r["community_workers"];
        assert_eq!(status(w), wanted, "{township}: {w:?}");
        approx(w.expected_value, 150.0);
        approx(w.target_value, 200.0);
    }
}
