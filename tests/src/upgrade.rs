//! Databases made by an earlier release, and what must read back from them after an upgrade.
//!
//! `tests/fixtures/upgrade/<release>/` holds, for each service, the SQLite file and a PostgreSQL
//! dump that [`populate`] left through the release's binaries, plus `expected.txt`: what
//! [`read_back`] read from them then. A newer build must migrate them in place and read back the
//! same lines. `cargo run -p shequ-system-tests --bin make-upgrade-fixture` makes a new set.

use std::path::{Path, PathBuf};

use prost_types::{FieldMask, Timestamp};
use shequ_proto::monitoring::v1 as monitoring;
use shequ_proto::monitoring::v1::indicator_service_client::IndicatorServiceClient;
use shequ_proto::registry::v1 as registry;
use shequ_proto::survey::v1 as survey;
use shequ_testkit::fixtures;

use crate::System;
use crate::survey::{open_round, response};

/// The services, in the order of [`System::databases`].
pub const SERVICES: [&str; 3] = ["registry", "survey", "monitoring"];

/// 前门街道 and three of its communities.
const QIANMEN: &str = "divisions/110101011";
const QIANMEN_1: &str = "divisions/110101011001";
const QIANMEN_6: &str = "divisions/110101011006";
const QIANMEN_10: &str = "divisions/110101011010";
const DONGCHENG: &str = "divisions/110101";

/// The committed fixture sets, one directory per release.
pub fn fixture_sets() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/upgrade");
    let mut sets: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    sets.sort();
    sets
}

/// The facility creations [`populate`] sends, each with its request id.
fn creations() -> Vec<registry::CreateFacilityRequest> {
    [QIANMEN_1, QIANMEN_6, QIANMEN_10]
        .into_iter()
        .enumerate()
        .map(|(i, unit)| {
            let mut facility = fixtures::facility(unit);
            facility.display_name = format!("前门社区服务站 {}", i + 1);
            registry::CreateFacilityRequest {
                facility: Some(facility),
                request_id: format!("upgrade-{i}"),
                reason: "opened".into(),
            }
        })
        .collect()
}

/// Writes what a release keeps: facilities created, updated and deleted with their history; a
/// published questionnaire, an open round with responses, one invalidated; the national plan, a
/// reported value and an evaluation.
pub async fn populate(sys: &System) -> anyhow::Result<()> {
    let mut facilities = sys.facilities().await?;
    let mut names = Vec::new();
    for request in creations() {
        let created = facilities
            .create_facility(request)
            .await?
            .into_inner()
            .facility
            .ok_or_else(|| anyhow::anyhow!("no facility"))?;
        names.push(created.name);
    }
    facilities
        .update_facility(registry::UpdateFacilityRequest {
            facility: Some(registry::Facility {
                name: names[0].clone(),
                address: "前门大街 2 号".into(),
                self_service_terminals: 4,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["address".into(), "self_service_terminals".into()],
            }),
            reason: "moved".into(),
        })
        .await?;
    facilities
        .delete_facility(registry::DeleteFacilityRequest {
            name: names[2].clone(),
            etag: String::new(),
            reason: "closed".into(),
        })
        .await?;

    let round = open_round(sys.survey.channel().await?, QIANMEN, 1).await;
    let mut responses = sys.responses().await?;
    for (i, (unit, rating)) in [
        (QIANMEN_1, 5),
        (QIANMEN_1, 4),
        (QIANMEN_6, 2),
        (QIANMEN_10, 3),
    ]
    .into_iter()
    .enumerate()
    {
        responses
            .submit_response(survey::SubmitResponseRequest {
                parent: round.clone(),
                response: Some(response(&format!("upgrade-{i}"), unit, rating)),
            })
            .await?;
    }
    responses
        .invalidate_response(survey::InvalidateResponseRequest {
            name: format!("{round}/responses/upgrade-3"),
            reason: "duplicate interview".into(),
        })
        .await?;

    let plan = sys
        .plans()
        .await?
        .load_national_plan(monitoring::LoadNationalPlanRequest {})
        .await?
        .into_inner()
        .plan
        .ok_or_else(|| anyhow::anyhow!("no plan"))?
        .name;
    IndicatorServiceClient::new(sys.monitoring.channel().await?)
        .report_value(monitoring::ReportValueRequest {
            value: Some(monitoring::ReportedValue {
                indicator: "indicators/social_workers".into(),
                division: QIANMEN_1.into(),
                period: "2025".into(),
                value: 3.0,
                reason: "年报".into(),
                ..Default::default()
            }),
        })
        .await?;
    sys.evaluations()
        .await?
        .evaluate_plan(monitoring::EvaluatePlanRequest {
            plan,
            evaluation_date: "2025-06-30".into(),
            survey_round: round,
        })
        .await?;
    Ok(())
}

fn time(t: &Option<Timestamp>) -> String {
    t.as_ref()
        .map(|t| format!("{}.{:09}", t.seconds, t.nanos))
        .unwrap_or_else(|| "-".into())
}

fn number(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}")).unwrap_or_else(|| "-".into())
}

/// Sends each creation of [`populate`] again under its request id, with another body, as the
/// principal that sent it (development mode's): the key must still be that principal's, so the
/// call is refused naming the facility it made, and nothing is created. One line a key: its
/// outcome and the display name of the facility the refusal names.
pub async fn reuse_request_ids(sys: &System) -> anyhow::Result<Vec<String>> {
    let mut facilities = sys.facilities().await?;
    let listed = facilities
        .list_facilities(registry::ListFacilitiesRequest {
            parent: DONGCHENG.into(),
            page_size: 100,
            show_deleted: true,
            ..Default::default()
        })
        .await?
        .into_inner()
        .facilities;
    let mut lines = Vec::new();
    for mut request in creations() {
        let key = request.request_id.clone();
        if let Some(f) = request.facility.as_mut() {
            f.display_name = "重新发送".into();
        }
        let line = match facilities.create_facility(request).await {
            Ok(created) => format!(
                "{key} created {}",
                created.into_inner().facility.unwrap_or_default().name
            ),
            Err(status) => {
                let named = listed
                    .iter()
                    .find(|f| status.message().contains(&f.name))
                    .map_or("-", |f| f.display_name.as_str());
                format!("{key} {:?} {named}", status.code())
            }
        };
        lines.push(line);
    }
    Ok(lines)
}

/// What a client reads from the three services, one fact a line, in a stable order.
pub async fn read_back(sys: &System) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let mut facilities = sys.facilities().await?;
    let mut listed = facilities
        .list_facilities(registry::ListFacilitiesRequest {
            parent: DONGCHENG.into(),
            page_size: 100,
            show_deleted: true,
            ..Default::default()
        })
        .await?
        .into_inner()
        .facilities;
    listed.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    for f in &listed {
        lines.push(format!(
            "facility {} unit={} address={} terminals={} revision={} created={} updated={} deleted={}",
            f.display_name,
            f.leaf_unit,
            f.address,
            f.self_service_terminals,
            f.revision,
            time(&f.create_time),
            time(&f.update_time),
            time(&f.delete_time),
        ));
        let revisions = facilities
            .list_facility_revisions(registry::ListFacilityRevisionsRequest {
                name: f.name.clone(),
                page_size: 100,
                ..Default::default()
            })
            .await?
            .into_inner()
            .revisions;
        for r in revisions {
            lines.push(format!(
                "  revision {} kind={} actor={} reason={} fields={} at={}",
                r.revision,
                r.kind,
                r.actor,
                r.reason,
                r.changed_fields.join(","),
                time(&r.time),
            ));
        }
    }

    let mut rounds = sys.rounds().await?;
    let listed = rounds
        .list_rounds(survey::ListRoundsRequest {
            page_size: 10,
            ..Default::default()
        })
        .await?
        .into_inner()
        .rounds;
    let mut responses = sys.responses().await?;
    for r in &listed {
        lines.push(format!(
            "round {} state={} region={} version={} created={}",
            r.display_name,
            r.state,
            r.region,
            r.questionnaire_version,
            time(&r.create_time),
        ));
        for i in 0..4 {
            let got = responses
                .get_response(survey::GetResponseRequest {
                    name: format!("{}/responses/upgrade-{i}", r.name),
                })
                .await?
                .into_inner()
                .response
                .ok_or_else(|| anyhow::anyhow!("no response"))?;
            lines.push(format!(
                "  response upgrade-{i} unit={} valid={} invalidated={} score={} received={}",
                got.leaf_unit,
                got.valid,
                got.invalidation
                    .map(|v| format!("{} {}", v.reason, time(&v.time)))
                    .unwrap_or_else(|| "-".into()),
                number(got.satisfaction_score),
                time(&got.receive_time),
            ));
        }
        for division in [QIANMEN, QIANMEN_1] {
            let results = rounds
                .get_round_results(survey::GetRoundResultsRequest {
                    round: r.name.clone(),
                    division: division.into(),
                })
                .await?
                .into_inner();
            lines.push(format!(
                "  results {division} valid={} scored={} index={}",
                results.valid_responses,
                results.scored_responses,
                number(results.satisfaction_index),
            ));
        }
    }

    let plans = sys
        .plans()
        .await?
        .list_plans(monitoring::ListPlansRequest {
            page_size: 10,
            ..Default::default()
        })
        .await?
        .into_inner()
        .plans;
    for p in &plans {
        lines.push(format!(
            "plan {} {} targets={}",
            p.name,
            p.display_name,
            p.targets.len()
        ));
    }
    let history = IndicatorServiceClient::new(sys.monitoring.channel().await?)
        .list_reported_value_history(monitoring::ListReportedValueHistoryRequest {
            indicator: "indicators/social_workers".into(),
            division: QIANMEN_1.into(),
        })
        .await?
        .into_inner()
        .values;
    for v in history {
        lines.push(format!(
            "reported {} {} period={} value={} actor={} reason={}",
            v.indicator, v.division, v.period, v.value, v.actor, v.reason
        ));
    }
    let mut evaluations = sys.evaluations().await?;
    for p in &plans {
        let listed = evaluations
            .list_evaluations(monitoring::ListEvaluationsRequest {
                parent: p.name.clone(),
                page_size: 10,
                ..Default::default()
            })
            .await?
            .into_inner()
            .evaluations;
        for e in listed {
            lines.push(format!(
                "evaluation of {} date={} divisions={} leaf_units={} created={}",
                p.name,
                e.evaluation_date,
                e.divisions,
                e.leaf_units,
                time(&e.create_time),
            ));
            for division in [DONGCHENG, QIANMEN, QIANMEN_1] {
                let result = evaluations
                    .get_division_result(monitoring::GetDivisionResultRequest {
                        evaluation: e.name.clone(),
                        division: division.into(),
                    })
                    .await?
                    .into_inner()
                    .result
                    .ok_or_else(|| anyhow::anyhow!("no result"))?;
                for r in result.results {
                    lines.push(format!(
                        "  {division} {} value={} expected={} target={} status={}",
                        r.indicator,
                        number(r.value),
                        number(r.expected_value),
                        number(r.target_value),
                        r.status,
                    ));
                }
            }
        }
    }
    Ok(lines)
}
