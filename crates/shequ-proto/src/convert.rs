//! Conversions between wire messages and the domain model. Parsing collects every violation with
//! its field path (relative to the message converted), so a client sees all its mistakes at once.

use std::collections::BTreeSet;

use shequ_domain::{
    DayOfWeek, DivisionLevel, FacilityStatus, FieldViolation, LeafUnitKind, OpeningHours,
    ServiceKind, Uscc, Violations,
};

use crate::common::v1 as common;
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
