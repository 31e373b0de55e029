//! The live tallies of a round: what every delta committed so far adds up to, held in memory
//! by each process that reads or folds the round, so results, coverage and facts above a leaf
//! unit never wait for the fold.
//!
//! A process loads the round once, from one snapshot of the stored tallies (which hold every
//! delta up to the fold's position) and the deltas after that position, then follows the
//! deltas committed since in `seq` order. Deltas commit in `seq` order (on PostgreSQL each is
//! written under the audit trail's advisory lock, held until its commit; SQLite has one writer),
//! so following by `seq` never skips one. The fold deletes a pass's deltas only one pass later;
//! a process that fell further behind than that (another replica folded twice since it last
//! looked) finds the deletion horizon past its position and loads again.
//!
//! Above the leaf units a live tally holds everything (answer counts included); a leaf unit's
//! holds its valid and scored responses and score sum, about 40 bytes, so a national round of
//! 620,573 units costs some 40 MB. A leaf unit's answer counts are read from its stored tally
//! after a fold.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sea_orm::ConnectionTrait;
use tokio::sync::MutexGuard;

use super::{RoundContext, Survey};
use crate::error::Result;
use crate::model::tally::{Entry, LeafTally, Tally};
use crate::store::deltas::{self, for_each_entry};
use crate::store::tallies;

/// How often a process follows the deltas of a round whose tallies it holds.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// Follows without a new delta after which a round's live tallies leave memory (10 minutes).
const IDLE_TICKS: u32 = 300;
/// Delta rows read per query while following (each holds one batch, at most 1,000 responses).
const DELTAS_PER_READ: i64 = 64;

/// A round's tallies as of delta `position`.
#[derive(Debug, Default)]
pub struct Live {
    /// The last delta applied (or the fold position it was loaded at, if later).
    pub position: i64,
    /// Every division above the leaf units with responses, and the round (code 0).
    pub divisions: HashMap<i64, Tally>,
    pub leaves: HashMap<i64, LeafTally>,
    /// Leaf units with responses not yet looked up in the round's region map: all of them once
    /// loaded, then each one's first response. A unit another replica accepted after this process
    /// loaded the map is then placed through the registry (`Survey::placed_live`).
    pub unchecked: Vec<i64>,
}

impl Live {
    fn apply(&mut self, e: &Entry, slots: usize, min: i64) {
        let leaf = match self.leaves.entry(e.leaf) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(first) => {
                self.unchecked.push(e.leaf);
                first.insert(LeafTally::default())
            }
        };
        let before = leaf.valid;
        leaf.valid += i64::from(e.sign);
        if let Some(s) = e.score {
            leaf.scored += i64::from(e.sign);
            leaf.score_sum += f64::from(e.sign) * s;
        }
        let step = i64::from(leaf.valid >= min) - i64::from(before >= min);
        let a = &e.ancestors;
        for code in [
            a.township,
            a.county,
            a.prefecture,
            Some(a.province),
            Some(0),
        ]
        .into_iter()
        .flatten()
        {
            let t = self.divisions.entry(code).or_default();
            t.add_entry(e, slots);
            t.covered += step;
        }
    }

    /// The tally of a division above the leaf units (zeros when it has no responses).
    pub fn division(&self, code: i64) -> Tally {
        self.divisions.get(&code).cloned().unwrap_or_default()
    }

    pub fn leaf(&self, code: i64) -> LeafTally {
        self.leaves.get(&code).copied().unwrap_or_default()
    }
}

impl Survey {
    /// Follows the round's deltas in the background unless this process already is.
    pub(crate) fn follow_later(&self, ctx: &Arc<RoundContext>) {
        if ctx.follow_wanted.swap(true, Ordering::AcqRel) {
            return;
        }
        let survey = self.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            ctx.follow_wanted.store(false, Ordering::Release);
            if let Err(e) = survey.live(&ctx).await {
                tracing::warn!(round = %ctx.id, error = %e, "following the round's tallies failed; the next read retries");
            }
        });
    }

    /// Once a round's tallies are live in this process, follows its deltas every
    /// `FOLLOW_EVERY` too, so a replica that takes no batches of the round stays close to the
    /// others (and falls behind the fold's deletions only if it stalls for two passes). A round
    /// without new deltas for `IDLE_TICKS` follows is let go: its tallies leave memory and the
    /// next read loads them again.
    fn follow_periodically(&self, ctx: &Arc<RoundContext>) {
        let survey = self.clone();
        let round = Arc::downgrade(ctx);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FOLLOW_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            let (mut seen, mut idle) = (None, 0);
            loop {
                tick.tick().await;
                let Some(ctx) = round.upgrade() else {
                    return;
                };
                let mut live = match survey.live_within_follower(&ctx).await {
                    Ok(live) => live,
                    Err(e) => {
                        tracing::debug!(round = %ctx.id, error = %e, "following the round's tallies failed; retrying");
                        continue;
                    }
                };
                let position = live.as_ref().map(|l| l.position);
                idle = if position == seen { idle + 1 } else { 0 };
                seen = position;
                if idle >= IDLE_TICKS || live.is_none() {
                    *live = None;
                    tracing::debug!(round = %ctx.id, "round idle: its live tallies leave memory");
                    return;
                }
            }
        });
    }

    /// The live tallies for the follower: brought up to date if held, left alone if let go.
    async fn live_within_follower<'a>(
        &self,
        ctx: &'a Arc<RoundContext>,
    ) -> Result<MutexGuard<'a, Option<Live>>> {
        let held = ctx.live.lock().await;
        if held.is_none() {
            return Ok(held);
        }
        drop(held);
        self.live(ctx).await
    }

    /// The round's live tallies, brought up to every delta committed before the call.
    pub(crate) async fn live<'a>(
        &self,
        ctx: &'a Arc<RoundContext>,
    ) -> Result<MutexGuard<'a, Option<Live>>> {
        let mut live = ctx.live.lock().await;
        if let Some(current) = live.as_mut() {
            let start = current.position;
            self.follow(ctx, current).await?;
            let positions = tallies::positions(&self.db.conn, &ctx.id).await?;
            if positions.deleted <= start {
                return Ok(live);
            }
            tracing::info!(round = %ctx.id, position = start, deleted = positions.deleted, "live tallies fell behind the fold's deletions; loading them again");
        }
        let first = live.is_none();
        *live = None;
        *live = Some(self.load_live(ctx).await?);
        if first {
            self.follow_periodically(ctx);
        }
        Ok(live)
    }

    /// Applies the deltas committed after `live.position`.
    async fn follow(&self, ctx: &RoundContext, live: &mut Live) -> Result<()> {
        self.apply_deltas(&self.db.conn, ctx, live, live.position)
            .await
    }

    async fn apply_deltas(
        &self,
        conn: &impl ConnectionTrait,
        ctx: &RoundContext,
        live: &mut Live,
        mut after: i64,
    ) -> Result<()> {
        let slots = ctx.layout.slot_count();
        let min = i64::from(ctx.min_valid_responses);
        loop {
            let rows = deltas::after(conn, &ctx.id, after, DELTAS_PER_READ).await?;
            let full = rows.len() as i64 == DELTAS_PER_READ;
            for row in rows {
                after = row.seq;
                for_each_entry(&row.body, |e| live.apply(e, slots, min))?;
            }
            live.position = live.position.max(after);
            if !full {
                return Ok(());
            }
        }
    }

    /// Reads the stored tallies and the deltas after the fold's position in one snapshot.
    async fn load_live(&self, ctx: &Arc<RoundContext>) -> Result<Live> {
        self.rebuild_if_marked(ctx).await?;
        let txn = self.db.begin_snapshot().await?;
        let positions = tallies::positions(&txn, &ctx.id).await?;
        let mut live = Live {
            position: positions.folded,
            divisions: tallies::above_leaves(&txn, &ctx.id, &ctx.layout).await?,
            leaves: tallies::leaves(&txn, &ctx.id).await?,
            unchecked: Vec::new(),
        };
        self.apply_deltas(&txn, ctx, &mut live, positions.folded)
            .await?;
        txn.commit().await?;
        live.unchecked = live.leaves.keys().copied().collect();
        tracing::debug!(round = %ctx.id, position = live.position, leaf_units = live.leaves.len(), "live tallies loaded");
        Ok(live)
    }
}
