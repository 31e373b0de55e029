//! A read-through cache of facilities in their wire form, so `GetFacility` costs no database round
//! trip when the record is known.
//!
//! Entries only ever move forward in revision: a reader that loaded an older row cannot overwrite a
//! newer one that a writer put in meanwhile. Writes on this replica put their result in after
//! commit (read-your-writes); writes on other replicas arrive through the change log, which the
//! registry tails every `watch_poll_interval_ms`. Changes that touch every facility's leaf-unit kind
//! (imports, kind overrides) empty the cache and bump its generation, so a read that started before
//! them cannot put a stale entry back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use shequ_proto::registry::v1 as pb;

use crate::store::facilities::FacilityRecord;

#[derive(Debug)]
pub struct CachedFacility {
    pub revision: i64,
    pub deleted: bool,
    pub facility: pb::Facility,
}

impl CachedFacility {
    /// The entry of a stored facility, converted to the wire once (`grpc/convert.rs`).
    pub fn of(record: &FacilityRecord) -> Self {
        Self {
            revision: record.revision,
            deleted: record.delete_time.is_some(),
            facility: crate::grpc::convert::facility_to_pb(record),
        }
    }
}

#[derive(Debug)]
pub struct FacilityCache {
    entries: RwLock<HashMap<String, Arc<CachedFacility>>>,
    capacity: usize,
    generation: AtomicU64,
}

impl FacilityCache {
    /// A cache of at most `capacity` facilities; 0 disables it.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            capacity,
            generation: AtomicU64::new(0),
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<CachedFacility>> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// The generation to pass to [`FacilityCache::offer`] for a read that starts now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `record` unless a newer revision is cached, the cache was emptied since `generation`
    /// was read, or the cache is full (then it is simply not cached).
    pub fn offer(&self, record: &FacilityRecord, generation: u64) {
        if self.capacity == 0 {
            return;
        }
        let entry = Arc::new(CachedFacility::of(record));
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        match entries.get(&record.id) {
            Some(old) if old.revision >= record.revision => {}
            Some(_) => {
                entries.insert(record.id.clone(), entry);
            }
            None if entries.len() < self.capacity => {
                entries.insert(record.id.clone(), entry);
            }
            None => {}
        }
    }

    /// Empties the cache; reads that started before cannot refill it.
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, revision: i64) -> FacilityRecord {
        FacilityRecord {
            id: id.into(),
            leaf_code: 110_101_001_001,
            display_name: format!("r{revision}"),
            status: "in_service".into(),
            total_floor_area_m2: 100.0,
            activity_area_m2: 60.0,
            opening_hours: "[]".into(),
            revision,
            leaf_kind: Some("community".into()),
            ..FacilityRecord::default()
        }
    }

    #[test]
    fn entries_only_move_forward() {
        let cache = FacilityCache::new(10);
        let g = cache.generation();
        cache.offer(&record("a", 2), g);
        cache.offer(&record("a", 1), g);
        assert_eq!(cache.get("a").unwrap().facility.display_name, "r2");
        cache.offer(&record("a", 3), g);
        assert_eq!(cache.get("a").unwrap().revision, 3);
    }

    #[test]
    fn a_read_from_before_a_clear_is_not_kept() {
        let cache = FacilityCache::new(10);
        let g = cache.generation();
        cache.clear();
        cache.offer(&record("a", 1), g);
        assert!(cache.get("a").is_none());
        cache.offer(&record("a", 1), cache.generation());
        assert!(cache.get("a").is_some());
    }

    #[test]
    fn a_full_cache_keeps_what_it_has() {
        let cache = FacilityCache::new(1);
        let g = cache.generation();
        cache.offer(&record("a", 1), g);
        cache.offer(&record("b", 1), g);
        assert!(cache.get("b").is_none());
        cache.offer(&record("a", 2), g);
        assert_eq!(cache.get("a").unwrap().revision, 2);
        assert!(FacilityCache::new(0).get("a").is_none());
    }
}
