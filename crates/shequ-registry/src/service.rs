//! The registry's logic, independent of gRPC: divisions, facilities, facts and the change feed.

pub mod access;
pub mod cache;
pub mod divisions;
pub mod facilities;
pub mod feed;
pub mod import;

use std::sync::Arc;

use shequ_platform::audit::AuditLog;
use shequ_platform::database::WriteTxn;
use shequ_platform::{Database, Shutdown};
use tokio::sync::Notify;

use crate::config::RegistrySettings;
use crate::error::Result;

/// The registry's audit table.
pub const AUDIT_TABLE: &str = "registry_audit_records";

/// Shared state of one registry instance; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    pub(crate) db: Database,
    pub(crate) settings: RegistrySettings,
    /// Woken after every committed facility change, so following feeds need not poll this replica.
    pub(crate) changed: Arc<Notify>,
    pub(crate) shutdown: Shutdown,
    pub(crate) cache: Arc<cache::FacilityCache>,
    /// Every write with its principal, in the write's transaction.
    pub(crate) audit: AuditLog,
}

impl Registry {
    pub fn new(db: Database, settings: RegistrySettings, shutdown: Shutdown) -> Self {
        let settings_cache = settings.facility_cache_entries;
        let audit = AuditLog::new(db.clone(), AUDIT_TABLE, settings.watch_poll_interval());
        Self {
            audit,
            db,
            settings,
            changed: Arc::new(Notify::new()),
            shutdown,
            cache: Arc::new(cache::FacilityCache::new(settings_cache)),
        }
    }

    /// The registry's audit trail.
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Begins a write transaction. On PostgreSQL facility writes are serialised by an advisory
    /// lock, so change-log sequence numbers commit in order and a feed reader never skips one.
    pub(crate) async fn begin_write(&self) -> Result<WriteTxn> {
        Ok(self
            .db
            .begin_write(Some("registry_facility_changes"))
            .await?)
    }
}
