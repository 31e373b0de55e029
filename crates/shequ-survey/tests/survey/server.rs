//! The platform seen through the survey service: readiness on its own services, and a lost
//! database answered with UNAVAILABLE until it comes back.

use shequ_proto::survey::v1 as pb;
use shequ_testkit::proxy::TcpProxy;
use shequ_testkit::{POSTGRES_ENV, Survey, TestDatabase, TestService, fixtures, survey_config};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::{REGION, UNIT_A, env, open_round, response, submit, with_survey};

/// Waits on the health Watch stream until `service` reports `wanted`.
async fn wait_for(client: &mut HealthClient<Channel>, service: &str, wanted: ServingStatus) {
    let mut stream = client
        .watch(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner();
    while let Some(r) = stream.next().await {
        if r.unwrap().status == wanted as i32 {
            return;
        }
    }
    panic!("health watch of `{service}` ended before {wanted:?}");
}

#[tokio::test]
async fn every_survey_service_reports_ready() {
    let env = env().await;
    let mut health = HealthClient::new(env.survey.channel().await.unwrap());
    for service in [
        "readiness",
        "shequ.survey.v1.QuestionnaireService",
        "shequ.survey.v1.RoundService",
        "shequ.survey.v1.ResponseService",
    ] {
        wait_for(&mut health, service, ServingStatus::Serving).await;
    }
}

/// Runs on PostgreSQL only: SQLite is a file the process holds open and cannot lose.
#[tokio::test]
async fn database_loss_is_unavailable_and_the_service_recovers() {
    let Some(admin) = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty()) else {
        eprintln!("skipped: set {POSTGRES_ENV} to run the database-loss test on PostgreSQL");
        return;
    };
    let registry = TestService::registry().await.unwrap();
    fixtures::import(
        &mut registry.divisions().await.unwrap(),
        &fixtures::SAMPLE,
        "2023",
    )
    .await
    .unwrap();
    let database = TestDatabase::fresh_postgres(&admin).await.unwrap();
    let url = database.url().to_owned();
    let (prefix, rest) = url.split_once('@').unwrap();
    let (host, db) = rest.split_once('/').unwrap();
    let target = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
    let proxy = TcpProxy::start(target).await.unwrap();
    let mut cfg = survey_config(
        &format!("{prefix}@{}/{db}", proxy.addr),
        &registry.endpoint(),
    )
    .unwrap();
    cfg.database.connect_timeout_secs = 1;
    let survey = TestService::<Survey>::start_with(cfg, database)
        .await
        .unwrap();
    let mut env = with_survey(registry, survey).await;
    let round = open_round(&mut env, REGION, 1).await;
    let mut health = HealthClient::new(env.survey.channel().await.unwrap());
    wait_for(&mut health, "readiness", ServingStatus::Serving).await;

    proxy.cut();
    wait_for(&mut health, "readiness", ServingStatus::NotServing).await;
    let err = submit(&mut env, &round, response("outage", UNIT_A, 4))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let mut stream = env
        .responses
        .bulk_submit_responses(tokio_stream::iter(vec![pb::BulkSubmitResponsesRequest {
            parent: round.clone(),
            responses: vec![response("outage", UNIT_A, 4)],
        }]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stream.next().await.unwrap().unwrap_err().code(),
        Code::Unavailable
    );

    proxy.restore();
    wait_for(&mut health, "readiness", ServingStatus::Serving).await;
    let stored = submit(&mut env, &round, response("outage", UNIT_A, 4))
        .await
        .unwrap();
    assert!(!stored.duplicate);
    assert_eq!(
        crate::results(&mut env, &round, "").await.valid_responses,
        1
    );
}
