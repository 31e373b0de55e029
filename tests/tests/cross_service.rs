//! The three service binaries as separate processes on loopback, each with its own database
//! (SQLite, or PostgreSQL with `SHEQU_TEST_DATABASE_URL`), driven over gRPC on the sample
//! divisions (东城区 and 仙桃市) with hand-computed expectations.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use prost_types::FieldMask;
use shequ_proto::monitoring::v1 as monitoring;
use shequ_proto::registry::v1 as registry;
use shequ_proto::survey::v1 as survey;
use shequ_system_tests::System;
use shequ_system_tests::survey::response;
use shequ_testkit::fixtures;
use shequ_testkit::otlp::{Collector, ExportedSpan};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// 东城区: 169 leaf units, all communities.
const DONGCHENG: &str = "divisions/110101";
const DONGCHENG_LEAF_UNITS: usize = 169;
/// 前门街道: three communities.
const QIANMEN: &str = "divisions/110101011";
const QIANMEN_1: &str = "divisions/110101011001";
const QIANMEN_6: &str = "divisions/110101011006";
const QIANMEN_10: &str = "divisions/110101011010";

/// The date every evaluation is made for.
const EVALUATION_DATE: &str = "2023-12-31";

async fn system() -> System {
    System::start(&[]).await.expect("the three services start")
}

/// The leaf units under `parent`, in code order, as the registry streams them.
async fn leaf_units(sys: &System, parent: &str) -> Vec<String> {
    let mut stream = sys
        .facilities()
        .await
        .unwrap()
        .stream_leaf_unit_facts(registry::StreamLeafUnitFactsRequest {
            parent: parent.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(message) = stream.next().await {
        for f in message.unwrap().facts {
            out.push(format!("divisions/{:012}", f.code));
        }
    }
    out
}

/// A published one-question questionnaire and an open round over `region` needing `min` valid
/// responses per leaf unit: the round's name.
async fn open_round(sys: &System, region: &str, min: i32) -> String {
    shequ_system_tests::survey::open_round(sys.survey.channel().await.unwrap(), region, min).await
}

fn outcomes(ack: &survey::BulkSubmitResponsesResponse) -> Vec<survey::SubmitOutcome> {
    ack.results
        .iter()
        .map(|r| survey::SubmitOutcome::try_from(r.outcome).unwrap())
        .collect()
}

/// Sends `batches` on one bulk stream and reads every result.
async fn bulk_submit(
    sys: &System,
    batches: Vec<survey::BulkSubmitResponsesRequest>,
) -> Vec<survey::BulkSubmitResponsesResponse> {
    let mut stream = sys
        .responses()
        .await
        .unwrap()
        .bulk_submit_responses(tokio_stream::iter(batches))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(ack) = stream.next().await {
        out.push(ack.expect("a bulk batch fails"));
    }
    out
}

async fn national_plan(sys: &System) -> String {
    sys.plans()
        .await
        .unwrap()
        .load_national_plan(monitoring::LoadNationalPlanRequest {})
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap()
        .name
}

async fn evaluate(sys: &System, plan: &str, round: &str) -> monitoring::Evaluation {
    sys.evaluations()
        .await
        .unwrap()
        .evaluate_plan(monitoring::EvaluatePlanRequest {
            plan: plan.into(),
            evaluation_date: EVALUATION_DATE.into(),
            survey_round: round.into(),
        })
        .await
        .unwrap_or_else(|s| panic!("evaluating {plan} failed: {s:?}"))
        .into_inner()
        .evaluation
        .unwrap()
}

/// One division's indicator values in an evaluation, by indicator code (`None`: no data).
async fn values(sys: &System, evaluation: &str, division: &str) -> HashMap<String, Option<f64>> {
    sys.evaluations()
        .await
        .unwrap()
        .get_division_result(monitoring::GetDivisionResultRequest {
            evaluation: evaluation.into(),
            division: division.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .results
        .into_iter()
        .map(|r| {
            (
                r.indicator.trim_start_matches("indicators/").to_owned(),
                r.value,
            )
        })
        .collect()
}

#[track_caller]
fn assert_value(values: &HashMap<String, Option<f64>>, indicator: &str, expected: Option<f64>) {
    let got = *values
        .get(indicator)
        .unwrap_or_else(|| panic!("no `{indicator}` among {values:?}"));
    let same = match (got, expected) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    };
    assert!(same, "`{indicator}`: expected {expected:?}, got {got:?}");
}

async fn create_facility(sys: &System, facility: registry::Facility) -> registry::Facility {
    let unit = facility.leaf_unit.clone();
    sys.facilities()
        .await
        .unwrap()
        .create_facility(registry::CreateFacilityRequest {
            facility: Some(facility),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("creating a facility in {unit} failed: {s:?}"))
        .into_inner()
        .facility
        .unwrap()
}

#[tokio::test]
async fn a_facility_change_shows_in_the_next_evaluation() {
    let sys = system().await;
    let plan = national_plan(&sys).await;

    let before = evaluate(&sys, &plan, "").await;
    assert_eq!(before.leaf_units, 936, "the sample's leaf units");
    let q = values(&sys, &before.name, QIANMEN).await;
    assert_value(&q, "urban_facility_coverage", Some(0.0));
    assert_value(&q, "activity_area_share", None);

    // 前门 …001 and …006 get a facility each: 300 of 500 m² for activities.
    let _first = create_facility(&sys, fixtures::facility(QIANMEN_1)).await;
    let second = create_facility(&sys, fixtures::facility(QIANMEN_6)).await;
    let added = evaluate(&sys, &plan, "").await;
    assert_ne!(
        added.registry_change_cursor, before.registry_change_cursor,
        "the monitor read the registry again"
    );
    let q = values(&sys, &added.name, QIANMEN).await;
    assert_value(&q, "urban_facility_coverage", Some(2.0 / 3.0));
    assert_value(&q, "activity_area_share", Some(600.0 / 1000.0));
    let d = values(&sys, &added.name, DONGCHENG).await;
    assert_value(&d, "urban_facility_coverage", Some(2.0 / 169.0));

    // …006 shrinks its activity area to 100 m²; …001 is closed down (soft-deleted).
    let mut shrunk = second.clone();
    shrunk.activity_area_m2 = 100.0;
    sys.facilities()
        .await
        .unwrap()
        .update_facility(registry::UpdateFacilityRequest {
            facility: Some(shrunk),
            update_mask: Some(FieldMask {
                paths: vec!["activity_area_m2".into()],
            }),
            reason: "活动用房改作仓库".into(),
        })
        .await
        .unwrap();
    let mut facilities = sys.facilities().await.unwrap();
    let listed = facilities
        .list_facilities(registry::ListFacilitiesRequest {
            parent: QIANMEN_1.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .facilities;
    assert_eq!(listed.len(), 1, "one facility in {QIANMEN_1}: {listed:?}");
    facilities
        .delete_facility(registry::DeleteFacilityRequest {
            name: listed[0].name.clone(),
            reason: "撤并".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let changed = evaluate(&sys, &plan, "").await;
    let q = values(&sys, &changed.name, QIANMEN).await;
    assert_value(&q, "urban_facility_coverage", Some(1.0 / 3.0));
    assert_value(&q, "activity_area_share", Some(100.0 / 500.0));
    let unit = values(&sys, &changed.name, QIANMEN_1).await;
    assert_value(&unit, "urban_facility_coverage", Some(0.0));
    // The earlier evaluation is kept as it was.
    let q = values(&sys, &added.name, QIANMEN).await;
    assert_value(&q, "urban_facility_coverage", Some(2.0 / 3.0));
}

#[tokio::test]
async fn a_survey_round_moves_coverage_and_satisfaction() {
    let sys = system().await;
    let round = open_round(&sys, QIANMEN, 2).await;
    let plan = national_plan(&sys).await;

    let before = evaluate(&sys, &plan, &round).await;
    assert_eq!(before.survey_round, round);
    let q = values(&sys, &before.name, QIANMEN).await;
    assert_value(&q, "survey_coverage", Some(0.0));
    assert_value(&q, "satisfaction_index", None);

    // …001 twice (100, 50), …006 twice (75, 25), …010 once (0): two of three units reach the
    // minimum of 2; the mean score is 250 / 5 = 50.
    let batch = survey::BulkSubmitResponsesRequest {
        parent: round.clone(),
        responses: vec![
            response("r1", QIANMEN_1, 5),
            response("r2", QIANMEN_1, 3),
            response("r3", QIANMEN_6, 4),
            response("r4", QIANMEN_6, 2),
            response("r5", QIANMEN_10, 1),
        ],
    };
    let acks = bulk_submit(&sys, vec![batch]).await;
    assert_eq!(outcomes(&acks[0]), vec![survey::SubmitOutcome::Accepted; 5]);

    let after = evaluate(&sys, &plan, &round).await;
    let q = values(&sys, &after.name, QIANMEN).await;
    assert_value(&q, "survey_coverage", Some(2.0 / 3.0));
    assert_value(&q, "satisfaction_index", Some(50.0));
    let unit = values(&sys, &after.name, QIANMEN_6).await;
    assert_value(&unit, "survey_coverage", Some(1.0));
    assert_value(&unit, "satisfaction_index", Some(50.0));
    let unit = values(&sys, &after.name, QIANMEN_10).await;
    assert_value(&unit, "survey_coverage", Some(0.0));
    assert_value(&unit, "satisfaction_index", Some(0.0));
    // Outside the round's region there is nothing to cover.
    let xiantao = values(&sys, &after.name, "divisions/429004").await;
    assert_value(&xiantao, "survey_coverage", None);
    // The earlier evaluation is kept as it was.
    let q = values(&sys, &before.name, QIANMEN).await;
    assert_value(&q, "survey_coverage", Some(0.0));
}

/// The client's trace: a fixed trace id and the id of the client's own span.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn one_trace_spans_a_monitoring_call_and_the_calls_it_makes() {
    let mut collector = Collector::start().await.unwrap();
    let endpoint = collector.endpoint();
    let sys = System::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        // Export finished spans within 100 ms rather than 5 s; metrics rarely.
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "600000"),
    ])
    .await
    .unwrap();
    let round = open_round(&sys, QIANMEN, 1).await;
    let plan = national_plan(&sys).await;

    let mut request = tonic::Request::new(monitoring::EvaluatePlanRequest {
        plan: plan.clone(),
        evaluation_date: EVALUATION_DATE.into(),
        survey_round: round.clone(),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{CLIENT_SPAN}-01").parse().unwrap(),
    );
    sys.evaluations()
        .await
        .unwrap()
        .evaluate_plan(request)
        .await
        .unwrap();

    // Wait until the three services have exported their spans of the trace: the monitor's call
    // as a child of the client's span, the registry's facts stream and the survey's round facts
    // each as a child of a span of the monitor.
    let mut spans: Vec<ExportedSpan> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let complete = |spans: &[ExportedSpan]| {
        let ours: Vec<&ExportedSpan> = spans.iter().filter(|s| s.trace_id == TRACE_ID).collect();
        let monitor_ids: BTreeSet<&str> = ours
            .iter()
            .filter(|s| s.service == "shequ-monitoring")
            .map(|s| s.span_id.as_str())
            .collect();
        let entry = ours.iter().any(|s| {
            s.service == "shequ-monitoring"
                && s.name.ends_with("/EvaluatePlan")
                && s.parent_span_id == CLIENT_SPAN
        });
        let called = |service: &str, method: &str| {
            ours.iter().any(|s| {
                s.service == service
                    && s.name.ends_with(method)
                    && monitor_ids.contains(s.parent_span_id.as_str())
            })
        };
        entry
            && called("shequ-registry", "/StreamLeafUnitFacts")
            && called("shequ-survey", "/StreamRoundFacts")
    };
    while !complete(&spans) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match collector.next_spans(left).await {
            Some(more) => spans.extend(more),
            None => {
                let ours: Vec<_> = spans.iter().filter(|s| s.trace_id == TRACE_ID).collect();
                panic!(
                    "within 120 s the collector did not receive the monitor's EvaluatePlan span \
                     (parent {CLIENT_SPAN}) and the registry's and survey's spans under it in \
                     trace {TRACE_ID}; spans of the trace: {ours:#?}; {} spans of other traces",
                    spans.len() - ours.len()
                );
            }
        }
    }
    // No other trace was started for the call: the registry's and survey's spans of the facts
    // calls made after the client's request all carry its trace id.
    let strays: Vec<_> = spans
        .iter()
        .filter(|s| {
            s.trace_id != TRACE_ID
                && (s.name.ends_with("/EvaluatePlan") || s.name.ends_with("/StreamRoundFacts"))
        })
        .collect();
    assert!(strays.is_empty(), "spans outside the trace: {strays:#?}");
}

/// The gRPC services each binary registers, besides health.
const SERVICES: [(&str, &[&str]); 3] = [
    (
        "shequ-registry",
        &[
            "shequ.registry.v1.DivisionService",
            "shequ.registry.v1.FacilityService",
        ],
    ),
    (
        "shequ-survey",
        &[
            "shequ.survey.v1.QuestionnaireService",
            "shequ.survey.v1.RoundService",
            "shequ.survey.v1.ResponseService",
        ],
    ),
    (
        "shequ-monitoring",
        &[
            "shequ.monitoring.v1.IndicatorService",
            "shequ.monitoring.v1.PlanService",
            "shequ.monitoring.v1.EvaluationService",
        ],
    ),
];

#[tokio::test]
async fn every_service_answers_health_readiness_and_reflection() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut sys = system().await;
    for (binary, services) in SERVICES {
        let service = match binary {
            "shequ-registry" => &sys.registry,
            "shequ-survey" => &sys.survey,
            _ => &sys.monitoring,
        };
        let channel = service.channel().await.unwrap();
        let mut health = HealthClient::new(channel.clone());
        for name in ["", "readiness"].iter().chain(services.iter()) {
            let status = health
                .check(HealthCheckRequest {
                    service: (*name).into(),
                })
                .await
                .unwrap_or_else(|s| panic!("{binary}: health of `{name}`: {s:?}"))
                .into_inner()
                .status;
            assert_eq!(
                status,
                ServingStatus::Serving as i32,
                "{binary}: health of `{name}`"
            );
        }

        let mut reflection = ServerReflectionClient::new(channel);
        let mut answers = reflection
            .server_reflection_info(tokio_stream::iter([ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            }]))
            .await
            .unwrap_or_else(|s| panic!("{binary}: reflection v1: {s:?}"))
            .into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) = answers
            .next()
            .await
            .unwrap_or_else(|| panic!("{binary}: reflection answered nothing"))
            .unwrap()
            .message_response
        else {
            panic!("{binary}: reflection did not list services");
        };
        let listed: BTreeSet<String> = list.service.into_iter().map(|s| s.name).collect();
        for expected in services.iter().chain(&["grpc.health.v1.Health"]) {
            assert!(
                listed.contains(*expected),
                "{binary}: reflection lists {listed:?}, not {expected}"
            );
        }
    }

    // SIGTERM: each process drains and exits cleanly.
    for service in [&mut sys.monitoring, &mut sys.survey, &mut sys.registry] {
        let exit = service.terminate().await.unwrap();
        assert!(
            exit.success(),
            "exit after SIGTERM: {exit}\n{}",
            service.stderr()
        );
    }
}

/// 1000 responses in 20 batches of 50 over 东城区's 169 units: response `i` goes to unit
/// `i % 169` and rates `1 + i % 5`.
fn bulk_batches(round: &str, units: &[String]) -> Vec<survey::BulkSubmitResponsesRequest> {
    (0..20)
        .map(|b| survey::BulkSubmitResponsesRequest {
            parent: round.into(),
            responses: (b * 50..(b + 1) * 50)
                .map(|i| {
                    response(
                        &format!("r{i:04}"),
                        &units[i % units.len()],
                        1 + (i % 5) as i32,
                    )
                })
                .collect(),
        })
        .collect()
}

#[tokio::test]
async fn a_survey_killed_mid_stream_loses_nothing_acknowledged_and_stores_nothing_twice() {
    let mut sys = system().await;
    let units = leaf_units(&sys, DONGCHENG).await;
    assert_eq!(units.len(), DONGCHENG_LEAF_UNITS);
    let round = open_round(&sys, DONGCHENG, 6).await;
    let batches = bulk_batches(&round, &units);

    // Three batches sent and acknowledged one by one; two more sent, then SIGKILL.
    let mut client = sys.responses().await.unwrap();
    let (tx, rx) = mpsc::channel(8);
    let mut acks = client
        .bulk_submit_responses(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let mut acknowledged = BTreeSet::new();
    for batch in &batches[..3] {
        tx.send(batch.clone()).await.unwrap();
        let ack = acks.next().await.unwrap().unwrap();
        assert_eq!(outcomes(&ack), vec![survey::SubmitOutcome::Accepted; 50]);
        acknowledged.extend(ack.results.iter().map(|r| r.response_id.clone()));
    }
    tx.send(batches[3].clone()).await.unwrap();
    tx.send(batches[4].clone()).await.unwrap();
    sys.survey.kill().await.unwrap();
    // Whatever else arrived before the kill is acknowledged too.
    while let Some(Ok(ack)) = acks.next().await {
        assert!(
            outcomes(&ack)
                .iter()
                .all(|o| *o == survey::SubmitOutcome::Accepted),
            "{ack:?}"
        );
        acknowledged.extend(ack.results.iter().map(|r| r.response_id.clone()));
    }
    drop((tx, acks, client));

    sys.survey.restart().await.unwrap();
    // Every acknowledged response survived the crash.
    let mut responses = sys.responses().await.unwrap();
    for id in &acknowledged {
        responses
            .get_response(survey::GetResponseRequest {
                name: format!("{round}/responses/{id}"),
            })
            .await
            .unwrap_or_else(|s| panic!("acknowledged response {id} lost: {s:?}"));
    }

    // The client resends everything: the acknowledged responses are duplicates, a batch in flight
    // at the kill was committed whole or not at all, the rest is stored now.
    let acks = bulk_submit(&sys, batches.clone()).await;
    assert_eq!(acks.len(), 20, "one result per batch");
    let mut accepted = 0;
    for (b, ack) in acks.iter().enumerate() {
        let got = outcomes(ack);
        assert_eq!(got.len(), 50, "batch {b}");
        let all_dup = got.iter().all(|o| *o == survey::SubmitOutcome::Duplicate);
        let all_new = got.iter().all(|o| *o == survey::SubmitOutcome::Accepted);
        match b {
            0..3 => assert!(all_dup, "acknowledged batch {b} resent: {got:?}"),
            3..5 => assert!(
                all_dup || all_new,
                "batch {b}, in flight at the kill, was half-stored: {got:?}"
            ),
            _ => assert!(all_new, "batch {b}, never sent before: {got:?}"),
        }
        for r in &ack.results {
            let outcome = survey::SubmitOutcome::try_from(r.outcome).unwrap();
            if acknowledged.contains(&r.response_id) {
                assert_eq!(
                    outcome,
                    survey::SubmitOutcome::Duplicate,
                    "{}",
                    r.response_id
                );
            }
            if outcome == survey::SubmitOutcome::Accepted {
                accepted += 1;
            }
        }
    }
    assert!(accepted >= 1000 - 250, "accepted on resend: {accepted}");

    // 1000 responses, 200 of each rating: mean (0 + 25 + 50 + 75 + 100) / 5 = 50. Units 0..=154
    // got six responses (1000 = 5 × 169 + 155), the other 14 five: 155 of 169 reach the minimum.
    let mut rounds = sys.rounds().await.unwrap();
    let results = rounds
        .get_round_results(survey::GetRoundResultsRequest {
            round: round.clone(),
            division: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(results.valid_responses, 1000, "each response stored once");
    assert_eq!(results.satisfaction_index, Some(50.0));
    let coverage = rounds
        .get_round_coverage(survey::GetRoundCoverageRequest {
            round: round.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (coverage.covered_leaf_units, coverage.leaf_units),
        (155, 169)
    );

    // A second full resend changes nothing.
    let again = bulk_submit(&sys, batches).await;
    assert!(
        again
            .iter()
            .all(|a| outcomes(a) == vec![survey::SubmitOutcome::Duplicate; 50]),
        "a second resend stored something"
    );
    let unchanged = rounds
        .get_round_results(survey::GetRoundResultsRequest {
            round: round.clone(),
            division: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unchanged, results);

    // The monitor reads the restarted survey service on its old address.
    let plan = national_plan(&sys).await;
    let e = evaluate(&sys, &plan, &round).await;
    let d = values(&sys, &e.name, DONGCHENG).await;
    assert_value(&d, "survey_coverage", Some(155.0 / 169.0));
    assert_value(&d, "satisfaction_index", Some(50.0));
}

#[tokio::test]
async fn a_registry_killed_mid_creation_keeps_each_acknowledged_facility_once() {
    let mut sys = system().await;
    let units = leaf_units(&sys, DONGCHENG).await;
    // 40 facilities, one in each of 东城区's first 40 units, created by four clients at once.
    let facilities: Vec<(String, registry::Facility)> = units[..40]
        .iter()
        .enumerate()
        .map(|(i, unit)| (format!("create-{i:02}"), fixtures::facility(unit)))
        .collect();
    let request = |i: usize| registry::CreateFacilityRequest {
        facility: Some(facilities[i].1.clone()),
        request_id: facilities[i].0.clone(),
        reason: "新建".into(),
    };

    let (acks_tx, mut acks_rx) = mpsc::unbounded_channel();
    let mut workers = Vec::new();
    for w in 0..4 {
        let mut client = sys.facilities().await.unwrap();
        let requests: Vec<_> = (w * 10..(w + 1) * 10).map(|i| (i, request(i))).collect();
        let acks = acks_tx.clone();
        workers.push(tokio::spawn(async move {
            for (i, r) in requests {
                match client.create_facility(r).await {
                    Ok(created) => {
                        let _ = acks.send((i, created.into_inner().facility.unwrap().name));
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    drop(acks_tx);
    let mut acknowledged: BTreeMap<usize, String> = BTreeMap::new();
    while acknowledged.len() < 8 {
        let (i, name) = acks_rx.recv().await.expect("creations acknowledged");
        acknowledged.insert(i, name);
    }
    sys.registry.kill().await.unwrap();
    for w in workers {
        w.await.unwrap();
    }
    while let Ok((i, name)) = acks_rx.try_recv() {
        acknowledged.insert(i, name);
    }
    assert!(
        acknowledged.len() < 40,
        "the kill came after every creation"
    );

    // While the registry is down the monitor cannot evaluate, and says so.
    let plan = national_plan(&sys).await;
    let down = sys
        .evaluations()
        .await
        .unwrap()
        .evaluate_plan(monitoring::EvaluatePlanRequest {
            plan: plan.clone(),
            evaluation_date: EVALUATION_DATE.into(),
            survey_round: String::new(),
        })
        .await
        .expect_err("an evaluation without the registry");
    assert_eq!(down.code(), tonic::Code::Unavailable, "{down:?}");

    sys.registry.restart().await.unwrap();
    // Every request is resent with its request id: an acknowledged one returns the facility made
    // before the crash.
    let mut client = sys.facilities().await.unwrap();
    let mut names = BTreeSet::new();
    for (i, (request_id, _)) in facilities.iter().enumerate() {
        let name = client
            .create_facility(request(i))
            .await
            .unwrap_or_else(|s| panic!("resending {request_id} failed: {s:?}"))
            .into_inner()
            .facility
            .unwrap()
            .name;
        if let Some(before) = acknowledged.get(&i) {
            assert_eq!(&name, before, "{request_id} made a second facility");
        }
        names.insert(name);
    }
    assert_eq!(names.len(), 40, "one facility per request");

    let listed = client
        .list_facilities(registry::ListFacilitiesRequest {
            parent: DONGCHENG.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let stored: BTreeSet<String> = listed.facilities.iter().map(|f| f.name.clone()).collect();
    assert_eq!(
        stored, names,
        "the registry holds exactly the 40 facilities"
    );
    let per_unit: BTreeSet<&str> = listed
        .facilities
        .iter()
        .map(|f| f.leaf_unit.as_str())
        .collect();
    assert_eq!(per_unit.len(), 40, "one facility in each unit");

    // The monitor reads the restarted registry on its old address: 40 of 东城区's 169
    // communities are covered.
    let e = evaluate(&sys, &plan, "").await;
    let d = values(&sys, &e.name, DONGCHENG).await;
    assert_value(&d, "urban_facility_coverage", Some(40.0 / 169.0));
}
