//! New facilities: the one-row insert of a single create, its text built once per backend, and
//! the multi-row inserts of a batch.

use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use shequ_domain::FacilitySpec;

use super::{DERIVED_COLUMNS, SPEC_COLUMNS, spec_values};
use crate::store::{INSERT_ROWS, stmt};

/// A facility about to be inserted.
pub struct NewRow<'a> {
    pub id: &'a str,
    pub spec: &'a FacilitySpec,
    /// Empty without one.
    pub request_id: &'a str,
    pub hash: &'a str,
}

/// The columns every insert sets, in the order of [`new_row_values`].
static INSERT_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let mut columns: Vec<&str> = SPEC_COLUMNS
        .iter()
        .chain(DERIVED_COLUMNS)
        .copied()
        .collect();
    columns.extend([
        "id",
        "request_id",
        "request_hash",
        "create_time",
        "request_owner",
        "update_time",
        "revision",
    ]);
    columns.join(", ")
});

/// How many values [`new_row_values`] gives.
const NEW_ROW_WIDTH: usize = SPEC_COLUMNS.len() + DERIVED_COLUMNS.len() + 5;

/// The insert of `rows` new facilities, their values in the order of [`new_row_values`], row
/// after row.
fn insert_sql(rows: usize) -> String {
    let width = NEW_ROW_WIDTH;
    let groups: Vec<String> = (0..rows)
        .map(|r| {
            let base = r * width;
            let placeholders: Vec<String> = (1..=width).map(|k| format!("${}", base + k)).collect();
            // update_time is the create time ($width - 1 of the row), and revision 1.
            format!("({}, ${}, 1)", placeholders.join(", "), base + width - 1)
        })
        .collect();
    format!(
        "INSERT INTO registry_facilities ({}) VALUES {}",
        *INSERT_COLUMNS,
        groups.join(", ")
    )
}

/// The one-row insert as [`stmt`] sends it to PostgreSQL (also any other backend) and to
/// SQLite, built once: a single create formats no SQL.
static INSERT_ONE_SQL: LazyLock<[String; 2]> = LazyLock::new(|| {
    [DbBackend::Postgres, DbBackend::Sqlite].map(|backend| stmt(backend, insert_sql(1), []).sql)
});

/// The one-row insert's text for `backend`.
fn insert_one_sql(backend: DbBackend) -> &'static str {
    let [postgres, sqlite] = &*INSERT_ONE_SQL;
    if backend == DbBackend::Sqlite {
        sqlite
    } else {
        postgres
    }
}

/// Inserts one facility at revision 1, created and updated at `now`.
pub async fn insert(
    conn: &impl ConnectionTrait,
    row: &NewRow<'_>,
    owner: &str,
    now: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let values = new_row_values(row, owner, now);
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        insert_one_sql(backend),
        values,
    ))
    .await?;
    Ok(())
}

/// Inserts new facilities at revision 1, created and updated at `now`, with multi-row
/// statements of [`INSERT_ROWS`].
pub async fn insert_many(
    conn: &impl ConnectionTrait,
    rows: &[NewRow<'_>],
    owner: &str,
    now: i64,
) -> Result<(), DbErr> {
    for chunk in rows.chunks(INSERT_ROWS) {
        let mut values = Vec::with_capacity(chunk.len() * NEW_ROW_WIDTH);
        for row in chunk {
            values.extend(new_row_values(row, owner, now));
        }
        conn.execute_raw(stmt(
            conn.get_database_backend(),
            insert_sql(chunk.len()),
            values,
        ))
        .await?;
    }
    Ok(())
}

/// Values of a new facility in the order of [`INSERT_COLUMNS`]: its spec's columns, then its id,
/// request id and hash, the time, and the owner of the request id (none without one).
fn new_row_values(row: &NewRow<'_>, owner: &str, now: i64) -> Vec<Value> {
    let keyed = !row.request_id.is_empty();
    let mut values = spec_values(row.spec);
    values.extend([
        Value::from(row.id.to_owned()),
        Value::from(keyed.then(|| row.request_id.to_owned())),
        Value::from(row.hash.to_owned()),
        Value::from(now),
        Value::from(keyed.then(|| owner.to_owned())),
    ]);
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_insert_sends_what_a_batch_of_one_sends() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            assert_eq!(
                insert_one_sql(backend),
                stmt(backend, insert_sql(1), []).sql,
                "{backend:?}"
            );
        }
        let sql = insert_one_sql(DbBackend::Postgres);
        assert_eq!(sql.matches('$').count(), NEW_ROW_WIDTH + 1);
        assert!(
            sql.ends_with(&format!("${}, 1)", NEW_ROW_WIDTH - 1)),
            "{sql}"
        );
    }
}
