//! Responses: validated against the round (questionnaire version, window, channel, region),
//! masked, and written exactly once, each batch in one transaction together with one tally delta
//! row; invalidation keeps the response and records a delta that takes it out of the tallies.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};
use shequ_domain::{FieldViolation, Violations};
use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;
use shequ_platform::database::is_unique_violation;

use super::access::Need;
use super::audit::{INVALIDATE_RESPONSE, Submitter};
use super::rounds::OPEN;
use super::{RoundContext, Survey};
use crate::error::{Result, SurveyError};
use crate::mask::mask_identity_numbers;
use crate::model::tally::Entry;
use crate::model::{AnswerValue, Answers, QuestionDef, is_response_id, satisfaction_score};
use crate::names::{parse_division_name, response_name, round_name};
use crate::region::Ancestors;
use crate::store::responses::{self, NewResponse};
use crate::store::rows::ResponseRecord;
use crate::store::{now_micros, rounds};

/// Longest invalidation reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// How a response was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Online,
    Paper,
    Phone,
    Kiosk,
}

impl Channel {
    /// The channel as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Paper => "paper",
            Self::Phone => "phone",
            Self::Kiosk => "kiosk",
        }
    }

    /// A stored channel.
    pub fn parse(stored: &str) -> Option<Self> {
        [Self::Online, Self::Paper, Self::Phone, Self::Kiosk]
            .into_iter()
            .find(|c| c.as_str() == stored)
    }
}

/// A response as a client sent it, before any check: what the service reads of it, whatever
/// its wire form (`grpc/convert.rs` reads the protobuf message in place, copying nothing).
pub trait Submission {
    /// The client's id of the response, as sent.
    fn response_id(&self) -> &str;
    /// The leaf unit's resource name, as sent.
    fn leaf_unit(&self) -> &str;
    /// `None` when unset or not a channel.
    fn channel(&self) -> Option<Channel>;
    /// Microseconds since the epoch; `None` when unset or out of range.
    fn collect_time(&self) -> Option<i64>;
    /// The answers, checked against the round's `questions`; fields as `answers[i].…`, and a
    /// missing required answer as `answers`.
    fn answers(&self, questions: &[QuestionDef]) -> Result<Answers, Violations>;
}

/// A response that passed every rule, ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The row to store.
    pub row: NewResponse,
    pub ancestors: Ancestors,
    /// The tally slots the answers add to.
    pub hits: Vec<(u16, f64)>,
}

/// A batch that passed the checks that need no transaction, ready to write.
#[derive(Debug)]
pub struct CheckedBatch {
    ctx: Arc<RoundContext>,
    ids: Vec<String>,
    prepared: Vec<Result<Prepared>>,
}

/// What became of one response of a batch.
#[derive(Debug)]
pub enum Outcome {
    Accepted,
    Duplicate,
    Rejected(SurveyError),
}

/// What became of each response of a written batch, in the batch's order, with the id it was
/// sent with.
#[derive(Debug)]
pub struct BatchOutcome {
    ids: Vec<String>,
    outcomes: Vec<Outcome>,
}

impl IntoIterator for BatchOutcome {
    type Item = (String, Outcome);
    type IntoIter = std::iter::Zip<std::vec::IntoIter<String>, std::vec::IntoIter<Outcome>>;

    fn into_iter(self) -> Self::IntoIter {
        self.ids.into_iter().zip(self.outcomes)
    }
}

fn already_exists(response_id: &str) -> SurveyError {
    SurveyError::AlreadyExists {
        message: format!("response `{response_id}` was already submitted with another body"),
        violations: FieldViolation::new(
            "response_id",
            "is already used by another response of this round",
        )
        .into(),
    }
}

/// Adds `prefix` to the field paths of a validation error.
pub fn prefixed(err: SurveyError, prefix: &str) -> SurveyError {
    match err {
        SurveyError::Invalid(v) => SurveyError::Invalid(v.prefixed(prefix)),
        SurveyError::AlreadyExists {
            message,
            violations,
        } => SurveyError::AlreadyExists {
            message,
            violations: violations.prefixed(prefix),
        },
        other => other,
    }
}

impl Survey {
    /// Checks one response against its round; fields are relative to the response. A leaf unit
    /// whose place cannot be learnt from the registry is `RegistryUnavailable`.
    pub async fn prepare(&self, ctx: &Arc<RoundContext>, r: &impl Submission) -> Result<Prepared> {
        let mut v = Violations::new();
        if !is_response_id(r.response_id()) {
            v.push(
                "response_id",
                "must be 1 to 64 of `A-Z`, `a-z`, `0-9`, `-`, `_`",
            );
        }
        let channel = r.channel().map(Channel::as_str);
        if channel.is_none() {
            v.push("channel", "must be online, paper, phone or kiosk");
        }
        let collect_time = r.collect_time();
        match collect_time {
            None => v.push("collect_time", "is required"),
            Some(t) if t < ctx.start_time || t >= ctx.end_time => v.push(
                "collect_time",
                "must lie inside the round's collection window",
            ),
            Some(_) => {}
        }
        let answers = match r.answers(&ctx.questions) {
            Ok(a) => a,
            Err(e) => {
                v.extend(e);
                Vec::new()
            }
        };
        let mut ancestors = None;
        let unit = match parse_division_name("leaf_unit", r.leaf_unit()) {
            Ok(unit) => {
                match self.locate_unit(ctx, unit).await? {
                    Ok(a) => ancestors = Some(a),
                    Err(description) => v.push("leaf_unit", description),
                }
                Some(unit)
            }
            Err(e) => {
                v.push(e.field, e.description);
                None
            }
        };
        let (Some(unit), Some(ancestors), Some(channel), Some(collect_time), true) =
            (unit, ancestors, channel, collect_time, v.is_empty())
        else {
            return Err(SurveyError::Invalid(v));
        };
        let to_json = |a: &Answers| {
            serde_json::to_string(a).map_err(|e| SurveyError::Internal(e.to_string()))
        };
        let sent = to_json(&answers)?;
        let hash = body_hash(unit.as_i64(), channel, collect_time, &sent);
        let score = satisfaction_score(&ctx.questions, &answers);
        let hits = ctx.layout.hits(&ctx.questions, &answers);
        let mut masked = false;
        let answers: Answers = answers
            .into_iter()
            .map(|(q, value)| match value {
                AnswerValue::Text(t) => {
                    let m = mask_identity_numbers(&t);
                    masked |= m != t;
                    (q, AnswerValue::Text(m))
                }
                other => (q, other),
            })
            .collect();
        let answers = if masked { to_json(&answers)? } else { sent };
        Ok(Prepared {
            row: NewResponse {
                response_id: r.response_id().to_owned(),
                leaf_code: unit.as_i64(),
                channel,
                collect_time,
                answers,
                hash,
                score,
            },
            ancestors,
            hits,
        })
    }

    async fn ensure_open(
        &self,
        conn: &impl ConnectionTrait,
        round_id: &str,
        lock: bool,
    ) -> Result<()> {
        match rounds::state(conn, round_id, lock).await? {
            None => Err(SurveyError::NotFound(format!(
                "round `{}` does not exist",
                round_name(round_id)
            ))),
            Some(s) if s == OPEN => Ok(()),
            Some(s) => Err(SurveyError::precondition(
                "parent",
                format!("the round is {s}; responses are accepted only while it is open"),
            )),
        }
    }

    /// Submits one response: the stored response and whether it was a duplicate.
    pub async fn submit_response(
        &self,
        principal: &Principal,
        round_id: &str,
        response: &impl Submission,
    ) -> Result<(ResponseRecord, bool)> {
        let ctx = self.round_context(round_id).await?;
        self.ensure_open(&self.db.conn, round_id, false).await?;
        let prepared = self
            .prepare(&ctx, response)
            .await
            .map_err(|e| prefixed(e, "response"))?;
        let id = prepared.row.response_id.clone();
        let outcome = self
            .write_batch(&ctx, vec![Ok(prepared)], Submitter::Single(principal))
            .await?
            .pop()
            .ok_or_else(|| SurveyError::Internal("no outcome".into()))?;
        let duplicate = match outcome {
            Outcome::Accepted => false,
            Outcome::Duplicate => true,
            Outcome::Rejected(e) => return Err(prefixed(e, "response")),
        };
        Ok((self.get_response(round_id, &id).await?, duplicate))
    }

    /// Validates and writes one batch; the results are returned only after it commits. A batch
    /// that cannot be checked (registry or database unreachable) or whose round is not open fails
    /// as a whole and writes nothing.
    pub async fn submit_batch(
        &self,
        principal: &Principal,
        round_id: &str,
        responses: &[impl Submission],
    ) -> Result<BatchOutcome> {
        let batch = self.check_batch(principal, round_id, responses).await?;
        self.write_checked(principal, batch).await
    }

    /// Validates one batch without writing anything, so a stream can check the next batch while
    /// the previous one commits.
    pub async fn check_batch(
        &self,
        principal: &Principal,
        round_id: &str,
        responses: &[impl Submission],
    ) -> Result<CheckedBatch> {
        if responses.len() > self.settings.max_batch_responses {
            return Err(SurveyError::invalid(
                "responses",
                format!(
                    "a batch may hold at most {} responses",
                    self.settings.max_batch_responses
                ),
            ));
        }
        let ctx = self
            .authorize_round(principal, round_id, Need::Part)
            .await?;
        self.ensure_open(&self.db.conn, round_id, false).await?;
        let mut prepared = Vec::with_capacity(responses.len());
        for r in responses {
            let checked = match self
                .authorize_leaf_unit(principal, &ctx, r.leaf_unit())
                .await
            {
                Ok(()) => self.prepare(&ctx, r).await,
                Err(e) => Err(e),
            };
            match checked {
                Err(
                    e @ (SurveyError::RegistryUnavailable(_)
                    | SurveyError::RegistryRefused(_)
                    | SurveyError::Unavailable),
                ) => {
                    return Err(e);
                }
                other => prepared.push(other),
            }
        }
        Ok(CheckedBatch {
            ctx,
            ids: responses
                .iter()
                .map(|r| r.response_id().to_owned())
                .collect(),
            prepared,
        })
    }

    /// Writes a checked batch in one transaction; the outcomes come back after it commits.
    pub async fn write_checked(
        &self,
        principal: &Principal,
        batch: CheckedBatch,
    ) -> Result<BatchOutcome> {
        let outcomes = self
            .write_batch(&batch.ctx, batch.prepared, Submitter::Bulk(principal))
            .await?;
        Ok(BatchOutcome {
            ids: batch.ids,
            outcomes,
        })
    }

    /// Writes the prepared responses of one batch in one transaction with their aggregates.
    ///
    /// On PostgreSQL the batch's rows are first copied in one `COPY`, the way a bulk load goes.
    /// If any of them is stored already (a retry, or the same id arriving on another stream at
    /// once) the copy fails as a whole, its transaction rolls back, and the batch is written
    /// again by `INSERT … ON CONFLICT DO NOTHING`, which tells duplicates from conflicts.
    async fn write_batch(
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

    pub async fn get_response(&self, round_id: &str, response_id: &str) -> Result<ResponseRecord> {
        self.find_response(&self.db.conn, round_id, response_id, false)
            .await
    }

    async fn find_response(
        &self,
        conn: &impl ConnectionTrait,
        round_id: &str,
        response_id: &str,
        lock: bool,
    ) -> Result<ResponseRecord> {
        responses::find(conn, round_id, response_id, lock)
            .await?
            .ok_or_else(|| {
                SurveyError::NotFound(format!(
                    "response `{}` does not exist",
                    response_name(round_id, response_id)
                ))
            })
    }

    /// Marks a response invalid: it stays stored, leaves the aggregates in the same transaction,
    /// and the change is recorded with who, when and why.
    pub async fn invalidate_response(
        &self,
        principal: &Principal,
        round_id: &str,
        response_id: &str,
        reason: &str,
        actor: &str,
    ) -> Result<ResponseRecord> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(SurveyError::invalid(
                "reason",
                "must say why the response is invalid",
            ));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(SurveyError::invalid(
                "reason",
                format!("must be at most {MAX_REASON_CHARS} characters"),
            ));
        }
        let ctx = self.round_context(round_id).await?;
        let txn = self.begin_write().await?;
        let record = self
            .find_response(&*txn, round_id, response_id, true)
            .await?;
        if record.valid == 0 {
            return Err(SurveyError::precondition(
                "name",
                "the response is already invalid",
            ));
        }
        let answers: Answers = serde_json::from_str(&record.answers)
            .map_err(|e| SurveyError::Internal(format!("stored answers: {e}")))?;
        let now = now_micros();
        responses::invalidate(&*txn, round_id, response_id, actor, reason, now).await?;
        let unit = shequ_domain::DivisionCode::from_u64(record.leaf_code as u64)
            .map_err(|e| SurveyError::Internal(e.to_string()))?;
        let ancestors = match self.locate_unit(&ctx, unit).await? {
            Ok(a) => a,
            Err(description) => {
                return Err(SurveyError::Internal(format!(
                    "stored response's leaf unit: {description}"
                )));
            }
        };
        let entry = Entry {
            leaf: record.leaf_code,
            ancestors,
            sign: -1,
            score: record.score,
            hits: ctx.layout.hits(&ctx.questions, &answers),
        };
        responses::record_invalidation(&*txn, round_id, response_id, actor, reason, now).await?;
        self.record_delta(&*txn, round_id, std::slice::from_ref(&entry))
            .await?;
        self.audit(
            &*txn,
            &AuditEntry {
                principal,
                method: INVALIDATE_RESPONSE,
                resource: response_name(round_id, response_id),
                division: Some(unit),
                action: "invalidated",
                reason,
            },
        )
        .await?;
        txn.commit().await?;
        self.audit.committed();
        self.fold_later(&ctx);
        self.get_response(round_id, response_id).await
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

/// The hash that tells a retry from another body under the same id: SHA-256, in hexadecimal, of
/// the JSON array `[leaf code, channel, collect time, answers]` with the answers as sent (before
/// masking). Built from the answers' JSON, which is also what is stored when masking changes
/// nothing.
fn body_hash(leaf: i64, channel: &str, collect_time: i64, answers_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("[{leaf},\"{channel}\",{collect_time},").as_bytes());
    h.update(answers_json.as_bytes());
    h.update(b"]");
    hex(&h.finalize())
}

/// Lower-case hexadecimal of `bytes`.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash is computed from the answers' JSON; it must stay the hash of the whole body
    /// serialized at once, as stored by earlier versions, or a retry across an upgrade would be
    /// refused as a conflict.
    #[test]
    fn the_body_hash_is_the_hash_of_the_serialized_body() {
        let answers: Answers = vec![
            ("s0".into(), AnswerValue::Rating(5)),
            ("choice".into(), AnswerValue::Option("phone".into())),
            (
                "many".into(),
                AnswerValue::Options(vec!["a".into(), "b".into()]),
            ),
            ("yes".into(), AnswerValue::Yes(false)),
            ("n".into(), AnswerValue::Number(-2.5)),
            (
                "comment".into(),
                AnswerValue::Text("引号\"、反斜杠\\ 和换行\n".into()),
            ),
        ];
        for (leaf, channel, time) in [
            (110_101_001_001_i64, "online", 1_735_689_600_000_000_i64),
            (650_000_000_000, "kiosk", -1),
        ] {
            let whole = serde_json::to_vec(&(leaf, channel, time, &answers)).unwrap();
            let json = serde_json::to_string(&answers).unwrap();
            assert_eq!(
                body_hash(leaf, channel, time, &json),
                hex(&Sha256::digest(&whole))
            );
        }
    }
}
