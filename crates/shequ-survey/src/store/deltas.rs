//! The tally deltas (`survey_tally_deltas`): one row per committed batch listing what its
//! responses add to the tallies (an invalidation's, what it takes away) in a compact
//! little-endian body, read in `seq` order by folds and followers, deleted once folded.

use sea_orm::{ConnectionTrait, DbErr};

use super::stmt;
use crate::error::{Result, SurveyError};
use crate::model::tally::Entry;
use crate::region::Ancestors;

/// A delta row: its position and its body.
#[derive(Debug)]
pub struct DeltaRow {
    pub seq: i64,
    pub body: Vec<u8>,
}

/// Adds a delta row of `entries` (not empty) for round `round_id`.
pub async fn insert(
    conn: &impl ConnectionTrait,
    round_id: &str,
    entries: &[Entry],
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "INSERT INTO survey_tally_deltas (round_id, body) VALUES ($1, $2)",
        [round_id.into(), encode(entries).into()],
    ))
    .await?;
    Ok(())
}

/// Up to `limit` deltas of the round after `after`, in `seq` order.
pub async fn after(
    conn: &impl ConnectionTrait,
    round_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<DeltaRow>, DbErr> {
    rows(
        conn,
        stmt(
            conn.get_database_backend(),
            format!("SELECT seq, body FROM survey_tally_deltas WHERE round_id = $1 AND seq > $2 ORDER BY seq LIMIT {limit}"),
            [round_id.into(), after.into()],
        ),
    )
    .await
}

/// Up to `limit` deltas of the round after `after` up to `last`, in `seq` order.
pub async fn between(
    conn: &impl ConnectionTrait,
    round_id: &str,
    after: i64,
    last: i64,
    limit: usize,
) -> Result<Vec<DeltaRow>, DbErr> {
    rows(
        conn,
        stmt(
            conn.get_database_backend(),
            format!("SELECT seq, body FROM survey_tally_deltas WHERE round_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT {limit}"),
            [round_id.into(), after.into(), last.into()],
        ),
    )
    .await
}

async fn rows(
    conn: &impl ConnectionTrait,
    statement: sea_orm::Statement,
) -> Result<Vec<DeltaRow>, DbErr> {
    conn.query_all_raw(statement)
        .await?
        .iter()
        .map(|row| {
            Ok(DeltaRow {
                seq: row.try_get_by_index(0)?,
                body: row.try_get_by_index(1)?,
            })
        })
        .collect()
}

/// Deletes the round's deltas up to `seq`.
pub async fn delete_through(
    conn: &impl ConnectionTrait,
    round_id: &str,
    seq: i64,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "DELETE FROM survey_tally_deltas WHERE round_id = $1 AND seq <= $2",
        [round_id.into(), seq.into()],
    ))
    .await?;
    Ok(())
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A slot number with this bit set is followed by its amount; without it the amount is 1.
const AMOUNT_FOLLOWS: u16 = 0x8000;

/// The body of a delta row: its entries, little-endian. A hit that adds 1 (every count) is its
/// slot number alone; a sum's hit carries its amount.
pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 72);
    for e in entries {
        put_i64(&mut out, e.leaf);
        put_i64(&mut out, e.ancestors.province);
        put_i64(&mut out, e.ancestors.prefecture.unwrap_or(0));
        put_i64(&mut out, e.ancestors.county.unwrap_or(0));
        put_i64(&mut out, e.ancestors.township.unwrap_or(0));
        out.push(e.sign as u8);
        out.extend_from_slice(&e.score.unwrap_or(f64::NAN).to_le_bytes());
        out.extend_from_slice(&(e.hits.len() as u16).to_le_bytes());
        for (slot, amount) in &e.hits {
            if *amount == 1.0 {
                out.extend_from_slice(&slot.to_le_bytes());
            } else {
                out.extend_from_slice(&(slot | AMOUNT_FOLLOWS).to_le_bytes());
                out.extend_from_slice(&amount.to_le_bytes());
            }
        }
    }
    out
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        if self.0.len() < N {
            return Err(SurveyError::Internal("truncated tally delta".into()));
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        Ok(head.try_into().expect("length checked"))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.take()?))
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.take()?))
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take()?))
    }
}

/// Calls `each` with every entry of a delta body, reusing one entry's storage.
pub fn for_each_entry(body: &[u8], mut each: impl FnMut(&Entry)) -> Result<()> {
    let mut r = Reader(body);
    let opt = |c: i64| (c != 0).then_some(c);
    let mut e = Entry {
        leaf: 0,
        ancestors: Ancestors {
            province: 0,
            prefecture: None,
            county: None,
            township: None,
        },
        sign: 1,
        score: None,
        hits: Vec::new(),
    };
    while !r.0.is_empty() {
        e.leaf = r.i64()?;
        e.ancestors = Ancestors {
            province: r.i64()?,
            prefecture: opt(r.i64()?),
            county: opt(r.i64()?),
            township: opt(r.i64()?),
        };
        e.sign = r.take::<1>()?[0] as i8;
        let score = r.f64()?;
        e.score = (!score.is_nan()).then_some(score);
        let n = r.u16()?;
        e.hits.clear();
        for _ in 0..n {
            let slot = r.u16()?;
            if slot & AMOUNT_FOLLOWS == 0 {
                e.hits.push((slot, 1.0));
            } else {
                e.hits.push((slot & !AMOUNT_FOLLOWS, r.f64()?));
            }
        }
        each(&e);
    }
    Ok(())
}

pub fn decode(body: &[u8]) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for_each_entry(body, |e| out.push(e.clone()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_round_trip() {
        let entries = vec![
            Entry {
                leaf: 130102001001,
                ancestors: Ancestors {
                    province: 130000000000,
                    prefecture: Some(130100000000),
                    county: Some(130102000000),
                    township: None,
                },
                sign: -1,
                score: Some(75.0),
                hits: vec![(0, 1.0), (7, 2.5), (9, 1.0)],
            },
            Entry {
                leaf: 110101001001,
                ancestors: Ancestors {
                    province: 110000000000,
                    prefecture: None,
                    county: None,
                    township: None,
                },
                sign: 1,
                score: None,
                hits: Vec::new(),
            },
        ];
        let back = decode(&encode(&entries)).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].leaf, 130102001001);
        assert_eq!(back[0].ancestors, entries[0].ancestors);
        assert_eq!(back[0].sign, -1);
        assert_eq!(back[0].score, Some(75.0));
        assert_eq!(back[0].hits, vec![(0, 1.0), (7, 2.5), (9, 1.0)]);
        assert_eq!(back[1].ancestors, entries[1].ancestors);
        assert_eq!(back[1].score, None);
        assert!(decode(&encode(&entries)[..20]).is_err());
    }
}
