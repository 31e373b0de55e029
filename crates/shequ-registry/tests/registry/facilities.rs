//! Facility records: validation, concurrency, idempotency, history, deletion and listings.

use std::collections::HashSet;

use shequ_proto::common::v1 as common;
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_testkit::fixtures::{self, SAMPLE, SAMPLE_COMMUNITY, SAMPLE_TOWNSHIP};
use shequ_testkit::{Registry, TestService};
use tonic::transport::Channel;
use tonic::{Code, Request};

use crate::assert_violation;

async fn registry_with_sample() -> (TestService<Registry>, FacilityServiceClient<Channel>) {
    let registry = TestService::registry().await.unwrap();
    fixtures::import(&mut registry.divisions().await.unwrap(), &SAMPLE, "2023")
        .await
        .unwrap();
    let client = registry.facilities().await.unwrap();
    (registry, client)
}

fn create(facility: pb::Facility, request_id: &str) -> Request<pb::CreateFacilityRequest> {
    let mut request = Request::new(pb::CreateFacilityRequest {
        facility: Some(facility),
        request_id: request_id.into(),
        reason: "new centre opened".into(),
    });
    request
        .metadata_mut()
        .insert("x-shequ-actor", "official-110101".parse().unwrap());
    request
}

/// A change that spoils a valid facility.
type Mutation = Box<dyn Fn(&mut pb::Facility)>;

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test]
async fn create_update_and_read_history() {
    let (_registry, mut client) = registry_with_sample().await;
    let created = client
        .create_facility(create(fixtures::facility(SAMPLE_COMMUNITY), ""))
        .await
        .unwrap()
        .into_inner();
    let created = created.facility.unwrap();
    assert!(created.name.starts_with("facilities/"));
    assert_eq!(created.revision, 1);
    assert_eq!(created.min_daily_open_minutes, 540);
    assert!((created.activity_area_share - 0.6).abs() < 1e-12);
    assert_eq!(created.leaf_unit, "divisions/110101001001");
    assert_eq!(
        created.leaf_unit_kind,
        common::LeafUnitKind::Community as i32
    );

    let mut patch = pb::Facility {
        name: created.name.clone(),
        etag: created.etag.clone(),
        ..Default::default()
    };
    patch.status = pb::FacilityStatus::Suspended as i32;
    patch.staff = Some(pb::Staff {
        community_workers: 0,
        social_workers: 5,
    });
    let mut request = Request::new(pb::UpdateFacilityRequest {
        facility: Some(patch),
        update_mask: mask(&["status", "staff.social_workers"]),
        reason: "renovation".into(),
    });
    request
        .metadata_mut()
        .insert("x-shequ-actor", "official-2".parse().unwrap());
    let updated = client
        .update_facility(request)
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.status, pb::FacilityStatus::Suspended as i32);
    assert_eq!(
        updated.staff.unwrap(),
        pb::Staff {
            community_workers: 9,
            social_workers: 5
        },
        "only the masked subfield moved"
    );
    assert_eq!(updated.display_name, created.display_name);

    let history = client
        .list_facility_revisions(pb::ListFacilityRevisionsRequest {
            name: created.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].kind, pb::ChangeKind::Created as i32);
    assert_eq!(history[0].actor, "official-110101");
    assert_eq!(history[0].reason, "new centre opened");
    assert_eq!(history[1].kind, pb::ChangeKind::Updated as i32);
    assert_eq!(history[1].actor, "official-2");
    assert_eq!(history[1].reason, "renovation");
    assert_eq!(history[1].changed_fields, ["status", "staff"]);
    assert_eq!(
        history[0].snapshot.as_ref().unwrap().status,
        pb::FacilityStatus::InService as i32
    );
    assert_eq!(
        history[1].snapshot.as_ref().unwrap().status,
        pb::FacilityStatus::Suspended as i32
    );

    // An update that changes nothing records nothing.
    let same = client
        .update_facility(pb::UpdateFacilityRequest {
            facility: Some(pb::Facility {
                name: created.name.clone(),
                status: pb::FacilityStatus::Suspended as i32,
                ..Default::default()
            }),
            update_mask: mask(&["status"]),
            reason: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert_eq!(same.revision, 2);
}

/// A change whose stored snapshot does not decode is INTERNAL, in the history and in the feed:
/// a revision is never shown with its snapshot silently missing, and the cause stays in the log.
#[tokio::test]
async fn a_snapshot_that_does_not_decode_is_an_internal_error() {
    let (registry, mut client) = registry_with_sample().await;
    let created = client
        .create_facility(create(fixtures::facility(SAMPLE_COMMUNITY), ""))
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    registry
        .database
        .execute(r#"UPDATE registry_facility_changes SET snapshot = '{"id":"x"}'"#)
        .await
        .unwrap();

    let err = client
        .list_facility_revisions(pb::ListFacilityRevisionsRequest {
            name: created.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert!(!err.message().contains("snapshot"), "{err:?}");

    let mut feed = client
        .watch_facility_changes(pb::WatchFacilityChangesRequest {
            after_cursor: String::new(),
            follow: false,
            parent: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let err = feed.message().await.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "{err:?}");
}

#[tokio::test]
async fn stale_etag_is_aborted_and_changes_nothing() {
    let (_registry, mut client) = registry_with_sample().await;
    let created = client
        .create_facility(create(fixtures::facility(SAMPLE_COMMUNITY), ""))
        .await
        .unwrap()
        .into_inner();
    let created = created.facility.unwrap();
    let rename = |etag: &str, name: &str| pb::UpdateFacilityRequest {
        facility: Some(pb::Facility {
            name: created.name.clone(),
            etag: etag.into(),
            display_name: name.into(),
            ..Default::default()
        }),
        update_mask: mask(&["display_name"]),
        reason: String::new(),
    };
    client
        .update_facility(rename(&created.etag, "第一次改名"))
        .await
        .unwrap();
    let err = client
        .update_facility(rename(&created.etag, "第二次改名"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = client
        .delete_facility(pb::DeleteFacilityRequest {
            name: created.name.clone(),
            etag: created.etag.clone(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let now = client
        .get_facility(pb::GetFacilityRequest {
            name: created.name.clone(),
            show_deleted: false,
        })
        .await
        .unwrap();
    let now = now.into_inner().facility.unwrap();
    assert_eq!(now.display_name, "第一次改名");
    assert_eq!(now.revision, 2);
}

#[tokio::test]
async fn bad_input_names_the_field_and_stores_nothing() {
    let (registry, mut client) = registry_with_sample().await;
    let cases: Vec<(Mutation, Code, &str)> = vec![
        (
            Box::new(|f| f.activity_area_m2 = 600.0),
            Code::InvalidArgument,
            "facility.activity_area_m2",
        ),
        (
            Box::new(|f| f.total_floor_area_m2 = -1.0),
            Code::InvalidArgument,
            "facility.total_floor_area_m2",
        ),
        (
            Box::new(|f| f.leaf_unit = "divisions/11010100100x".into()),
            Code::InvalidArgument,
            "facility.leaf_unit",
        ),
        (
            Box::new(|f| f.leaf_unit = SAMPLE_TOWNSHIP.into()),
            Code::InvalidArgument,
            "facility.leaf_unit",
        ),
        (
            Box::new(|f| f.leaf_unit = "divisions/110101001999".into()),
            Code::NotFound,
            "facility.leaf_unit",
        ),
        (
            Box::new(|f| f.operator.as_mut().unwrap().uscc = "91350100M000100Y44".into()),
            Code::InvalidArgument,
            "facility.operator.uscc",
        ),
        (
            Box::new(|f| f.location.as_mut().unwrap().latitude = 95.0),
            Code::InvalidArgument,
            "facility.location.latitude",
        ),
        (
            Box::new(|f| f.services.push(99)),
            Code::InvalidArgument,
            "facility.services[2]",
        ),
        (
            Box::new(|f| f.status = 0),
            Code::InvalidArgument,
            "facility.status",
        ),
        (
            Box::new(|f| f.display_name = " ".into()),
            Code::InvalidArgument,
            "facility.display_name",
        ),
        (
            Box::new(|f| f.staff.as_mut().unwrap().social_workers = -3),
            Code::InvalidArgument,
            "facility.staff.social_workers",
        ),
        (
            Box::new(|f| {
                f.opening_hours.push(pb::OpeningInterval {
                    day: 1,
                    open_minute: 600,
                    close_minute: 700,
                })
            }),
            Code::InvalidArgument,
            "facility.opening_hours[7]",
        ),
        (
            Box::new(|f| {
                f.opening_hours[0] = pb::OpeningInterval {
                    day: 1,
                    open_minute: 700,
                    close_minute: 600,
                }
            }),
            Code::InvalidArgument,
            "facility.opening_hours[0].close_minute",
        ),
    ];
    for (mutate, code, field) in &cases {
        let mut facility = fixtures::facility(SAMPLE_COMMUNITY);
        mutate(&mut facility);
        let err = client
            .create_facility(create(facility, ""))
            .await
            .unwrap_err();
        assert_violation(&err, *code, field);
    }
    let listed = client
        .list_facilities(pb::ListFacilitiesRequest {
            parent: "divisions/11".into(),
            show_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed.facilities.is_empty(),
        "nothing stored: {:?}",
        listed.facilities
    );

    let err = client
        .get_facility(pb::GetFacilityRequest {
            name: "facility/1".into(),
            show_deleted: false,
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "name");
    let err = client
        .get_facility(pb::GetFacilityRequest {
            name: "facilities/0000-none".into(),
            show_deleted: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .update_facility(pb::UpdateFacilityRequest {
            facility: Some(pb::Facility {
                name: "facilities/x".into(),
                ..Default::default()
            }),
            update_mask: mask(&["revision"]),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "update_mask");
    drop(registry);
}

/// Text fields follow the contract's rule (shequ.common.v1): stored trimmed and returned as
/// stored; white space alone is refused, never stored as an empty value.
#[tokio::test]
async fn text_fields_are_stored_trimmed_and_white_space_alone_is_refused() {
    let (_registry, mut client) = registry_with_sample().await;
    let cases: Vec<(Mutation, &str)> = vec![
        (Box::new(|f| f.address = "   ".into()), "facility.address"),
        (
            Box::new(|f| f.address = "\u{3000}\u{3000}".into()),
            "facility.address",
        ),
        (
            Box::new(|f| f.address = format!(" {} ", "址".repeat(501))),
            "facility.address",
        ),
        (
            Box::new(|f| f.display_name = "\t\n".into()),
            "facility.display_name",
        ),
        (
            Box::new(|f| f.operator.as_mut().unwrap().display_name = " ".into()),
            "facility.operator.display_name",
        ),
    ];
    for (mutate, field) in &cases {
        let mut facility = fixtures::facility(SAMPLE_COMMUNITY);
        mutate(&mut facility);
        let err = client
            .create_facility(create(facility.clone(), ""))
            .await
            .unwrap_err();
        assert_violation(&err, Code::InvalidArgument, field);
        let err = client
            .batch_create_facilities(pb::BatchCreateFacilitiesRequest {
                parent: String::new(),
                requests: vec![pb::CreateFacilityRequest {
                    facility: Some(facility),
                    request_id: "batch-1".into(),
                    reason: String::new(),
                }],
            })
            .await
            .unwrap_err();
        assert_violation(&err, Code::InvalidArgument, &format!("requests[0].{field}"));
    }
    let listed = client
        .list_facilities(pb::ListFacilitiesRequest {
            parent: "divisions/11".into(),
            show_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.facilities.is_empty(), "{:?}", listed.facilities);

    // Padded values are acknowledged as they are stored: trimmed, also in reads and history.
    let mut padded = fixtures::facility(SAMPLE_COMMUNITY);
    padded.display_name = "\u{3000}社区党群服务中心 ".into();
    padded.address = "  示范路 1 号\t".into();
    padded.operator.as_mut().unwrap().display_name = " 示范社会工作服务中心\u{3000}".into();
    let created = client
        .create_facility(create(padded, "padded"))
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    let expected = fixtures::facility(SAMPLE_COMMUNITY);
    let texts = |f: &pb::Facility| {
        (
            f.display_name.clone(),
            f.address.clone(),
            f.operator.clone().unwrap_or_default().display_name,
        )
    };
    assert_eq!(texts(&created), texts(&expected));
    let read = client
        .get_facility(pb::GetFacilityRequest {
            name: created.name.clone(),
            show_deleted: false,
        })
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert_eq!(texts(&read), texts(&expected));

    // An update follows the same rule, and a refused one changes nothing.
    let set_address = |address: &str| pb::UpdateFacilityRequest {
        facility: Some(pb::Facility {
            name: created.name.clone(),
            address: address.into(),
            ..Default::default()
        }),
        update_mask: mask(&["address"]),
        reason: String::new(),
    };
    let err = client
        .update_facility(set_address("\u{3000} "))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "facility.address");
    let updated = client
        .update_facility(set_address(" 示范路 2 号 "))
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert_eq!(updated.address, "示范路 2 号");
    assert_eq!(updated.revision, 2);
    let history = client
        .list_facility_revisions(pb::ListFacilityRevisionsRequest {
            name: created.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    let addresses: Vec<_> = history
        .iter()
        .map(|r| r.snapshot.clone().unwrap().address)
        .collect();
    assert_eq!(addresses, ["示范路 1 号", "示范路 2 号"]);

    // An optional text field is left empty by sending nothing.
    let cleared = client
        .update_facility(set_address(""))
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert_eq!(cleared.address, "");
}

#[tokio::test]
async fn a_retried_create_is_stored_once() {
    let (_registry, mut client) = registry_with_sample().await;
    let first = client
        .create_facility(create(fixtures::facility(SAMPLE_COMMUNITY), "req-1"))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .create_facility(create(fixtures::facility(SAMPLE_COMMUNITY), "req-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.facility.as_ref().unwrap().name,
        again.facility.as_ref().unwrap().name
    );

    let mut other = fixtures::facility(SAMPLE_COMMUNITY);
    other.display_name = "另一个中心".into();
    let err = client
        .create_facility(create(other, "req-1"))
        .await
        .unwrap_err();
    assert_violation(&err, Code::AlreadyExists, "request_id");

    // Concurrent retries of one request also store one facility.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut c = client.clone();
        tasks.push(tokio::spawn(async move {
            c.create_facility(create(fixtures::facility(SAMPLE_COMMUNITY), "req-2"))
                .await
                .unwrap()
                .into_inner()
                .facility
                .unwrap()
                .name
        }));
    }
    let mut names = HashSet::new();
    for t in tasks {
        names.insert(t.await.unwrap());
    }
    assert_eq!(names.len(), 1);
    let listed = client
        .list_facilities(pb::ListFacilitiesRequest {
            parent: SAMPLE_COMMUNITY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.facilities.len(), 2);
}

#[tokio::test]
async fn lifecycle_and_soft_delete() {
    let (_registry, mut client) = registry_with_sample().await;
    let f = client
        .create_facility(create(fixtures::facility(SAMPLE_COMMUNITY), ""))
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    let set_status = |status: pb::FacilityStatus| pb::UpdateFacilityRequest {
        facility: Some(pb::Facility {
            name: f.name.clone(),
            status: status as i32,
            ..Default::default()
        }),
        update_mask: mask(&["status"]),
        reason: String::new(),
    };
    client
        .update_facility(set_status(pb::FacilityStatus::Closed))
        .await
        .unwrap();
    let err = client
        .update_facility(set_status(pb::FacilityStatus::InService))
        .await
        .unwrap_err();
    assert_violation(&err, Code::FailedPrecondition, "facility.status");

    let deleted = client
        .delete_facility(pb::DeleteFacilityRequest {
            name: f.name.clone(),
            etag: String::new(),
            reason: "duplicate".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert!(deleted.delete_time.is_some());
    let err = client
        .get_facility(pb::GetFacilityRequest {
            name: f.name.clone(),
            show_deleted: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(
        client
            .get_facility(pb::GetFacilityRequest {
                name: f.name.clone(),
                show_deleted: true
            })
            .await
            .is_ok()
    );
    let listed = client
        .list_facilities(pb::ListFacilitiesRequest {
            parent: "divisions/110101".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.facilities.is_empty());
    let restored = client
        .undelete_facility(pb::UndeleteFacilityRequest {
            name: f.name.clone(),
            reason: "not a duplicate".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert!(restored.delete_time.is_none());
    let history = client
        .list_facility_revisions(pb::ListFacilityRevisionsRequest {
            name: f.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    let kinds: Vec<i32> = history.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            pb::ChangeKind::Created,
            pb::ChangeKind::Updated,
            pb::ChangeKind::Deleted,
            pb::ChangeKind::Undeleted
        ]
        .map(|k| k as i32)
    );
}

#[tokio::test]
async fn listings_filter_and_page_stably_under_concurrent_writes() {
    let (_registry, mut client) = registry_with_sample().await;
    let mut divisions = _registry.divisions().await.unwrap();
    let units: Vec<String> = divisions
        .list_divisions(pb::ListDivisionsRequest {
            parent: "divisions/110101001".into(),
            page_size: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .divisions
        .into_iter()
        .map(|d| d.name)
        .collect();
    let mut before = HashSet::new();
    for (i, unit) in units.iter().cycle().take(25).enumerate() {
        let mut f = fixtures::facility(unit);
        if i % 5 == 0 {
            f.status = pb::FacilityStatus::Planned as i32;
        }
        if i % 2 == 0 {
            f.services = vec![common::ServiceKind::Childcare as i32];
        }
        before.insert(
            client
                .create_facility(create(f, ""))
                .await
                .unwrap()
                .into_inner()
                .facility
                .unwrap()
                .name,
        );
    }
    // One in 仙桃市 that a Beijing listing must not show.
    client
        .create_facility(create(fixtures::facility("divisions/429004001001"), ""))
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_facilities(pb::ListFacilitiesRequest {
                parent: "divisions/11".into(),
                page_size: 7,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.facilities.iter().map(|f| f.name.clone()));
        // Others write between pages.
        client
            .create_facility(create(fixtures::facility(&units[0]), ""))
            .await
            .unwrap();
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no facility twice");
    assert!(
        before.is_subset(&unique),
        "every facility that existed before is listed"
    );

    let filtered = |statuses: Vec<i32>, service: i32, kind: i32| pb::ListFacilitiesRequest {
        parent: "divisions/110101001".into(),
        page_size: 1000,
        statuses,
        service,
        leaf_unit_kind: kind,
        ..Default::default()
    };
    let planned = client
        .list_facilities(filtered(vec![pb::FacilityStatus::Planned as i32], 0, 0))
        .await
        .unwrap();
    assert_eq!(planned.into_inner().facilities.len(), 5);
    let childcare = client
        .list_facilities(filtered(vec![], common::ServiceKind::Childcare as i32, 0))
        .await
        .unwrap();
    assert_eq!(childcare.into_inner().facilities.len(), 13);
    let villages = client
        .list_facilities(filtered(vec![], 0, common::LeafUnitKind::Village as i32))
        .await
        .unwrap();
    assert!(
        villages.into_inner().facilities.is_empty(),
        "东华门街道 has only communities"
    );
    let err = client
        .list_facilities(filtered(vec![42], 0, 0))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "statuses[0]");
}
