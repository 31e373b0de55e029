//! Clients that give up and networks that fail: write calls cut off by short deadlines on every
//! service, and a survey whose PostgreSQL connections are cut or swallowed under load. Afterwards
//! every well-behaved call succeeds, nothing that exists is reported missing, and no service
//! leaves a session idle inside a transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use shequ_proto::monitoring::v1 as monitoring;
use shequ_proto::monitoring::v1::indicator_service_client::IndicatorServiceClient;
use shequ_proto::registry::v1 as registry;
use shequ_proto::survey::v1 as survey;
use shequ_proto::survey::v1::response_service_client::ResponseServiceClient;
use shequ_system_tests::System;
use shequ_system_tests::survey::{open_round, response};
use shequ_system_tests::{Launch, Service};
use shequ_testkit::proxy::TcpProxy;
use shequ_testkit::{TestDatabase, fixtures};
use tonic::transport::Channel;
use tonic::{Code, Request};

const QIANMEN: &str = "divisions/110101011";
const QIANMEN_1: &str = "divisions/110101011001";
const QIANMEN_6: &str = "divisions/110101011006";

/// Calls of each kind cut off in the storm; their deadlines run from 1 to 30 ms.
const STORM_CALLS: usize = 120;
/// Calls in flight at once during the storm.
const IN_FLIGHT: usize = 12;
/// Well-behaved calls of each kind afterwards, each with a generous deadline.
const CALM_CALLS: usize = 20;
const CALM_DEADLINE: Duration = Duration::from_secs(30);

fn with_deadline<T>(message: T, deadline: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(deadline);
    request
}

/// The deadline of the `i`th call of a storm: 1 to 30 ms, so some are cut before the database
/// is reached, some inside a transaction and some while it commits.
fn storm_deadline(i: usize) -> Duration {
    Duration::from_millis(1 + (i % 30) as u64)
}

/// Runs `calls` calls of `call` with `IN_FLIGHT` at once; what they answer does not matter.
async fn storm<F, Fut>(calls: usize, call: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (call, next) = (call.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= calls {
                        break;
                    }
                    call(i).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
}

/// Waits until no session of `database` sits idle inside a transaction. A transaction between
/// two statements shows so for a moment; one a cut-off call left behind stays so for good.
async fn assert_no_session_idle_in_transaction(database: &TestDatabase, service: &str) {
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = database.sessions_idle_in_transaction().await.unwrap();
        if seen.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{service} left sessions idle in a transaction: {seen:?}");
}

fn new_facility(i: usize) -> registry::CreateFacilityRequest {
    registry::CreateFacilityRequest {
        facility: Some(fixtures::facility(QIANMEN_1)),
        request_id: format!("storm-{i}"),
        reason: "opened".into(),
    }
}

#[tokio::test]
async fn write_calls_cut_off_by_their_deadlines_leave_every_service_sound() {
    let sys = System::start(&[]).await.expect("the three services start");
    let round = open_round(sys.survey.channel().await.unwrap(), QIANMEN, 1).await;

    // Registry: single and batch creates.
    let facilities = sys.facilities().await.unwrap();
    storm(STORM_CALLS, move |i| {
        let mut facilities = facilities.clone();
        async move {
            if i % 2 == 0 {
                let _ = facilities
                    .create_facility(with_deadline(new_facility(i), storm_deadline(i)))
                    .await;
            } else {
                let requests = (0..5).map(|k| new_facility(i * 10 + k)).collect();
                let batch = registry::BatchCreateFacilitiesRequest {
                    parent: String::new(),
                    requests,
                };
                let _ = facilities
                    .batch_create_facilities(with_deadline(batch, storm_deadline(i)))
                    .await;
            }
        }
    })
    .await;
    // Survey: single responses and bulk streams.
    let responses = sys.responses().await.unwrap();
    let parent = round.clone();
    storm(STORM_CALLS, move |i| {
        let mut responses = responses.clone();
        let parent = parent.clone();
        async move {
            if i % 2 == 0 {
                let request = survey::SubmitResponseRequest {
                    parent,
                    response: Some(response(&format!("storm-{i}"), QIANMEN_6, 4)),
                };
                let _ = responses
                    .submit_response(with_deadline(request, storm_deadline(i)))
                    .await;
            } else {
                let batch = survey::BulkSubmitResponsesRequest {
                    parent,
                    responses: (0..20)
                        .map(|k| response(&format!("storm-bulk-{i}-{k}"), QIANMEN_6, 3))
                        .collect(),
                };
                let input = tokio_stream::iter(vec![batch]);
                if let Ok(out) = responses
                    .bulk_submit_responses(with_deadline(input, storm_deadline(i)))
                    .await
                {
                    let mut out = out.into_inner();
                    while let Ok(Some(_)) = out.message().await {}
                }
            }
        }
    })
    .await;
    // Monitoring: reported values.
    let indicators = IndicatorServiceClient::new(sys.monitoring.channel().await.unwrap());
    storm(STORM_CALLS, move |i| {
        let mut indicators = indicators.clone();
        async move {
            let _ = indicators
                .report_value(with_deadline(reported(i), storm_deadline(i)))
                .await;
        }
    })
    .await;

    for (database, service) in sys
        .databases
        .iter()
        .zip(["registry", "survey", "monitoring"])
    {
        assert_no_session_idle_in_transaction(database, service).await;
    }

    // Every well-behaved call now succeeds.
    let mut facilities = sys.facilities().await.unwrap();
    let mut responses = sys.responses().await.unwrap();
    let mut rounds = sys.rounds().await.unwrap();
    let mut indicators = IndicatorServiceClient::new(sys.monitoring.channel().await.unwrap());
    for i in 0..CALM_CALLS {
        let created = facilities
            .create_facility(with_deadline(new_facility(100_000 + i), CALM_DEADLINE))
            .await
            .unwrap_or_else(|s| panic!("create facility {i}: {s:?}"))
            .into_inner()
            .facility
            .unwrap();
        facilities
            .get_facility(with_deadline(
                registry::GetFacilityRequest {
                    name: created.name,
                    ..Default::default()
                },
                CALM_DEADLINE,
            ))
            .await
            .unwrap_or_else(|s| panic!("get facility {i}: {s:?}"));
        rounds
            .get_round(with_deadline(
                survey::GetRoundRequest {
                    name: round.clone(),
                },
                CALM_DEADLINE,
            ))
            .await
            .unwrap_or_else(|s| panic!("get round {i}: {s:?}"));
        let submitted = responses
            .submit_response(with_deadline(
                survey::SubmitResponseRequest {
                    parent: round.clone(),
                    response: Some(response(&format!("calm-{i}"), QIANMEN_6, 5)),
                },
                CALM_DEADLINE,
            ))
            .await
            .unwrap_or_else(|s| panic!("submit response {i}: {s:?}"))
            .into_inner()
            .response
            .unwrap();
        responses
            .get_response(with_deadline(
                survey::GetResponseRequest {
                    name: submitted.name,
                },
                CALM_DEADLINE,
            ))
            .await
            .unwrap_or_else(|s| panic!("get response {i}: {s:?}"));
        indicators
            .report_value(with_deadline(reported(1_000 + i), CALM_DEADLINE))
            .await
            .unwrap_or_else(|s| panic!("report value {i}: {s:?}"));
    }
    for (database, service) in sys
        .databases
        .iter()
        .zip(["registry", "survey", "monitoring"])
    {
        assert_no_session_idle_in_transaction(database, service).await;
    }
}

fn reported(i: usize) -> monitoring::ReportValueRequest {
    monitoring::ReportValueRequest {
        value: Some(monitoring::ReportedValue {
            indicator: "indicators/social_workers".into(),
            division: QIANMEN_1.into(),
            period: "2025".into(),
            value: i as f64,
            reason: "年报".into(),
            ..Default::default()
        }),
    }
}

/// A survey service whose PostgreSQL connections run through `proxy`.
async fn survey_behind(proxy: &TcpProxy, database: &TestDatabase, registry: &Service) -> Service {
    let url = database.url();
    let (_, rest) = url.split_once('@').expect("a postgres url with a user");
    let (_, path) = rest
        .split_once('/')
        .expect("a postgres url with a database");
    let proxied = format!("postgres://postgres@{}/{path}", proxy.addr);
    Launch::new("shequ-survey")
        .database_url(&proxied)
        .env("SHEQU__SURVEY__REGISTRY_ENDPOINT", registry.endpoint())
        .env("SHEQU__AUTH__ALLOW_OFF_WITH_POSTGRES", "true")
        .env("SHEQU__DATABASE__CONNECT_TIMEOUT_SECS", "2")
        .start()
        .await
        .expect("the survey starts")
}

/// Submits and reads back responses, 1 s deadlines, `calls` times: the codes of the failures.
async fn load(
    mut responses: ResponseServiceClient<Channel>,
    round: String,
    worker: usize,
    calls: usize,
    stored: Arc<tokio::sync::Mutex<Vec<String>>>,
) -> Vec<(String, Code, String)> {
    let mut failures = Vec::new();
    for i in 0..calls {
        let id = format!("load-{worker}-{i}");
        let submitted = responses
            .submit_response(with_deadline(
                survey::SubmitResponseRequest {
                    parent: round.clone(),
                    response: Some(response(&id, QIANMEN_6, 4)),
                },
                Duration::from_secs(1),
            ))
            .await;
        match submitted {
            Ok(r) => stored
                .lock()
                .await
                .push(r.into_inner().response.unwrap().name),
            Err(s) => failures.push((format!("submit {id}"), s.code(), s.message().to_owned())),
        }
        let known = stored.lock().await.first().cloned();
        if let Some(name) = known
            && let Err(s) = responses
                .get_response(with_deadline(
                    survey::GetResponseRequest { name: name.clone() },
                    Duration::from_secs(1),
                ))
                .await
        {
            failures.push((format!("get {name}"), s.code(), s.message().to_owned()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    failures
}

/// The survey's database connections are swallowed for 3 s, then cut, under load: calls in
/// between fail as UNAVAILABLE or DEADLINE_EXCEEDED, never NOT_FOUND for a round that is open or
/// a response that was acknowledged, and once the network is back every call succeeds again.
#[tokio::test]
async fn a_database_network_that_swallows_or_drops_packets_never_makes_things_missing() {
    let database = TestDatabase::fresh().await.unwrap();
    if !database.is_postgres() {
        return; // SQLite has no network between the service and its database.
    }
    let sys = System::start(&[]).await.expect("the three services start");
    let target = {
        let url = database.url();
        let host = url.split_once('@').unwrap().1.split_once('/').unwrap().0;
        tokio::net::lookup_host(host).await.unwrap().next().unwrap()
    };
    let proxy = TcpProxy::start(target).await.unwrap();
    let survey_service = survey_behind(&proxy, &database, &sys.registry).await;
    let channel = survey_service.channel().await.unwrap();
    let round = open_round(channel.clone(), QIANMEN, 1).await;
    let stored = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let mut failures = Vec::new();
    for (phase, disturb) in [("blackhole", true), ("cut", false)] {
        let workers: Vec<_> = (0..6)
            .map(|w| {
                tokio::spawn(load(
                    ResponseServiceClient::new(channel.clone()),
                    round.clone(),
                    w + if disturb { 0 } else { 100 },
                    60,
                    stored.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        if disturb {
            proxy.blackhole();
            tokio::time::sleep(Duration::from_secs(3)).await;
        } else {
            proxy.cut();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        proxy.restore();
        for worker in workers {
            for (call, code, message) in worker.await.unwrap() {
                failures.push((phase, call, code, message));
            }
        }
    }
    let missing: Vec<_> = failures
        .iter()
        .filter(|(_, _, code, _)| *code == Code::NotFound)
        .collect();
    assert!(missing.is_empty(), "reported missing: {missing:?}");
    let unexpected: Vec<_> = failures
        .iter()
        .filter(|(_, _, code, _)| {
            !matches!(
                code,
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled
            )
        })
        .collect();
    assert!(unexpected.is_empty(), "unexpected failures: {unexpected:?}");
    // Calm again: every acknowledged response reads back, new ones are accepted.
    let mut responses = ResponseServiceClient::new(channel.clone());
    for name in stored.lock().await.iter() {
        responses
            .get_response(with_deadline(
                survey::GetResponseRequest { name: name.clone() },
                CALM_DEADLINE,
            ))
            .await
            .unwrap_or_else(|s| panic!("get {name}: {s:?}"));
    }
    for i in 0..CALM_CALLS {
        responses
            .submit_response(with_deadline(
                survey::SubmitResponseRequest {
                    parent: round.clone(),
                    response: Some(response(&format!("after-{i}"), QIANMEN_6, 5)),
                },
                CALM_DEADLINE,
            ))
            .await
            .unwrap_or_else(|s| panic!("submit after-{i}: {s:?}"));
    }
    assert_no_session_idle_in_transaction(&database, "survey").await;
}
