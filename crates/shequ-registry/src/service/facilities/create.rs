//! Creating one facility: validated, idempotent by request id within the principal that sent
//! it, written with its change row and audit record in one transaction.

use shequ_domain::{FacilitySpec, FieldViolation};

use super::{ChangeKind, WriteContext, table};
use crate::error::{RegistryError, Result};
use crate::service::Registry;
use crate::store::facilities::FacilityRecord;
use crate::store::facilities::NewRow;
use crate::store::now_micros;

/// A facility to create, as a create request states it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFacility {
    pub spec: FacilitySpec,
    /// The caller's key for retries; empty for none.
    pub request_id: String,
    /// A fingerprint of the request as sent: a retry under the same key with another request
    /// is refused rather than taken for the first.
    pub request_hash: String,
}

impl Registry {
    /// Creates a facility; with a request id, a retry returns the first result.
    pub async fn create_facility(
        &self,
        new: &NewFacility,
        ctx: &WriteContext,
    ) -> Result<FacilityRecord> {
        let (spec, request_id, hash) = (&new.spec, new.request_id.as_str(), &new.request_hash);
        let owner = ctx.request_owner();
        if !request_id.is_empty()
            && let Some(existing) = self.facility_by_request(&owner, request_id, hash).await?
        {
            return Ok(existing);
        }
        self.check_leaf_unit(spec.leaf_unit).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_micros();
        let txn = self.begin_write().await?;
        let row = NewRow {
            id: &id,
            spec,
            request_id,
            hash,
        };
        let inserted = table::insert(&*txn, &row, &owner, now).await;
        if let Err(e) = inserted {
            txn.rollback().await?;
            // A concurrent retry with the same request id won the race.
            if !request_id.is_empty()
                && shequ_platform::database::is_unique_violation(&e)
                && let Some(existing) = self.facility_by_request(&owner, request_id, hash).await?
            {
                return Ok(existing);
            }
            return Err(e.into());
        }
        let record = self
            .load_facility(&*txn, &id)
            .await?
            .ok_or_else(|| Self::not_found(&id))?;
        self.record_change(
            &txn,
            &record,
            ChangeKind::Created,
            FacilitySpec::WRITABLE
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            ctx,
        )
        .await?;
        txn.commit().await?;
        self.committed(&record);
        Ok(record)
    }

    /// The facility `owner` created with `request_id`, when the body is the same; ALREADY_EXISTS
    /// naming it when the body differs.
    async fn facility_by_request(
        &self,
        owner: &str,
        request_id: &str,
        hash: &str,
    ) -> Result<Option<FacilityRecord>> {
        let prior = table::by_request(&self.db.conn, owner, request_id).await?;
        match prior {
            None => Ok(None),
            Some(p) if p.request_hash.as_deref() == Some(hash) => {
                Ok(self.load_facility(&self.db.conn, &p.id).await?)
            }
            Some(p) => {
                let message = format!(
                    "`request_id` was already used for `facilities/{}` with a different request",
                    p.id
                );
                Err(RegistryError::AlreadyExists {
                    violations: FieldViolation::new("request_id", message.clone()).into(),
                    message,
                })
            }
        }
    }
}
