//! Protobuf <-> domain conversions of the registry, with field-path validation errors: what a
//! request says in domain values, and what the service returns in wire form.

use shequ_domain::{
    Coordinates, DivisionCode, FacilityStatus, LeafUnitKind, ServiceKind, StaffCounts, Violations,
};
use shequ_proto::convert::{
    count_from_pb, facility_spec_from_pb, facility_status_from_pb, kind_to_pb, level_to_pb,
    opening_hours_from_pb, services_from_pb, uscc_from_pb,
};
use shequ_proto::names::{division_name, facility_name, parse_division_name};
use shequ_proto::registry::v1 as pb;

use crate::error::RegistryError;
use crate::service::facilities::{
    ChangeKind, Creation, FacilityPatch, FieldValue, MAX_BATCH_CREATE, NewFacility, WRITABLE, etag,
};
use crate::service::feed::FactsBatch;
use crate::service::import::DivisionFile;
use crate::store::changes::FacilityChange;
use crate::store::rows::{DivisionRecord, FacilityRecord};

/// Longest request id accepted, in characters.
const MAX_REQUEST_ID: usize = 128;

/// Writable fields below the top level, as update-mask paths.
const SUB_PATHS: &[&str] = &[
    "location.latitude",
    "location.longitude",
    "staff.community_workers",
    "staff.social_workers",
    "operator.display_name",
    "operator.uscc",
];

pub fn division_to_pb(r: &DivisionRecord) -> pb::Division {
    let code = r.code();
    pb::Division {
        name: division_name(code),
        code: code.to_string(),
        display_name: r.name.clone(),
        level: level_to_pb(r.level()) as i32,
        parent: r
            .parent_code
            .and_then(|p| DivisionCode::from_u64(p as u64).ok())
            .map(division_name)
            .unwrap_or_default(),
        leaf_unit_kind: r.kind().map(kind_to_pb).unwrap_or_default() as i32,
        leaf_unit_kind_overridden: r.kind_overridden != 0,
        vintage: r.vintage.clone(),
        retired: r.retired != 0,
    }
}

pub fn division_file(value: i32) -> Option<DivisionFile> {
    match pb::DivisionFile::try_from(value).ok()? {
        pb::DivisionFile::Unspecified => None,
        pb::DivisionFile::Provinces => Some(DivisionFile::Provinces),
        pb::DivisionFile::Cities => Some(DivisionFile::Cities),
        pb::DivisionFile::Areas => Some(DivisionFile::Areas),
        pb::DivisionFile::Streets => Some(DivisionFile::Streets),
        pb::DivisionFile::Villages => Some(DivisionFile::Villages),
    }
}

pub fn division_file_to_pb(file: DivisionFile) -> pb::DivisionFile {
    match file {
        DivisionFile::Provinces => pb::DivisionFile::Provinces,
        DivisionFile::Cities => pb::DivisionFile::Cities,
        DivisionFile::Areas => pb::DivisionFile::Areas,
        DivisionFile::Streets => pb::DivisionFile::Streets,
        DivisionFile::Villages => pb::DivisionFile::Villages,
    }
}

fn decode_services(text: &str) -> Vec<i32> {
    text.split(',')
        .filter_map(ServiceKind::parse)
        .map(|k| shequ_proto::convert::service_to_pb(k) as i32)
        .collect()
}

fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

/// The wire form of a stored facility.
pub fn facility_to_pb(r: &FacilityRecord) -> pb::Facility {
    let hours: Vec<(u8, u16, u16)> = serde_json::from_str(&r.opening_hours).unwrap_or_default();
    let status = FacilityStatus::parse(&r.status)
        .map(shequ_proto::convert::status_to_pb)
        .unwrap_or_default();
    pb::Facility {
        name: facility_name(&r.id),
        display_name: r.display_name.clone(),
        leaf_unit: DivisionCode::from_u64(r.leaf_code as u64)
            .map(division_name)
            .unwrap_or_default(),
        address: r.address.clone(),
        location: r.latitude.zip(r.longitude).map(|(latitude, longitude)| {
            shequ_proto::common::v1::LatLng {
                latitude,
                longitude,
            }
        }),
        status: status as i32,
        total_floor_area_m2: r.total_floor_area_m2,
        activity_area_m2: r.activity_area_m2,
        opening_hours: hours
            .into_iter()
            .map(|(day, open, close)| pb::OpeningInterval {
                day: i32::from(day),
                open_minute: i32::from(open),
                close_minute: i32::from(close),
            })
            .collect(),
        services: decode_services(&r.services),
        online_24h_services: decode_services(&r.online_24h_services),
        self_service_terminals: r.self_service_terminals,
        staff: Some(pb::Staff {
            community_workers: r.community_workers,
            social_workers: r.social_workers,
        }),
        operator: (!r.operator_name.is_empty() || r.operator_uscc.is_some()).then(|| {
            pb::Operator {
                display_name: r.operator_name.clone(),
                uscc: r.operator_uscc.clone().unwrap_or_default(),
            }
        }),
        min_daily_open_minutes: r.min_daily_open_minutes,
        activity_area_share: if r.total_floor_area_m2 > 0.0 {
            r.activity_area_m2 / r.total_floor_area_m2
        } else {
            0.0
        },
        revision: r.revision,
        etag: etag(r.revision),
        create_time: Some(timestamp(r.create_time)),
        update_time: Some(timestamp(r.update_time)),
        delete_time: r.delete_time.map(timestamp),
        leaf_unit_kind: r
            .leaf_kind
            .as_deref()
            .and_then(LeafUnitKind::parse)
            .map(kind_to_pb)
            .unwrap_or_default() as i32,
    }
}

/// The wire form of a change-log entry.
pub fn revision_to_pb(c: &FacilityChange) -> pb::FacilityRevision {
    let kind = match c.kind {
        ChangeKind::Created => pb::ChangeKind::Created,
        ChangeKind::Updated => pb::ChangeKind::Updated,
        ChangeKind::Deleted => pb::ChangeKind::Deleted,
        ChangeKind::Undeleted => pb::ChangeKind::Undeleted,
    };
    pb::FacilityRevision {
        facility: facility_name(&c.facility_id),
        revision: c.revision,
        kind: kind as i32,
        time: Some(timestamp(c.at)),
        actor: c.actor.clone(),
        reason: c.reason.clone(),
        changed_fields: c.changed_fields.clone(),
        snapshot: Some(facility_to_pb(&c.snapshot)),
    }
}

/// One message of the facts stream; only the first carries the change cursor and vintage.
pub fn facts_to_pb(batch: FactsBatch) -> pb::StreamLeafUnitFactsResponse {
    let (change_cursor, vintage) = match batch.header {
        Some(h) => (h.change_cursor.to_string(), h.vintage.unwrap_or_default()),
        None => (String::new(), String::new()),
    };
    pb::StreamLeafUnitFactsResponse {
        facts: batch
            .facts
            .into_iter()
            .map(|f| {
                let (unit, t) = (f.unit, f.totals);
                pb::LeafUnitFacts {
                    code: unit.code as u64,
                    kind: unit
                        .kind
                        .as_deref()
                        .and_then(LeafUnitKind::parse)
                        .map(kind_to_pb)
                        .unwrap_or_default() as i32,
                    province: unit.province as u64,
                    prefecture: unit.prefecture as u64,
                    county: unit.county as u64,
                    township: unit.township as u64,
                    in_service_facilities: t.in_service_facilities as i32,
                    total_floor_area_m2: t.total_floor_area_m2,
                    activity_area_m2: t.activity_area_m2,
                    activity_share_compliant: t.activity_share_compliant as i32,
                    opening_hours_compliant: t.opening_hours_compliant as i32,
                    online_24h: t.online_24h,
                    self_service_terminals: t.self_service_terminals as i32,
                    community_workers: t.community_workers as i32,
                    social_workers: t.social_workers as i32,
                }
            })
            .collect(),
        change_cursor,
        vintage,
    }
}

/// A fingerprint of a create request as sent (the facility's wire encoding and the reason), kept
/// with its request id.
fn request_hash(facility: &pb::Facility, reason: &str) -> String {
    use prost::Message;
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(facility.encode_to_vec());
    hasher.update([0]);
    hasher.update(reason.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The facility a CreateFacility request states, with its request id; every bad field is named
/// under `facility`.
pub fn new_facility(
    facility: &pb::Facility,
    request_id: &str,
    reason: &str,
) -> Result<NewFacility, RegistryError> {
    if request_id.chars().count() > MAX_REQUEST_ID {
        return Err(RegistryError::invalid(
            "request_id",
            "must be at most 128 characters",
        ));
    }
    let spec = facility_spec_from_pb(facility)
        .map_err(|v| RegistryError::Invalid(v.prefixed("facility")))?;
    Ok(NewFacility {
        spec,
        request_id: request_id.to_owned(),
        request_hash: request_hash(facility, reason),
    })
}

/// The creations of a BatchCreateFacilities request, in request order, every bad field of every
/// request named as `requests[i].…`, request ids repeated within the batch included.
pub fn creations(requests: &[pb::CreateFacilityRequest]) -> Result<Vec<Creation>, RegistryError> {
    if requests.is_empty() {
        return Err(RegistryError::invalid(
            "requests",
            "must hold at least one request",
        ));
    }
    if requests.len() > MAX_BATCH_CREATE {
        return Err(RegistryError::invalid(
            "requests",
            format!(
                "holds {} requests; at most {MAX_BATCH_CREATE} are accepted per call",
                requests.len()
            ),
        ));
    }
    let mut bad = Violations::new();
    let mut specs = Vec::with_capacity(requests.len());
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, r) in requests.iter().enumerate() {
        if r.request_id.chars().count() > MAX_REQUEST_ID {
            bad.push(
                format!("requests[{i}].request_id"),
                "must be at most 128 characters",
            );
        } else if !r.request_id.is_empty()
            && let Some(first) = seen.insert(r.request_id.as_str(), i)
        {
            bad.push(
                format!("requests[{i}].request_id"),
                format!("repeats the request_id of `requests[{first}]`"),
            );
        }
        match &r.facility {
            None => bad.push(format!("requests[{i}].facility"), "is required"),
            Some(f) => match facility_spec_from_pb(f) {
                Ok(spec) => specs.push(spec),
                Err(v) => bad.extend(v.prefixed(&format!("requests[{i}].facility"))),
            },
        }
    }
    if !bad.is_empty() {
        return Err(RegistryError::Invalid(bad));
    }
    Ok(requests
        .iter()
        .zip(specs)
        .map(|(r, spec)| Creation {
            facility: NewFacility {
                spec,
                request_id: r.request_id.clone(),
                request_hash: request_hash(
                    r.facility.as_ref().unwrap_or(&pb::Facility::default()),
                    &r.reason,
                ),
            },
            reason: r.reason.clone(),
        })
        .collect())
}

/// The update an UpdateFacility request makes: `patch`'s values at the paths `mask` names (every
/// writable field when it is empty or holds `*`). A path that is no writable field is
/// INVALID_ARGUMENT on `update_mask`. Values that do not parse travel in the patch, named as in
/// the facility and in the order of its fields, to be reported once the facility is found; each
/// one named takes what a create would have taken in its place.
pub fn facility_patch(
    patch: &pb::Facility,
    mask: &[String],
) -> Result<FacilityPatch, RegistryError> {
    let paths: Vec<&str> = if mask.is_empty() || mask.iter().any(|p| p == "*") {
        WRITABLE.to_vec()
    } else {
        mask.iter().map(String::as_str).collect()
    };
    let mut bad = Violations::new();
    for p in &paths {
        if !WRITABLE.contains(p) && !SUB_PATHS.contains(p) {
            bad.push(
                "update_mask",
                format!(
                    "`{}` is not a writable field of a facility",
                    shequ_domain::excerpt(p)
                ),
            );
        }
    }
    if !bad.is_empty() {
        return Err(RegistryError::Invalid(bad));
    }
    let named = |any: &[&str]| any.iter().any(|p| paths.contains(p));
    // Each named field is parsed as a create parses it (`facility_spec_from_pb`), in the same
    // order, so violations come in the same order; one that does not parse takes what a create
    // puts in its place.
    let mut v = Violations::new();
    let leaf_unit = parsed(&mut v, named(&["leaf_unit"]), || {
        parse_division_name("leaf_unit", &patch.leaf_unit).map_err(Into::into)
    });
    let status = parsed(&mut v, named(&["status"]), || {
        facility_status_from_pb(patch.status).map_err(Into::into)
    });
    let identity_invalid =
        (named(&["leaf_unit"]) && leaf_unit.is_none()) || (named(&["status"]) && status.is_none());
    let opening_hours = parsed(&mut v, named(&["opening_hours"]), || {
        opening_hours_from_pb(&patch.opening_hours).map_err(|e| e.prefixed("opening_hours"))
    })
    .unwrap_or_default();
    let offered = parsed(&mut v, named(&["services"]), || {
        services_from_pb("services", &patch.services)
    })
    .unwrap_or_default();
    let online = parsed(&mut v, named(&["online_24h_services"]), || {
        services_from_pb("online_24h_services", &patch.online_24h_services)
    })
    .unwrap_or_default();
    let count = |v: &mut Violations, path: &str, any: &[&str], value: i32| {
        parsed(v, named(any), || {
            count_from_pb(path, value).map_err(Into::into)
        })
        .unwrap_or(0)
    };
    let terminals = count(
        &mut v,
        "self_service_terminals",
        &["self_service_terminals"],
        patch.self_service_terminals,
    );
    let staff = patch.staff.unwrap_or_default();
    let staff = StaffCounts {
        community_workers: count(
            &mut v,
            "staff.community_workers",
            &["staff", "staff.community_workers"],
            staff.community_workers,
        ),
        social_workers: count(
            &mut v,
            "staff.social_workers",
            &["staff", "staff.social_workers"],
            staff.social_workers,
        ),
    };
    let operator = patch.operator.clone().unwrap_or_default();
    let uscc = parsed(&mut v, named(&["operator", "operator.uscc"]), || {
        uscc_from_pb(&operator.uscc).map_err(Into::into)
    })
    .flatten();
    let location = patch.location.unwrap_or_default();
    let values = paths
        .iter()
        .filter_map(|path| {
            Some(match *path {
                "display_name" => FieldValue::DisplayName(patch.display_name.clone()),
                "leaf_unit" => FieldValue::LeafUnit(leaf_unit?),
                "address" => FieldValue::Address(patch.address.clone()),
                "location" => FieldValue::Location(patch.location.map(|l| Coordinates {
                    latitude: l.latitude,
                    longitude: l.longitude,
                })),
                "location.latitude" => FieldValue::Latitude(location.latitude),
                "location.longitude" => FieldValue::Longitude(location.longitude),
                "status" => FieldValue::Status(status?),
                "total_floor_area_m2" => FieldValue::TotalFloorArea(patch.total_floor_area_m2),
                "activity_area_m2" => FieldValue::ActivityArea(patch.activity_area_m2),
                "opening_hours" => FieldValue::OpeningHours(opening_hours.clone()),
                "services" => FieldValue::Services(offered.clone()),
                "online_24h_services" => FieldValue::Online24hServices(online.clone()),
                "self_service_terminals" => FieldValue::SelfServiceTerminals(terminals),
                "staff" => FieldValue::Staff(staff),
                "staff.community_workers" => FieldValue::CommunityWorkers(staff.community_workers),
                "staff.social_workers" => FieldValue::SocialWorkers(staff.social_workers),
                "operator" => FieldValue::Operator {
                    name: operator.display_name.clone(),
                    uscc: uscc.clone(),
                },
                "operator.display_name" => FieldValue::OperatorName(operator.display_name.clone()),
                "operator.uscc" => FieldValue::OperatorUscc(uscc.clone()),
                _ => unreachable!("paths were checked against the writable fields"),
            })
        })
        .collect();
    Ok(FacilityPatch {
        values,
        invalid: v,
        identity_invalid,
        etag: patch.etag.clone(),
    })
}

/// What `parse` gives when the field is `named`; its violations go to `v`.
fn parsed<T>(
    v: &mut Violations,
    named: bool,
    parse: impl FnOnce() -> Result<T, Violations>,
) -> Option<T> {
    if !named {
        return None;
    }
    parse().map_err(|e| v.extend(e)).ok()
}
