//! What every service gets from the platform, seen through the registry: health, readiness,
//! reflection, message limits, graceful shutdown and recovery after losing the database.

use std::time::Duration;

use shequ_proto::registry::v1 as pb;
use shequ_testkit::proxy::TcpProxy;
use shequ_testkit::{POSTGRES_ENV, Registry, TestDatabase, TestService, fixtures, registry_config};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

async fn status(
    client: &mut HealthClient<tonic::transport::Channel>,
    service: &str,
) -> ServingStatus {
    let response = client
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner();
    ServingStatus::try_from(response.status).unwrap()
}

/// Waits on the health Watch stream until `service` reports `wanted`.
async fn wait_for(
    client: &mut HealthClient<tonic::transport::Channel>,
    service: &str,
    wanted: ServingStatus,
) {
    let mut stream = client
        .watch(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let reached = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(HealthCheckResponse { status, .. })) = stream.next().await {
            if status == wanted as i32 {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(reached, Ok(true), "`{service}` never became {wanted:?}");
}

#[tokio::test]
async fn health_readiness_and_reflection_answer() {
    let registry = TestService::registry().await.unwrap();
    let mut health = HealthClient::new(registry.channel().await.unwrap());
    assert_eq!(status(&mut health, "").await, ServingStatus::Serving);
    wait_for(&mut health, "readiness", ServingStatus::Serving).await;
    assert_eq!(
        status(&mut health, "shequ.registry.v1.FacilityService").await,
        ServingStatus::Serving
    );

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(registry.channel().await.unwrap());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("no service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "shequ.registry.v1.DivisionService",
        "shequ.registry.v1.FacilityService",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
}

#[tokio::test]
async fn oversize_messages_are_refused_and_nothing_is_stored() {
    let database = TestDatabase::fresh().await.unwrap();
    let mut cfg = registry_config(database.url()).unwrap();
    cfg.server.max_message_bytes = 64 * 1024;
    let registry = TestService::<Registry>::start_with(cfg, database)
        .await
        .unwrap();
    fixtures::import(
        &mut registry.divisions().await.unwrap(),
        &fixtures::SAMPLE,
        "2023",
    )
    .await
    .unwrap();
    let mut client = registry.facilities().await.unwrap();
    let mut facility = fixtures::facility(fixtures::SAMPLE_COMMUNITY);
    facility.address = "路".repeat(100_000);
    let err = client
        .create_facility(pb::CreateFacilityRequest {
            facility: Some(facility),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message()
            .ends_with("more than the limit of 65536 bytes"),
        "{err:?}"
    );
    let listed = client
        .list_facilities(pb::ListFacilitiesRequest {
            parent: "divisions/11".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(listed.into_inner().facilities.is_empty());
}

#[tokio::test]
async fn shutdown_ends_following_streams_and_drains() {
    let registry = TestService::registry().await.unwrap();
    let mut client = registry.facilities().await.unwrap();
    let mut follow = client
        .watch_facility_changes(pb::WatchFacilityChangesRequest {
            follow: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let stopping = tokio::spawn(registry.stop());
    let end = tokio::time::timeout(Duration::from_secs(10), follow.next())
        .await
        .expect("stream ends on shutdown");
    assert!(end.is_none(), "{end:?}");
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Runs on PostgreSQL only: SQLite is a file the process holds open and cannot lose.
#[tokio::test]
async fn database_loss_is_unavailable_and_the_service_recovers() {
    let Some(admin) = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty()) else {
        eprintln!("skipped: set {POSTGRES_ENV} to run the database-loss test on PostgreSQL");
        return;
    };
    let database = TestDatabase::fresh_postgres(&admin).await.unwrap();
    let url = database.url().to_owned();
    let (prefix, rest) = url.split_once('@').unwrap();
    let (host, db) = rest.split_once('/').unwrap();
    let target = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
    let proxy = TcpProxy::start(target).await.unwrap();
    let proxied = format!("{prefix}@{}/{db}", proxy.addr);
    let mut cfg = registry_config(&proxied).unwrap();
    cfg.database.connect_timeout_secs = 1;
    let registry = TestService::<Registry>::start_with(cfg, database)
        .await
        .unwrap();
    fixtures::import(
        &mut registry.divisions().await.unwrap(),
        &fixtures::SAMPLE,
        "2023",
    )
    .await
    .unwrap();
    let mut client = registry.facilities().await.unwrap();
    let mut health = HealthClient::new(registry.channel().await.unwrap());
    wait_for(&mut health, "readiness", ServingStatus::Serving).await;
    let create = || pb::CreateFacilityRequest {
        facility: Some(fixtures::facility(fixtures::SAMPLE_COMMUNITY)),
        request_id: "during-outage".into(),
        ..Default::default()
    };

    proxy.cut();
    wait_for(&mut health, "readiness", ServingStatus::NotServing).await;
    let err = client.create_facility(create()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(
        status(&mut health, "").await,
        ServingStatus::Serving,
        "the process stays alive"
    );

    proxy.restore();
    wait_for(&mut health, "readiness", ServingStatus::Serving).await;
    let created = client
        .create_facility(create())
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    let listed = client
        .list_facilities(pb::ListFacilitiesRequest {
            parent: "divisions/11".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.facilities.len(), 1);
    assert_eq!(listed.facilities[0].name, created.name);
}

/// The server holds a following stream, delivering changes, until the client's deadline has
/// passed, then ends it with DEADLINE_EXCEEDED (tonic enforces deadlines only up to the response
/// headers). The deadline passes when the test advances the paused clock, never on its own, so
/// whatever the machine's load the stream is open before it and ends only after it.
#[tokio::test]
async fn client_deadlines_are_honoured() {
    let registry = TestService::registry().await.unwrap();
    // The deadline is for the stream, not for a server still migrating a fresh database.
    let mut health = HealthClient::new(registry.channel().await.unwrap());
    wait_for(&mut health, "readiness", ServingStatus::Serving).await;
    fixtures::import(
        &mut registry.divisions().await.unwrap(),
        &fixtures::SAMPLE,
        "2023",
    )
    .await
    .unwrap();
    let mut client = registry.facilities().await.unwrap();

    // While a blocking task runs, tokio never advances a paused clock on its own; this one also
    // bounds the test in real time should the stream never end.
    let (done, watchdog) = std::sync::mpsc::channel::<()>();
    let mut guard =
        tokio::task::spawn_blocking(move || watchdog.recv_timeout(Duration::from_secs(60)).is_ok());
    tokio::time::pause();
    let mut request = tonic::Request::new(pb::WatchFacilityChangesRequest {
        follow: true,
        ..Default::default()
    });
    request.set_timeout(Duration::from_millis(300));
    let mut stream = client
        .watch_facility_changes(request)
        .await
        .expect("the stream opens before the deadline")
        .into_inner();
    // Before the deadline the stream follows the registry's changes.
    let created = client
        .create_facility(pb::CreateFacilityRequest {
            facility: Some(fixtures::facility(fixtures::SAMPLE_COMMUNITY)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    let change = stream.next().await.unwrap().unwrap();
    assert_eq!(change.revision.unwrap().facility, created.name);

    // Just past the deadline: timers fire on the millisecond after theirs.
    tokio::time::advance(Duration::from_millis(301)).await;
    let end = tokio::select! {
        end = stream.next() => end,
        _ = &mut guard => panic!("the stream outlived its deadline"),
    };
    let err = end.expect("an error, not a clean end").unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    done.send(()).unwrap();
    assert!(guard.await.unwrap());
    tokio::time::resume();
}

#[tokio::test]
async fn a_replica_sees_writes_made_through_another() {
    let first = TestService::registry().await.unwrap();
    let second = TestService::registry_on(first.database.alias())
        .await
        .unwrap();
    fixtures::import(
        &mut first.divisions().await.unwrap(),
        &fixtures::SAMPLE,
        "2023",
    )
    .await
    .unwrap();
    let mut a = first.facilities().await.unwrap();
    let mut b = second.facilities().await.unwrap();
    let created = a
        .create_facility(pb::CreateFacilityRequest {
            facility: Some(fixtures::facility(fixtures::SAMPLE_COMMUNITY)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    let get = || pb::GetFacilityRequest {
        name: created.name.clone(),
        show_deleted: false,
    };
    // The second replica reads it once, so it caches revision 1.
    assert_eq!(
        b.get_facility(get())
            .await
            .unwrap()
            .into_inner()
            .facility
            .unwrap()
            .revision,
        1
    );
    a.update_facility(pb::UpdateFacilityRequest {
        facility: Some(pb::Facility {
            name: created.name.clone(),
            display_name: "改名".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["display_name".into()],
        }),
        reason: String::new(),
    })
    .await
    .unwrap();
    // The writer reads its own write at once; the other replica within its poll interval (100 ms
    // here) as it follows the change log.
    assert_eq!(
        a.get_facility(get())
            .await
            .unwrap()
            .into_inner()
            .facility
            .unwrap()
            .display_name,
        "改名"
    );
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let f = b
                .get_facility(get())
                .await
                .unwrap()
                .into_inner()
                .facility
                .unwrap();
            if f.revision == 2 {
                return f.display_name;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the second replica caught up");
    assert_eq!(seen, "改名");
    a.delete_facility(pb::DeleteFacilityRequest {
        name: created.name.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match b.get_facility(get()).await {
                Err(e) => return e.code(),
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
    .expect("the delete reached the second replica");
    assert_eq!(gone, Code::NotFound);
}
