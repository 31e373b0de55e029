//! Soft deletion and its undoing: the record stays, with its history, and comes back whole.

use super::{ChangeKind, WriteContext, table};
use crate::error::{RegistryError, Result};
use crate::service::Registry;
use crate::store::facilities::FacilityRecord;
use crate::store::now_micros;

impl Registry {
    /// Soft-deletes (`delete`) or restores a facility.
    pub async fn set_deleted(
        &self,
        id: &str,
        delete: bool,
        given_etag: &str,
        ctx: &WriteContext,
    ) -> Result<FacilityRecord> {
        let txn = self.begin_write().await?;
        let current = self
            .load_facility(&*txn, id)
            .await?
            .ok_or_else(|| Self::not_found(id))?;
        match (delete, current.delete_time.is_some()) {
            (true, true) => return Err(Self::not_found(id)),
            (false, false) => {
                return Err(RegistryError::precondition(
                    "name",
                    format!("`facilities/{id}` is not deleted"),
                ));
            }
            _ => {}
        }
        Self::check_etag(&current, given_etag)?;
        let now = now_micros();
        let delete_time = delete.then_some(now);
        table::set_delete_time(&*txn, id, delete_time, current.revision, now).await?;
        let record = self
            .load_facility(&*txn, id)
            .await?
            .ok_or_else(|| Self::not_found(id))?;
        let kind = if delete {
            ChangeKind::Deleted
        } else {
            ChangeKind::Undeleted
        };
        self.record_change(&txn, &record, kind, Vec::new(), ctx)
            .await?;
        txn.commit().await?;
        self.committed(&record);
        Ok(record)
    }
}
