//! The monitor's logic, independent of gRPC: plans, reported values, evaluations, reading and
//! rendering them, regional authorization, and the schedule.

pub mod access;
pub mod evaluations;
pub mod plans;
pub mod records;
pub mod report;
pub mod reported;
pub mod results;
pub mod revisions;
pub mod schedule;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use shequ_platform::audit::AuditLog;
use shequ_platform::auth::{PrincipalKind, Scope};
use shequ_platform::database::WriteTxn;
use shequ_platform::{Database, Principal, Role};

use crate::config::{MonitoringConfig, MonitoringSettings};
use crate::error::Result;
use crate::sources::Sources;
use crate::store::Store;

/// The audit table.
pub const AUDIT_TABLE: &str = "monitoring_audit_records";

/// The advisory lock every write takes on PostgreSQL, so audit positions commit in order and a
/// follower of the audit stream never skips one.
const WRITE_LOCK: &str = "monitoring_audit_records";

/// How often a following audit stream looks for records other replicas committed.
const AUDIT_POLL: Duration = Duration::from_secs(1);

/// Shared state of one monitoring service instance; cheap to clone.
#[derive(Clone)]
pub struct Monitoring {
    pub(crate) db: Database,
    pub(crate) settings: MonitoringSettings,
    pub(crate) sources: Sources,
    /// Who this replica is, for the schedule lease.
    pub(crate) holder: String,
    /// Every write with its principal, in the write's transaction.
    pub(crate) audit: AuditLog,
    /// The monitor itself, as the principal of the writes it makes on its own (the schedule).
    pub(crate) itself: Arc<Principal>,
}

impl Monitoring {
    pub fn new(db: Database, cfg: &MonitoringConfig) -> anyhow::Result<Self> {
        let settings = cfg.monitoring.clone();
        settings.schedule().map_err(anyhow::Error::msg)?;
        let sources = Sources::new(
            &cfg.client,
            &settings.registry_endpoint,
            &settings.survey_endpoint,
            settings.source_timeout(),
        )?;
        // The schedule acts on the monitor's own authority: the `service` role nationally, proved
        // to the sources by the credentials of `[client]`.
        let kind = if !cfg.client.token_file.is_empty() {
            PrincipalKind::Token
        } else if !cfg.client.cert_file.is_empty() {
            PrincipalKind::Certificate
        } else {
            PrincipalKind::Development
        };
        let itself = Principal {
            subject: "shequ-monitoring".to_owned(),
            kind,
            roles: BTreeSet::from([Role::Service]),
            scope: Scope::National,
        };
        Ok(Self {
            audit: AuditLog::new(db.clone(), AUDIT_TABLE, AUDIT_POLL),
            db,
            settings,
            sources,
            holder: uuid::Uuid::new_v4().simple().to_string(),
            itself: Arc::new(itself),
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The monitor's audit trail.
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    /// The tables, read and written outside any transaction.
    pub(crate) fn store(&self) -> Store<'_, DatabaseConnection> {
        Store::on(&self.db.conn)
    }

    /// Begins a write transaction; on PostgreSQL every writer takes the same advisory lock, so
    /// audit positions commit in order.
    pub(crate) async fn begin_write(&self) -> Result<WriteTxn> {
        Ok(self.db.begin_write(Some(WRITE_LOCK)).await?)
    }
}
