//! Facility records: validated writes with optimistic concurrency, idempotent creates, soft
//! delete, a change-log entry for every write, and stable listings. What every workflow shares
//! is here; each workflow has a file below: `create.rs`, `batch.rs`, `update.rs`, `delete.rs`
//! and `listing.rs`.

mod batch;
mod create;
mod delete;
mod listing;
mod update;

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseTransaction};
use shequ_domain::{DivisionCode, FieldViolation, Violations};

use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;
use shequ_platform::idempotency;
use shequ_platform::methods::registry::facility_service;

use super::Registry;
use crate::error::{RegistryError, Result};
use crate::store::changes;
pub use crate::store::changes::ChangeKind;
use crate::store::facilities as table;
pub use crate::store::facilities::FacilityFilter;
use crate::store::facilities::FacilityRecord;

pub use batch::{Creation, MAX_BATCH_CREATE};
pub use create::NewFacility;
pub use update::FacilityPatch;

/// Who writes and why, kept in the change log and the audit trail.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    pub actor: String,
    pub reason: String,
    /// The authenticated principal; `None` is the development principal.
    pub principal: Option<Arc<Principal>>,
}

impl WriteContext {
    /// The principal recorded in the audit trail.
    pub fn principal(&self) -> Arc<Principal> {
        self.principal
            .clone()
            .unwrap_or_else(|| Arc::new(Principal::development()))
    }

    /// Whose request ids these are: a request id is looked up only among those the same
    /// principal sent (`{kind}:{subject}`), so another principal's reuse of the same key is a
    /// new key and says nothing about what it made. In development mode every caller is the
    /// development principal, so keys are shared as before.
    pub fn request_owner(&self) -> String {
        idempotency::request_owner(&self.principal())
    }
}

#[derive(Debug)]
pub struct FacilityPage {
    pub facilities: Vec<FacilityRecord>,
    pub next_page_token: String,
}

#[derive(Debug)]
pub struct RevisionPage {
    pub revisions: Vec<changes::FacilityChange>,
    pub next_page_token: String,
}

pub use shequ_platform::idempotency::etag;

fn prefixed(v: Violations) -> RegistryError {
    RegistryError::Invalid(v.prefixed("facility"))
}

impl Registry {
    async fn load_facility(
        &self,
        conn: &impl ConnectionTrait,
        id: &str,
    ) -> Result<Option<FacilityRecord>> {
        Ok(table::load(conn, id).await?)
    }

    fn not_found(id: &str) -> RegistryError {
        RegistryError::NotFound(format!("facility `facilities/{id}` not found"))
    }

    /// The leaf unit must exist, be a leaf and not be retired.
    async fn check_leaf_unit(&self, code: DivisionCode) -> Result<()> {
        let field = "facility.leaf_unit";
        let Some(division) = self.find_division(code).await? else {
            let message = format!("division `divisions/{code}` not found");
            return Err(RegistryError::ReferenceNotFound {
                violations: FieldViolation::new(field, message.clone()).into(),
                message,
            });
        };
        if !division.level().is_leaf() {
            return Err(RegistryError::invalid(
                field,
                format!(
                    "`divisions/{code}` is a level-{} division, not a leaf unit",
                    division.level
                ),
            ));
        }
        if division.retired != 0 {
            return Err(RegistryError::precondition(
                field,
                format!("`divisions/{code}` is retired"),
            ));
        }
        Ok(())
    }

    /// After a committed write: wake following feeds and keep the result for readers.
    fn committed(&self, record: &FacilityRecord) {
        self.changed.notify_waiters();
        self.audit.committed();
        self.cache.offer(record, self.cache.generation());
    }

    async fn record_change(
        &self,
        txn: &DatabaseTransaction,
        record: &FacilityRecord,
        kind: ChangeKind,
        changed: Vec<String>,
        ctx: &WriteContext,
    ) -> Result<()> {
        changes::insert(txn, record, kind, &changed, &ctx.actor, &ctx.reason).await?;
        let method = match kind {
            ChangeKind::Created => facility_service::CREATE_FACILITY,
            ChangeKind::Updated => facility_service::UPDATE_FACILITY,
            ChangeKind::Deleted => facility_service::DELETE_FACILITY,
            ChangeKind::Undeleted => facility_service::UNDELETE_FACILITY,
        };
        let principal = ctx.principal();
        self.audit
            .record(
                txn,
                &AuditEntry {
                    principal: &principal,
                    method,
                    resource: format!("facilities/{}", record.id),
                    division: DivisionCode::from_u64(record.leaf_code as u64).ok(),
                    action: kind.as_str(),
                    reason: &ctx.reason,
                },
            )
            .await?;
        Ok(())
    }

    fn check_etag(current: &FacilityRecord, given: &str) -> Result<()> {
        if !idempotency::etag_matches(given, current.revision) {
            return Err(RegistryError::Aborted(format!(
                "etag `{}` is stale: `facilities/{}` is now at {}; read it again and retry",
                shequ_domain::excerpt(given),
                current.id,
                etag(current.revision)
            )));
        }
        Ok(())
    }
}
