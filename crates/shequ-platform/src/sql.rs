//! SQL shared by every service's store: statements with `$n` placeholders that both SQLite and
//! PostgreSQL accept, multi-row value lists, and the timestamp format.

use sea_orm::{DbBackend, Statement, Value};

/// A statement with `$n` placeholders, which both SQLite (through sqlx) and PostgreSQL accept.
///
/// On SQLite, placeholders that run `$1, $2, ...` in order become plain `?`: SQLite finds a named
/// parameter by a linear scan, so a multi-row insert with thousands of `$n` would cost the square
/// of its size in lookups.
pub fn stmt(
    backend: DbBackend,
    sql: impl Into<String>,
    values: impl IntoIterator<Item = Value>,
) -> Statement {
    let sql = sql.into();
    let sql = if backend == DbBackend::Sqlite {
        positional(&sql).unwrap_or(sql)
    } else {
        sql
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `sql` with `$1, $2, ... $n` replaced by `?`, or `None` unless each appears once, in order.
fn positional(sql: &str) -> Option<String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1u64;
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if end > start {
                let n: u64 = sql[start..end].parse().ok()?;
                if n != expected {
                    return None;
                }
                expected += 1;
                out.push_str(&sql[last..i]);
                out.push('?');
                last = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&sql[last..]);
    Some(out)
}

/// Microseconds since the epoch, the services' time format in storage.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

/// `items` in chunks of `max`, the rest in chunks of descending powers of two: statements built
/// per chunk then come in a handful of shapes (11 for `max` 1,000) however many items there are,
/// so the prepared-statement caches of the pool's connections hold a handful of them instead of
/// one per remainder ever seen.
pub fn shaped_chunks<T>(items: &[T], max: usize) -> Vec<&[T]> {
    let max = max.max(1);
    let mut out: Vec<&[T]> = items.chunks_exact(max).collect();
    let mut rest = items.chunks_exact(max).remainder();
    while !rest.is_empty() {
        let size = 1usize << rest.len().ilog2();
        let (head, tail) = rest.split_at(size);
        out.push(head);
        rest = tail;
    }
    out
}

/// `($1, $2, ...), ($n+1, ...)` for a multi-row insert of `rows` rows of `columns` values.
pub fn value_rows(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * columns + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{positional, shaped_chunks};

    #[test]
    fn chunks_come_in_few_shapes() {
        let items: Vec<u32> = (0..2_777).collect();
        let chunks = shaped_chunks(&items, 1_000);
        let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![1_000, 1_000, 512, 256, 8, 1]);
        assert_eq!(chunks.concat(), items);
        assert!(shaped_chunks::<u32>(&[], 1_000).is_empty());
        let shapes: std::collections::HashSet<usize> = (0..3_000)
            .flat_map(|n| shaped_chunks(&items[..n.min(items.len())], 1_000))
            .map(|c| c.len())
            .collect();
        assert_eq!(shapes.len(), 11);
    }

    #[test]
    fn value_rows_number_every_value() {
        assert_eq!(super::value_rows(2, 2), "($1, $2), ($3, $4)");
    }

    #[test]
    fn sequential_placeholders_become_positional() {
        assert_eq!(
            positional("VALUES ($1,$2),($3,$4)").as_deref(),
            Some("VALUES (?,?),(?,?)")
        );
        assert_eq!(positional("a = $1 AND b = $1"), None);
        assert_eq!(positional("a = $2 AND b = $1"), None);
        assert_eq!(
            positional("no parameters").as_deref(),
            Some("no parameters")
        );
    }
}
