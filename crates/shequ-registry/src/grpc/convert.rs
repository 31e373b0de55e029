//! Protobuf <-> domain conversions of the registry, with field-path validation errors: what a
//! request says in domain values, and what the service returns in wire form.

mod facility;
mod writes;

use shequ_domain::{DivisionCode, LeafUnitKind};
use shequ_proto::convert::{kind_to_pb, level_to_pb};
use shequ_proto::names::division_name;
use shequ_proto::registry::v1 as pb;

pub use facility::{
    ParsedFacility, facility_spec_from_pb, facility_spec_to_pb, facility_to_pb, parse_facility,
    revision_to_pb,
};
pub use writes::{creations, facility_patch, new_facility};

use crate::service::feed::FactsBatch;
use crate::service::import::DivisionFile;
use crate::store::rows::DivisionRecord;

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

pub(super) fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
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
