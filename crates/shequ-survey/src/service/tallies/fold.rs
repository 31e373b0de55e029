//! Folding: the pending deltas of a round move into its stored tallies in passes, each written
//! in one transaction, after commits in the background and before a leaf unit's results.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shequ_domain::DivisionLevel;

use crate::error::Result;
use crate::model::tally::{Entry, ROUND_LEVEL, Tally};
use crate::region::Ancestors;
use crate::service::{RoundContext, Survey};
use crate::store::deltas::{self, for_each_entry};
use crate::store::{shaped_chunks, tallies};

/// Delta rows read per query while a fold gathers its pass (each holds one batch, at most 1,000
/// responses).
const DELTAS_PER_READ: usize = 64;
/// A pass stops gathering deltas once they touch this many tallies; this bounds a fold's memory
/// (a pass holds one tally per touched division), whatever the backlog.
const CODES_PER_PASS: usize = 150_000;
/// Touched tallies read per statement while a pass is applied.
const ROWS_PER_STATEMENT: usize = 1_000;

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
            let positions = tallies::positions(&self.db.conn, &ctx.id).await?;
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
            let rows =
                deltas::between(&self.db.conn, &ctx.id, pass.last, last, DELTAS_PER_READ).await?;
            let full = rows.len() == DELTAS_PER_READ;
            for row in rows {
                pass.last = row.seq;
                for_each_entry(&row.body, |e| pass.add(e, len))?;
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
        let lock = format!("survey_fold {}", ctx.id);
        let txn = self.db.begin_write(Some(&lock)).await?;
        tallies::ensure_positions(&*txn, &ctx.id).await?;
        if !tallies::advance_positions(&*txn, &ctx.id, from, pass.last).await? {
            txn.rollback().await?;
            return Ok(());
        }
        deltas::delete_through(&*txn, &ctx.id, from).await?;
        // Each touched tally read once and replaced by stored + change.
        let mut codes: Vec<i64> = pass.changes.keys().copied().collect();
        codes.sort_unstable();
        for chunk in shaped_chunks(&codes, ROWS_PER_STATEMENT) {
            let stored = tallies::by_codes(&*txn, &ctx.id, &ctx.layout, chunk).await?;
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
        tallies::upsert(&*txn, &ctx.id, &ctx.layout, &codes, &pass.changes).await?;
        txn.commit().await?;
        Ok(())
    }
}
