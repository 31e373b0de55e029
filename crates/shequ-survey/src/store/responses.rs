//! The responses (`survey_responses`, keyed by round and the client's response id) and their
//! changes (`survey_response_changes`): a batch's rows copied in (PostgreSQL) or inserted with
//! the ids already stored left alone, the stored body hashes that tell a retry from a conflict,
//! lookups, pages, and invalidation.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};
use shequ_platform::database::CopyTxn;

use super::rows::{RESPONSE_COLUMNS, ResponseRecord};
use super::{lock_clause, shaped_chunks, stmt, value_rows};

/// Rows per multi-row statement (10 values a row), under both backends' limit of bound values,
/// so a batch of the default maximum size is one statement.
const ROWS_PER_STATEMENT: usize = 1_000;

/// A valid response about to be stored.
#[derive(Debug, Clone)]
pub struct NewResponse {
    pub response_id: String,
    pub leaf_code: i64,
    pub channel: &'static str,
    pub collect_time: i64,
    /// The answers as stored (JSON), free text already masked.
    pub answers: String,
    /// Hash of the body as sent, to tell a retry from another body under the same id.
    pub hash: String,
    pub score: Option<f64>,
}

/// What a rebuild of the tallies reads of a valid response.
#[derive(Debug, FromQueryResult)]
pub struct ValidResponse {
    pub response_id: String,
    pub leaf_code: i64,
    pub answers: String,
    pub score: Option<f64>,
}

/// Copies `rows` into round `round_id`, received at `receive_time`, in one binary `COPY`. It
/// fails as a whole, with a unique violation, if any of them is stored already.
pub async fn copy(
    txn: &CopyTxn,
    round_id: &str,
    rows: &[&NewResponse],
    receive_time: i64,
) -> Result<u64, DbErr> {
    txn.copy_in(COPY_RESPONSES, &copy_rows(round_id, rows, receive_time))
        .await
}

/// Inserts `rows` into round `round_id`, received at `receive_time`, leaving alone those whose
/// id is stored already: the ids it stored.
pub async fn insert_new(
    conn: &impl ConnectionTrait,
    round_id: &str,
    rows: &[&NewResponse],
    receive_time: i64,
) -> Result<HashSet<String>, DbErr> {
    let mut inserted: HashSet<String> = HashSet::new();
    for chunk in shaped_chunks(rows, ROWS_PER_STATEMENT) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 10);
        for p in chunk {
            values.extend([
                round_id.into(),
                p.response_id.clone().into(),
                p.leaf_code.into(),
                p.channel.into(),
                p.collect_time.into(),
                receive_time.into(),
                p.answers.clone().into(),
                p.hash.clone().into(),
                p.score.into(),
                1i32.into(),
            ]);
        }
        let sql = format!(
            "INSERT INTO survey_responses (round_id, response_id, leaf_code, channel, collect_time, receive_time, answers, body_hash, score, valid) VALUES {} ON CONFLICT (round_id, response_id) DO NOTHING RETURNING response_id",
            value_rows(chunk.len(), 10)
        );
        for row in conn
            .query_all_raw(stmt(conn.get_database_backend(), sql, values))
            .await?
        {
            inserted.insert(row.try_get_by_index::<String>(0)?);
        }
    }
    Ok(inserted)
}

/// The stored body hash of each of `rows`' ids, by id.
pub async fn body_hashes(
    conn: &impl ConnectionTrait,
    round_id: &str,
    rows: &[&NewResponse],
) -> Result<HashMap<String, String>, DbErr> {
    let mut stored_hashes: HashMap<String, String> = HashMap::new();
    for chunk in shaped_chunks(rows, ROWS_PER_STATEMENT) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let mut values: Vec<Value> = vec![round_id.into()];
        values.extend(chunk.iter().map(|p| Value::from(p.response_id.clone())));
        let sql = format!(
            "SELECT response_id, body_hash FROM survey_responses WHERE round_id = $1 AND response_id IN ({})",
            placeholders.join(", ")
        );
        for row in conn
            .query_all_raw(stmt(conn.get_database_backend(), sql, values))
            .await?
        {
            stored_hashes.insert(row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        }
    }
    Ok(stored_hashes)
}

/// Response `response_id` of round `round_id`; with `lock`, held until the transaction ends
/// (PostgreSQL).
pub async fn find(
    conn: &impl ConnectionTrait,
    round_id: &str,
    response_id: &str,
    lock: bool,
) -> Result<Option<ResponseRecord>, DbErr> {
    let lock = lock_clause(conn, lock, " FOR UPDATE");
    ResponseRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT {RESPONSE_COLUMNS} FROM survey_responses WHERE round_id = $1 AND response_id = $2{lock}"),
        [round_id.into(), response_id.into()],
    ))
    .one(conn)
    .await
}

/// Up to `limit` responses of the round after response id `after`, in id order.
pub async fn page(
    conn: &impl ConnectionTrait,
    round_id: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<ResponseRecord>, DbErr> {
    ResponseRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT {RESPONSE_COLUMNS} FROM survey_responses WHERE round_id = $1 AND response_id > $2 ORDER BY response_id LIMIT $3"),
        [round_id.into(), after.into(), limit.into()],
    ))
    .all(conn)
    .await
}

/// Up to `limit` valid responses of the round after response id `after`, in id order.
pub async fn valid_page(
    conn: &impl ConnectionTrait,
    round_id: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<ValidResponse>, DbErr> {
    ValidResponse::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT response_id, leaf_code, answers, score FROM survey_responses WHERE round_id = $1 AND valid = 1 AND response_id > $2 ORDER BY response_id LIMIT {limit}"),
        [round_id.into(), after.into()],
    ))
    .all(conn)
    .await
}

/// Marks a response invalid, by `actor` at `at` for `reason`.
pub async fn invalidate(
    conn: &impl ConnectionTrait,
    round_id: &str,
    response_id: &str,
    actor: &str,
    reason: &str,
    at: i64,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "UPDATE survey_responses SET valid = 0, invalid_actor = $3, invalid_reason = $4, invalid_time = $5 WHERE round_id = $1 AND response_id = $2",
        [round_id.into(), response_id.into(), actor.into(), reason.into(), at.into()],
    ))
    .await?;
    Ok(())
}

/// Records that a response was invalidated, by `actor` at `at` for `reason`.
pub async fn record_invalidation(
    conn: &impl ConnectionTrait,
    round_id: &str,
    response_id: &str,
    actor: &str,
    reason: &str,
    at: i64,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "INSERT INTO survey_response_changes (round_id, response_id, kind, at, actor, reason) VALUES ($1, $2, 'invalidated', $3, $4, $5)",
        [round_id.into(), response_id.into(), at.into(), actor.into(), reason.into()],
    ))
    .await?;
    Ok(())
}

/// The columns `copy_rows` writes, in its order.
const COPY_RESPONSES: &str = "COPY survey_responses (round_id, response_id, leaf_code, channel, collect_time, receive_time, answers, body_hash, score, valid) FROM STDIN (FORMAT binary)";

/// `rows` in `COPY`'s binary format for `COPY_RESPONSES`: the header, one tuple per response
/// (each field's length, then its bytes; text as UTF-8, integers and floats big-endian) and the
/// trailer.
fn copy_rows(round_id: &str, rows: &[&NewResponse], receive_time: i64) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, bytes: &[u8]) {
        // Every field is far below 2 GiB: ids of at most 64 bytes, bounded answers.
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut out = Vec::with_capacity(
        19 + rows
            .iter()
            .map(|p| 120 + p.response_id.len() + p.answers.len())
            .sum::<usize>(),
    );
    out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.extend_from_slice(&0i32.to_be_bytes()); // flags
    out.extend_from_slice(&0i32.to_be_bytes()); // header extension length
    for p in rows {
        out.extend_from_slice(&10i16.to_be_bytes());
        field(&mut out, round_id.as_bytes());
        field(&mut out, p.response_id.as_bytes());
        field(&mut out, &p.leaf_code.to_be_bytes());
        field(&mut out, p.channel.as_bytes());
        field(&mut out, &p.collect_time.to_be_bytes());
        field(&mut out, &receive_time.to_be_bytes());
        field(&mut out, p.answers.as_bytes());
        field(&mut out, p.hash.as_bytes());
        match p.score {
            Some(score) => field(&mut out, &score.to_be_bytes()),
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
        field(&mut out, &1i32.to_be_bytes());
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}
