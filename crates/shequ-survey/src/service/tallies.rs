//! Tallies of a round: valid and scored responses, the score sum, covered leaf units and every
//! answer count, per leaf unit, per ancestor division and for the whole round (code 0), each in
//! one row with the answer counts packed into a blob.
//!
//! A batch of responses commits with one `survey_tally_deltas` row that lists what it adds (an
//! invalidation, what it takes away); folding moves pending deltas into `survey_tallies` in
//! passes that each take the whole backlog (up to a bound on touched tallies) and write every
//! touched tally once, after commits in the background and before every read, so reads see
//! every acknowledged response and writers never contend on tally rows.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, Value};
use shequ_domain::DivisionLevel;

use super::{RoundContext, Survey};
use crate::error::{Result, SurveyError};
use crate::model::{AnswerValue, Answers, QuestionDef, QuestionKind};
use crate::region::Ancestors;
use crate::store::{shaped_chunks, stmt, value_rows};

/// Delta rows read per query while a fold gathers its pass (each holds one batch, at most 1,000
/// responses).
const DELTAS_PER_READ: usize = 64;
/// A pass stops gathering deltas once they touch this many tallies; this bounds a fold's memory
/// (a pass holds one tally per touched division), whatever the backlog.
const CODES_PER_PASS: usize = 150_000;
/// Codes per `IN (...)` list and rows per multi-row upsert.
const ROWS_PER_STATEMENT: usize = 1_000;
/// A condition that `column` is one of `values`, with its bound values numbered from `$first`.
///
/// On PostgreSQL one array parameter, sent as an array literal and unnested in a subquery
/// (`column IN (SELECT unnest($n::bigint[]))`), so it is parsed once per statement and the
/// primary key is probed per value. A list of parameters (`IN ($2, ...)`) or `= ANY($n::...)`
/// in a reused prepared statement can instead become a filter that, for every row of the round,
/// rebuilds (or reparses) the whole list and compares against each value. On SQLite a plain
/// `IN` list, which it looks up through a temporary index.
pub(crate) fn one_of(
    backend: DbBackend,
    column: &str,
    first: usize,
    values: &[i64],
) -> (String, Vec<Value>) {
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

/// `level` of the row that tallies the whole round.
pub const ROUND_LEVEL: i64 = 0;

/// Where each answer of a round's questionnaire is counted in a tally's slots.
#[derive(Debug)]
pub struct Layout {
    /// First slot of each question, in questionnaire order, and the slot count after the last.
    bases: Vec<usize>,
    index: HashMap<String, usize>,
    len: usize,
    /// Slots that hold a sum of values (stored as 8-byte floats); every other slot is a count
    /// (stored as a 4-byte integer).
    sums: Vec<bool>,
}

impl Layout {
    /// Satisfaction: ratings 1 to 5; yes/no: yes, no; single choice: its options; multiple
    /// choice: answered, then its options; number: answered, value sum; free text: answered.
    pub fn new(questions: &[QuestionDef]) -> Self {
        let mut bases = Vec::with_capacity(questions.len() + 1);
        let mut index = HashMap::with_capacity(questions.len());
        let mut len = 0;
        let mut sums = Vec::new();
        for (i, q) in questions.iter().enumerate() {
            bases.push(len);
            index.insert(q.id.clone(), i);
            len += match q.kind {
                QuestionKind::Satisfaction => 5,
                QuestionKind::YesNo | QuestionKind::Number => 2,
                QuestionKind::SingleChoice => q.options.len(),
                QuestionKind::MultipleChoice => 1 + q.options.len(),
                QuestionKind::FreeText => 1,
            };
            sums.resize(len, false);
            if q.kind == QuestionKind::Number {
                sums[len - 1] = true;
            }
        }
        bases.push(len);
        Self {
            bases,
            index,
            len,
            sums,
        }
    }

    /// The stored form of a tally's slots: counts as 4-byte and sums as 8-byte little-endian.
    pub fn pack(&self, slots: &[f64]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len * 4 + 8);
        for (i, v) in slots.iter().enumerate().take(self.len) {
            if self.sums[i] {
                out.extend_from_slice(&v.to_le_bytes());
            } else {
                out.extend_from_slice(&(v.round() as i32).to_le_bytes());
            }
        }
        out
    }

    /// The slots of a stored tally; a shorter blob leaves the remaining slots 0.
    pub fn unpack(&self, blob: &[u8]) -> Vec<f64> {
        let mut out = vec![0.0; self.len];
        let mut rest = blob;
        for (i, slot) in out.iter_mut().enumerate() {
            let width = if self.sums[i] { 8 } else { 4 };
            let Some((head, tail)) = rest.split_at_checked(width) else {
                break;
            };
            *slot = if self.sums[i] {
                f64::from_le_bytes(head.try_into().expect("8 bytes"))
            } else {
                f64::from(i32::from_le_bytes(head.try_into().expect("4 bytes")))
            };
            rest = tail;
        }
        out
    }

    /// Slots a tally of this questionnaire holds.
    pub fn slot_count(&self) -> usize {
        self.len
    }

    /// The slots of question `i`.
    pub fn slots<'a>(&self, i: usize, slots: &'a [f64]) -> &'a [f64] {
        slots.get(self.bases[i]..self.bases[i + 1]).unwrap_or(&[])
    }

    /// The `(slot, amount)` pairs one response's answers add.
    pub fn hits(&self, questions: &[QuestionDef], answers: &Answers) -> Vec<(u16, f64)> {
        let mut out = Vec::with_capacity(answers.len() + 2);
        for (id, value) in answers {
            let Some(&i) = self.index.get(id) else {
                continue;
            };
            let q = &questions[i];
            let base = self.bases[i];
            let option = |o: &str| q.options.iter().position(|d| d.id == o);
            match value {
                AnswerValue::Rating(r) if (1..=5).contains(r) => {
                    out.push(((base + usize::from(*r) - 1) as u16, 1.0));
                }
                AnswerValue::Yes(y) => out.push(((base + usize::from(!*y)) as u16, 1.0)),
                AnswerValue::Option(o) => {
                    if let Some(p) = option(o) {
                        out.push(((base + p) as u16, 1.0));
                    }
                }
                AnswerValue::Options(os) => {
                    out.push((base as u16, 1.0));
                    for o in os {
                        if let Some(p) = option(o) {
                            out.push(((base + 1 + p) as u16, 1.0));
                        }
                    }
                }
                AnswerValue::Number(n) => {
                    out.push((base as u16, 1.0));
                    out.push(((base + 1) as u16, *n));
                }
                AnswerValue::Text(_) => out.push((base as u16, 1.0)),
                AnswerValue::Rating(_) => {}
            }
        }
        out
    }
}

/// One response's contribution to the tallies, added (`sign` 1) or taken away (`sign` -1).
#[derive(Debug, Clone)]
pub struct Entry {
    pub leaf: i64,
    pub ancestors: Ancestors,
    pub sign: i8,
    pub score: Option<f64>,
    pub hits: Vec<(u16, f64)>,
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

/// What a round's responses add up to for one division.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub valid: i64,
    pub scored: i64,
    pub score_sum: f64,
    /// Leaf units at or below the division with at least the round's minimum of valid responses.
    pub covered: i64,
    pub slots: Vec<f64>,
}

impl Tally {
    pub(crate) fn add_entry(&mut self, e: &Entry, len: usize) {
        let sign = f64::from(e.sign);
        self.valid += i64::from(e.sign);
        if let Some(s) = e.score {
            self.scored += i64::from(e.sign);
            self.score_sum += sign * s;
        }
        if self.slots.len() < len {
            self.slots.resize(len, 0.0);
        }
        for (slot, amount) in &e.hits {
            if let Some(v) = self.slots.get_mut(usize::from(*slot)) {
                *v += sign * amount;
            }
        }
    }

    fn add(&mut self, other: &Tally) {
        self.valid += other.valid;
        self.scored += other.scored;
        self.score_sum += other.score_sum;
        self.covered += other.covered;
        if self.slots.len() < other.slots.len() {
            self.slots.resize(other.slots.len(), 0.0);
        }
        for (a, b) in self.slots.iter_mut().zip(&other.slots) {
            *a += b;
        }
    }
}

/// The code and tally of a row selected as `code, valid_responses, scored_responses, score_sum,
/// covered_units, answers` from `survey_tallies`.
pub(crate) fn tally_row(row: &sea_orm::QueryResult, layout: &Layout) -> Result<(i64, Tally)> {
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

/// The codes an entry counts under, with their levels: the leaf, its ancestors, the round.
fn keys(leaf: i64, a: &Ancestors) -> [(i64, i64); 6] {
    [
        (leaf, i64::from(DivisionLevel::Village.number())),
        (a.township.unwrap_or(-1), 4),
        (a.county.unwrap_or(-1), 3),
        (a.prefecture.unwrap_or(-1), 2),
        (a.province, 1),
        (0, ROUND_LEVEL),
    ]
}

/// A pause in a round's commits after which a background fold starts.
const FOLD_QUIET: Duration = Duration::from_secs(1);
/// While commits keep coming, how long after the previous fold ended the next one starts.
const FOLD_EVERY: Duration = Duration::from_secs(10);

/// When the round last committed a batch and when its last background fold ended.
#[derive(Debug)]
pub struct FoldClock {
    last_commit: Instant,
    last_fold: Option<Instant>,
}

impl Default for FoldClock {
    fn default() -> Self {
        Self {
            last_commit: Instant::now(),
            last_fold: None,
        }
    }
}

impl FoldClock {
    /// How long a background fold still waits: zero once the round has been quiet for
    /// `FOLD_QUIET` or `FOLD_EVERY` has passed since the previous fold.
    fn wait(&self) -> Duration {
        let quiet = FOLD_QUIET.saturating_sub(self.last_commit.elapsed());
        let due = self
            .last_fold
            .map_or(Duration::ZERO, |f| FOLD_EVERY.saturating_sub(f.elapsed()));
        quiet.min(due)
    }
}

/// What a fold pass gathered: the last delta it reaches, the change per division (with its
/// level) and, per leaf unit, its ancestors and the valid responses the pass adds.
#[derive(Default)]
struct Pass {
    last: i64,
    changes: HashMap<i64, (i64, Tally)>,
    leaves: HashMap<i64, (Ancestors, i64)>,
}

impl Pass {
    fn add(&mut self, e: &Entry, len: usize) {
        self.leaves.entry(e.leaf).or_insert((e.ancestors, 0)).1 += i64::from(e.sign);
        for (code, level) in keys(e.leaf, &e.ancestors) {
            if code >= 0 {
                self.changes
                    .entry(code)
                    .or_insert_with(|| (level, Tally::default()))
                    .1
                    .add_entry(e, len);
            }
        }
    }
}

impl Survey {
    /// Adds a delta row in the caller's transaction; call it just before the audit record and
    /// the commit. On PostgreSQL it first takes the audit trail's advisory lock (held until the
    /// commit), so deltas commit in `seq` order and a process following them never skips one.
    pub(crate) async fn record_delta(
        &self,
        conn: &impl ConnectionTrait,
        round_id: &str,
        entries: &[Entry],
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        if self.backend() == DbBackend::Postgres {
            conn.execute_raw(stmt(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock(hashtext($1))",
                [super::AUDIT_TABLE.into()],
            ))
            .await?;
        }
        conn.execute_raw(stmt(
            self.backend(),
            "INSERT INTO survey_tally_deltas (round_id, body) VALUES ($1, $2)",
            [round_id.into(), encode(entries).into()],
        ))
        .await?;
        Ok(())
    }

    /// After a commit: brings the round's live tallies up to date and folds, each in the
    /// background unless this process is already doing it. Reads above the leaf units do not
    /// need the fold, so it waits for a pause in the round's commits (`FOLD_QUIET`) or, while
    /// batches keep coming, until `FOLD_EVERY` after the previous fold ended: a fold pass
    /// rewrites every tally it touches, and folding back to back took a third of a continuous
    /// ingest's throughput on PostgreSQL.
    pub(crate) fn fold_later(&self, ctx: &Arc<RoundContext>) {
        self.follow_later(ctx);
        ctx.fold_clock.lock().expect("not poisoned").last_commit = Instant::now();
        if ctx
            .fold_wanted
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        let survey = self.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            loop {
                let wait = ctx.fold_clock.lock().expect("not poisoned").wait();
                if wait.is_zero() {
                    break;
                }
                tokio::time::sleep(wait).await;
            }
            if let Err(e) = survey.fold(&ctx).await {
                tracing::warn!(round = %ctx.id, error = %e, "folding tallies failed; the next commit retries");
            }
            ctx.fold_clock.lock().expect("not poisoned").last_fold = Some(Instant::now());
        });
    }

    /// Moves every delta the round's live tallies hold into its stored tallies. One process
    /// folds a round at a time; on PostgreSQL an advisory lock also keeps other replicas out.
    ///
    /// A pass gathers the deltas after the fold's position (until they touch `CODES_PER_PASS`
    /// tallies) outside any transaction, then in one write transaction moves the position past
    /// them, deletes the deltas the previous pass folded (kept one pass longer so that other
    /// replicas following the deltas still find them), reads each touched tally once and writes
    /// it once. So a pass costs about one row write per touched division, however many
    /// responses it folds, and a backlog makes passes cheaper per response, not more numerous.
    /// If another replica moved the position first, the pass rolls back and gathers again.
    pub(crate) async fn fold(&self, ctx: &Arc<RoundContext>) -> Result<()> {
        let _turn = ctx.fold_turn.lock().await;
        ctx.fold_wanted
            .store(false, std::sync::atomic::Ordering::Release);
        // Only what the live tallies already hold, so this process never deletes a delta
        // before following it, and a fold ends even while batches keep coming (each commit
        // asks for another).
        let last = self
            .live(ctx)
            .await?
            .as_ref()
            .map_or(0, |live| live.position);
        loop {
            let positions = self.positions(&self.db.conn, &ctx.id).await?;
            if positions.folded >= last {
                return Ok(());
            }
            let pass = self.gather(ctx, positions.folded, last).await?;
            self.apply(ctx, positions.folded, pass).await?;
        }
    }

    /// Reads the deltas after `from` up to `last` in `seq` order and adds them up per
    /// division, stopping early once they touch `CODES_PER_PASS` tallies.
    async fn gather(&self, ctx: &RoundContext, from: i64, last: i64) -> Result<Pass> {
        let len = ctx.layout.slot_count();
        let mut pass = Pass {
            last: from,
            ..Pass::default()
        };
        loop {
            let rows = self
                .db
                .conn
                .query_all_raw(stmt(
                    self.backend(),
                    format!("SELECT seq, body FROM survey_tally_deltas WHERE round_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT {DELTAS_PER_READ}"),
                    [ctx.id.clone().into(), pass.last.into(), last.into()],
                ))
                .await?;
            let full = rows.len() == DELTAS_PER_READ;
            for row in rows {
                pass.last = row.try_get_by_index(0)?;
                let body: Vec<u8> = row.try_get_by_index(1)?;
                for_each_entry(&body, |e| pass.add(e, len))?;
            }
            if !full || pass.changes.len() >= CODES_PER_PASS {
                // Nothing left up to `last`: the pass reaches it, even past gaps in `seq`.
                if !full {
                    pass.last = last;
                }
                return Ok(pass);
            }
        }
    }

    /// Writes one gathered pass that starts after fold position `from`; nothing when another
    /// replica moved the position first.
    async fn apply(&self, ctx: &RoundContext, from: i64, mut pass: Pass) -> Result<()> {
        let backend = self.backend();
        let lock = format!("survey_fold {}", ctx.id);
        let txn = self.db.begin_write(Some(&lock)).await?;
        txn.execute_raw(stmt(
            backend,
            "INSERT INTO survey_tally_positions (round_id, folded_seq, deleted_seq) VALUES ($1, 0, 0) ON CONFLICT (round_id) DO NOTHING",
            [ctx.id.clone().into()],
        ))
        .await?;
        let moved = txn
            .execute_raw(stmt(
                backend,
                "UPDATE survey_tally_positions SET folded_seq = $2, deleted_seq = folded_seq WHERE round_id = $1 AND folded_seq = $3",
                [ctx.id.clone().into(), pass.last.into(), from.into()],
            ))
            .await?
            .rows_affected();
        if moved == 0 {
            txn.rollback().await?;
            return Ok(());
        }
        txn.execute_raw(stmt(
            backend,
            "DELETE FROM survey_tally_deltas WHERE round_id = $1 AND seq <= $2",
            [ctx.id.clone().into(), from.into()],
        ))
        .await?;
        // Each touched tally read once and replaced by stored + change.
        let mut codes: Vec<i64> = pass.changes.keys().copied().collect();
        codes.sort_unstable();
        for chunk in shaped_chunks(&codes, ROWS_PER_STATEMENT) {
            let stored = self.tallies(&*txn, ctx, chunk).await?;
            for (code, t) in stored {
                if let Some((_, change)) = pass.changes.get_mut(&code) {
                    change.add(&t);
                }
            }
        }
        // Leaf units crossing the minimum change the covered count of every division above.
        let min = i64::from(ctx.min_valid_responses);
        for (leaf, (ancestors, added)) in &pass.leaves {
            let after = pass.changes.get(leaf).map_or(0, |c| c.1.valid);
            let before = after - added;
            let step = i64::from(after >= min) - i64::from(before >= min);
            if step == 0 {
                continue;
            }
            for (code, _) in keys(*leaf, ancestors) {
                if let Some((_, t)) = pass.changes.get_mut(&code) {
                    t.covered += step;
                }
            }
        }
        for chunk in shaped_chunks(&codes, ROWS_PER_STATEMENT) {
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 8);
            for code in chunk {
                let (level, t) = &pass.changes[code];
                values.extend([
                    ctx.id.clone().into(),
                    (*code).into(),
                    (*level).into(),
                    t.valid.into(),
                    t.scored.into(),
                    t.score_sum.into(),
                    t.covered.into(),
                    ctx.layout.pack(&t.slots).into(),
                ]);
            }
            let sql = format!(
                "INSERT INTO survey_tallies (round_id, code, level, valid_responses, scored_responses, score_sum, covered_units, answers) VALUES {} \
                 ON CONFLICT (round_id, code) DO UPDATE SET valid_responses = excluded.valid_responses, scored_responses = excluded.scored_responses, \
                 score_sum = excluded.score_sum, covered_units = excluded.covered_units, answers = excluded.answers",
                value_rows(chunk.len(), 8)
            );
            txn.execute_raw(stmt(backend, sql, values)).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Stored tallies of the given codes.
    pub(crate) async fn tallies(
        &self,
        conn: &impl ConnectionTrait,
        ctx: &RoundContext,
        codes: &[i64],
    ) -> Result<HashMap<i64, Tally>> {
        let round_id = ctx.id.as_str();
        let mut out = HashMap::with_capacity(codes.len());
        for chunk in shaped_chunks(codes, ROWS_PER_STATEMENT) {
            let (condition, mut values) = one_of(self.backend(), "code", 2, chunk);
            values.insert(0, round_id.into());
            let rows = conn
                .query_all_raw(stmt(
                    self.backend(),
                    format!(
                        "SELECT code, valid_responses, scored_responses, score_sum, covered_units, answers FROM survey_tallies WHERE round_id = $1 AND {condition}"
                    ),
                    values,
                ))
                .await?;
            for row in rows {
                let (code, tally) = tally_row(&row, &ctx.layout)?;
                out.insert(code, tally);
            }
        }
        Ok(out)
    }

    /// Rebuilds the tallies of a round whose responses predate them (marked by the migration
    /// that introduced tallies): one delta per page of stored valid responses, then unmarks it.
    pub(crate) async fn rebuild_if_marked(&self, ctx: &Arc<RoundContext>) -> Result<()> {
        if ctx
            .rebuild_checked
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Ok(());
        }
        let backend = self.backend();
        let marked = self
            .db
            .conn
            .query_one_raw(stmt(
                backend,
                "SELECT round_id FROM survey_tally_rebuilds WHERE round_id = $1",
                [ctx.id.clone().into()],
            ))
            .await?
            .is_some();
        if !marked {
            ctx.rebuild_checked
                .store(true, std::sync::atomic::Ordering::Release);
            return Ok(());
        }
        let txn = self.begin_write().await?;
        let mut after = String::new();
        loop {
            let rows = txn
                .query_all_raw(stmt(
                    backend,
                    format!("SELECT response_id, leaf_code, answers, score FROM survey_responses WHERE round_id = $1 AND valid = 1 AND response_id > $2 ORDER BY response_id LIMIT {ROWS_PER_STATEMENT}"),
                    [ctx.id.clone().into(), after.clone().into()],
                ))
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut entries = Vec::with_capacity(rows.len());
            for row in rows {
                after = row.try_get_by_index(0)?;
                let leaf: i64 = row.try_get_by_index(1)?;
                let answers: String = row.try_get_by_index(2)?;
                let answers: Answers = serde_json::from_str(&answers)
                    .map_err(|e| SurveyError::Internal(format!("stored answers: {e}")))?;
                let unit = shequ_domain::DivisionCode::from_u64(leaf as u64)
                    .map_err(|e| SurveyError::Internal(e.to_string()))?;
                let ancestors = match self.locate_unit(ctx, unit).await? {
                    Ok(a) => a,
                    Err(description) => {
                        tracing::warn!(round = %ctx.id, leaf, %description, "stored response's unit left out of the rebuilt tallies");
                        continue;
                    }
                };
                entries.push(Entry {
                    leaf,
                    ancestors,
                    sign: 1,
                    score: row.try_get_by_index(3)?,
                    hits: ctx.layout.hits(&ctx.questions, &answers),
                });
            }
            self.record_delta(&*txn, &ctx.id, &entries).await?;
        }
        txn.execute_raw(stmt(
            backend,
            "DELETE FROM survey_tally_rebuilds WHERE round_id = $1",
            [ctx.id.clone().into()],
        ))
        .await?;
        txn.commit().await?;
        ctx.rebuild_checked
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }
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

    #[test]
    fn packed_slots_round_trip() {
        let q = |id: &str, kind| QuestionDef {
            id: id.into(),
            text: id.into(),
            kind,
            required: false,
            counts_towards_satisfaction: false,
            dimension: None,
            options: Vec::new(),
            min_value: 0.0,
            max_value: 100.0,
        };
        let layout = Layout::new(&[
            q("s", QuestionKind::Satisfaction),
            q("n", QuestionKind::Number),
            q("t", QuestionKind::FreeText),
        ]);
        assert_eq!(layout.slot_count(), 8);
        let slots = vec![0.0, 3.0, -1.0, 7.0, 2e9, 4.0, 12.75, 5.0];
        let blob = layout.pack(&slots);
        // Seven counts of 4 bytes and one sum of 8.
        assert_eq!(blob.len(), 7 * 4 + 8);
        assert_eq!(layout.unpack(&blob), slots);
        let mut short = slots[..5].to_vec();
        short.resize(8, 0.0);
        assert_eq!(layout.unpack(&blob[..20]), short);
    }
}
