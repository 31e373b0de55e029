//! Creating many facilities in one call: the whole batch is checked before anything is
//! written, then written in one transaction with multi-row inserts, or not at all.

use sea_orm::{ConnectionTrait, DatabaseTransaction};
use shequ_domain::{DivisionCode, FacilitySpec, Violations};
use shequ_platform::audit::AuditEntry;
use shequ_platform::methods::registry::facility_service;

use super::{ChangeKind, NewFacility, WriteContext, table};
use crate::error::{RegistryError, Result};
use crate::service::Registry;
use crate::store::changes;
use crate::store::facilities::FacilityRecord;
use crate::store::facilities::NewRow;
use crate::store::now_micros;

/// Most creations one BatchCreateFacilities call takes.
pub const MAX_BATCH_CREATE: usize = 1000;

/// One creation of a batch, with its own reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Creation {
    pub facility: NewFacility,
    pub reason: String,
}

impl Registry {
    /// Creates every facility of `requests` (fields checked already, see [`MAX_BATCH_CREATE`])
    /// in one transaction, or none. The leaf units are checked before the transaction starts;
    /// each request keeps CreateFacility's idempotency, so a request whose id and body were
    /// stored before returns that facility and writes nothing. The records come back in request
    /// order.
    pub async fn batch_create_facilities(
        &self,
        parent: Option<DivisionCode>,
        requests: &[Creation],
        ctx: &WriteContext,
    ) -> Result<Vec<FacilityRecord>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        self.check_batch(parent, requests).await?;
        let owner = ctx.request_owner();
        // A concurrent call storing one of the same request ids first makes the insert fail;
        // the second pass then finds that facility like any retry.
        for attempt in 0..2 {
            let prior = self.batch_prior(&owner, requests).await?;
            let mut ids = Vec::with_capacity(requests.len());
            let mut fresh = Vec::new();
            for (i, known) in prior.into_iter().enumerate() {
                match known {
                    Some(id) => ids.push(id),
                    None => {
                        let id = uuid::Uuid::now_v7().to_string();
                        fresh.push(i);
                        ids.push(id);
                    }
                }
            }
            if fresh.is_empty() {
                return self.facilities_by_id(&self.db.conn, &ids).await;
            }
            let now = now_micros();
            let txn = self.begin_write().await?;
            let rows: Vec<NewRow<'_>> = fresh
                .iter()
                .map(|&i| NewRow {
                    id: &ids[i],
                    spec: &requests[i].facility.spec,
                    request_id: &requests[i].facility.request_id,
                    hash: &requests[i].facility.request_hash,
                })
                .collect();
            if let Err(e) = table::insert_many(&*txn, &rows, &owner, now).await {
                txn.rollback().await?;
                if attempt == 0 && shequ_platform::database::is_unique_violation(&e) {
                    continue;
                }
                return Err(e.into());
            }
            let records = self.facilities_by_id(&*txn, &ids).await?;
            let created: Vec<(&FacilityRecord, &str)> = fresh
                .iter()
                .map(|&i| (&records[i], requests[i].reason.as_str()))
                .collect();
            self.record_creations(&txn, &created, ctx).await?;
            txn.commit().await?;
            self.changed.notify_waiters();
            self.audit.committed();
            let generation = self.cache.generation();
            for &i in &fresh {
                self.cache.offer(&records[i], generation);
            }
            return Ok(records);
        }
        Err(RegistryError::Aborted(
            "request ids of this batch were being stored concurrently; retry the batch".to_owned(),
        ))
    }

    /// The change rows (multi-row statements, in order) and audit records of new facilities,
    /// each with its own reason.
    async fn record_creations(
        &self,
        txn: &DatabaseTransaction,
        created: &[(&FacilityRecord, &str)],
        ctx: &WriteContext,
    ) -> Result<()> {
        changes::insert_created(txn, created, FacilitySpec::WRITABLE, &ctx.actor).await?;
        let principal = ctx.principal();
        for (record, reason) in created {
            self.audit
                .record(
                    txn,
                    &AuditEntry {
                        principal: &principal,
                        method: facility_service::BATCH_CREATE_FACILITIES,
                        resource: format!("facilities/{}", record.id),
                        division: DivisionCode::from_u64(record.leaf_code as u64).ok(),
                        action: ChangeKind::Created.as_str(),
                        reason,
                    },
                )
                .await?;
        }
        Ok(())
    }

    /// Checks the leaf units of a whole batch in one query, naming every offending one as
    /// `requests[i].facility.leaf_unit`: INVALID_ARGUMENT for one that is no leaf or lies outside
    /// `parent`, then NOT_FOUND for unknown ones, then FAILED_PRECONDITION for retired ones.
    async fn check_batch(&self, parent: Option<DivisionCode>, requests: &[Creation]) -> Result<()> {
        let specs: Vec<_> = requests.iter().map(|r| &r.facility.spec).collect();
        let codes: std::collections::BTreeSet<DivisionCode> =
            specs.iter().map(|s| s.leaf_unit).collect();
        let known: std::collections::HashMap<i64, crate::store::rows::DivisionRecord> = self
            .divisions_by_code(codes)
            .await?
            .into_iter()
            .map(|r| (r.code, r))
            .collect();
        let (mut bad, mut missing, mut retired) =
            (Violations::new(), Violations::new(), Violations::new());
        for (i, spec) in specs.iter().enumerate() {
            let field = format!("requests[{i}].facility.leaf_unit");
            let code = spec.leaf_unit;
            let Some(division) = known.get(&code.as_i64()) else {
                missing.push(field, format!("division `divisions/{code}` not found"));
                continue;
            };
            if !division.level().is_leaf() {
                bad.push(
                    field,
                    format!(
                        "`divisions/{code}` is a level-{} division, not a leaf unit",
                        division.level
                    ),
                );
            } else if let Some(parent) = parent
                && !crate::service::access::ancestry(division).any(|c| c == parent)
            {
                bad.push(
                    field,
                    format!("`divisions/{code}` does not lie under `parent` `divisions/{parent}`"),
                );
            } else if division.retired != 0 {
                retired.push(field, format!("`divisions/{code}` is retired"));
            }
        }
        if !bad.is_empty() {
            return Err(RegistryError::Invalid(bad));
        }
        let first = missing.iter().next().cloned();
        if let Some(first) = first {
            let message = format!(
                "{} of the batch's leaf units were not found; first {first}",
                missing.len()
            );
            return Err(RegistryError::ReferenceNotFound {
                message,
                violations: missing,
            });
        }
        let first = retired.iter().next().cloned();
        if let Some(first) = first {
            let message = format!(
                "{} of the batch's leaf units are retired; first {first}",
                retired.len()
            );
            return Err(RegistryError::FailedPrecondition {
                message,
                violations: retired,
            });
        }
        Ok(())
    }

    /// For each request, the id of the facility its request id and body created before (among
    /// `owner`'s request ids); a request id used before with another body is ALREADY_EXISTS
    /// naming every such request.
    async fn batch_prior(&self, owner: &str, requests: &[Creation]) -> Result<Vec<Option<String>>> {
        let keys: Vec<&str> = requests
            .iter()
            .map(|r| r.facility.request_id.as_str())
            .filter(|key| !key.is_empty())
            .collect();
        let mut found: std::collections::HashMap<String, table::PriorKey> =
            std::collections::HashMap::new();
        for row in table::by_requests(&self.db.conn, owner, &keys).await? {
            if let Some(key) = row.request_id.clone() {
                found.insert(key, row);
            }
        }
        let mut reused = Violations::new();
        let mut prior = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().map(|r| &r.facility).enumerate() {
            match found.get(&r.request_id) {
                Some(p) if p.request_hash.as_deref() == Some(r.request_hash.as_str()) => {
                    prior.push(Some(p.id.clone()))
                }
                Some(p) => {
                    reused.push(
                        format!("requests[{i}].request_id"),
                        format!(
                            "`request_id` was already used for `facilities/{}` with a different request",
                            p.id
                        ),
                    );
                    prior.push(None);
                }
                None => prior.push(None),
            }
        }
        let first = reused.iter().next().cloned();
        if let Some(first) = first {
            let message = format!(
                "{} request ids of the batch were already used with different requests; first {first}",
                reused.len()
            );
            return Err(RegistryError::AlreadyExists {
                message,
                violations: reused,
            });
        }
        Ok(prior)
    }

    /// The facilities `ids`, in that order.
    async fn facilities_by_id(
        &self,
        conn: &impl ConnectionTrait,
        ids: &[String],
    ) -> Result<Vec<FacilityRecord>> {
        let rows = table::by_ids(conn, ids).await?;
        let mut by_id: std::collections::HashMap<String, FacilityRecord> =
            rows.into_iter().map(|r| (r.id.clone(), r)).collect();
        ids.iter()
            .map(|id| by_id.remove(id).ok_or_else(|| Self::not_found(id)))
            .collect()
    }
}
