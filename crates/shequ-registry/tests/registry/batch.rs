//! BatchCreateFacilities: creation in request order with one change-log entry and audit record
//! per facility, all-or-nothing refusals naming `requests[i]`, idempotent retries (also across
//! CreateFacility), the batch limit, and regional scope.

use futures::StreamExt;
use shequ_proto::audit::v1 as audit;
use shequ_proto::audit::v1::audit_service_client::AuditServiceClient;
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_testkit::fixtures::{self, SAMPLE, SAMPLE_COMMUNITY, SAMPLE_TOWNSHIP};
use shequ_testkit::{AuthWorld, Registry, TestService, with_token};
use tonic::transport::Channel;
use tonic::{Code, Request};

use crate::assert_violation;

const OTHER_STREET_COMMUNITY: &str = "divisions/110101002001";
const XIANTAO_COMMUNITY: &str = "divisions/429004001001";

async fn registry_with_sample() -> (TestService<Registry>, FacilityServiceClient<Channel>) {
    let registry = TestService::registry().await.unwrap();
    fixtures::import(&mut registry.divisions().await.unwrap(), &SAMPLE, "2023")
        .await
        .unwrap();
    let client = registry.facilities().await.unwrap();
    (registry, client)
}

fn item(leaf: &str, display_name: &str, request_id: &str) -> pb::CreateFacilityRequest {
    let mut facility = fixtures::facility(leaf);
    facility.display_name = display_name.into();
    pb::CreateFacilityRequest {
        facility: Some(facility),
        request_id: request_id.into(),
        reason: format!("opened {display_name}"),
    }
}

fn batch(
    parent: &str,
    requests: Vec<pb::CreateFacilityRequest>,
) -> Request<pb::BatchCreateFacilitiesRequest> {
    let mut request = Request::new(pb::BatchCreateFacilitiesRequest {
        parent: parent.into(),
        requests,
    });
    request
        .metadata_mut()
        .insert("x-shequ-actor", "official-batch".parse().unwrap());
    request
}

async fn changes(client: &mut FacilityServiceClient<Channel>) -> Vec<pb::FacilityRevision> {
    client
        .watch_facility_changes(pb::WatchFacilityChangesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap().revision.unwrap())
        .collect()
        .await
}

async fn listed(client: &mut FacilityServiceClient<Channel>) -> Vec<pb::Facility> {
    let mut all = Vec::new();
    for parent in ["divisions/11", "divisions/42"] {
        all.extend(
            client
                .list_facilities(pb::ListFacilitiesRequest {
                    parent: parent.into(),
                    page_size: 1000,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .facilities,
        );
    }
    all
}

#[tokio::test]
async fn batch_creates_in_order_with_history_feed_and_reads() {
    let (_registry, mut client) = registry_with_sample().await;
    let requests = vec![
        item(SAMPLE_COMMUNITY, "甲中心", "batch-1-a"),
        item(XIANTAO_COMMUNITY, "乙中心", ""),
        item(OTHER_STREET_COMMUNITY, "丙中心", "batch-1-c"),
        item(SAMPLE_COMMUNITY, "丁中心", "batch-1-d"),
    ];
    let created = client
        .batch_create_facilities(batch("", requests))
        .await
        .unwrap()
        .into_inner()
        .facilities;
    let names: Vec<&str> = created.iter().map(|f| f.display_name.as_str()).collect();
    assert_eq!(names, ["甲中心", "乙中心", "丙中心", "丁中心"]);
    let leaves: Vec<&str> = created.iter().map(|f| f.leaf_unit.as_str()).collect();
    assert_eq!(
        leaves,
        [
            SAMPLE_COMMUNITY,
            XIANTAO_COMMUNITY,
            OTHER_STREET_COMMUNITY,
            SAMPLE_COMMUNITY
        ]
    );
    for f in &created {
        assert!(f.name.starts_with("facilities/"), "{}", f.name);
        assert_eq!(f.revision, 1);
        assert_eq!(f.min_daily_open_minutes, 540);
        let read = client
            .get_facility(pb::GetFacilityRequest {
                name: f.name.clone(),
                show_deleted: false,
            })
            .await
            .unwrap()
            .into_inner()
            .facility
            .unwrap();
        assert_eq!(&read, f);
        let history = client
            .list_facility_revisions(pb::ListFacilityRevisionsRequest {
                name: f.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .revisions;
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].kind, pb::ChangeKind::Created as i32);
        assert_eq!(history[0].revision, 1);
        assert_eq!(history[0].actor, "official-batch");
        assert_eq!(history[0].reason, format!("opened {}", f.display_name));
        assert_eq!(history[0].snapshot.as_ref().unwrap().name, f.name);
    }
    // The change feed holds one creation per facility, in request order.
    let feed: Vec<String> = changes(&mut client)
        .await
        .into_iter()
        .map(|r| {
            assert_eq!(r.kind, pb::ChangeKind::Created as i32);
            r.facility
        })
        .collect();
    let expected: Vec<String> = created.iter().map(|f| f.name.clone()).collect();
    assert_eq!(feed, expected);
    assert_eq!(listed(&mut client).await.len(), 4);

    // The facts count the new in-service facilities.
    let facts: Vec<pb::LeafUnitFacts> = client
        .stream_leaf_unit_facts(pb::StreamLeafUnitFactsRequest {
            parent: SAMPLE_COMMUNITY.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .flat_map(|b| futures::stream::iter(b.unwrap().facts))
        .collect()
        .await;
    assert_eq!(facts[0].in_service_facilities, 2);

    // With a parent, every leaf unit must lie under it.
    let under = client
        .batch_create_facilities(batch(
            "divisions/110101",
            vec![item(OTHER_STREET_COMMUNITY, "戊中心", "")],
        ))
        .await
        .unwrap()
        .into_inner()
        .facilities;
    assert_eq!(under.len(), 1);
    let err = client
        .batch_create_facilities(batch(
            "divisions/110101",
            vec![
                item(SAMPLE_COMMUNITY, "己中心", ""),
                item(XIANTAO_COMMUNITY, "庚中心", ""),
            ],
        ))
        .await
        .unwrap_err();
    assert_violation(
        &err,
        Code::InvalidArgument,
        "requests[1].facility.leaf_unit",
    );
    assert_eq!(listed(&mut client).await.len(), 5);
}

#[tokio::test]
async fn an_invalid_request_refuses_the_whole_batch() {
    let (_registry, mut client) = registry_with_sample().await;
    let mut bad_area = item(OTHER_STREET_COMMUNITY, "乙中心", "b");
    bad_area.facility.as_mut().unwrap().total_floor_area_m2 = -1.0;
    let mut too_long = item(SAMPLE_COMMUNITY, "丁中心", "");
    too_long.request_id = "x".repeat(129);
    let err = client
        .batch_create_facilities(batch(
            "",
            vec![
                item(SAMPLE_COMMUNITY, "甲中心", "a"),
                bad_area,
                pb::CreateFacilityRequest {
                    facility: None,
                    ..Default::default()
                },
                too_long,
                item(SAMPLE_COMMUNITY, "戊中心", "a"),
            ],
        ))
        .await
        .unwrap_err();
    assert_violation(
        &err,
        Code::InvalidArgument,
        "requests[1].facility.total_floor_area_m2",
    );
    assert_violation(&err, Code::InvalidArgument, "requests[2].facility");
    assert_violation(&err, Code::InvalidArgument, "requests[3].request_id");
    assert_violation(&err, Code::InvalidArgument, "requests[4].request_id");

    // Fields that parse but name a division that is not a leaf unit, or none at all.
    let err = client
        .batch_create_facilities(batch(
            "",
            vec![
                item(SAMPLE_COMMUNITY, "甲中心", "a"),
                item(SAMPLE_TOWNSHIP, "乙中心", "b"),
            ],
        ))
        .await
        .unwrap_err();
    assert_violation(
        &err,
        Code::InvalidArgument,
        "requests[1].facility.leaf_unit",
    );
    let err = client
        .batch_create_facilities(batch(
            "",
            vec![
                item(SAMPLE_COMMUNITY, "甲中心", "a"),
                item("divisions/110101999999", "乙中心", "b"),
            ],
        ))
        .await
        .unwrap_err();
    assert_violation(&err, Code::NotFound, "requests[1].facility.leaf_unit");

    // Empty, oversized, and a bad parent.
    let err = client
        .batch_create_facilities(batch("", Vec::new()))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "requests");
    let oversized: Vec<_> = (0..1001)
        .map(|i| item(SAMPLE_COMMUNITY, &format!("中心{i}"), ""))
        .collect();
    let err = client
        .batch_create_facilities(batch("", oversized))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "requests");
    let err = client
        .batch_create_facilities(batch(
            "facilities/1",
            vec![item(SAMPLE_COMMUNITY, "甲中心", "")],
        ))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "parent");

    // Nothing of any refused batch was stored.
    assert!(listed(&mut client).await.is_empty());
    assert!(changes(&mut client).await.is_empty());

    // The limit itself is accepted.
    let full: Vec<_> = (0..1000)
        .map(|i| item(SAMPLE_COMMUNITY, &format!("中心{i}"), &format!("full-{i}")))
        .collect();
    let created = client
        .batch_create_facilities(batch("", full))
        .await
        .unwrap()
        .into_inner()
        .facilities;
    assert_eq!(created.len(), 1000);
    assert_eq!(created[999].display_name, "中心999");
    assert_eq!(changes(&mut client).await.len(), 1000);
}

#[tokio::test]
async fn retried_batches_create_nothing_twice() {
    let (_registry, mut client) = registry_with_sample().await;
    let requests = vec![
        item(SAMPLE_COMMUNITY, "甲中心", "retry-a"),
        item(OTHER_STREET_COMMUNITY, "乙中心", "retry-b"),
    ];
    let first = client
        .batch_create_facilities(batch("", requests.clone()))
        .await
        .unwrap()
        .into_inner()
        .facilities;
    let again = client
        .batch_create_facilities(batch("", requests.clone()))
        .await
        .unwrap()
        .into_inner()
        .facilities;
    assert_eq!(first, again);
    assert_eq!(changes(&mut client).await.len(), 2);

    // Part retry, part new: the known request returns its facility, the new one is created.
    let mixed = client
        .batch_create_facilities(batch(
            "",
            vec![
                item(XIANTAO_COMMUNITY, "丙中心", "retry-c"),
                requests[1].clone(),
            ],
        ))
        .await
        .unwrap()
        .into_inner()
        .facilities;
    assert_eq!(mixed[1], first[1]);
    assert_ne!(mixed[0].name, first[0].name);
    assert_eq!(changes(&mut client).await.len(), 3);

    // CreateFacility recognises a batched request, and a batch recognises a single create.
    let single = client
        .create_facility(requests[0].clone())
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert_eq!(single, first[0]);
    let lone = item(SAMPLE_COMMUNITY, "丁中心", "retry-d");
    let made = client
        .create_facility(lone.clone())
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    let batched = client
        .batch_create_facilities(batch("", vec![lone]))
        .await
        .unwrap()
        .into_inner()
        .facilities;
    assert_eq!(batched, [made]);
    assert_eq!(changes(&mut client).await.len(), 4);

    // A used request id with another body refuses the batch, naming the request.
    let mut changed = requests[1].clone();
    changed.facility.as_mut().unwrap().display_name = "改名中心".into();
    let err = client
        .batch_create_facilities(batch(
            "",
            vec![item(SAMPLE_COMMUNITY, "戊中心", "retry-e"), changed],
        ))
        .await
        .unwrap_err();
    assert_violation(&err, Code::AlreadyExists, "requests[1].request_id");
    assert_eq!(changes(&mut client).await.len(), 4);
    assert_eq!(listed(&mut client).await.len(), 4);
}

#[tokio::test]
async fn a_batch_is_refused_outside_the_callers_scope_and_audited_inside_it() {
    let auth = AuthWorld::new().unwrap();
    let issuer = &auth.issuer;
    let registry = auth.registry_with_sample().await.unwrap();
    let admin = auth.registry_editor();
    let mut client = registry.facilities().await.unwrap();
    let street_editor = issuer.token("street-official", &["registry.editor"], &["110101001000"]);
    let reader = issuer.token("reader", &["registry.reader"], &["000000000000"]);
    let request = |items: Vec<pb::CreateFacilityRequest>| pb::BatchCreateFacilitiesRequest {
        parent: String::new(),
        requests: items,
    };

    let err = client
        .batch_create_facilities(with_token(
            request(vec![
                item(SAMPLE_COMMUNITY, "甲中心", ""),
                item(OTHER_STREET_COMMUNITY, "乙中心", ""),
            ]),
            &street_editor,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("requests[1]"), "{}", err.message());
    // A reader may not write at all.
    let err = client
        .batch_create_facilities(with_token(
            request(vec![item(SAMPLE_COMMUNITY, "甲中心", "")]),
            &reader,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // A parent outside the scope is refused too.
    let mut outside = request(vec![item(SAMPLE_COMMUNITY, "甲中心", "")]);
    outside.parent = "divisions/42".into();
    let err = client
        .batch_create_facilities(with_token(outside, &street_editor))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    let created = client
        .batch_create_facilities(with_token(
            request(vec![
                item(SAMPLE_COMMUNITY, "甲中心", "scoped-a"),
                item(SAMPLE_COMMUNITY, "乙中心", "scoped-b"),
            ]),
            &street_editor,
        ))
        .await
        .unwrap()
        .into_inner()
        .facilities;
    assert_eq!(created.len(), 2);

    let auditor = issuer.token("auditor", &["auditor"], &["000000000000"]);
    let records: Vec<audit::AuditRecord> =
        AuditServiceClient::new(registry.channel().await.unwrap())
            .stream_audit_records(with_token(
                audit::StreamAuditRecordsRequest::default(),
                &auditor,
            ))
            .await
            .unwrap()
            .into_inner()
            .map(|r| r.unwrap().record.unwrap())
            .collect()
            .await;
    let writes: Vec<(&str, &str, &str, &str)> = records
        .iter()
        .filter(|r| r.action == "created")
        .map(|r| {
            (
                r.subject.as_str(),
                r.method.as_str(),
                r.resource.as_str(),
                r.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        writes,
        [
            (
                "street-official",
                "/shequ.registry.v1.FacilityService/BatchCreateFacilities",
                created[0].name.as_str(),
                "opened 甲中心"
            ),
            (
                "street-official",
                "/shequ.registry.v1.FacilityService/BatchCreateFacilities",
                created[1].name.as_str(),
                "opened 乙中心"
            ),
        ]
    );
    // The change log names the principal as the actor.
    let history = client
        .list_facility_revisions(with_token(
            pb::ListFacilityRevisionsRequest {
                name: created[0].name.clone(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .revisions;
    assert_eq!(history[0].actor, "street-official");
}
