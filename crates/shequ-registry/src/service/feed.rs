//! What other services read in bulk: the per-leaf-unit facts stream the plan monitor computes its
//! registry indicators from, and the change feed that lets other systems follow the registry.

use std::collections::HashMap;

use futures::Stream;
use sea_orm::{ConnectionTrait, FromQueryResult, StreamTrait, Value};
use shequ_domain::{DivisionCode, LeafUnitKind};
use shequ_proto::convert::kind_to_pb;
use shequ_proto::registry::v1 as pb;
use tokio_stream::StreamExt;

use super::Registry;
use super::facilities::change_to_pb;
use crate::error::{RegistryError, Result};
use crate::store::changes::{CHANGE_COLUMNS, ChangeRecord};
use crate::store::stmt;

/// Changes read per query while catching up.
const FEED_BATCH: i64 = 500;

#[derive(FromQueryResult)]
struct Snapshot {
    cursor: i64,
}

impl Registry {
    /// Facts for every non-retired leaf unit under `parent` (the whole country when `None`), in
    /// batches, from one consistent snapshot. Fails before streaming when `parent` is unknown.
    pub async fn leaf_unit_facts(
        &self,
        parent: Option<DivisionCode>,
    ) -> Result<impl Stream<Item = Result<pb::StreamLeafUnitFactsResponse>> + Send + 'static> {
        let (outer, inner, values) = match parent {
            Some(code) => {
                let column = self.get_division(code).await?.scope_column();
                (
                    format!("d.{column} = $1"),
                    format!("dd.{column} = $1"),
                    vec![Value::from(code.as_i64())],
                )
            }
            None => ("1 = 1".to_owned(), "1 = 1".to_owned(), Vec::new()),
        };
        let registry = self.clone();
        let batch_size = self.settings.facts_batch_size.max(1);
        Ok(async_stream::try_stream! {
            let backend = registry.backend();
            let txn = registry.db.begin_snapshot().await?;
            let cursor = Snapshot::find_by_statement(stmt(
                backend,
                "SELECT coalesce(max(seq), 0) AS cursor FROM registry_facility_changes",
                [],
            ))
            .one(&txn)
            .await?
            .map(|s| s.cursor)
            .unwrap_or(0);
            let vintage: Option<String> = txn
                .query_one_raw(stmt(backend, "SELECT vintage FROM registry_imports ORDER BY id DESC LIMIT 1", []))
                .await?
                .and_then(|r| r.try_get_by_index::<Option<String>>(0).ok().flatten());
            // Two plain scans merged here rather than one outer join over an aggregate: the
            // planner then has nothing to get wrong, whatever the statistics say.
            let aggregate_sql = format!(
                "SELECT f.leaf_code, count(*), sum(f.total_floor_area_m2), sum(f.activity_area_m2), \
                 CAST(sum(f.meets_activity_share) AS BIGINT), CAST(sum(f.meets_opening_hours) AS BIGINT), \
                 CAST(max(f.online_24h) AS BIGINT), CAST(sum(f.self_service_terminals) AS BIGINT), \
                 CAST(sum(f.community_workers) AS BIGINT), CAST(sum(f.social_workers) AS BIGINT) \
                 FROM registry_facilities f JOIN registry_divisions dd ON dd.code = f.leaf_code \
                 WHERE {inner} AND f.status = 'in_service' AND f.delete_time IS NULL GROUP BY f.leaf_code"
            );
            let mut facilities: HashMap<i64, pb::LeafUnitFacts> = HashMap::new();
            {
                let mut rows = txn.stream_raw(stmt(backend, aggregate_sql, values.clone())).await?;
                while let Some(row) = rows.next().await {
                    let row = row?;
                    let int = |i: usize| row.try_get_by_index::<Option<i64>>(i).map(|v| v.unwrap_or(0));
                    let real = |i: usize| row.try_get_by_index::<Option<f64>>(i).map(|v| v.unwrap_or(0.0));
                    facilities.insert(int(0)?, pb::LeafUnitFacts {
                        in_service_facilities: int(1)? as i32,
                        total_floor_area_m2: real(2)?,
                        activity_area_m2: real(3)?,
                        activity_share_compliant: int(4)? as i32,
                        opening_hours_compliant: int(5)? as i32,
                        online_24h: int(6)? > 0,
                        self_service_terminals: int(7)? as i32,
                        community_workers: int(8)? as i32,
                        social_workers: int(9)? as i32,
                        ..Default::default()
                    });
                }
            }
            let units_sql = format!(
                "SELECT d.code, d.kind, d.province_code, d.prefecture_code, d.county_code, d.township_code \
                 FROM registry_divisions d WHERE {outer} AND d.level = 5 AND d.retired = 0 ORDER BY d.code"
            );
            let mut first = true;
            let mut batch = Vec::with_capacity(batch_size);
            {
                let mut rows = txn.stream_raw(stmt(backend, units_sql, values)).await?;
                while let Some(row) = rows.next().await {
                    let row = row?;
                    let int = |i: usize| row.try_get_by_index::<Option<i64>>(i).map(|v| v.unwrap_or(0));
                    let code = int(0)?;
                    let kind: Option<String> = row.try_get_by_index(1)?;
                    let mut facts = facilities.remove(&code).unwrap_or_default();
                    facts.code = code as u64;
                    facts.kind = kind.as_deref().and_then(LeafUnitKind::parse).map(kind_to_pb).unwrap_or_default() as i32;
                    facts.province = int(2)? as u64;
                    facts.prefecture = int(3)? as u64;
                    facts.county = int(4)? as u64;
                    facts.township = int(5)? as u64;
                    batch.push(facts);
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
                let mut values: Vec<Value> = vec![cursor.into(), FEED_BATCH.into()];
                let filter = match scope {
                    Some((column, code)) => {
                        values.push(code.as_i64().into());
                        format!(" AND c.leaf_code IN (SELECT code FROM registry_divisions WHERE {column} = $3)")
                    }
                    None => String::new(),
                };
                let rows = ChangeRecord::find_by_statement(stmt(
                    registry.backend(),
                    format!("SELECT {CHANGE_COLUMNS} FROM registry_facility_changes c WHERE c.seq > $1{filter} ORDER BY c.seq LIMIT $2"),
                    values,
                ))
                .all(&registry.db.conn)
                .await?;
                let full = rows.len() as i64 == FEED_BATCH;
                for row in rows {
                    cursor = row.seq;
                    let change = row.decode()?;
                    yield pb::WatchFacilityChangesResponse { cursor: change.seq.to_string(), revision: Some(change_to_pb(&change)) };
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
            let start = Snapshot::find_by_statement(stmt(
                self.backend(),
                "SELECT coalesce(max(seq), 0) AS cursor FROM registry_facility_changes",
                [],
            ))
            .one(&self.db.conn)
            .await?;
            *cursor = Some(start.map(|s| s.cursor).unwrap_or(0));
            // Whatever was cached before the starting point was read may predate a change the
            // cursor now skips (a busy start can take a while): drop it, and any read still in
            // flight, so every cached entry is either newer than the cursor or followed from it.
            self.cache.clear();
            return Ok(());
        };
        let generation = self.cache.generation();
        let rows = ChangeRecord::find_by_statement(stmt(
            self.backend(),
            format!("SELECT {CHANGE_COLUMNS} FROM registry_facility_changes c WHERE c.seq > $1 ORDER BY c.seq LIMIT $2"),
            [after.into(), FEED_BATCH.into()],
        ))
        .all(&self.db.conn)
        .await?;
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
