//! What other services read in bulk: the per-leaf-unit facts stream the plan monitor computes its
//! registry indicators from, and the change feed that lets other systems follow the registry.

use futures::Stream;
use shequ_domain::{DivisionCode, LeafUnitKind};
use shequ_proto::convert::kind_to_pb;
use shequ_proto::registry::v1 as pb;
use tokio_stream::StreamExt;

use super::Registry;
use crate::error::{RegistryError, Result};
use crate::grpc::convert::revision_to_pb;
use crate::store::{changes, facts, imports};

/// Changes read per query while catching up.
const FEED_BATCH: i64 = 500;

impl Registry {
    /// Facts for every non-retired leaf unit under `parent` (the whole country when `None`), in
    /// batches, from one consistent snapshot. Fails before streaming when `parent` is unknown.
    pub async fn leaf_unit_facts(
        &self,
        parent: Option<DivisionCode>,
    ) -> Result<impl Stream<Item = Result<pb::StreamLeafUnitFactsResponse>> + Send + 'static> {
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
            let mut totals = facts::facility_totals(&txn, scope).await?;
            let mut first = true;
            let mut batch = Vec::with_capacity(batch_size);
            {
                let mut units = facts::leaf_units(&txn, scope).await?;
                while let Some(unit) = units.next().await {
                    let unit = unit?;
                    let t = totals.remove(&unit.code).unwrap_or_default();
                    batch.push(pb::LeafUnitFacts {
                        code: unit.code as u64,
                        kind: unit.kind.as_deref().and_then(LeafUnitKind::parse).map(kind_to_pb).unwrap_or_default() as i32,
                        province: unit.province as u64,
                        prefecture: unit.prefecture as u64,
                        county: unit.county as u64,
                        township: unit.township as u64,
                        in_service_facilities: t.in_service_facilities as i32,
                        total_floor_area_m2: t.total_floor_area_m2,
                        activity_area_m2: t.activity_area_m2,
                        activity_share_compliant: t.activity_share_compliant as i32,
                        opening_hours_compliant: t.opening_hours_compliant as i32,
                        online_24h: t.online_24h,
                        self_service_terminals: t.self_service_terminals as i32,
                        community_workers: t.community_workers as i32,
                        social_workers: t.social_workers as i32,
                    });
                    if batch.len() == batch_size {
                        let facts = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                        yield header(facts, &mut first, cursor, &vintage);
                    }
                }
            }
            if !batch.is_empty() || first {
                yield header(batch, &mut first, cursor, &vintage);
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
    ) -> Result<impl Stream<Item = Result<pb::WatchFacilityChangesResponse>> + Send + 'static> {
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
                    let change = row.decode()?;
                    yield pb::WatchFacilityChangesResponse { cursor: change.seq.to_string(), revision: Some(revision_to_pb(&change)) };
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

fn header(
    facts: Vec<pb::LeafUnitFacts>,
    first: &mut bool,
    cursor: i64,
    vintage: &Option<String>,
) -> pb::StreamLeafUnitFactsResponse {
    let mut response = pb::StreamLeafUnitFactsResponse {
        facts,
        ..Default::default()
    };
    if std::mem::take(first) {
        response.change_cursor = cursor.to_string();
        response.vintage = vintage.clone().unwrap_or_default();
    }
    response
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
