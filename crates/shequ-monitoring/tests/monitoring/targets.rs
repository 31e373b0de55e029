//! Targets per division: overrides with their own baselines and milestones, inherited down the
//! subtree, and the growth-rate method, checked at every division of 仙桃市's branch against an
//! oracle written here from DOMAIN.md §6, §8 and §9; and the plans whose targets cannot stand.

use chrono::NaiveDate;

use crate::plans;
use crate::reported::report;
use crate::*;

const COUNTY: &str = "divisions/429004";
const OTHER_TOWNSHIP: &str = "divisions/429004001";
const DATE: &str = "2023-06-30";

/// A target's path as the oracle reads it: (year, value) points, baseline first, target last.
#[derive(Debug, Clone)]
struct Path {
    points: Vec<(i32, f64)>,
}

fn end_of_year(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap()
}

/// The end of the evaluation date.
fn end_of_date() -> NaiveDate {
    NaiveDate::parse_from_str(DATE, "%Y-%m-%d")
        .unwrap()
        .succ_opt()
        .unwrap()
}

impl Path {
    fn baseline(&self) -> (i32, f64) {
        self.points[0]
    }

    fn target(&self) -> (i32, f64) {
        *self.points.last().unwrap()
    }

    /// Straight lines between consecutive points, each at the end of its year.
    fn expected(&self) -> f64 {
        let now = end_of_date();
        for w in self.points.windows(2) {
            let (a, b) = (end_of_year(w[0].0), end_of_year(w[1].0));
            if now <= b {
                let f = ((now - a).num_days() as f64 / (b - a).num_days() as f64).clamp(0.0, 1.0);
                return w[0].1 + (w[1].1 - w[0].1) * f;
            }
        }
        self.target().1
    }

    fn linear(&self, v: f64) -> pb::IndicatorStatus {
        let (b, t, e) = (self.baseline().1, self.target().1, self.expected());
        if v >= t {
            pb::IndicatorStatus::Achieved
        } else if v >= e {
            pb::IndicatorStatus::OnTrack
        } else if v >= b + (e - b) / 2.0 {
            pb::IndicatorStatus::Lagging
        } else {
            pb::IndicatorStatus::OffTrack
        }
    }

    /// The growth-rate status and ratio, or undetermined (ratio `None`).
    fn growth(&self, v: f64, on_track: f64, lagging: f64) -> (pb::IndicatorStatus, Option<f64>) {
        let ((y0, b), (y1, t)) = (self.baseline(), self.target());
        if v >= t {
            return (pb::IndicatorStatus::Achieved, None);
        }
        let e = (end_of_date() - end_of_year(y0)).num_days() as f64 / 365.25;
        if b <= 0.0 || t <= 0.0 || v <= 0.0 || e <= 0.0 || t == b {
            return (pb::IndicatorStatus::Undetermined, None);
        }
        let r = ((v / b).powf(1.0 / e) - 1.0) / ((t / b).powf(1.0 / f64::from(y1 - y0)) - 1.0);
        let status = if r >= on_track {
            pb::IndicatorStatus::OnTrack
        } else if r >= lagging {
            pb::IndicatorStatus::Lagging
        } else {
            pb::IndicatorStatus::OffTrack
        };
        (status, Some(r))
    }
}

/// A division's name as the service answers it: the code padded to 12 digits.
fn full(name: &str) -> String {
    match name.strip_prefix("divisions/") {
        Some(code) => format!("divisions/{code:0<12}"),
        None => name.to_owned(),
    }
}

/// A division, its school places and the path in force (with the override's division), the same
/// for beds.
type Case<'a> = (
    &'a str,
    Option<f64>,
    (&'a Path, &'a str),
    Option<f64>,
    (&'a Path, &'a str),
);

fn reported_sum(code: &str) -> pb::Indicator {
    pb::Indicator {
        code: code.into(),
        display_name: code.into(),
        kind: pb::IndicatorKind::Sum as i32,
        source: pb::IndicatorSource::Reported as i32,
        unit: "places".into(),
        direction: pb::Direction::HigherIsBetter as i32,
        ..Default::default()
    }
}

fn milestone(year: i32, value: f64) -> pb::Milestone {
    pb::Milestone { year, value }
}

fn with_baseline(value: f64, year: i32, o: pb::TargetOverride) -> pb::TargetOverride {
    pb::TargetOverride {
        has_baseline: true,
        baseline_value: value,
        baseline_year: year,
        ..o
    }
}

/// 湖北's plan: school places on the straight lines of their milestones, overridden for 仙桃市
/// and again for 剅河镇; elderly-care beds judged by growth, overridden for two townships.
fn plan() -> pb::Plan {
    let mut plan = plans::provincial_plan();
    plan.indicators = vec![reported_sum("school_places"), reported_sum("elderly_beds")];
    plan.targets = vec![
        pb::Target {
            indicator: "indicators/school_places".into(),
            has_baseline: true,
            baseline_value: 100.0,
            baseline_year: 2020,
            target_value: 200.0,
            target_year: 2025,
            milestones: vec![milestone(2022, 150.0)],
            overrides: vec![
                with_baseline(
                    30.0,
                    2020,
                    pb::TargetOverride {
                        division: COUNTY.into(),
                        target_value: 80.0,
                        milestones: vec![milestone(2023, 60.0)],
                        ..Default::default()
                    },
                ),
                // A floor for the township: no baseline, its own year.
                pb::TargetOverride {
                    division: DUHU.into(),
                    target_value: 9.0,
                    target_year: 2024,
                    ..Default::default()
                },
            ],
            ..Default::default()
        },
        pb::Target {
            indicator: "indicators/elderly_beds".into(),
            has_baseline: true,
            baseline_value: 20.0,
            baseline_year: 2020,
            target_value: 200.0,
            target_year: 2025,
            method: pb::StatusMethod::GrowthRate as i32,
            on_track_ratio: Some(0.9),
            lagging_ratio: Some(0.5),
            overrides: vec![
                with_baseline(
                    150.0,
                    2020,
                    pb::TargetOverride {
                        division: DUHU.into(),
                        target_value: 300.0,
                        ..Default::default()
                    },
                ),
                with_baseline(
                    0.0,
                    2020,
                    pb::TargetOverride {
                        division: OTHER_TOWNSHIP.into(),
                        target_value: 100.0,
                        ..Default::default()
                    },
                ),
            ],
            ..Default::default()
        },
    ];
    plan
}

#[tokio::test]
async fn overrides_milestones_and_growth_match_an_oracle_down_the_branch() {
    let mut env = env().await;
    national(&mut env).await;
    let created = create_plan(&mut env, plan()).await.unwrap();
    // The plan reads back as sent, its overrides' years filled in.
    let school = &created.targets[0];
    assert_eq!(school.milestones, vec![milestone(2022, 150.0)]);
    assert_eq!(school.overrides[0].target_year, 2025);
    assert_eq!(school.overrides[1].target_year, 2024);
    assert!(!school.overrides[1].has_baseline);
    let beds = &created.targets[1];
    assert_eq!(
        pb::StatusMethod::try_from(beds.method),
        Ok(pb::StatusMethod::GrowthRate)
    );
    assert_eq!(
        (beds.on_track_ratio, beds.lagging_ratio),
        (Some(0.9), Some(0.5))
    );

    for (indicator, division, value) in [
        ("school_places", DUHU, 7.0),
        ("school_places", OTHER_TOWNSHIP, 40.0),
        ("elderly_beds", DUHU, 130.0),
        ("elderly_beds", OTHER_TOWNSHIP, 55.0),
    ] {
        report(&mut env, indicator, division, "2023", value, "").await;
    }
    let e = evaluate(&mut env, &created.name, DATE, "").await;

    // The paths in force, by the oracle's reading of the plan: the plan's own, 仙桃市's for
    // its subtree, 剅河镇's below it (its floor starts at the target, the year before the plan).
    let school_plan = Path {
        points: vec![(2020, 100.0), (2022, 150.0), (2025, 200.0)],
    };
    let school_county = Path {
        points: vec![(2020, 30.0), (2023, 60.0), (2025, 80.0)],
    };
    let school_duhu = Path {
        points: vec![(2020, 9.0), (2024, 9.0)],
    };
    let beds_plan = Path {
        points: vec![(2020, 20.0), (2025, 200.0)],
    };
    let beds_duhu = Path {
        points: vec![(2020, 150.0), (2025, 300.0)],
    };
    let beds_other = Path {
        points: vec![(2020, 0.0), (2025, 100.0)],
    };
    let cases: [Case; 6] = [
        (
            "divisions/42",
            Some(47.0),
            (&school_plan, ""),
            Some(185.0),
            (&beds_plan, ""),
        ),
        (
            "divisions/4290",
            Some(47.0),
            (&school_plan, ""),
            Some(185.0),
            (&beds_plan, ""),
        ),
        (
            COUNTY,
            Some(47.0),
            (&school_county, COUNTY),
            Some(185.0),
            (&beds_plan, ""),
        ),
        (
            OTHER_TOWNSHIP,
            Some(40.0),
            (&school_county, COUNTY),
            Some(55.0),
            (&beds_other, OTHER_TOWNSHIP),
        ),
        (
            DUHU,
            Some(7.0),
            (&school_duhu, DUHU),
            Some(130.0),
            (&beds_duhu, DUHU),
        ),
        (
            DUHU_VILLAGE_A,
            None,
            (&school_duhu, DUHU),
            None,
            (&beds_duhu, DUHU),
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (code, school, (school_path, school_by), beds, (beds_path, beds_by)) in cases {
        let got = division(&mut env, &e.name, code).await;
        let r = &got["school_places"];
        assert_eq!(r.value, school, "{code}");
        assert_eq!(r.target_division, full(school_by), "{code}");
        assert_eq!(r.target_value, Some(school_path.target().1), "{code}");
        approx(r.expected_value, school_path.expected());
        assert_eq!(
            pb::StatusMethod::try_from(r.method),
            Ok(pb::StatusMethod::Linear)
        );
        let want = school.map_or(pb::IndicatorStatus::NoData, |v| school_path.linear(v));
        assert_eq!(status(r), want, "{code} school places");
        seen.insert(want as i32);

        let r = &got["elderly_beds"];
        assert_eq!(r.value, beds, "{code}");
        assert_eq!(r.target_division, full(beds_by), "{code}");
        assert_eq!(r.target_value, Some(beds_path.target().1), "{code}");
        assert_eq!(
            pb::StatusMethod::try_from(r.method),
            Ok(pb::StatusMethod::GrowthRate)
        );
        let (want, ratio) = match beds {
            Some(v) => beds_path.growth(v, 0.9, 0.5),
            None => (pb::IndicatorStatus::NoData, None),
        };
        assert_eq!(status(r), want, "{code} beds");
        match ratio {
            Some(ratio) => approx(r.growth_ratio, ratio),
            None => assert_eq!(r.growth_ratio, None, "{code}"),
        }
        seen.insert(want as i32 + 100);
    }
    // 剅河镇 has fewer beds than its own baseline: off track, and the result says it moved away.
    let duhu = division(&mut env, &e.name, DUHU).await;
    assert!(duhu["elderly_beds"].growth_ratio.unwrap() < 0.0);
    assert!(duhu["elderly_beds"].status_note.contains("moved away"));
    // A baseline of 0 has no growth to measure: no status, and why.
    let other = division(&mut env, &e.name, OTHER_TOWNSHIP).await;
    assert_eq!(
        status(&other["elderly_beds"]),
        pb::IndicatorStatus::Undetermined
    );
    assert!(other["elderly_beds"].status_note.contains("baseline 0"));
    assert!(
        seen.len() >= 6,
        "the branch covers several statuses of both methods: {seen:?}"
    );

    // The report names the method, the override in force and the note.
    let report = env
        .evaluations
        .render_report(pb::RenderReportRequest {
            evaluation: e.name.clone(),
            division: DUHU.into(),
            format: pb::ReportFormat::Json as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let doc: serde_json::Value = serde_json::from_str(&report.content).unwrap();
    let beds = doc["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["indicator"] == "elderly_beds")
        .unwrap();
    assert_eq!(beds["method"], "growth_rate");
    assert_eq!(beds["target_division"], full(DUHU));
    assert!(beds["status_note"].as_str().unwrap().contains("moved away"));

    // 仙桃市's page shows its own target's milestone.
    let page = env
        .evaluations
        .render_report(pb::RenderReportRequest {
            evaluation: e.name.clone(),
            division: COUNTY.into(),
            format: pb::ReportFormat::Html as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        page.content.contains("里程碑 2023 年 60"),
        "milestone shown"
    );
}

#[tokio::test]
async fn targets_that_cannot_stand_are_refused_naming_the_field() {
    let mut env = env().await;
    national(&mut env).await;
    let mut p = plan();
    // A milestone outside the plan's period, one not after the baseline, a share override
    // above 1, thresholds upside down, a method the contract does not name, an override of the
    // plan's own scope and one named twice.
    p.targets[0].milestones = vec![milestone(2030, 150.0), milestone(2020, 120.0)];
    p.targets[1].lagging_ratio = Some(0.95);
    p.targets.push(pb::Target {
        indicator: "indicators/rural_facility_coverage".into(),
        target_value: 0.9,
        target_year: 2025,
        method: 99,
        overrides: vec![
            pb::TargetOverride {
                division: COUNTY.into(),
                target_value: 1.2,
                ..Default::default()
            },
            pb::TargetOverride {
                division: "divisions/42".into(),
                target_value: 0.8,
                ..Default::default()
            },
            pb::TargetOverride {
                division: COUNTY.into(),
                target_value: 0.8,
                ..Default::default()
            },
        ],
        ..Default::default()
    });
    let err = create_plan(&mut env, p).await.unwrap_err();
    for field in [
        "plan.targets[0].milestones[0].year",
        "plan.targets[0].milestones[1].year",
        "plan.targets[1].lagging_ratio",
        "plan.targets[2].method",
        "plan.targets[2].overrides[0].target_value",
        "plan.targets[2].overrides[1].division",
        "plan.targets[2].overrides[2].division",
    ] {
        assert_violation(&err, Code::InvalidArgument, field);
    }

    // Overrides outside the scope, or unknown to the registry, once the plan is otherwise sound.
    let mut p = plan();
    p.targets[0].overrides[0].division = DONGCHENG.into();
    p.targets[1].overrides[1].division = "divisions/429004999".into();
    let err = create_plan(&mut env, p).await.unwrap_err();
    assert_violation(
        &err,
        Code::InvalidArgument,
        "plan.targets[0].overrides[0].division",
    );
    assert_violation(
        &err,
        Code::InvalidArgument,
        "plan.targets[1].overrides[1].division",
    );

    assert!(
        !plan_names(&mut env)
            .await
            .contains(&"plans/hubei".to_owned()),
        "nothing stored"
    );
}

async fn revise(
    env: &mut Env,
    plan: &str,
    division: &str,
    date: &str,
    target_value: f64,
) -> Result<pb::TargetRevision, Status> {
    env.plans
        .revise_target(pb::ReviseTargetRequest {
            plan: plan.into(),
            revision: Some(pb::TargetRevision {
                indicator: "indicators/school_places".into(),
                division: division.into(),
                effective_date: date.into(),
                target_value,
                reason: "中期评估调整".into(),
                ..Default::default()
            }),
        })
        .await
        .map(|r| r.into_inner().revision.unwrap())
}

#[tokio::test]
async fn a_revised_target_is_used_only_from_its_date() {
    let mut env = env().await;
    national(&mut env).await;
    let created = create_plan(&mut env, plan()).await.unwrap();
    report(&mut env, "school_places", DUHU, "2023", 7.0, "").await;
    report(&mut env, "school_places", OTHER_TOWNSHIP, "2023", 40.0, "").await;
    // From July 2023: the plan's own target, 剅河镇's override, and a new one for another
    // township.
    let first = revise(&mut env, &created.name, "", "2023-07-01", 250.0)
        .await
        .unwrap();
    assert_eq!(first.name, "plans/hubei/revisions/1");
    assert_eq!(first.target_year, 2025, "the revised target's year");
    revise(&mut env, &created.name, DUHU, "2023-07-01", 12.0)
        .await
        .unwrap();
    revise(&mut env, &created.name, OTHER_TOWNSHIP, "2023-07-01", 50.0)
        .await
        .unwrap();
    // Outside the scope: refused, nothing recorded.
    let err = revise(&mut env, &created.name, DONGCHENG, "2023-07-01", 50.0)
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "revision.division");

    let before = evaluate(&mut env, &created.name, "2023-06-30", "").await;
    let after = evaluate(&mut env, &created.name, "2023-07-01", "").await;
    for (code, was, was_by, is, is_by) in [
        ("divisions/42", 200.0, "", 250.0, ""),
        (COUNTY, 80.0, COUNTY, 80.0, COUNTY),
        (DUHU, 9.0, DUHU, 12.0, DUHU),
        (OTHER_TOWNSHIP, 80.0, COUNTY, 50.0, OTHER_TOWNSHIP),
    ] {
        let r = &division(&mut env, &before.name, code).await["school_places"];
        assert_eq!(
            (r.target_value, r.target_division.as_str()),
            (Some(was), full(was_by).as_str()),
            "{code} before"
        );
        let r = &division(&mut env, &after.name, code).await["school_places"];
        assert_eq!(
            (r.target_value, r.target_division.as_str()),
            (Some(is), full(is_by).as_str()),
            "{code} after"
        );
    }

    // The history, in the order recorded; the plan itself as created.
    let listed = env
        .plans
        .list_target_revisions(pb::ListTargetRevisionsRequest {
            plan: created.name.clone(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.revisions.len(), 2);
    let rest = env
        .plans
        .list_target_revisions(pb::ListTargetRevisionsRequest {
            plan: created.name.clone(),
            page_size: 2,
            page_token: listed.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(rest.next_page_token.is_empty());
    let all: Vec<(String, String, f64)> = listed
        .revisions
        .iter()
        .chain(&rest.revisions)
        .map(|r| (r.name.clone(), r.division.clone(), r.target_value))
        .collect();
    assert_eq!(
        all,
        [
            ("plans/hubei/revisions/1".to_owned(), String::new(), 250.0),
            ("plans/hubei/revisions/2".to_owned(), full(DUHU), 12.0),
            (
                "plans/hubei/revisions/3".to_owned(),
                full(OTHER_TOWNSHIP),
                50.0
            ),
        ]
    );
    assert!(rest.revisions[0].reason == "中期评估调整" && !rest.revisions[0].actor.is_empty());
    let stored = env
        .plans
        .get_plan(pb::GetPlanRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(stored.targets[0].target_value, 200.0);
}
