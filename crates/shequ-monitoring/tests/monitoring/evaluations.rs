//! Stored evaluations: history, drill-down, lagging regions ranked, comparison and reports.

use crate::*;

#[tokio::test]
async fn evaluations_are_kept_and_compared() {
    let mut env = env().await;
    let plan = national(&mut env).await;
    facility(&env, QIANMEN_1, true).await;
    let first = evaluate(&mut env, &plan, "2023-12-31", "").await;
    facility(&env, QIANMEN_6, true).await;
    facility(&env, QIANMEN_10, true).await;
    let second = evaluate(&mut env, &plan, "2023-12-31", "").await;
    assert_ne!(first.registry_change_cursor, second.registry_change_cursor);

    let listed = env
        .evaluations
        .list_evaluations(pb::ListEvaluationsRequest {
            parent: plan.clone(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.evaluations,
        std::slice::from_ref(&second),
        "newest first"
    );
    let rest = env
        .evaluations
        .list_evaluations(pb::ListEvaluationsRequest {
            parent: plan.clone(),
            page_size: 1,
            page_token: listed.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.evaluations, std::slice::from_ref(&first));
    assert!(rest.next_page_token.is_empty());

    // The first evaluation did not change when facilities were added.
    let old = division(&mut env, &first.name, QIANMEN).await;
    approx(old["urban_facility_coverage"].value, 1.0 / 3.0);

    let changes = env
        .evaluations
        .compare_evaluations(pb::CompareEvaluationsRequest {
            base: first.name.clone(),
            other: second.name.clone(),
            division: QIANMEN.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .changes;
    let urban = changes
        .iter()
        .find(|c| {
            c.division.ends_with("110101011000")
                && c.indicator.ends_with("/urban_facility_coverage")
        })
        .unwrap();
    approx(urban.delta, 2.0 / 3.0);
    assert_eq!(urban.base_status, pb::IndicatorStatus::OffTrack as i32);
    assert_eq!(urban.other_status, pb::IndicatorStatus::Achieved as i32);
    // Children moved too: …006 and …010 gained a facility, …001 did not move.
    let moved: Vec<_> = changes
        .iter()
        .filter(|c| c.indicator.ends_with("/urban_facility_coverage"))
        .map(|c| c.division.as_str())
        .collect();
    assert_eq!(moved, ["divisions/110101011000", QIANMEN_6, QIANMEN_10]);
}

#[tokio::test]
async fn lagging_regions_are_ranked_and_reported() {
    let mut env = env().await;
    standard_facilities(&env).await;
    let plan = national(&mut env).await;
    let e = evaluate(&mut env, &plan, "2023-12-31", "").await;

    // Drill down: 东城区's 17 townships by code.
    let children = env
        .evaluations
        .list_child_results(pb::ListChildResultsRequest {
            evaluation: e.name.clone(),
            division: DONGCHENG.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(children.len(), 17);
    assert_eq!(children[0].division, "divisions/110101001000");

    // 前门's units ranked by urban coverage gap: the one without a facility first, then the
    // covered ones by code.
    let ranked = env
        .evaluations
        .list_child_results(pb::ListChildResultsRequest {
            evaluation: e.name.clone(),
            division: QIANMEN.into(),
            rank_by: "indicators/urban_facility_coverage".into(),
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    let order: Vec<_> = ranked.iter().map(|r| r.division.as_str()).collect();
    assert_eq!(order, [QIANMEN_10, QIANMEN_1, QIANMEN_6]);

    // 杜湖 ranked under 仙桃 by rural coverage: 杜湖 has 40%, the rest 0%: it comes last among
    // those with villages.
    let worst = env
        .evaluations
        .list_child_results(pb::ListChildResultsRequest {
            evaluation: e.name.clone(),
            division: XIANTAO.into(),
            rank_by: "indicators/rural_facility_coverage".into(),
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(worst.len(), 3);
    assert!(worst.iter().all(|r| r.division != "divisions/429004004000"));

    for (format, content_type, needle) in [
        (
            pb::ReportFormat::Text,
            "text/plain",
            "rural_facility_coverage",
        ),
        (
            pb::ReportFormat::Csv,
            "text/csv",
            "division,indicator,name,unit,value,expected_value",
        ),
        (
            pb::ReportFormat::Json,
            "application/json",
            "\"worst_regions\"",
        ),
    ] {
        let report = env
            .evaluations
            .render_report(pb::RenderReportRequest {
                evaluation: e.name.clone(),
                division: XIANTAO.into(),
                format: format as i32,
                worst_regions: 2,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(report.content_type, content_type);
        assert!(report.content.contains(needle), "{}", report.content);
    }
    let json = env
        .evaluations
        .render_report(pb::RenderReportRequest {
            evaluation: e.name.clone(),
            division: DUHU.into(),
            format: pb::ReportFormat::Json as i32,
            worst_regions: 2,
        })
        .await
        .unwrap()
        .into_inner()
        .content;
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rural = doc["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["indicator"] == "rural_facility_coverage")
        .unwrap();
    assert_eq!(rural["value"], 0.4);
    assert_eq!(rural["status"], "off_track");
    let worst: Vec<_> = rural["worst_regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["division"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(worst, ["divisions/429004004202", "divisions/429004004203"]);
}

/// Every page of a `ListChildResults` request: the divisions of each page.
async fn pages(env: &mut Env, request: pb::ListChildResultsRequest) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = env
            .evaluations
            .list_child_results(pb::ListChildResultsRequest {
                page_token: token,
                ..request.clone()
            })
            .await
            .unwrap()
            .into_inner();
        out.push(page.results.into_iter().map(|r| r.division).collect());
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

#[tokio::test]
async fn child_results_come_in_pages() {
    let mut env = env().await;
    standard_facilities(&env).await;
    let plan = national(&mut env).await;
    let e = evaluate(&mut env, &plan, "2023-12-31", "").await;
    let request =
        |division: &str, rank_by: &str, limit: i32, page_size: i32| pb::ListChildResultsRequest {
            evaluation: e.name.clone(),
            division: division.into(),
            rank_by: rank_by.into(),
            limit,
            page_size,
            page_token: String::new(),
        };

    // By code: 东城区's 17 townships in pages of 5, the same as one page.
    let all = pages(&mut env, request(DONGCHENG, "", 0, 0)).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].len(), 17);
    let paged = pages(&mut env, request(DONGCHENG, "", 0, 5)).await;
    let sizes: Vec<usize> = paged.iter().map(Vec::len).collect();
    assert_eq!(sizes, [5, 5, 5, 2]);
    assert_eq!(paged.concat(), all[0]);
    // A limit counts over all pages, and the last page says so.
    let limited = pages(&mut env, request(DONGCHENG, "", 7, 5)).await;
    assert_eq!(limited.concat(), all[0][..7]);
    assert_eq!(limited.len(), 2);
    let exact = pages(&mut env, request(DONGCHENG, "", 0, 17)).await;
    assert_eq!(exact.len(), 1, "no empty page after the last child");

    // Ranked: the same order as unpaged, across pages.
    let urban = "indicators/urban_facility_coverage";
    let ranked = pages(&mut env, request(QIANMEN, urban, 0, 2)).await;
    assert_eq!(
        ranked,
        [
            vec![QIANMEN_10.to_owned(), QIANMEN_1.to_owned()],
            vec![QIANMEN_6.to_owned()]
        ]
    );
    let one = pages(&mut env, request(QIANMEN, urban, 2, 1)).await;
    assert_eq!(
        one,
        [vec![QIANMEN_10.to_owned()], vec![QIANMEN_1.to_owned()]]
    );

    // A token belongs to its query.
    let first = env
        .evaluations
        .list_child_results(request(DONGCHENG, "", 0, 5))
        .await
        .unwrap()
        .into_inner();
    let mut other = request(DONGCHENG, urban, 0, 5);
    other.page_token = first.next_page_token.clone();
    let err = env.evaluations.list_child_results(other).await.unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "page_token");
    let mut garbage = request(DONGCHENG, "", 0, 5);
    garbage.page_token = "not-a-token".into();
    let err = env
        .evaluations
        .list_child_results(garbage)
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "page_token");
    let err = env
        .evaluations
        .list_child_results(request(DONGCHENG, "", 0, -1))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "page_size");
}

/// Rows of `table` whose `column` is `value`, read straight from the monitor's database.
async fn stored_rows(env: &Env, table: &str, column: &str, value: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = sea_orm::Database::connect(env.monitor.database.url())
        .await
        .unwrap();
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1")
        }
        _ => format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = ?"),
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [value.into()]))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn only_the_newest_evaluations_are_kept_when_configured() {
    let mut env = env_with(|cfg| cfg.monitoring.keep_evaluations = 2).await;
    let plan = national(&mut env).await;
    let first = evaluate(&mut env, &plan, "2023-12-31", "").await;
    let second = evaluate(&mut env, &plan, "2024-06-30", "").await;
    let first_id = first.name.rsplit('/').next().unwrap().to_owned();
    let rows = stored_rows(
        &env,
        "monitoring_evaluation_results",
        "evaluation_id",
        &first_id,
    )
    .await;
    assert_eq!(rows, first.divisions);
    // Another plan's evaluations are counted apart.
    let other = env
        .plans
        .create_plan(pb::CreatePlanRequest {
            plan: Some(plans::provincial_plan()),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let other_eval = evaluate(&mut env, &other.name, "2023-12-31", "").await;

    let third = evaluate(&mut env, &plan, "2024-12-31", "").await;
    let listed = env
        .evaluations
        .list_evaluations(pb::ListEvaluationsRequest {
            parent: plan.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .evaluations;
    assert_eq!(listed, [third.clone(), second.clone()]);

    // The oldest is gone with every result row; a comparison that names it is NOT_FOUND.
    let err = env
        .evaluations
        .get_evaluation(pb::GetEvaluationRequest {
            name: first.name.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_eq!(
        stored_rows(
            &env,
            "monitoring_evaluation_results",
            "evaluation_id",
            &first_id
        )
        .await,
        0
    );
    let err = env
        .evaluations
        .compare_evaluations(pb::CompareEvaluationsRequest {
            base: first.name.clone(),
            other: third.name.clone(),
            division: QIANMEN.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    // The kept ones still compare, and the other plan's evaluation is untouched.
    env.evaluations
        .compare_evaluations(pb::CompareEvaluationsRequest {
            base: second.name.clone(),
            other: third.name.clone(),
            division: QIANMEN.into(),
        })
        .await
        .unwrap();
    division(&mut env, &other_eval.name, "").await;
    let second_id = second.name.rsplit('/').next().unwrap();
    let rows = stored_rows(
        &env,
        "monitoring_evaluation_results",
        "evaluation_id",
        second_id,
    )
    .await;
    assert_eq!(rows, second.divisions);
}
