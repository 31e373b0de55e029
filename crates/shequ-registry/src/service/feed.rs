//! What other services read in bulk: the per-leaf-unit facts stream the plan monitor computes its
//! registry indicators from, and the change feed that lets other systems follow the registry.

use futures::Stream;
use shequ_domain::DivisionCode;
use tokio_stream::StreamExt;

use super::Registry;
use crate::error::{RegistryError, Result};
use crate::store::changes::{self, FacilityChange};
use crate::store::facts::{self, FacilityTotals, LeafUnitRow};
use crate::store::imports;

/// Changes read per query while catching up.
const FEED_BATCH: i64 = 500;

/// One leaf unit with its in-service facilities summed.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafUnitFacts {
    pub unit: LeafUnitRow,
    pub totals: FacilityTotals,
}

/// One message of the facts stream.
#[derive(Debug, Clone, PartialEq)]
pub struct FactsBatch {
    pub facts: Vec<LeafUnitFacts>,
    /// On the first batch only: what the snapshot saw besides the facts.
    pub header: Option<FactsHeader>,
}

/// Where the change feed stood when the facts were read, and the vintage of the last import.
#[derive(Debug, Clone, PartialEq)]
pub struct FactsHeader {
    pub change_cursor: i64,
    pub vintage: Option<String>,
}

impl Registry {
    /// Facts for every non-retired leaf unit under `parent` (the whole country when `None`), in
    /// batches, from one consistent snapshot. Fails before streaming when `parent` is unknown.
    pub async fn leaf_unit_facts(
        &self,
        parent: Option<DivisionCode>,
    ) -> Result<impl Stream<Item = Result<FactsBatch>> + Send + 'static> {
        let scope = match parent {
            Some(code) => Some((self.get_division(code).await?.scope_column(), code)),
            None => None,
        };
        let registry = self.clone();
        let batch_size = self.settings.facts_batch_size.max(1);
        Ok(async_stream::try_stream! {
            let txn = registry.db.begin_snapshot().await?;
            let cursor = changes::last_seq(&txn).await?;
            let vintage = imports::latest_vintage(&txn).await?;
            let mut by_unit = facts::facility_totals(&txn, scope).await?;
            let mut header = Some(FactsHeader { change_cursor: cursor, vintage });
            let mut batch = Vec::with_capacity(batch_size);
            {
                let mut units = facts::leaf_units(&txn, scope).await?;
                while let Some(unit) = units.next().await {
                    let unit = unit?;
                    let totals = by_unit.remove(&unit.code).unwrap_or_default();
                    batch.push(LeafUnitFacts { unit, totals });
                    if batch.len() == batch_size {
                        let facts = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                        yield FactsBatch { facts, header: header.take() };
                    }
                }
            }
            if !batch.is_empty() || header.is_some() {
                yield FactsBatch { facts: batch, header: header.take() };
            }
            txn.commit().await?;
        })
    }

    /// Changes after `after`, oldest first; with `follow`, new changes as they commit, until the
    /// client goes away or the server shuts down.
    pub async fn watch_changes(
        &self,
        after: i64,
        follow: bool,
        parent: Option<DivisionCode>,
    ) -> Result<impl Stream<Item = Result<FacilityChange>> + Send + 'static> {
        let scope = match parent {
            Some(code) => Some((self.get_division(code).await?.scope_column(), code)),
            None => None,
        };
        let registry = self.clone();
        Ok(async_stream::try_stream! {
            let mut cursor = after;
            loop {
                let notified = registry.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let rows = changes::after(&registry.db.conn, cursor, FEED_BATCH, scope).await?;
                let full = rows.len() as i64 == FEED_BATCH;
                for row in rows {
                    cursor = row.seq;
                    yield row.decode()?;
                }
                if full {
                    continue;
                }
                if !follow || registry.shutdown.is_triggered() {
                    break;
                }
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep(registry.settings.watch_poll_interval()) => {}
                    _ = registry.shutdown.wait() => break,
                }
            }
        })
    }
}

impl Registry {
    /// Keeps the facility cache in step with writes made by other replicas, by reading the change
    /// log's snapshots, until shutdown.
    pub fn spawn_cache_follower(&self) -> tokio::task::JoinHandle<()> {
        let registry = self.clone();
        tokio::spawn(async move {
            let mut cursor: Option<i64> = None;
            while !registry.shutdown.is_triggered() {
                if let Err(e) = registry.follow_changes_once(&mut cursor).await {
                    tracing::debug!(error = %e, "facility cache could not read the change log");
                }
                tokio::select! {
                    _ = tokio::time::sleep(registry.settings.watch_poll_interval()) => {}
                    _ = registry.shutdown.wait() => {}
                }
            }
        })
    }

    async fn follow_changes_once(&self, cursor: &mut Option<i64>) -> Result<()> {
        let Some(after) = *cursor else {
            *cursor = Some(changes::last_seq(&self.db.conn).await?);
            // Whatever was cached before the starting point was read may predate a change the
            // cursor now skips (a busy start can take a while): drop it, and any read still in
            // flight, so every cached entry is either newer than the cursor or followed from it.
            self.cache.clear();
            return Ok(());
        };
        let generation = self.cache.generation();
        let rows = changes::after(&self.db.conn, after, FEED_BATCH, None).await?;
        for row in rows {
            let seq = row.seq;
            match row.decode() {
                Ok(change) => self.cache.offer(&change.snapshot, generation),
                Err(e) => {
                    // This facility's entry may now be stale, and which entry that is cannot
                    // be known for certain: start the cache afresh.
                    tracing::error!(error = %e, "facility cache could not follow the change log");
                    self.cache.clear();
                }
            }
            *cursor = Some(seq);
        }
        Ok(())
    }
}

/// Parses a change-feed cursor: empty is the start, otherwise a non-negative number.
pub fn parse_cursor(text: &str) -> Result<i64> {
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<i64>().ok().filter(|c| *c >= 0).ok_or_else(|| {
        RegistryError::invalid("after_cursor", "must be a cursor returned by this feed")
    })
}
