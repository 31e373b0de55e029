//! The hierarchy (`registry_divisions`): lookups, children, search and counts, kind overrides,
//! and what an import writes.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};
use shequ_domain::{DivisionCode, DivisionLevel, LeafUnitKind};

use super::rows::{DIVISION_COLUMNS, DivisionRecord};
use super::{Scope, stmt};

/// Rows per multi-row statement of an import: 11 bound values each stays under both backends'
/// bind limits.
pub const IMPORT_ROWS: usize = 1000;

/// A division as an import writes it (its code aside).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedDivision {
    pub level: i32,
    pub name: String,
    pub parent: Option<i64>,
    /// Province, prefecture, county and township codes; the division's own code at its level.
    pub ancestors: [Option<i64>; 4],
    pub kind: Option<String>,
    pub kind_overridden: bool,
}

impl ImportedDivision {
    /// A stored division as an import would write it.
    pub fn of(r: &DivisionRecord) -> Self {
        Self {
            level: r.level,
            name: r.name.clone(),
            parent: r.parent_code,
            ancestors: [
                Some(r.province_code),
                r.prefecture_code,
                r.county_code,
                r.township_code,
            ],
            kind: r.kind.clone(),
            kind_overridden: r.kind_overridden != 0,
        }
    }
}

pub async fn find(
    conn: &impl ConnectionTrait,
    code: DivisionCode,
) -> Result<Option<DivisionRecord>, DbErr> {
    DivisionRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT {DIVISION_COLUMNS} FROM registry_divisions WHERE code = $1"),
        [code.as_i64().into()],
    ))
    .one(conn)
    .await
}

/// The divisions `codes` that exist, in no particular order (none for no codes).
pub async fn by_codes(
    conn: &impl ConnectionTrait,
    codes: &[i64],
) -> Result<Vec<DivisionRecord>, DbErr> {
    let values: Vec<Value> = codes.iter().map(|&c| Value::from(c)).collect();
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
    DivisionRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!(
            "SELECT {DIVISION_COLUMNS} FROM registry_divisions WHERE code IN ({})",
            placeholders.join(", ")
        ),
        values,
    ))
    .all(conn)
    .await
}

/// At most `limit` children of `parent` (the provinces when `None`) with codes after `after`,
/// by code; retired ones only with `show_retired`.
pub async fn children(
    conn: &impl ConnectionTrait,
    parent: Option<DivisionCode>,
    show_retired: bool,
    after: i64,
    limit: i64,
) -> Result<Vec<DivisionRecord>, DbErr> {
    let mut values: Vec<Value> = vec![after.into(), limit.into()];
    let scope = match parent {
        Some(code) => {
            values.push(code.as_i64().into());
            "parent_code = $3"
        }
        None => "level = 1",
    };
    let retired = if show_retired { "" } else { " AND retired = 0" };
    DivisionRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT {DIVISION_COLUMNS} FROM registry_divisions WHERE {scope}{retired} AND code > $1 ORDER BY code LIMIT $2"),
        values,
    ))
    .all(conn)
    .await
}

/// At most `limit` divisions not retired whose name contains `text`, under `scope` (the division
/// itself excluded) and at `level` when given, with codes after `after`, by code.
pub async fn search(
    conn: &impl ConnectionTrait,
    text: &str,
    scope: Option<Scope>,
    level: Option<DivisionLevel>,
    after: i64,
    limit: i64,
) -> Result<Vec<DivisionRecord>, DbErr> {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let mut values: Vec<Value> = vec![format!("%{escaped}%").into(), after.into(), limit.into()];
    let mut filter = String::new();
    if let Some((column, code)) = scope {
        values.push(code.as_i64().into());
        filter.push_str(&format!(
            " AND {column} = ${} AND code <> ${}",
            values.len(),
            values.len()
        ));
    }
    if let Some(level) = level {
        values.push(i32::from(level.number()).into());
        filter.push_str(&format!(" AND level = ${}", values.len()));
    }
    DivisionRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!(
            "SELECT {DIVISION_COLUMNS} FROM registry_divisions WHERE name LIKE $1 ESCAPE '\\' AND retired = 0{filter} AND code > $2 ORDER BY code LIMIT $3"
        ),
        values,
    ))
    .all(conn)
    .await
}

/// The leaf units under `scope` (the country when `None`) that are not retired, counted by
/// stored kind.
pub async fn count_leaf_units(
    conn: &impl ConnectionTrait,
    scope: Option<Scope>,
) -> Result<Vec<(Option<String>, i64)>, DbErr> {
    #[derive(FromQueryResult)]
    struct KindCount {
        kind: Option<String>,
        n: i64,
    }
    let (condition, values) = match scope {
        Some((column, code)) => (format!("{column} = $1"), vec![Value::from(code.as_i64())]),
        None => ("1 = 1".to_owned(), Vec::new()),
    };
    Ok(KindCount::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT kind, count(*) AS n FROM registry_divisions WHERE {condition} AND level = 5 AND retired = 0 GROUP BY kind"),
        values,
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|row| (row.kind, row.n))
    .collect())
}

/// Sets the kind of leaf unit `code` and marks it overridden, so imports keep it.
pub async fn override_kind(
    conn: &impl ConnectionTrait,
    code: DivisionCode,
    kind: LeafUnitKind,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "UPDATE registry_divisions SET kind = $1, kind_overridden = 1 WHERE code = $2",
        [kind.as_str().into(), code.as_i64().into()],
    ))
    .await?;
    Ok(())
}

/// Every stored division.
pub async fn all(conn: &impl ConnectionTrait) -> Result<Vec<DivisionRecord>, DbErr> {
    DivisionRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT {DIVISION_COLUMNS} FROM registry_divisions"),
        [],
    ))
    .all(conn)
    .await
}

/// Inserts or overwrites `divisions` at `vintage`, not retired, with multi-row statements of
/// [`IMPORT_ROWS`].
pub async fn upsert(
    conn: &impl ConnectionTrait,
    divisions: &[(i64, &ImportedDivision)],
    vintage: &str,
) -> Result<(), DbErr> {
    for chunk in divisions.chunks(IMPORT_ROWS) {
        let mut sql = format!("INSERT INTO registry_divisions ({DIVISION_COLUMNS}) VALUES ");
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 11);
        for (i, (code, r)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            let b = i * 11;
            sql.push_str(&format!(
                "(${},${},${},${},${},${},${},${},${},${},${},0)",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10,
                b + 11
            ));
            values.extend([
                Value::from(*code),
                Value::from(r.name.clone()),
                Value::from(r.level),
                Value::from(r.parent),
                Value::from(r.ancestors[0].unwrap_or(*code)),
                Value::from(r.ancestors[1]),
                Value::from(r.ancestors[2]),
                Value::from(r.ancestors[3]),
                Value::from(r.kind.clone()),
                Value::from(i32::from(r.kind_overridden)),
                Value::from(vintage.to_owned()),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, \
             parent_code = excluded.parent_code, province_code = excluded.province_code, \
             prefecture_code = excluded.prefecture_code, county_code = excluded.county_code, \
             township_code = excluded.township_code, kind = excluded.kind, \
             kind_overridden = excluded.kind_overridden, vintage = excluded.vintage, retired = 0",
        );
        conn.execute_raw(stmt(conn.get_database_backend(), sql, values))
            .await?;
    }
    Ok(())
}

/// Marks the divisions `codes` retired, with statements of [`IMPORT_ROWS`].
pub async fn retire(conn: &impl ConnectionTrait, codes: &[i64]) -> Result<(), DbErr> {
    for chunk in codes.chunks(IMPORT_ROWS) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        conn.execute_raw(stmt(
            conn.get_database_backend(),
            format!(
                "UPDATE registry_divisions SET retired = 1 WHERE code IN ({})",
                placeholders.join(",")
            ),
            chunk.iter().map(|&c| Value::from(c)),
        ))
        .await?;
    }
    Ok(())
}

/// Fresh planner statistics (PostgreSQL), so plans over the hierarchy are chosen for its real
/// size; SQLite keeps none to refresh.
pub async fn refresh_statistics(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conn.execute_unprepared("ANALYZE registry_divisions")
            .await?;
    }
    Ok(())
}
