//! What the facts stream reads, in one snapshot transaction: the in-service facilities summed
//! per leaf unit, and the leaf units in code order. Two plain scans merged by the caller rather
//! than one outer join over an aggregate: the planner then has nothing to get wrong, whatever
//! the statistics say.

use std::collections::HashMap;

use futures::Stream;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, StreamTrait, Value};
use tokio_stream::StreamExt;

use super::{Scope, stmt};

/// The in-service, undeleted facilities of one leaf unit, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FacilityTotals {
    pub in_service_facilities: i64,
    pub total_floor_area_m2: f64,
    pub activity_area_m2: f64,
    pub activity_share_compliant: i64,
    pub opening_hours_compliant: i64,
    /// Whether any of them offers a service online around the clock.
    pub online_24h: bool,
    pub self_service_terminals: i64,
    pub community_workers: i64,
    pub social_workers: i64,
}

/// A leaf unit (level 5, not retired) with its ancestors; 0 for an ancestor it has none at.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafUnitRow {
    pub code: i64,
    pub kind: Option<String>,
    pub province: i64,
    pub prefecture: i64,
    pub county: i64,
    pub township: i64,
}

/// The `WHERE` condition on the divisions aliased `alias` for `scope`, and its values.
fn condition(alias: &str, scope: Option<Scope>) -> (String, Vec<Value>) {
    match scope {
        Some((column, code)) => (
            format!("{alias}.{column} = $1"),
            vec![Value::from(code.as_i64())],
        ),
        None => ("1 = 1".to_owned(), Vec::new()),
    }
}

/// The totals of every leaf unit under `scope` (the country when `None`) that has an in-service
/// facility, by leaf-unit code.
pub async fn facility_totals(
    txn: &DatabaseTransaction,
    scope: Option<Scope>,
) -> Result<HashMap<i64, FacilityTotals>, DbErr> {
    let (inner, values) = condition("dd", scope);
    let sql = format!(
        "SELECT f.leaf_code, count(*), sum(f.total_floor_area_m2), sum(f.activity_area_m2), \
         CAST(sum(f.meets_activity_share) AS BIGINT), CAST(sum(f.meets_opening_hours) AS BIGINT), \
         CAST(max(f.online_24h) AS BIGINT), CAST(sum(f.self_service_terminals) AS BIGINT), \
         CAST(sum(f.community_workers) AS BIGINT), CAST(sum(f.social_workers) AS BIGINT) \
         FROM registry_facilities f JOIN registry_divisions dd ON dd.code = f.leaf_code \
         WHERE {inner} AND f.status = 'in_service' AND f.delete_time IS NULL GROUP BY f.leaf_code"
    );
    let mut totals = HashMap::new();
    let mut rows = txn
        .stream_raw(stmt(
            ConnectionTrait::get_database_backend(txn),
            sql,
            values,
        ))
        .await?;
    while let Some(row) = rows.next().await {
        let row = row?;
        let int = |i: usize| {
            row.try_get_by_index::<Option<i64>>(i)
                .map(|v| v.unwrap_or(0))
        };
        let real = |i: usize| {
            row.try_get_by_index::<Option<f64>>(i)
                .map(|v| v.unwrap_or(0.0))
        };
        totals.insert(
            int(0)?,
            FacilityTotals {
                in_service_facilities: int(1)?,
                total_floor_area_m2: real(2)?,
                activity_area_m2: real(3)?,
                activity_share_compliant: int(4)?,
                opening_hours_compliant: int(5)?,
                online_24h: int(6)? > 0,
                self_service_terminals: int(7)?,
                community_workers: int(8)?,
                social_workers: int(9)?,
            },
        );
    }
    Ok(totals)
}

/// The leaf units under `scope` (the country when `None`), in code order, as they are read.
pub async fn leaf_units(
    txn: &DatabaseTransaction,
    scope: Option<Scope>,
) -> Result<impl Stream<Item = Result<LeafUnitRow, DbErr>> + Unpin + Send + '_, DbErr> {
    let (outer, values) = condition("d", scope);
    let sql = format!(
        "SELECT d.code, d.kind, d.province_code, d.prefecture_code, d.county_code, d.township_code \
         FROM registry_divisions d WHERE {outer} AND d.level = 5 AND d.retired = 0 ORDER BY d.code"
    );
    let rows = txn
        .stream_raw(stmt(
            ConnectionTrait::get_database_backend(txn),
            sql,
            values,
        ))
        .await?;
    Ok(rows.map(|row| {
        let row = row?;
        let int = |i: usize| {
            row.try_get_by_index::<Option<i64>>(i)
                .map(|v| v.unwrap_or(0))
        };
        Ok(LeafUnitRow {
            code: int(0)?,
            kind: row.try_get_by_index(1)?,
            province: int(2)?,
            prefecture: int(3)?,
            county: int(4)?,
            township: int(5)?,
        })
    }))
}
