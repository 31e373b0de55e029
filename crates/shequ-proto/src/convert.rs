//! Conversions between wire messages and the domain model. Parsing collects every violation with
//! its field path (relative to the message converted), so a client sees all its mistakes at once.

use std::collections::BTreeSet;

use shequ_domain::{
    Coordinates, DayOfWeek, DivisionLevel, FacilitySpec, FacilityStatus, FieldViolation,
    LeafUnitKind, OpeningHours, ServiceKind, StaffCounts, Uscc, Violations,
};

use crate::common::v1 as common;
use crate::names::parse_division_name;
use crate::registry::v1 as registry;

pub fn level_to_pb(level: DivisionLevel) -> common::DivisionLevel {
    match level {
        DivisionLevel::Province => common::DivisionLevel::Province,
        DivisionLevel::Prefecture => common::DivisionLevel::Prefecture,
        DivisionLevel::County => common::DivisionLevel::County,
        DivisionLevel::Township => common::DivisionLevel::Township,
        DivisionLevel::Village => common::DivisionLevel::Village,
    }
}

pub fn level_from_pb(level: common::DivisionLevel) -> Option<DivisionLevel> {
    match level {
        common::DivisionLevel::Unspecified => None,
        common::DivisionLevel::Province => Some(DivisionLevel::Province),
        common::DivisionLevel::Prefecture => Some(DivisionLevel::Prefecture),
        common::DivisionLevel::County => Some(DivisionLevel::County),
        common::DivisionLevel::Township => Some(DivisionLevel::Township),
        common::DivisionLevel::Village => Some(DivisionLevel::Village),
    }
}

pub fn kind_to_pb(kind: LeafUnitKind) -> common::LeafUnitKind {
    match kind {
        LeafUnitKind::Community => common::LeafUnitKind::Community,
        LeafUnitKind::Village => common::LeafUnitKind::Village,
    }
}

pub fn kind_from_pb(kind: common::LeafUnitKind) -> Option<LeafUnitKind> {
    match kind {
        common::LeafUnitKind::Unspecified => None,
        common::LeafUnitKind::Community => Some(LeafUnitKind::Community),
        common::LeafUnitKind::Village => Some(LeafUnitKind::Village),
    }
}

pub fn service_to_pb(kind: ServiceKind) -> common::ServiceKind {
    match kind {
        ServiceKind::ElderlyCare => common::ServiceKind::ElderlyCare,
        ServiceKind::Childcare => common::ServiceKind::Childcare,
        ServiceKind::Employment => common::ServiceKind::Employment,
        ServiceKind::DisabilityHelp => common::ServiceKind::DisabilityHelp,
        ServiceKind::MinorsCare => common::ServiceKind::MinorsCare,
        ServiceKind::Health => common::ServiceKind::Health,
        ServiceKind::PsychologicalSupport => common::ServiceKind::PsychologicalSupport,
        ServiceKind::Emergency => common::ServiceKind::Emergency,
        ServiceKind::GovernmentServices => common::ServiceKind::GovernmentServices,
        ServiceKind::Convenience => common::ServiceKind::Convenience,
    }
}

pub fn service_from_pb(kind: common::ServiceKind) -> Option<ServiceKind> {
    match kind {
        common::ServiceKind::Unspecified => None,
        common::ServiceKind::ElderlyCare => Some(ServiceKind::ElderlyCare),
        common::ServiceKind::Childcare => Some(ServiceKind::Childcare),
        common::ServiceKind::Employment => Some(ServiceKind::Employment),
        common::ServiceKind::DisabilityHelp => Some(ServiceKind::DisabilityHelp),
        common::ServiceKind::MinorsCare => Some(ServiceKind::MinorsCare),
        common::ServiceKind::Health => Some(ServiceKind::Health),
        common::ServiceKind::PsychologicalSupport => Some(ServiceKind::PsychologicalSupport),
        common::ServiceKind::Emergency => Some(ServiceKind::Emergency),
        common::ServiceKind::GovernmentServices => Some(ServiceKind::GovernmentServices),
        common::ServiceKind::Convenience => Some(ServiceKind::Convenience),
    }
}

pub fn status_to_pb(status: FacilityStatus) -> registry::FacilityStatus {
    match status {
        FacilityStatus::Planned => registry::FacilityStatus::Planned,
        FacilityStatus::UnderConstruction => registry::FacilityStatus::UnderConstruction,
        FacilityStatus::InService => registry::FacilityStatus::InService,
        FacilityStatus::Suspended => registry::FacilityStatus::Suspended,
        FacilityStatus::Closed => registry::FacilityStatus::Closed,
    }
}

pub fn status_from_pb(status: registry::FacilityStatus) -> Option<FacilityStatus> {
    match status {
        registry::FacilityStatus::Unspecified => None,
        registry::FacilityStatus::Planned => Some(FacilityStatus::Planned),
        registry::FacilityStatus::UnderConstruction => Some(FacilityStatus::UnderConstruction),
        registry::FacilityStatus::InService => Some(FacilityStatus::InService),
        registry::FacilityStatus::Suspended => Some(FacilityStatus::Suspended),
        registry::FacilityStatus::Closed => Some(FacilityStatus::Closed),
    }
}

pub fn day_to_pb(day: DayOfWeek) -> common::DayOfWeek {
    match day {
        DayOfWeek::Monday => common::DayOfWeek::Monday,
        DayOfWeek::Tuesday => common::DayOfWeek::Tuesday,
        DayOfWeek::Wednesday => common::DayOfWeek::Wednesday,
        DayOfWeek::Thursday => common::DayOfWeek::Thursday,
        DayOfWeek::Friday => common::DayOfWeek::Friday,
        DayOfWeek::Saturday => common::DayOfWeek::Saturday,
        DayOfWeek::Sunday => common::DayOfWeek::Sunday,
    }
}

/// Parses a list of catalogue services, refusing unknown values and repeats.
pub fn services_from_pb(field: &str, raw: &[i32]) -> Result<BTreeSet<ServiceKind>, Violations> {
    let mut v = Violations::new();
    let mut out = BTreeSet::new();
    for (i, &value) in raw.iter().enumerate() {
        match common::ServiceKind::try_from(value)
            .ok()
            .and_then(service_from_pb)
        {
            Some(kind) => {
                if !out.insert(kind) {
                    v.push(
                        format!("{field}[{i}]"),
                        format!("`{}` is listed twice", kind.as_str()),
                    );
                }
            }
            None => v.push(
                format!("{field}[{i}]"),
                format!("`{value}` is not a service in the catalogue"),
            ),
        }
    }
    v.into_result(out)
}

pub fn services_to_pb(services: &BTreeSet<ServiceKind>) -> Vec<i32> {
    services.iter().map(|&k| service_to_pb(k) as i32).collect()
}

pub fn opening_hours_to_pb(hours: &OpeningHours) -> Vec<registry::OpeningInterval> {
    hours
        .intervals()
        .iter()
        .map(|iv| registry::OpeningInterval {
            day: day_to_pb(iv.day) as i32,
            open_minute: i32::from(iv.open_minute),
            close_minute: i32::from(iv.close_minute),
        })
        .collect()
}

/// A facility's status; `status` is named when it is none of the five.
pub fn facility_status_from_pb(value: i32) -> Result<FacilityStatus, FieldViolation> {
    registry::FacilityStatus::try_from(value)
        .ok()
        .and_then(status_from_pb)
        .ok_or_else(|| {
            FieldViolation::new(
                "status",
                "must be one of planned, under_construction, in_service, suspended, closed",
            )
        })
}

/// A week of opening intervals as sent; violations name their index (`[2].day`).
pub fn opening_hours_from_pb(
    intervals: &[registry::OpeningInterval],
) -> Result<OpeningHours, Violations> {
    let raw: Vec<(i64, i64, i64)> = intervals
        .iter()
        .map(|iv| {
            (
                i64::from(iv.day),
                i64::from(iv.open_minute),
                i64::from(iv.close_minute),
            )
        })
        .collect();
    OpeningHours::from_raw(&raw)
}

/// A count of things or people at a facility, which must be 0 or more.
pub fn count_from_pb(field: &str, value: i32) -> Result<u32, FieldViolation> {
    u32::try_from(value).map_err(|_| FieldViolation::new(field, "must be 0 or more"))
}

/// An operator's unified social credit code (`operator.uscc`); empty is none.
pub fn uscc_from_pb(text: &str) -> Result<Option<Uscc>, FieldViolation> {
    if text.is_empty() {
        return Ok(None);
    }
    Uscc::parse(text)
        .map(Some)
        .map_err(|e| FieldViolation::new("operator.uscc", e.to_string()))
}

fn count(field: &str, value: i32, v: &mut Violations) -> u32 {
    count_from_pb(field, value).unwrap_or_else(|e| {
        v.extend(e.into());
        0
    })
}

/// Parses and validates every writable field of a facility. Field paths are relative to the
/// facility message (`leaf_unit`, `opening_hours[2].day`). Text fields come back trimmed.
pub fn facility_spec_from_pb(pb: &registry::Facility) -> Result<FacilitySpec, Violations> {
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
    let (Some(leaf_unit), Some(status)) = (leaf_unit, status) else {
        return Err(v);
    };
    let spec = FacilitySpec {
        display_name: pb.display_name.clone(),
        leaf_unit,
        address: pb.address.clone(),
        location: pb.location.map(|l| Coordinates {
            latitude: l.latitude,
            longitude: l.longitude,
        }),
        status,
        total_floor_area_m2: pb.total_floor_area_m2,
        activity_area_m2: pb.activity_area_m2,
        opening_hours,
        services,
        online_24h_services,
        self_service_terminals,
        staff,
        operator_name: operator.display_name,
        operator_uscc,
    };
    // The text fields are judged as sent, then stored trimmed (`shequ_domain::text`).
    if let Err(e) = spec.validate() {
        v.extend(e);
    }
    v.into_result(spec.trimmed())
}

/// The writable fields of a facility as a wire message, without identity or output-only fields.
pub fn facility_spec_to_pb(spec: &FacilitySpec) -> registry::Facility {
    registry::Facility {
        display_name: spec.display_name.clone(),
        leaf_unit: crate::names::division_name(spec.leaf_unit),
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
        staff: Some(registry::Staff {
            community_workers: spec.staff.community_workers as i32,
            social_workers: spec.staff.social_workers as i32,
        }),
        operator: (!spec.operator_name.is_empty() || spec.operator_uscc.is_some()).then(|| {
            registry::Operator {
                display_name: spec.operator_name.clone(),
                uscc: spec
                    .operator_uscc
                    .as_ref()
                    .map(|u| u.as_str().to_owned())
                    .unwrap_or_default(),
            }
        }),
        min_daily_open_minutes: spec.min_daily_open_minutes() as i32,
        activity_area_share: spec.activity_share(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> registry::Facility {
        registry::Facility {
            display_name: "银闸社区综合服务中心".into(),
            leaf_unit: "divisions/110101001002".into(),
            status: registry::FacilityStatus::InService as i32,
            total_floor_area_m2: 400.0,
            activity_area_m2: 260.0,
            opening_hours: (1..=7)
                .map(|d| registry::OpeningInterval {
                    day: d,
                    open_minute: 480,
                    close_minute: 1020,
                })
                .collect(),
            services: vec![common::ServiceKind::ElderlyCare as i32],
            operator: Some(registry::Operator {
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
