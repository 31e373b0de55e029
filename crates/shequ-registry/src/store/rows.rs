//! Division rows as read back from `registry_divisions`, and the columns that scope a query
//! under a division.

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
