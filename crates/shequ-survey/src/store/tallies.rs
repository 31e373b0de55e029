//! The stored tallies (`survey_tallies`: one row per round and division, its answer counts
//! packed by the round's `Layout`), the fold's progress per round (`survey_tally_positions`) and
//! the rounds marked for a rebuild (`survey_tally_rebuilds`).

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Value};
use shequ_domain::DivisionLevel;

use super::{shaped_chunks, stmt, value_rows};
use crate::error::Result;
use crate::model::tally::{Layout, LeafTally, Tally};

/// Codes per `IN (...)` list and rows per multi-row upsert.
const ROWS_PER_STATEMENT: usize = 1_000;

/// The fold's progress for a round: tallies hold every delta up to `folded`; deltas up to
/// `deleted` are gone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Positions {
    pub folded: i64,
    pub deleted: i64,
}

pub async fn positions(conn: &impl ConnectionTrait, round_id: &str) -> Result<Positions, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            conn.get_database_backend(),
            "SELECT folded_seq, deleted_seq FROM survey_tally_positions WHERE round_id = $1",
            [round_id.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => Positions {
            folded: row.try_get_by_index(0)?,
            deleted: row.try_get_by_index(1)?,
        },
        None => Positions::default(),
    })
}

/// Gives the round its positions row, at 0, unless it has one.
pub async fn ensure_positions(conn: &impl ConnectionTrait, round_id: &str) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "INSERT INTO survey_tally_positions (round_id, folded_seq, deleted_seq) VALUES ($1, 0, 0) ON CONFLICT (round_id) DO NOTHING",
        [round_id.into()],
    ))
    .await?;
    Ok(())
}

/// Moves the fold position from `from` to `to`, and the deletion horizon to `from`; false when
/// the position was no longer `from`.
pub async fn advance_positions(
    conn: &impl ConnectionTrait,
    round_id: &str,
    from: i64,
    to: i64,
) -> Result<bool, DbErr> {
    let moved = conn
        .execute_raw(stmt(
            conn.get_database_backend(),
            "UPDATE survey_tally_positions SET folded_seq = $2, deleted_seq = folded_seq WHERE round_id = $1 AND folded_seq = $3",
            [round_id.into(), to.into(), from.into()],
        ))
        .await?
        .rows_affected();
    Ok(moved > 0)
}

/// Stored tallies of the given codes.
pub async fn by_codes(
    conn: &impl ConnectionTrait,
    round_id: &str,
    layout: &Layout,
    codes: &[i64],
) -> Result<HashMap<i64, Tally>> {
    let backend = conn.get_database_backend();
    let mut out = HashMap::with_capacity(codes.len());
    for chunk in shaped_chunks(codes, ROWS_PER_STATEMENT) {
        let (condition, mut values) = one_of(backend, "code", 2, chunk);
        values.insert(0, round_id.into());
        let rows = conn
            .query_all_raw(stmt(
                backend,
                format!(
                    "SELECT code, valid_responses, scored_responses, score_sum, covered_units, answers FROM survey_tallies WHERE round_id = $1 AND {condition}"
                ),
                values,
            ))
            .await?;
        for row in rows {
            let (code, tally) = tally_row(&row, layout)?;
            out.insert(code, tally);
        }
    }
    Ok(out)
}

/// The round's stored tallies above the leaf units, with their answer counts.
pub async fn above_leaves(
    conn: &impl ConnectionTrait,
    round_id: &str,
    layout: &Layout,
) -> Result<HashMap<i64, Tally>> {
    let rows = conn
        .query_all_raw(stmt(
            conn.get_database_backend(),
            "SELECT code, valid_responses, scored_responses, score_sum, covered_units, answers FROM survey_tallies WHERE round_id = $1 AND level <> $2",
            [round_id.into(), leaf_level().into()],
        ))
        .await?;
    let mut out = HashMap::new();
    for row in rows {
        let (code, tally) = tally_row(&row, layout)?;
        out.insert(code, tally);
    }
    Ok(out)
}

/// The round's stored leaf-unit tallies, without their answer counts.
pub async fn leaves(
    conn: &impl ConnectionTrait,
    round_id: &str,
) -> Result<HashMap<i64, LeafTally>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            conn.get_database_backend(),
            "SELECT code, valid_responses, scored_responses, score_sum FROM survey_tallies WHERE round_id = $1 AND level = $2",
            [round_id.into(), leaf_level().into()],
        ))
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        out.insert(
            row.try_get_by_index(0)?,
            LeafTally {
                valid: row.try_get_by_index(1)?,
                scored: row.try_get_by_index(2)?,
                score_sum: row.try_get_by_index(3)?,
            },
        );
    }
    Ok(out)
}

/// Writes the tallies of `codes`, each with its level (`tallies[code]`), over the stored ones,
/// in multi-row upserts.
pub async fn upsert(
    conn: &impl ConnectionTrait,
    round_id: &str,
    layout: &Layout,
    codes: &[i64],
    tallies: &HashMap<i64, (i64, Tally)>,
) -> Result<(), DbErr> {
    for chunk in shaped_chunks(codes, ROWS_PER_STATEMENT) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 8);
        for code in chunk {
            let (level, t) = &tallies[code];
            values.extend([
                round_id.into(),
                (*code).into(),
                (*level).into(),
                t.valid.into(),
                t.scored.into(),
                t.score_sum.into(),
                t.covered.into(),
                layout.pack(&t.slots).into(),
            ]);
        }
        let sql = format!(
            "INSERT INTO survey_tallies (round_id, code, level, valid_responses, scored_responses, score_sum, covered_units, answers) VALUES {} \
             ON CONFLICT (round_id, code) DO UPDATE SET valid_responses = excluded.valid_responses, scored_responses = excluded.scored_responses, \
             score_sum = excluded.score_sum, covered_units = excluded.covered_units, answers = excluded.answers",
            value_rows(chunk.len(), 8)
        );
        conn.execute_raw(stmt(conn.get_database_backend(), sql, values))
            .await?;
    }
    Ok(())
}

/// Whether the round is marked for a rebuild of its tallies.
pub async fn marked_for_rebuild(
    conn: &impl ConnectionTrait,
    round_id: &str,
) -> Result<bool, DbErr> {
    Ok(conn
        .query_one_raw(stmt(
            conn.get_database_backend(),
            "SELECT round_id FROM survey_tally_rebuilds WHERE round_id = $1",
            [round_id.into()],
        ))
        .await?
        .is_some())
}

/// Takes the round's rebuild mark away.
pub async fn unmark_rebuild(conn: &impl ConnectionTrait, round_id: &str) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "DELETE FROM survey_tally_rebuilds WHERE round_id = $1",
        [round_id.into()],
    ))
    .await?;
    Ok(())
}

/// `level` of a leaf unit's row.
fn leaf_level() -> i64 {
    i64::from(DivisionLevel::Village.number())
}

/// The code and tally of a row selected as `code, valid_responses, scored_responses, score_sum,
/// covered_units, answers` from `survey_tallies`.
fn tally_row(row: &sea_orm::QueryResult, layout: &Layout) -> Result<(i64, Tally)> {
    let blob: Vec<u8> = row.try_get_by_index(5)?;
    Ok((
        row.try_get_by_index(0)?,
        Tally {
            valid: row.try_get_by_index(1)?,
            scored: row.try_get_by_index(2)?,
            score_sum: row.try_get_by_index(3)?,
            covered: row.try_get_by_index(4)?,
            slots: layout.unpack(&blob),
        },
    ))
}

/// A condition that `column` is one of `values`, with its bound values numbered from `$first`.
///
/// On PostgreSQL one array parameter, sent as an array literal and unnested in a subquery
/// (`column IN (SELECT unnest($n::bigint[]))`), so it is parsed once per statement and the
/// primary key is probed per value. A list of parameters (`IN ($2, ...)`) or `= ANY($n::...)`
/// in a reused prepared statement can instead become a filter that, for every row of the round,
/// rebuilds (or reparses) the whole list and compares against each value. On SQLite a plain
/// `IN` list, which it looks up through a temporary index.
fn one_of(backend: DbBackend, column: &str, first: usize, values: &[i64]) -> (String, Vec<Value>) {
    if backend == DbBackend::Postgres {
        let mut literal = String::with_capacity(values.len() * 13 + 2);
        literal.push('{');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                literal.push(',');
            }
            literal.push_str(&v.to_string());
        }
        literal.push('}');
        (
            format!("{column} IN (SELECT unnest(${first}::bigint[]))"),
            vec![literal.into()],
        )
    } else {
        let placeholders: Vec<String> = (0..values.len())
            .map(|i| format!("${}", first + i))
            .collect();
        (
            format!("{column} IN ({})", placeholders.join(", ")),
            values.iter().map(|v| Value::from(*v)).collect(),
        )
    }
}
