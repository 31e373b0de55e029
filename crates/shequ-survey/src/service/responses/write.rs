//! The exactly-once write every submission goes through: a batch's new responses in one
//! transaction with one tally delta and the audit record, each response accepted, a duplicate
//! of one stored with the same body, or refused for reusing an id with another body.

use std::collections::HashMap;
use std::sync::Arc;

use shequ_platform::database::is_unique_violation;

use super::{Outcome, Prepared, already_exists};
use crate::error::{Result, SurveyError};
use crate::model::tally::Entry;
use crate::service::audit::Submitter;
use crate::service::{RoundContext, Survey};
use crate::store::now_micros;
use crate::store::responses::{self, NewResponse};

impl Survey {
    /// Writes the prepared responses of one batch in one transaction with their aggregates.
    ///
    /// On PostgreSQL the batch's rows are first copied in one `COPY`, the way a bulk load goes.
    /// If any of them is stored already (a retry, or the same id arriving on another stream at
    /// once) the copy fails as a whole, its transaction rolls back, and the batch is written
    /// again by `INSERT … ON CONFLICT DO NOTHING`, which tells duplicates from conflicts.
    pub(super) async fn write_batch(
        &self,
        ctx: &Arc<RoundContext>,
        items: Vec<Result<Prepared>>,
        submitter: Submitter<'_>,
    ) -> Result<Vec<Outcome>> {
        let mut batch = Split::new(items);
        let now = now_micros();
        if !batch.fresh.is_empty()
            && let Some(txn) = self.db.begin_copy().await?
        {
            self.ensure_open(&txn, &ctx.id, true).await?;
            match responses::copy(&txn, &ctx.id, &batch.ordered(), now).await {
                Ok(_) => {
                    let entries = batch.settle(|_| true, &HashMap::new());
                    self.record_delta(&txn, &ctx.id, &entries).await?;
                    self.audit_responses(&txn, ctx, submitter, batch.accepted())
                        .await?;
                    txn.commit().await?;
                    return Ok(self.committed(ctx, &entries, batch));
                }
                Err(e) if is_unique_violation(&e) => {
                    tracing::debug!(
                        round = %ctx.id,
                        responses = batch.fresh.len(),
                        "a response of the batch is stored already; writing the batch by insert"
                    );
                    txn.rollback().await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let ordered = batch.ordered();
        let txn = self.begin_write().await?;
        self.ensure_open(&*txn, &ctx.id, true).await?;
        let inserted = responses::insert_new(&*txn, &ctx.id, &ordered, now).await?;
        let conflicting: Vec<&NewResponse> = ordered
            .into_iter()
            .filter(|p| !inserted.contains(&p.response_id))
            .collect();
        let stored_hashes = responses::body_hashes(&*txn, &ctx.id, &conflicting).await?;
        let entries = batch.settle(|id| inserted.contains(id), &stored_hashes);
        self.record_delta(&*txn, &ctx.id, &entries).await?;
        self.audit_responses(&*txn, ctx, submitter, batch.accepted())
            .await?;
        txn.commit().await?;
        Ok(self.committed(ctx, &entries, batch))
    }

    /// After a batch's commit: tells the audit follower and the tallies, and hands back the
    /// outcomes.
    fn committed(&self, ctx: &Arc<RoundContext>, entries: &[Entry], batch: Split) -> Vec<Outcome> {
        if !entries.is_empty() {
            self.audit.committed();
            self.fold_later(ctx);
        }
        batch.into_outcomes()
    }
}

/// A batch taken apart for writing: an outcome slot per response, the first occurrence of each
/// response id (`fresh`, with its position), and each later occurrence (its position, the first
/// one's, and whether the bodies are the same).
struct Split {
    outcomes: Vec<Option<Outcome>>,
    fresh: Vec<(usize, Prepared)>,
    repeats: Vec<(usize, usize, bool)>,
}

impl Split {
    fn new(items: Vec<Result<Prepared>>) -> Self {
        let mut outcomes = Vec::with_capacity(items.len());
        let mut first_of: HashMap<String, usize> = HashMap::new();
        let mut repeats = Vec::new();
        let mut fresh: Vec<(usize, Prepared)> = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Err(e) => outcomes.push(Some(Outcome::Rejected(e))),
                Ok(p) => {
                    outcomes.push(None);
                    if let Some(&j) = first_of.get(&p.row.response_id) {
                        let same = fresh
                            .iter()
                            .any(|(k, q)| *k == j && q.row.hash == p.row.hash);
                        repeats.push((i, j, same));
                    } else {
                        first_of.insert(p.row.response_id.clone(), i);
                        fresh.push((i, p));
                    }
                }
            }
        }
        Self {
            outcomes,
            fresh,
            repeats,
        }
    }

    /// The fresh rows in key order, so concurrent batches lock index entries and aggregates in
    /// the same order and cannot deadlock each other.
    fn ordered(&self) -> Vec<&NewResponse> {
        let mut ordered: Vec<&NewResponse> = self.fresh.iter().map(|(_, p)| &p.row).collect();
        ordered.sort_unstable_by(|a, b| a.response_id.cmp(&b.response_id));
        ordered
    }

    /// Settles every outcome once the write knows which fresh rows it stored (`inserted`) and
    /// the stored body hashes of the others; the tally entries of the stored ones.
    fn settle(
        &mut self,
        inserted: impl Fn(&str) -> bool,
        stored_hashes: &HashMap<String, String>,
    ) -> Vec<Entry> {
        let mut entries = Vec::with_capacity(self.fresh.len());
        for (i, p) in &mut self.fresh {
            self.outcomes[*i] = Some(if inserted(&p.row.response_id) {
                entries.push(Entry {
                    leaf: p.row.leaf_code,
                    ancestors: p.ancestors,
                    sign: 1,
                    score: p.row.score,
                    hits: std::mem::take(&mut p.hits),
                });
                Outcome::Accepted
            } else if stored_hashes.get(&p.row.response_id) == Some(&p.row.hash) {
                Outcome::Duplicate
            } else {
                Outcome::Rejected(already_exists(&p.row.response_id))
            });
        }
        for &(i, j, same) in &self.repeats {
            let first_ok = matches!(
                self.outcomes[j],
                Some(Outcome::Accepted | Outcome::Duplicate)
            );
            let id = self
                .fresh
                .iter()
                .find(|(k, _)| *k == j)
                .map(|(_, p)| p.row.response_id.clone())
                .unwrap_or_default();
            self.outcomes[i] = Some(if same && first_ok {
                Outcome::Duplicate
            } else {
                Outcome::Rejected(already_exists(&id))
            });
        }
        entries
    }

    /// The responses this write stored: id and leaf unit.
    fn accepted(&self) -> impl Iterator<Item = (&str, i64)> {
        self.fresh
            .iter()
            .filter(|(i, _)| matches!(self.outcomes[*i], Some(Outcome::Accepted)))
            .map(|(_, p)| (p.row.response_id.as_str(), p.row.leaf_code))
    }

    fn into_outcomes(self) -> Vec<Outcome> {
        self.outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or(Outcome::Rejected(SurveyError::Internal(
                    "no outcome".into(),
                )))
            })
            .collect()
    }
}
