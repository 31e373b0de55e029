//! Row types read back from the registry's tables.

use sea_orm::FromQueryResult;
use shequ_domain::{DivisionCode, DivisionLevel, LeafUnitKind};

pub const DIVISION_COLUMNS: &str = "code, name, level, parent_code, province_code, prefecture_code, county_code, township_code, kind, kind_overridden, vintage, retired";

#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct DivisionRecord {
    pub code: i64,
    pub name: String,
    pub level: i32,
    pub parent_code: Option<i64>,
    pub province_code: i64,
    pub prefecture_code: Option<i64>,
    pub county_code: Option<i64>,
    pub township_code: Option<i64>,
    pub kind: Option<String>,
    pub kind_overridden: i32,
    pub vintage: String,
    pub retired: i32,
}

impl DivisionRecord {
    pub fn code(&self) -> DivisionCode {
        DivisionCode::from_u64(self.code as u64).expect("stored codes are valid")
    }

    pub fn level(&self) -> DivisionLevel {
        DivisionLevel::from_number(i64::from(self.level)).expect("stored levels are valid")
    }

    pub fn kind(&self) -> Option<LeafUnitKind> {
        self.kind.as_deref().and_then(LeafUnitKind::parse)
    }

    /// The column that holds this division's code in the rows below it, for scoping queries.
    pub fn scope_column(&self) -> &'static str {
        scope_column(self.level())
    }
}

/// Column of `registry_divisions` that names the ancestor at `level` (the code itself at level 5).
pub fn scope_column(level: DivisionLevel) -> &'static str {
    match level {
        DivisionLevel::Province => "province_code",
        DivisionLevel::Prefecture => "prefecture_code",
        DivisionLevel::County => "county_code",
        DivisionLevel::Township => "township_code",
        DivisionLevel::Village => "code",
    }
}

pub const FACILITY_COLUMNS: &str = "f.id, f.leaf_code, f.display_name, f.address, f.latitude, f.longitude, f.status, f.total_floor_area_m2, f.activity_area_m2, f.opening_hours, f.services, f.online_24h_services, f.self_service_terminals, f.community_workers, f.social_workers, f.operator_name, f.operator_uscc, f.min_daily_open_minutes, f.revision, f.create_time, f.update_time, f.delete_time, d.kind AS leaf_kind";

/// A facility row joined with its leaf unit's kind. The change log keeps it as a
/// [`FacilitySnapshot`](super::changes::FacilitySnapshot).
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct FacilityRecord {
    pub id: String,
    pub leaf_code: i64,
    pub display_name: String,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub status: String,
    pub total_floor_area_m2: f64,
    pub activity_area_m2: f64,
    /// JSON `[[day, open, close], ...]`
    pub opening_hours: String,
    /// `,elderly_care,health,` so a service filter is a LIKE.
    pub services: String,
    pub online_24h_services: String,
    pub self_service_terminals: i32,
    pub community_workers: i32,
    pub social_workers: i32,
    pub operator_name: String,
    pub operator_uscc: Option<String>,
    pub min_daily_open_minutes: i32,
    pub revision: i64,
    pub create_time: i64,
    pub update_time: i64,
    pub delete_time: Option<i64>,
    pub leaf_kind: Option<String>,
}
