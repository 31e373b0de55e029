//! Reading facilities: one by id (through the cache), listings under a division with keyset
//! pages, and a facility's history.

use std::sync::Arc;

use shequ_domain::DivisionCode;
use shequ_platform::page;

use super::{FacilityFilter, FacilityPage, RevisionPage, table};
use crate::error::{RegistryError, Result};
use crate::service::Registry;
use crate::service::cache::CachedFacility;
use crate::store::changes::{self, ChangeRecord};
use crate::store::facilities::FacilityRecord;

impl Registry {
    pub async fn get_facility(&self, id: &str, show_deleted: bool) -> Result<FacilityRecord> {
        match self.load_facility(&self.db.conn, id).await? {
            Some(r) if r.delete_time.is_none() || show_deleted => Ok(r),
            _ => Err(Self::not_found(id)),
        }
    }

    /// A facility in its wire form, from the cache when known.
    pub async fn read_facility(&self, id: &str, show_deleted: bool) -> Result<Arc<CachedFacility>> {
        let cached = match self.cache.get(id) {
            Some(c) => c,
            None => {
                let generation = self.cache.generation();
                let record = self
                    .load_facility(&self.db.conn, id)
                    .await?
                    .ok_or_else(|| Self::not_found(id))?;
                self.cache.offer(&record, generation);
                if record.delete_time.is_some() && !show_deleted {
                    return Err(Self::not_found(id));
                }
                return Ok(Arc::new(CachedFacility::of(&record)));
            }
        };
        if cached.deleted && !show_deleted {
            return Err(Self::not_found(id));
        }
        Ok(cached)
    }

    /// Facilities under `parent` (any level), ordered by id, with keyset pages.
    pub async fn list_facilities(
        &self,
        parent: DivisionCode,
        filter: &FacilityFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<FacilityPage> {
        let size = page::page_size(page_size)?;
        let scope = self.get_division(parent).await?;
        let query = format!("facilities|{parent}|{filter:?}");
        let after = page::decode(&query, page_token)?.unwrap_or_default();
        let mut rows = table::list(
            &self.db.conn,
            (scope.scope_column(), parent),
            filter,
            &after,
            size as i64 + 1,
        )
        .await?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| page::encode(&query, &r.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(FacilityPage {
            facilities: rows,
            next_page_token,
        })
    }

    /// Every change of one facility, oldest first.
    pub async fn list_revisions(
        &self,
        id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<RevisionPage> {
        let size = page::page_size(page_size)?;
        if self.load_facility(&self.db.conn, id).await?.is_none() {
            return Err(Self::not_found(id));
        }
        let query = format!("revisions|{id}");
        let after: i64 = match page::decode(&query, page_token)? {
            Some(k) => k
                .parse()
                .map_err(|_| RegistryError::invalid("page_token", "is malformed"))?,
            None => 0,
        };
        let mut rows = changes::of_facility(&self.db.conn, id, after, size as i64 + 1).await?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| page::encode(&query, &r.revision.to_string()))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(RevisionPage {
            revisions: rows
                .into_iter()
                .map(ChangeRecord::decode)
                .collect::<Result<_>>()?,
            next_page_token,
        })
    }
}
