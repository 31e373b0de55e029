//! The records behind a figure: the leaf units a computed figure counted, paged without skip or
//! repeat, adding up to the figure's parts; the reported values a reported sum added up.

use std::collections::BTreeSet;

use crate::local_plans::xiantao_subtree;
use crate::reported::report;
use crate::*;

const COUNTY: &str = "divisions/429004";
const OTHER_TOWNSHIP: &str = "divisions/429004001";

async fn records(
    env: &mut Env,
    evaluation: &str,
    division: &str,
    indicator: &str,
    page_size: i32,
) -> Vec<pb::ResultRecord> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = env
            .evaluations
            .list_result_records(pb::ListResultRecordsRequest {
                evaluation: evaluation.into(),
                division: division.into(),
                indicator: format!("indicators/{indicator}"),
                page_size,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.records.len() <= page_size as usize);
        out.extend(page.records);
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn the_records_behind_a_figure_add_up_to_it() {
    let mut env = env().await;
    let national = national(&mut env).await;
    standard_facilities(&env).await;
    // 剅河镇 reports for itself (its village's own value is covered by it); another township
    // reports too.
    for (division, value) in [(DUHU, 10.0), (DUHU_VILLAGE_A, 3.0), (OTHER_TOWNSHIP, 5.0)] {
        report(&mut env, "community_workers", division, "2024", value, "").await;
    }
    let e = evaluate(&mut env, &national, "2024-12-31", "").await;
    let county = division(&mut env, &e.name, COUNTY).await;

    // Every leaf unit of 仙桃市 once, in pages of 7, adding up to the county's parts.
    let (_, leaves) = xiantao_subtree();
    for indicator in ["rural_facility_coverage", "online_24h_coverage"] {
        let got = records(&mut env, &e.name, COUNTY, indicator, 7).await;
        let codes: BTreeSet<String> = got
            .iter()
            .map(|r| r.division.trim_start_matches("divisions/").to_owned())
            .collect();
        assert_eq!(codes.len(), got.len(), "no leaf twice");
        assert_eq!(codes, leaves, "every leaf unit of the county");
        assert!(got.iter().all(|r| r.level == 5));
        let sum = |part: fn(&pb::ResultRecord) -> Option<f64>| -> f64 {
            got.iter().filter_map(part).sum()
        };
        let figure = &county[indicator];
        approx(figure.numerator, sum(|r| r.numerator));
        approx(figure.denominator, sum(|r| r.denominator));
    }
    // A leaf unit stands for itself.
    let one = records(&mut env, &e.name, DUHU_VILLAGE_A, "online_24h_coverage", 10).await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].division, "divisions/429004004200");

    // The reported values behind the county's sum: each township's own, not the village's.
    let got = records(&mut env, &e.name, COUNTY, "community_workers", 1).await;
    let found: Vec<(String, Option<f64>)> =
        got.iter().map(|r| (r.division.clone(), r.value)).collect();
    assert_eq!(
        found,
        [
            ("divisions/429004001000".to_owned(), Some(5.0)),
            ("divisions/429004004000".to_owned(), Some(10.0)),
        ]
    );
    assert!(
        got.iter()
            .all(|r| r.as_of.is_some() && r.periods == ["2024"])
    );
    approx(county["community_workers"].value, 15.0);
}
