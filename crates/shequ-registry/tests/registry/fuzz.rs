//! Property tests of the request decoding and validation entry points: arbitrary bytes decoded as
//! requests, facilities with arbitrary field values, arbitrary names, cursors and page tokens,
//! and arbitrary division files imported into a real registry. None may panic; bad input is an
//! error with a status, never a crash or a half-written import. Case counts are in FUZZING.md.

use std::collections::BTreeMap;

use proptest::prelude::*;
use prost::Message;
use shequ_domain::{DivisionCode, OpeningHours, Uscc};
use shequ_proto::common::v1 as common;
use shequ_proto::names::{parse_division_name, parse_facility_name};
use shequ_proto::registry::v1 as pb;
use shequ_registry::Registry;
use shequ_registry::grpc::convert::facility_spec_from_pb;
use shequ_registry::grpc::convert::new_facility;
use shequ_registry::service::facilities::WriteContext;
use shequ_registry::service::feed::parse_cursor;
use shequ_registry::service::import::{DivisionFile, ImportRequest};
use tonic::Code;

/// Cases per property; `PROPTEST_CASES` overrides it for longer runs.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn interval() -> impl Strategy<Value = pb::OpeningInterval> {
    (any::<i32>(), -5..1500i32, -5..1500i32).prop_map(|(day, open, close)| pb::OpeningInterval {
        day: day % 10,
        open_minute: open,
        close_minute: close,
    })
}

fn facility() -> impl Strategy<Value = pb::Facility> {
    (
        (
            ".{0,40}",
            prop_oneof![
                Just("divisions/110101001001".to_owned()),
                "divisions/[0-9]{0,14}",
                ".{0,20}"
            ],
            ".{0,40}",
            proptest::option::of((any::<f64>(), any::<f64>())),
            -2..8i32,
        ),
        (
            any::<f64>(),
            any::<f64>(),
            proptest::collection::vec(interval(), 0..12),
            proptest::collection::vec(-3..20i32, 0..8),
            proptest::collection::vec(-3..20i32, 0..8),
        ),
        (
            any::<i32>(),
            proptest::option::of((any::<i32>(), any::<i32>())),
            proptest::option::of((".{0,20}", "[0-9A-Z]{0,20}")),
        ),
    )
        .prop_map(
            |(
                (display_name, leaf_unit, address, location, status),
                (total, activity, hours, services, online),
                (terminals, staff, operator),
            )| pb::Facility {
                display_name,
                leaf_unit,
                address,
                location: location.map(|(latitude, longitude)| common::LatLng {
                    latitude,
                    longitude,
                }),
                status,
                total_floor_area_m2: total,
                activity_area_m2: activity,
                opening_hours: hours,
                services,
                online_24h_services: online,
                self_service_terminals: terminals,
                staff: staff.map(|(c, s)| pb::Staff {
                    community_workers: c,
                    social_workers: s,
                }),
                operator: operator.map(|(display_name, uscc)| pb::Operator { display_name, uscc }),
                ..Default::default()
            },
        )
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn request_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(request) = pb::CreateFacilityRequest::decode(bytes.as_slice())
            && let Some(facility) = &request.facility
        {
            let _ = facility_spec_from_pb(facility);
        }
        if let Ok(request) = pb::UpdateFacilityRequest::decode(bytes.as_slice())
            && let Some(facility) = &request.facility
        {
            let _ = facility_spec_from_pb(facility);
            let _ = parse_facility_name("facility.name", &facility.name);
        }
        let _ = pb::ImportDivisionsRequest::decode(bytes.as_slice());
        let _ = pb::ListFacilitiesRequest::decode(bytes.as_slice());
        let _ = shequ_proto::audit::v1::StreamAuditRecordsRequest::decode(bytes.as_slice());
    }

    #[test]
    fn facilities_validate_without_panicking(facility in facility()) {
        match facility_spec_from_pb(&facility) {
            Ok(spec) => prop_assert!(spec.validate().is_ok()),
            Err(violations) => prop_assert!(!violations.is_empty()),
        }
    }

    #[test]
    fn names_and_codes_parse_or_fail(text in ".{0,40}", digits in "[0-9]{0,14}") {
        let _ = DivisionCode::parse(&text);
        if let Ok(code) = DivisionCode::parse(&digits) {
            // A parsed code prints as a name that parses back to itself.
            let name = format!("divisions/{code}");
            prop_assert_eq!(parse_division_name("name", &name).ok(), Some(code));
        }
        let _ = parse_division_name("name", &text);
        let _ = parse_facility_name("name", &text);
        let _ = Uscc::parse(&text);
        let _ = parse_cursor(&text);
        let _ = shequ_platform::page::decode("query", &text);
    }

    #[test]
    fn opening_hours_validate_without_panicking(raw in proptest::collection::vec((any::<i64>(), any::<i64>(), any::<i64>()), 0..20)) {
        if let Ok(hours) = OpeningHours::from_raw(&raw) {
            let _ = hours.intervals();
        }
    }
}

/// Text that looks like a division file: the right header, then rows of arbitrary fields.
fn division_file(file: DivisionFile) -> impl Strategy<Value = Vec<u8>> {
    let header = match file {
        DivisionFile::Provinces => "code,name",
        DivisionFile::Cities => "code,name,provinceCode",
        DivisionFile::Areas => "code,name,cityCode,provinceCode",
        DivisionFile::Streets => "code,name,areaCode,provinceCode,cityCode",
        DivisionFile::Villages => "code,name,streetCode,provinceCode,cityCode,areaCode",
    };
    let field = prop_oneof![
        "[0-9]{0,13}",
        Just("11".to_owned()),
        Just("1101".to_owned()),
        Just("110101".to_owned()),
        "\"[^\"]{0,8}\"",
        ".{0,6}",
    ];
    proptest::collection::vec(proptest::collection::vec(field, 0..8), 0..6).prop_map(move |rows| {
        let mut text = format!("{header}\n");
        for row in rows {
            text.push_str(&row.join(","));
            text.push('\n');
        }
        text.into_bytes()
    })
}

fn import_request() -> impl Strategy<Value = ImportRequest> {
    (
        division_file(DivisionFile::Provinces),
        division_file(DivisionFile::Cities),
        division_file(DivisionFile::Areas),
        division_file(DivisionFile::Streets),
        division_file(DivisionFile::Villages),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(p, c, a, s, v, junk)| {
            let mut files = BTreeMap::new();
            files.insert(DivisionFile::Provinces, p);
            files.insert(DivisionFile::Cities, c);
            files.insert(DivisionFile::Areas, a);
            files.insert(DivisionFile::Streets, s);
            let mut villages = v;
            villages.extend(junk);
            files.insert(DivisionFile::Villages, villages);
            ImportRequest {
                vintage: "2023".into(),
                files,
                actor: "fuzz".into(),
                ..Default::default()
            }
        })
}

#[test]
fn arbitrary_imports_and_facilities_never_panic_the_registry() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let registry = runtime.block_on(async {
        let cfg = shequ_testkit::registry_config(&format!(
            "sqlite://{}",
            dir.path().join("f.sqlite").display()
        ))
        .unwrap();
        let db = shequ_platform::Database::open(
            &cfg.database,
            shequ_registry::SERVICE,
            shequ_registry::store::migrations::MIGRATIONS,
        )
        .await
        .unwrap();
        let registry = Registry::new(db, cfg.registry, shequ_platform::Shutdown::new());
        // One real unit, so some arbitrary facilities reach the database.
        let mut files = BTreeMap::new();
        for (file, bytes) in shequ_testkit::fixtures::SAMPLE {
            let file = match file {
                pb::DivisionFile::Provinces => DivisionFile::Provinces,
                pb::DivisionFile::Cities => DivisionFile::Cities,
                pb::DivisionFile::Areas => DivisionFile::Areas,
                pb::DivisionFile::Streets => DivisionFile::Streets,
                _ => DivisionFile::Villages,
            };
            files.insert(file, bytes.to_vec());
        }
        registry
            .import_divisions(ImportRequest {
                vintage: "2023".into(),
                files,
                actor: "fixture".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        registry
    });
    let before = runtime.block_on(registry.count_leaf_units(None)).unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(config(200));
    runner
        .run(&(import_request(), facility()), |(import, facility)| {
            runtime.block_on(async {
                if let Err(e) = registry.import_divisions(import).await {
                    let status = tonic::Status::from(e);
                    prop_assert!(
                        matches!(
                            status.code(),
                            Code::InvalidArgument | Code::FailedPrecondition
                        ),
                        "{status:?}"
                    );
                }
                let ctx = WriteContext::default();
                let created = match new_facility(&facility, "", &ctx.reason) {
                    Ok(new) => registry.create_facility(&new, &ctx).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = created {
                    let status = tonic::Status::from(e);
                    prop_assert!(
                        matches!(
                            status.code(),
                            Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition
                        ),
                        "{status:?}"
                    );
                }
                Ok(())
            })
        })
        .unwrap();
    // Whatever was imported, the sample's leaf units are still there (no retirement of units
    // outside the provinces an import names, no half-written import).
    let after = runtime.block_on(registry.count_leaf_units(None)).unwrap();
    assert!(after.communities + after.villages >= before.communities + before.villages);
}
