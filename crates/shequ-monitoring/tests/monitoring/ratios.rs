//! Ratios of reported sums over 仙桃市: numerator and denominator reported at several levels,
//! checked at every division against an oracle built here from the reported inputs and the
//! fixture's own parent links; and the plans that name parts they cannot divide.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use crate::plans;
use crate::reported::report;
use crate::*;

/// The county whose subtree is reported on, and its ancestors up to the province.
const COUNTY: &str = "429004";
const ABOVE: [(&str, &str); 2] = [("4290", "42"), (COUNTY, "4290")];

/// Each division of the subtree with its parent, read from the committed division files.
fn parent_links() -> BTreeMap<String, String> {
    let mut links: BTreeMap<String, String> = ABOVE
        .iter()
        .map(|(c, p)| (c.to_string(), p.to_string()))
        .collect();
    for file in [
        registry::DivisionFile::Streets,
        registry::DivisionFile::Villages,
    ] {
        let (_, bytes) = SAMPLE.iter().find(|(kind, _)| *kind == file).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(*bytes)
            .read_to_string(&mut text)
            .unwrap();
        // code, name, the parent's code, …
        for row in csv::Reader::from_reader(text.as_bytes()).records() {
            let row = row.unwrap();
            if links.contains_key(&row[2]) {
                links.insert(row[0].to_owned(), row[2].to_owned());
            }
        }
    }
    links
}

/// A figure of the oracle: value (or pair), latest entry time, periods used.
#[derive(Debug, Clone, Default, PartialEq)]
struct Expected {
    numerator: f64,
    denominator: f64,
    time: (i64, i32),
    periods: BTreeSet<String>,
}

impl Expected {
    fn add(&mut self, o: &Expected) {
        self.numerator += o.numerator;
        self.denominator += o.denominator;
        self.time = self.time.max(o.time);
        self.periods.extend(o.periods.iter().cloned());
    }
}

/// One reported value as the oracle keeps it.
#[derive(Debug, Clone)]
struct Entry {
    value: f64,
    time: (i64, i32),
    period: String,
}

struct Oracle {
    children: HashMap<String, Vec<String>>,
    numerators: HashMap<String, Entry>,
    denominators: HashMap<String, Entry>,
}

impl Oracle {
    /// DOMAIN.md §8: the division's own pair when it reported both, else the sums over its
    /// children whose pairs are complete; `None` when there is none.
    fn pair(&self, code: &str) -> Option<Expected> {
        if let (Some(n), Some(d)) = (self.numerators.get(code), self.denominators.get(code)) {
            return Some(Expected {
                numerator: n.value,
                denominator: d.value,
                time: n.time.max(d.time),
                periods: [n.period.clone(), d.period.clone()].into(),
            });
        }
        let mut sum: Option<Expected> = None;
        for child in self.children.get(code).into_iter().flatten() {
            if let Some(p) = self.pair(child) {
                sum.get_or_insert_with(Expected::default).add(&p);
            }
        }
        sum
    }

    /// A reported sum: the division's own value, else the sum of its children's.
    fn sum(&self, values: &HashMap<String, Entry>, code: &str) -> Option<Expected> {
        if let Some(e) = values.get(code) {
            return Some(Expected {
                numerator: e.value,
                time: e.time,
                periods: [e.period.clone()].into(),
                ..Default::default()
            });
        }
        let mut sum: Option<Expected> = None;
        for child in self.children.get(code).into_iter().flatten() {
            if let Some(p) = self.sum(values, child) {
                sum.get_or_insert_with(Expected::default).add(&p);
            }
        }
        sum
    }
}

fn reported_indicator(code: &str, kind: pb::IndicatorKind, parts: (&str, &str)) -> pb::Indicator {
    pb::Indicator {
        code: code.into(),
        display_name: code.into(),
        kind: kind as i32,
        source: pb::IndicatorSource::Reported as i32,
        field: parts.0.into(),
        denominator_field: parts.1.into(),
        unit: "spaces".into(),
        direction: pb::Direction::HigherIsBetter as i32,
        ..Default::default()
    }
}

fn parking_plan() -> pb::Plan {
    let mut plan = plans::provincial_plan();
    plan.indicators = vec![
        pb::Indicator {
            factor: Some(1000.0),
            unit: "per 1000".into(),
            ..reported_indicator(
                "stereo_per_1000",
                pb::IndicatorKind::Ratio,
                ("stereo_spaces", "new_spaces"),
            )
        },
        reported_indicator("stereo_spaces", pb::IndicatorKind::Sum, ("", "")),
        reported_indicator("new_spaces", pb::IndicatorKind::Sum, ("", "")),
    ];
    plan.targets = vec![pb::Target {
        indicator: "indicators/stereo_per_1000".into(),
        target_value: 100.0,
        target_year: 2025,
        ..Default::default()
    }];
    plan
}

fn stamp(t: &Option<Timestamp>) -> (i64, i32) {
    let t = t.as_ref().expect("a time");
    (t.seconds, t.nanos)
}

#[tokio::test]
async fn a_ratio_of_reported_sums_matches_an_oracle_at_every_division() {
    let mut env = env().await;
    national(&mut env).await;
    let plan = env
        .plans
        .create_plan(pb::CreatePlanRequest {
            plan: Some(parking_plan()),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();

    let links = parent_links();
    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    for (code, parent) in &links {
        children
            .entry(parent.clone())
            .or_default()
            .push(code.clone());
    }
    let streets = children[COUNTY].clone();
    assert!(
        streets.len() > 10,
        "仙桃市 has its townships in the fixture"
    );

    // Who reports what: townships in four patterns, their villages in others, the county only
    // a denominator (an incomplete pair, left out).
    let mut plan_of_reports: Vec<(String, &str, f64, &str)> =
        vec![(COUNTY.to_owned(), "new_spaces", 1_000_000.0, "2024-12")];
    for (i, street) in streets.iter().enumerate() {
        let i64_i = i as i64;
        match i % 4 {
            0 => {
                plan_of_reports.push((
                    street.clone(),
                    "stereo_spaces",
                    (100 + i64_i) as f64,
                    "2024",
                ));
                plan_of_reports.push((
                    street.clone(),
                    "new_spaces",
                    (1000 + 10 * i64_i) as f64,
                    "2024",
                ));
            }
            1 => plan_of_reports.push((street.clone(), "stereo_spaces", 7.0, "2024")),
            _ => {}
        }
        for (j, village) in children.get(street).into_iter().flatten().enumerate() {
            let j64 = j as i64;
            let (num, den) = match i % 4 {
                0 => (j % 3 == 0, j % 3 == 0),
                1 => (j % 2 == 0, true),
                2 => (j % 5 == 0, j % 5 == 0 || j % 7 == 0),
                _ => (false, false),
            };
            if num {
                plan_of_reports.push((
                    village.clone(),
                    "stereo_spaces",
                    (j64 + 1) as f64,
                    "2024-Q4",
                ));
            }
            if den {
                plan_of_reports.push((
                    village.clone(),
                    "new_spaces",
                    (10 + 3 * j64) as f64,
                    "2024-Q4",
                ));
            }
        }
    }
    let mut numerators = HashMap::new();
    let mut denominators = HashMap::new();
    for (division, indicator, value, period) in &plan_of_reports {
        let sent = report(
            &mut env,
            indicator,
            &format!("divisions/{division}"),
            period,
            *value,
            "",
        )
        .await;
        let entry = Entry {
            value: *value,
            time: stamp(&sent.change_time),
            period: period.to_string(),
        };
        if *indicator == "stereo_spaces" {
            numerators.insert(division.clone(), entry);
        } else {
            denominators.insert(division.clone(), entry);
        }
    }
    let oracle = Oracle {
        children,
        numerators,
        denominators,
    };

    let e = evaluate(&mut env, &plan.name, "2024-12-31", "").await;
    let mut checked = 0;
    let mut with_data = 0;
    for code in links.keys().chain(std::iter::once(&"42".to_owned())) {
        let got = division(&mut env, &e.name, &format!("divisions/{code}")).await;
        let ratio = &got["stereo_per_1000"];
        match oracle.pair(code) {
            Some(p) => {
                assert_eq!(ratio.numerator, Some(p.numerator), "{code}");
                assert_eq!(ratio.denominator, Some(p.denominator), "{code}");
                if p.denominator > 0.0 {
                    approx(ratio.value, p.numerator / p.denominator * 1000.0);
                    with_data += 1;
                } else {
                    assert_eq!(ratio.value, None, "{code}");
                }
                assert_eq!(stamp(&ratio.as_of), p.time, "{code}");
                let periods: Vec<String> = p.periods.into_iter().collect();
                assert_eq!(ratio.periods, periods, "{code}");
            }
            None => {
                assert_eq!(ratio.value, None, "{code}");
                assert_eq!(ratio.numerator, None, "{code}");
                assert_eq!(ratio.denominator, None, "{code}");
                assert_eq!(ratio.as_of, None, "{code}");
                assert!(ratio.periods.is_empty(), "{code}");
            }
        }
        assert_eq!(
            pb::StatusMethod::try_from(ratio.method),
            Ok(pb::StatusMethod::Linear)
        );
        // The sums themselves: own value else the children's, whatever the pairs.
        let stereo = &got["stereo_spaces"];
        match oracle.sum(&oracle.numerators, code) {
            Some(s) => {
                approx(stereo.value, s.numerator);
                assert_eq!(stamp(&stereo.as_of), s.time, "{code}");
                let periods: Vec<String> = s.periods.into_iter().collect();
                assert_eq!(stereo.periods, periods, "{code}");
            }
            None => assert_eq!(stereo.value, None, "{code}"),
        }
        assert_eq!((stereo.numerator, stereo.denominator), (None, None));
        assert_eq!(
            pb::StatusMethod::try_from(stereo.method),
            Ok(pb::StatusMethod::Unspecified)
        );
        // A computed share: its parts, and the facts' time.
        let villages = &got["rural_facility_coverage"];
        assert!(villages.denominator.is_some() && villages.as_of.is_some());
        assert!(villages.periods.is_empty());
        checked += 1;
    }
    assert_eq!(
        checked,
        oracle.children.values().map(Vec::len).sum::<usize>() + 1
    );
    assert!(with_data > 20, "only {with_data} divisions with a ratio");
    let province = oracle.pair("42").unwrap();
    assert_eq!(
        province.periods,
        BTreeSet::from(["2024".to_owned(), "2024-Q4".to_owned()]),
        "the county's lone denominator is left out"
    );
}

#[tokio::test]
async fn ratios_that_cannot_be_divided_are_refused_naming_the_field() {
    let mut env = env().await;
    national(&mut env).await;
    let mut plan = parking_plan();
    plan.indicators[0].field = "urban_facility_coverage".into();
    plan.indicators[0].denominator_field = "nowhere".into();
    plan.indicators.push(pb::Indicator {
        factor: Some(0.0),
        ..reported_indicator(
            "zero_factor",
            pb::IndicatorKind::Ratio,
            ("stereo_spaces", "new_spaces"),
        )
    });
    plan.indicators.push(pb::Indicator {
        unit: "share".into(),
        ..reported_indicator("declared_share", pb::IndicatorKind::Share, ("", ""))
    });
    plan.targets.push(pb::Target {
        indicator: "indicators/declared_share".into(),
        target_value: 1.5,
        target_year: 2025,
        ..Default::default()
    });
    let err = env
        .plans
        .create_plan(pb::CreatePlanRequest { plan: Some(plan) })
        .await
        .unwrap_err();
    for field in [
        "plan.indicators[0].field",
        "plan.indicators[0].denominator_field",
        "plan.indicators[3].factor",
        "plan.targets[1].target_value",
    ] {
        assert_violation(&err, Code::InvalidArgument, field);
    }
    let plans = env
        .plans
        .list_plans(pb::ListPlansRequest::default())
        .await
        .unwrap()
        .into_inner()
        .plans;
    assert!(
        plans.iter().all(|p| p.name != "plans/hubei"),
        "nothing stored"
    );
}
