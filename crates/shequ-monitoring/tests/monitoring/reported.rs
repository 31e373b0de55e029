//! Reported values: every change kept with who, when and why; a parent reported or summed from
//! its children, and the difference where both exist.

use tonic::Request;

use crate::*;

pub async fn report(
    env: &mut Env,
    indicator: &str,
    division: &str,
    period: &str,
    value: f64,
    reason: &str,
) -> pb::ReportedValue {
    let mut request = Request::new(pb::ReportValueRequest {
        value: Some(pb::ReportedValue {
            indicator: format!("indicators/{indicator}"),
            division: division.into(),
            period: period.into(),
            value,
            reason: reason.into(),
            ..Default::default()
        }),
    });
    request
        .metadata_mut()
        .insert("x-shequ-actor", "official-1".parse().unwrap());
    env.indicators
        .report_value(request)
        .await
        .unwrap()
        .into_inner()
        .value
        .unwrap()
}

#[tokio::test]
async fn every_change_is_kept_and_the_latest_counts() {
    let mut env = env().await;
    let first = report(&mut env, "social_workers", QIANMEN, "2024", 10.0, "初报").await;
    assert_eq!(first.revision, 1);
    assert_eq!(first.actor, "official-1");
    let second = report(&mut env, "social_workers", QIANMEN, "2024", 12.0, "更正").await;
    assert_eq!(second.revision, 2);
    let history = env
        .indicators
        .list_reported_value_history(pb::ListReportedValueHistoryRequest {
            indicator: "indicators/social_workers".into(),
            division: QIANMEN.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .values;
    let seen: Vec<_> = history
        .iter()
        .map(|v| (v.value, v.reason.as_str(), v.actor.as_str()))
        .collect();
    assert_eq!(
        seen,
        [(10.0, "初报", "official-1"), (12.0, "更正", "official-1")]
    );
    assert!(history.iter().all(|v| v.change_time.is_some()));

    let plan = national(&mut env).await;
    let e = evaluate(&mut env, &plan, "2024-12-31", "").await;
    let q = division(&mut env, &e.name, QIANMEN).await;
    approx(q["social_workers"].value, 12.0);
    // A value for a later period does not count before it begins.
    report(&mut env, "social_workers", QIANMEN, "2025-Q2", 14.0, "").await;
    let before = evaluate(&mut env, &plan, "2025-03-31", "").await;
    let after = evaluate(&mut env, &plan, "2025-04-01", "").await;
    approx(
        division(&mut env, &before.name, QIANMEN).await["social_workers"].value,
        12.0,
    );
    approx(
        division(&mut env, &after.name, QIANMEN).await["social_workers"].value,
        14.0,
    );
}

#[tokio::test]
async fn a_parent_is_reported_or_summed_and_the_difference_is_shown() {
    let mut env = env().await;
    report(
        &mut env,
        "community_workers",
        "divisions/110101001",
        "2024",
        30.0,
        "",
    )
    .await;
    report(
        &mut env,
        "community_workers",
        "divisions/110101002",
        "2024",
        20.0,
        "",
    )
    .await;
    report(
        &mut env,
        "community_workers",
        DONGCHENG,
        "2024",
        60.0,
        "区级汇总",
    )
    .await;
    report(&mut env, "community_workers", DUHU, "2024", 7.0, "").await;
    let plan = national(&mut env).await;
    let e = evaluate(&mut env, &plan, "2024-12-31", "").await;

    let county = division(&mut env, &e.name, DONGCHENG).await;
    let w = &county["community_workers"];
    approx(w.value, 60.0);
    approx(w.reported_value, 60.0);
    approx(w.children_sum, 50.0);
    // Nobody reported for 北京市 or 仙桃市: their values are sums.
    let beijing = division(&mut env, &e.name, "divisions/11").await;
    approx(beijing["community_workers"].value, 60.0);
    assert_eq!(beijing["community_workers"].reported_value, None);
    let xiantao = division(&mut env, &e.name, XIANTAO).await;
    approx(xiantao["community_workers"].value, 7.0);
    let country = division(&mut env, &e.name, "").await;
    approx(country["community_workers"].value, 67.0);
    // No report anywhere below: no data, never 0.
    assert_eq!(country["social_workers"].value, None);
}

#[tokio::test]
async fn bad_reports_name_their_fields() {
    let mut env = env().await;
    let err = env
        .indicators
        .report_value(pb::ReportValueRequest {
            value: Some(pb::ReportedValue {
                indicator: "indicators/urban_facility_coverage".into(),
                division: "divisions/abc".into(),
                period: "2025-Q5".into(),
                value: f64::NAN,
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    for field in [
        "value.indicator",
        "value.division",
        "value.period",
        "value.value",
    ] {
        assert_violation(&err, Code::InvalidArgument, field);
    }
}
