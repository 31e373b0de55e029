//! The facts stream and the change feed.

use std::time::Duration;

use shequ_proto::common::v1 as common;
use shequ_proto::registry::v1 as pb;
use shequ_testkit::fixtures::{self, SAMPLE, SAMPLE_LEAF_UNITS};
use shequ_testkit::{Registry, TestService};
use tokio_stream::StreamExt;
use tonic::Code;

async fn all_facts(
    registry: &TestService<Registry>,
    parent: &str,
) -> (Vec<pb::LeafUnitFacts>, String) {
    let mut client = registry.facilities().await.unwrap();
    let mut stream = client
        .stream_leaf_unit_facts(pb::StreamLeafUnitFactsRequest {
            parent: parent.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut facts = Vec::new();
    let mut cursor = String::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        if cursor.is_empty() {
            cursor = batch.change_cursor.clone();
        }
        facts.extend(batch.facts);
    }
    (facts, cursor)
}

#[tokio::test]
async fn facts_count_in_service_facilities_per_leaf_unit() {
    let registry = TestService::registry().await.unwrap();
    fixtures::import(&mut registry.divisions().await.unwrap(), &SAMPLE, "2023")
        .await
        .unwrap();
    let mut client = registry.facilities().await.unwrap();
    let unit = "divisions/429004001001";
    let create = |f: pb::Facility| pb::CreateFacilityRequest {
        facility: Some(f),
        ..Default::default()
    };

    // Two in service (one short of activity area, one open only 6 hours on Sunday), one planned,
    // one deleted.
    let mut a = fixtures::facility(unit);
    a.activity_area_m2 = 200.0;
    a.online_24h_services.clear();
    let mut b = fixtures::facility(unit);
    b.total_floor_area_m2 = 1000.0;
    b.activity_area_m2 = 700.0;
    b.opening_hours[6].close_minute = 480 + 360;
    b.staff = Some(pb::Staff {
        community_workers: 3,
        social_workers: 1,
    });
    let mut planned = fixtures::facility(unit);
    planned.status = pb::FacilityStatus::Planned as i32;
    client.create_facility(create(a)).await.unwrap();
    client.create_facility(create(b)).await.unwrap();
    client.create_facility(create(planned)).await.unwrap();
    let gone = client
        .create_facility(create(fixtures::facility(unit)))
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    client
        .delete_facility(pb::DeleteFacilityRequest {
            name: gone.name,
            ..Default::default()
        })
        .await
        .unwrap();

    let (facts, cursor) = all_facts(&registry, "divisions/42").await;
    assert_eq!(facts.len(), 767);
    assert_eq!(cursor, "5", "four creates and a delete");
    let mut codes: Vec<u64> = facts.iter().map(|f| f.code).collect();
    codes.dedup();
    assert_eq!(codes.len(), 767, "ordered by code, each once");
    let f = facts.iter().find(|f| f.code == 429_004_001_001).unwrap();
    assert_eq!(f.in_service_facilities, 2);
    assert_eq!(f.total_floor_area_m2, 1500.0);
    assert_eq!(f.activity_area_m2, 900.0);
    assert_eq!(f.activity_share_compliant, 1);
    assert_eq!(f.opening_hours_compliant, 1);
    assert!(f.online_24h);
    assert_eq!(
        (
            f.self_service_terminals,
            f.community_workers,
            f.social_workers
        ),
        (4, 12, 3)
    );
    assert_eq!(
        (f.province, f.prefecture, f.county, f.township),
        (
            420_000_000_000,
            429_000_000_000,
            429_004_000_000,
            429_004_001_000
        )
    );
    let others: Vec<_> = facts.iter().filter(|f| f.code != 429_004_001_001).collect();
    assert!(
        others
            .iter()
            .all(|f| f.in_service_facilities == 0 && !f.online_24h && f.total_floor_area_m2 == 0.0)
    );
    assert!(
        facts
            .iter()
            .all(|f| f.kind != common::LeafUnitKind::Unspecified as i32)
    );

    let (one, _) = all_facts(&registry, unit).await;
    assert_eq!(one.len(), 1);
    let (beijing, _) = all_facts(&registry, "divisions/11").await;
    assert_eq!(beijing.len() as i64 + 767, SAMPLE_LEAF_UNITS);
    let (country, _) = all_facts(&registry, "").await;
    assert_eq!(
        country.len() as i64,
        SAMPLE_LEAF_UNITS,
        "an empty parent is the whole country"
    );
    assert_eq!(
        country.iter().map(|f| f.in_service_facilities).sum::<i32>(),
        2
    );

    let err = client
        .stream_leaf_unit_facts(pb::StreamLeafUnitFactsRequest {
            parent: "divisions/99".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn change_feed_resumes_after_a_cursor_and_follows_new_changes() {
    let registry = TestService::registry().await.unwrap();
    fixtures::import(&mut registry.divisions().await.unwrap(), &SAMPLE, "2023")
        .await
        .unwrap();
    let mut client = registry.facilities().await.unwrap();
    let beijing = fixtures::SAMPLE_COMMUNITY;
    let created = client
        .create_facility(pb::CreateFacilityRequest {
            facility: Some(fixtures::facility(beijing)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    client
        .create_facility(pb::CreateFacilityRequest {
            facility: Some(fixtures::facility("divisions/429004001001")),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .delete_facility(pb::DeleteFacilityRequest {
            name: created.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let read = |after: &str, parent: &str| pb::WatchFacilityChangesRequest {
        after_cursor: after.into(),
        follow: false,
        parent: parent.into(),
    };
    let all: Vec<_> = client
        .watch_facility_changes(read("", ""))
        .await
        .unwrap()
        .into_inner()
        .collect::<Vec<_>>()
        .await;
    let all: Vec<pb::WatchFacilityChangesResponse> = all.into_iter().map(Result::unwrap).collect();
    assert_eq!(all.len(), 3);
    let resumed: Vec<_> = client
        .watch_facility_changes(read(&all[0].cursor, ""))
        .await
        .unwrap()
        .into_inner()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(resumed.len(), 2);
    let scoped: Vec<_> = client
        .watch_facility_changes(read("", "divisions/11"))
        .await
        .unwrap()
        .into_inner()
        .collect::<Vec<_>>()
        .await;
    let kinds: Vec<i32> = scoped
        .into_iter()
        .map(|r| r.unwrap().revision.unwrap().kind)
        .collect();
    assert_eq!(
        kinds,
        [
            pb::ChangeKind::Created as i32,
            pb::ChangeKind::Deleted as i32
        ]
    );

    // Following: a change committed after subscribing arrives on the open stream.
    let mut follow = client
        .watch_facility_changes(pb::WatchFacilityChangesRequest {
            after_cursor: all[2].cursor.clone(),
            follow: true,
            parent: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    client
        .undelete_facility(pb::UndeleteFacilityRequest {
            name: created.name.clone(),
            reason: "restored".into(),
        })
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), follow.next())
        .await
        .expect("change arrives")
        .unwrap()
        .unwrap();
    let revision = next.revision.unwrap();
    assert_eq!(revision.kind, pb::ChangeKind::Undeleted as i32);
    assert_eq!(revision.reason, "restored");
    assert_eq!(next.cursor, "4");

    let err = client
        .watch_facility_changes(read("-3", ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}
