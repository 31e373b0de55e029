//! A facility between the wire and the domain: a request's facility parsed into a spec (every bad
//! field named), and a stored facility and its history in wire form.

use shequ_domain::{
    Coordinates, DivisionCode, FacilitySpec, FacilityStatus, LeafUnitKind, ServiceKind,
    StaffCounts, Violations,
};
use shequ_proto::common::v1 as common;
use shequ_proto::convert::{
    count_from_pb, facility_status_from_pb, kind_to_pb, opening_hours_from_pb, opening_hours_to_pb,
    services_from_pb, services_to_pb, status_to_pb, uscc_from_pb,
};
use shequ_proto::names::{division_name, facility_name, parse_division_name};
use shequ_proto::registry::v1 as pb;

use super::timestamp;
use crate::service::facilities::{ChangeKind, etag};
use crate::store::changes::FacilityChange;
use crate::store::facilities::FacilityRecord;

fn count(field: &str, value: i32, v: &mut Violations) -> u32 {
    count_from_pb(field, value).unwrap_or_else(|e| {
        v.extend(e.into());
        0
    })
}

/// Every writable field of a facility as far as it parses, before validation: see
/// [`parse_facility`].
#[derive(Debug, Clone)]
pub struct ParsedFacility {
    /// The values; a field that does not parse holds what a create puts in its place (none,
    /// empty or 0), and the leaf unit or status a placeholder that `identity_parsed` warns of.
    pub spec: FacilitySpec,
    /// What does not parse, in the order of the facility's fields, by path in the facility.
    pub violations: Violations,
    /// Whether the leaf unit and the status parsed (otherwise `spec` holds placeholders there).
    pub leaf_unit_parsed: bool,
    pub status_parsed: bool,
}

/// Parses every writable field of a facility, keeping going past the ones that do not parse.
/// Field paths are relative to the facility message (`leaf_unit`, `opening_hours[2].day`).
pub fn parse_facility(pb: &pb::Facility) -> ParsedFacility {
    let mut v = Violations::new();
    let leaf_unit = parse_division_name("leaf_unit", &pb.leaf_unit)
        .map_err(|e| v.extend(e.into()))
        .ok();
    let status = facility_status_from_pb(pb.status)
        .map_err(|e| v.extend(e.into()))
        .ok();
    let opening_hours = opening_hours_from_pb(&pb.opening_hours)
        .map_err(|e| v.extend(e.prefixed("opening_hours")))
        .unwrap_or_default();
    let services = services_from_pb("services", &pb.services)
        .map_err(|e| v.extend(e))
        .unwrap_or_default();
    let online_24h_services = services_from_pb("online_24h_services", &pb.online_24h_services)
        .map_err(|e| v.extend(e))
        .unwrap_or_default();
    let self_service_terminals = count("self_service_terminals", pb.self_service_terminals, &mut v);
    let staff = pb.staff.unwrap_or_default();
    let staff = StaffCounts {
        community_workers: count("staff.community_workers", staff.community_workers, &mut v),
        social_workers: count("staff.social_workers", staff.social_workers, &mut v),
    };
    let operator = pb.operator.clone().unwrap_or_default();
    let operator_uscc = uscc_from_pb(&operator.uscc)
        .map_err(|e| v.extend(e.into()))
        .ok()
        .flatten();
    ParsedFacility {
        leaf_unit_parsed: leaf_unit.is_some(),
        status_parsed: status.is_some(),
        spec: FacilitySpec {
            display_name: pb.display_name.clone(),
            leaf_unit: leaf_unit.unwrap_or_else(placeholder_leaf_unit),
            address: pb.address.clone(),
            location: pb.location.map(|l| Coordinates {
                latitude: l.latitude,
                longitude: l.longitude,
            }),
            status: status.unwrap_or(FacilityStatus::Planned),
            total_floor_area_m2: pb.total_floor_area_m2,
            activity_area_m2: pb.activity_area_m2,
            opening_hours,
            services,
            online_24h_services,
            self_service_terminals,
            staff,
            operator_name: operator.display_name,
            operator_uscc,
            contact_telephone: pb.contact_telephone.clone(),
        },
        violations: v,
    }
}

/// Stands in for a leaf unit that does not parse: never stored or shown, since
/// `leaf_unit_parsed` is false beside it.
fn placeholder_leaf_unit() -> DivisionCode {
    DivisionCode::from_u64(110_101_001_001).expect("a valid code")
}

/// Parses and validates every writable field of a facility. Field paths are relative to the
/// facility message (`leaf_unit`, `opening_hours[2].day`). Text fields come back trimmed.
pub fn facility_spec_from_pb(pb: &pb::Facility) -> Result<FacilitySpec, Violations> {
    let ParsedFacility {
        spec,
        mut violations,
        leaf_unit_parsed,
        status_parsed,
    } = parse_facility(pb);
    if !(leaf_unit_parsed && status_parsed) {
        return Err(violations);
    }
    // The text fields are judged as sent, then stored trimmed (`shequ_domain::text`).
    if let Err(e) = spec.validate() {
        violations.extend(e);
    }
    violations.into_result(spec.trimmed())
}

/// The writable fields of a facility as a wire message, without identity or output-only fields.
pub fn facility_spec_to_pb(spec: &FacilitySpec) -> pb::Facility {
    pb::Facility {
        display_name: spec.display_name.clone(),
        leaf_unit: division_name(spec.leaf_unit),
        address: spec.address.clone(),
        location: spec.location.map(|c| common::LatLng {
            latitude: c.latitude,
            longitude: c.longitude,
        }),
        status: status_to_pb(spec.status) as i32,
        total_floor_area_m2: spec.total_floor_area_m2,
        activity_area_m2: spec.activity_area_m2,
        opening_hours: opening_hours_to_pb(&spec.opening_hours),
        services: services_to_pb(&spec.services),
        online_24h_services: services_to_pb(&spec.online_24h_services),
        self_service_terminals: spec.self_service_terminals as i32,
        staff: Some(pb::Staff {
            community_workers: spec.staff.community_workers as i32,
            social_workers: spec.staff.social_workers as i32,
        }),
        operator: (!spec.operator_name.is_empty() || spec.operator_uscc.is_some()).then(|| {
            pb::Operator {
                display_name: spec.operator_name.clone(),
                uscc: spec
                    .operator_uscc
                    .as_ref()
                    .map(|u| u.as_str().to_owned())
                    .unwrap_or_default(),
            }
        }),
        contact_telephone: spec.contact_telephone.clone(),
        min_daily_open_minutes: spec.min_daily_open_minutes() as i32,
        activity_area_share: spec.activity_share(),
        ..Default::default()
    }
}

fn decode_services(text: &str) -> Vec<i32> {
    text.split(',')
        .filter_map(ServiceKind::parse)
        .map(|k| shequ_proto::convert::service_to_pb(k) as i32)
        .collect()
}

/// The wire form of a stored facility.
pub fn facility_to_pb(r: &FacilityRecord) -> pb::Facility {
    let hours: Vec<(u8, u16, u16)> = serde_json::from_str(&r.opening_hours).unwrap_or_default();
    let status = FacilityStatus::parse(&r.status)
        .map(status_to_pb)
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
        contact_telephone: r.contact_telephone.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> pb::Facility {
        pb::Facility {
            display_name: "银闸社区综合服务中心".into(),
            leaf_unit: "divisions/110101001002".into(),
            status: pb::FacilityStatus::InService as i32,
            total_floor_area_m2: 400.0,
            activity_area_m2: 260.0,
            opening_hours: (1..=7)
                .map(|d| pb::OpeningInterval {
                    day: d,
                    open_minute: 480,
                    close_minute: 1020,
                })
                .collect(),
            services: vec![common::ServiceKind::ElderlyCare as i32],
            operator: Some(pb::Operator {
                display_name: "x".into(),
                uscc: "91350100M000100Y43".into(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn round_trips_a_valid_facility() {
        let spec = facility_spec_from_pb(&valid()).unwrap();
        let back = facility_spec_to_pb(&spec);
        assert_eq!(facility_spec_from_pb(&back).unwrap(), spec);
        assert_eq!(back.min_daily_open_minutes, 540);
    }

    #[test]
    fn text_fields_are_stored_trimmed_and_white_space_alone_is_refused() {
        let mut pb = valid();
        pb.display_name = "\u{3000}银闸社区综合服务中心 ".into();
        pb.address = "  沙滩北街 2 号\t".into();
        pb.operator.as_mut().unwrap().display_name = " 东城社工站 ".into();
        let spec = facility_spec_from_pb(&pb).unwrap();
        assert_eq!(spec.display_name, "银闸社区综合服务中心");
        assert_eq!(spec.address, "沙滩北街 2 号");
        assert_eq!(spec.operator_name, "东城社工站");
        let back = facility_spec_to_pb(&spec);
        assert_eq!(back.address, "沙滩北街 2 号");

        pb.display_name = " ".into();
        pb.address = " \u{3000} ".into();
        pb.operator.as_mut().unwrap().display_name = "\n".into();
        let fields: Vec<_> = facility_spec_from_pb(&pb)
            .unwrap_err()
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(fields, ["display_name", "address", "operator.display_name"]);
    }

    #[test]
    fn reports_every_bad_field() {
        let mut pb = valid();
        pb.leaf_unit = "divisions/11x".into();
        pb.status = 42;
        pb.services = vec![1, 1, 99];
        pb.self_service_terminals = -1;
        pb.operator.as_mut().unwrap().uscc = "91350100M000100Y44".into();
        pb.opening_hours[0].close_minute = 2000;
        let fields: Vec<_> = facility_spec_from_pb(&pb)
            .unwrap_err()
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(
            fields,
            [
                "leaf_unit",
                "status",
                "opening_hours[0].close_minute",
                "services[1]",
                "services[2]",
                "self_service_terminals",
                "operator.uscc"
            ]
        );
    }
}
