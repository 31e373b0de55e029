//! The facilities table (`registry_facilities`), read joined with each leaf unit's kind: lookups
//! by id and by request id, single and multi-row inserts (`inserts`), updates guarded by the
//! revision, and listings under a division.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};
use serde::{Deserialize, Serialize};
use shequ_domain::{
    Coordinates, DivisionCode, FacilitySpec, FacilityStatus, LeafUnitKind, OpeningHours,
    ServiceKind, StaffCounts, Uscc,
};

use super::{Scope, stmt};
use crate::error::RegistryError;

mod inserts;

pub use inserts::{NewRow, insert, insert_many};

/// The columns a facility's spec is stored in, in the order of [`spec_values`]; the columns after
/// them are derived from the spec, for filters and indicators.
const SPEC_COLUMNS: &[&str] = &[
    "leaf_code",
    "display_name",
    "address",
    "latitude",
    "longitude",
    "status",
    "total_floor_area_m2",
    "activity_area_m2",
    "opening_hours",
    "services",
    "online_24h_services",
    "self_service_terminals",
    "community_workers",
    "social_workers",
    "operator_name",
    "operator_uscc",
    "contact_telephone",
    "min_daily_open_minutes",
];
const DERIVED_COLUMNS: &[&str] = &["meets_activity_share", "meets_opening_hours", "online_24h"];

/// What a facility read selects, from `registry_facilities f` joined with its leaf unit `d`.
static FACILITY_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let spec: Vec<String> = SPEC_COLUMNS.iter().map(|c| format!("f.{c}")).collect();
    format!(
        "f.id, {}, f.revision, f.create_time, f.update_time, f.delete_time, d.kind AS leaf_kind",
        spec.join(", ")
    )
});

/// The update that writes a spec over a facility at a revision.
static UPDATE_SQL: LazyLock<String> = LazyLock::new(|| {
    let width = SPEC_COLUMNS.len() + DERIVED_COLUMNS.len();
    let set: Vec<String> = SPEC_COLUMNS
        .iter()
        .chain(DERIVED_COLUMNS)
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    format!(
        "UPDATE registry_facilities SET {}, update_time = ${}, revision = revision + 1 \
         WHERE id = ${} AND revision = ${}",
        set.join(", "),
        width + 1,
        width + 2,
        width + 3
    )
});

/// A facility row joined with its leaf unit's kind. Its serde form is also what the change log
/// keeps ([`FacilitySnapshot`](super::changes::FacilitySnapshot)): a field is only ever added, with
/// a default, so every stored snapshot keeps decoding; renaming or removing one takes a new
/// snapshot version.
#[derive(Debug, Clone, Default, PartialEq, FromQueryResult, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Empty for none; absent from snapshots written before it existed.
    #[serde(default)]
    pub contact_telephone: String,
    pub min_daily_open_minutes: i32,
    pub revision: i64,
    pub create_time: i64,
    pub update_time: i64,
    pub delete_time: Option<i64>,
    pub leaf_kind: Option<String>,
}

/// Filters of a facility listing.
#[derive(Debug, Clone, Default)]
pub struct FacilityFilter {
    pub statuses: Vec<FacilityStatus>,
    pub leaf_unit_kind: Option<LeafUnitKind>,
    pub service: Option<ServiceKind>,
    pub show_deleted: bool,
}

/// The facility a request id made, and the hash of the body it came with.
#[derive(Debug, FromQueryResult)]
pub struct Prior {
    pub id: String,
    pub request_hash: Option<String>,
}

/// [`Prior`] with the request id it was found by.
#[derive(Debug, FromQueryResult)]
pub struct PriorKey {
    pub id: String,
    pub request_id: Option<String>,
    pub request_hash: Option<String>,
}

pub async fn load(conn: &impl ConnectionTrait, id: &str) -> Result<Option<FacilityRecord>, DbErr> {
    FacilityRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT {} FROM registry_facilities f JOIN registry_divisions d ON d.code = f.leaf_code WHERE f.id = $1", *FACILITY_COLUMNS),
        [id.into()],
    ))
    .one(conn)
    .await
}

/// The leaf unit of facility `id`, deleted or not.
pub async fn leaf_code(conn: &impl ConnectionTrait, id: &str) -> Result<Option<i64>, DbErr> {
    #[derive(FromQueryResult)]
    struct LeafOf {
        leaf_code: i64,
    }
    Ok(LeafOf::find_by_statement(stmt(
        conn.get_database_backend(),
        "SELECT leaf_code FROM registry_facilities WHERE id = $1",
        [id.into()],
    ))
    .one(conn)
    .await?
    .map(|l| l.leaf_code))
}

/// The facilities `ids` that exist, in no particular order.
pub async fn by_ids(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<FacilityRecord>, DbErr> {
    let values: Vec<Value> = ids.iter().map(|id| id.clone().into()).collect();
    let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
    FacilityRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!(
            "SELECT {} FROM registry_facilities f JOIN registry_divisions d ON d.code = f.leaf_code WHERE f.id IN ({})",
            *FACILITY_COLUMNS,
            placeholders.join(", ")
        ),
        values,
    ))
    .all(conn)
    .await
}

/// The facility `owner` created with `request_id`.
pub async fn by_request(
    conn: &impl ConnectionTrait,
    owner: &str,
    request_id: &str,
) -> Result<Option<Prior>, DbErr> {
    Prior::find_by_statement(stmt(
        conn.get_database_backend(),
        "SELECT id, request_hash FROM registry_facilities WHERE request_owner = $1 AND request_id = $2",
        [owner.into(), request_id.into()],
    ))
    .one(conn)
    .await
}

/// The facilities `owner` created with any of `request_ids` (none when there are none).
pub async fn by_requests(
    conn: &impl ConnectionTrait,
    owner: &str,
    request_ids: &[&str],
) -> Result<Vec<PriorKey>, DbErr> {
    if request_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (2..=request_ids.len() + 1)
        .map(|i| format!("${i}"))
        .collect();
    let mut values = vec![Value::from(owner.to_owned())];
    values.extend(request_ids.iter().map(|k| Value::from((*k).to_owned())));
    PriorKey::find_by_statement(stmt(
        conn.get_database_backend(),
        format!(
            "SELECT id, request_id, request_hash FROM registry_facilities WHERE request_owner = $1 AND request_id IN ({})",
            placeholders.join(", ")
        ),
        values,
    ))
    .all(conn)
    .await
}

/// Writes `spec` over facility `id` if it is still at `revision`, and moves it to the next one;
/// false when somebody else wrote it first.
pub async fn update(
    conn: &impl ConnectionTrait,
    id: &str,
    spec: &FacilitySpec,
    revision: i64,
    now: i64,
) -> Result<bool, DbErr> {
    let mut values = spec_values(spec);
    values.extend([
        Value::from(now),
        Value::from(id.to_owned()),
        Value::from(revision),
    ]);
    let result = conn
        .execute_raw(stmt(
            conn.get_database_backend(),
            UPDATE_SQL.as_str(),
            values,
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Sets (a time) or clears (`None`) the deletion time of facility `id` at `revision`, and moves it
/// to the next revision.
pub async fn set_delete_time(
    conn: &impl ConnectionTrait,
    id: &str,
    delete_time: Option<i64>,
    revision: i64,
    now: i64,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "UPDATE registry_facilities SET delete_time = $1, update_time = $2, revision = revision + 1 WHERE id = $3 AND revision = $4",
        [delete_time.into(), now.into(), id.into(), revision.into()],
    ))
    .await?;
    Ok(())
}

/// At most `limit` facilities under the division `parent` (whose rows name it in `scope_column`)
/// with ids after `after`, ordered by id.
pub async fn list(
    conn: &impl ConnectionTrait,
    (scope_column, parent): Scope,
    filter: &FacilityFilter,
    after: &str,
    limit: i64,
) -> Result<Vec<FacilityRecord>, DbErr> {
    let mut values: Vec<Value> = vec![parent.as_i64().into(), after.into(), limit.into()];
    let mut sql = format!(
        "SELECT {} FROM registry_facilities f JOIN registry_divisions d ON d.code = f.leaf_code \
         WHERE d.{scope_column} = $1 AND f.id > $2",
        *FACILITY_COLUMNS
    );
    if !filter.statuses.is_empty() {
        let mut ph = Vec::new();
        for s in &filter.statuses {
            values.push(s.as_str().into());
            ph.push(format!("${}", values.len()));
        }
        sql.push_str(&format!(" AND f.status IN ({})", ph.join(",")));
    }
    if let Some(kind) = filter.leaf_unit_kind {
        values.push(kind.as_str().into());
        sql.push_str(&format!(" AND d.kind = ${}", values.len()));
    }
    if let Some(service) = filter.service {
        values.push(format!("%,{},%", service.as_str()).into());
        sql.push_str(&format!(" AND f.services LIKE ${}", values.len()));
    }
    if !filter.show_deleted {
        sql.push_str(" AND f.delete_time IS NULL");
    }
    sql.push_str(" ORDER BY f.id LIMIT $3");
    FacilityRecord::find_by_statement(stmt(conn.get_database_backend(), sql, values))
        .all(conn)
        .await
}

/// The facility a stored row describes, as it was written: a column that does not decode is
/// INTERNAL, naming the facility and the column.
pub fn decode_spec(r: &FacilityRecord) -> Result<FacilitySpec, RegistryError> {
    let broken = |column: &str, cause: &dyn std::fmt::Display| {
        RegistryError::Internal(format!(
            "`facilities/{}`: stored `{column}` does not decode: {cause}",
            r.id
        ))
    };
    let count = |column: &str, n: i32| u32::try_from(n).map_err(|e| broken(column, &e));
    let hours: Vec<(i64, i64, i64)> = serde_json::from_str::<Vec<(u8, u16, u16)>>(&r.opening_hours)
        .map_err(|e| broken("opening_hours", &e))?
        .into_iter()
        .map(|(day, open, close)| (i64::from(day), i64::from(open), i64::from(close)))
        .collect();
    Ok(FacilitySpec {
        display_name: r.display_name.clone(),
        leaf_unit: DivisionCode::from_u64(r.leaf_code as u64)
            .map_err(|e| broken("leaf_code", &e))?,
        address: r.address.clone(),
        location: r
            .latitude
            .zip(r.longitude)
            .map(|(latitude, longitude)| Coordinates {
                latitude,
                longitude,
            }),
        status: FacilityStatus::parse(&r.status)
            .ok_or_else(|| broken("status", &format!("`{}` is no status", r.status)))?,
        total_floor_area_m2: r.total_floor_area_m2,
        activity_area_m2: r.activity_area_m2,
        opening_hours: OpeningHours::from_raw(&hours).map_err(|e| broken("opening_hours", &e))?,
        services: decode_services(&r.services),
        online_24h_services: decode_services(&r.online_24h_services),
        self_service_terminals: count("self_service_terminals", r.self_service_terminals)?,
        staff: StaffCounts {
            community_workers: count("community_workers", r.community_workers)?,
            social_workers: count("social_workers", r.social_workers)?,
        },
        operator_name: r.operator_name.clone(),
        operator_uscc: match r.operator_uscc.as_deref() {
            None | Some("") => None,
            Some(text) => Some(Uscc::parse(text).map_err(|e| broken("operator_uscc", &e))?),
        },
        contact_telephone: r.contact_telephone.clone(),
    })
}

/// The services of a stored list (see [`encode_services`]), in catalogue order.
pub fn decode_services(text: &str) -> BTreeSet<ServiceKind> {
    text.split(',').filter_map(ServiceKind::parse).collect()
}

/// Values of [`SPEC_COLUMNS`] then [`DERIVED_COLUMNS`], shared by insert and update.
fn spec_values(spec: &FacilitySpec) -> Vec<Value> {
    vec![
        spec.leaf_unit.as_i64().into(),
        spec.display_name.clone().into(),
        spec.address.clone().into(),
        spec.location.map(|l| l.latitude).into(),
        spec.location.map(|l| l.longitude).into(),
        spec.status.as_str().into(),
        spec.total_floor_area_m2.into(),
        spec.activity_area_m2.into(),
        encode_hours(spec).into(),
        encode_services(&spec.services).into(),
        encode_services(&spec.online_24h_services).into(),
        (spec.self_service_terminals as i32).into(),
        (spec.staff.community_workers as i32).into(),
        (spec.staff.social_workers as i32).into(),
        spec.operator_name.clone().into(),
        spec.operator_uscc
            .as_ref()
            .map(|u| u.as_str().to_owned())
            .into(),
        spec.contact_telephone.clone().into(),
        (spec.min_daily_open_minutes() as i32).into(),
        i32::from(spec.meets_activity_share()).into(),
        i32::from(spec.meets_opening_hours()).into(),
        i32::from(spec.offers_online_24h()).into(),
    ]
}

/// `,elderly_care,health,`, so a service filter is a LIKE; empty for none.
fn encode_services(services: &BTreeSet<ServiceKind>) -> String {
    if services.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = services.iter().map(|s| s.as_str()).collect();
    format!(",{},", names.join(","))
}

/// JSON `[[day, open, close], ...]`.
fn encode_hours(spec: &FacilitySpec) -> String {
    let raw: Vec<(u8, u16, u16)> = spec
        .opening_hours
        .intervals()
        .iter()
        .map(|i| (i.day.number(), i.open_minute, i.close_minute))
        .collect();
    serde_json::to_string(&raw).unwrap_or_else(|_| "[]".to_owned())
}
