//! The monitor's logic, independent of gRPC: plans, reported values, evaluations, reading and
//! rendering them, and the schedule.

pub mod evaluations;
pub mod plans;
pub mod reported;
pub mod results;
pub mod schedule;

use sea_orm::DbBackend;
use shequ_platform::Database;
use shequ_platform::database::WriteTxn;

use crate::config::MonitoringSettings;
use crate::error::Result;
use crate::sources::Sources;

/// Shared state of one monitoring service instance; cheap to clone.
#[derive(Clone)]
pub struct Monitoring {
    pub(crate) db: Database,
    pub(crate) settings: MonitoringSettings,
    pub(crate) sources: Sources,
    /// Who this replica is, for the schedule lease.
    pub(crate) holder: String,
}

impl Monitoring {
    pub fn new(db: Database, settings: MonitoringSettings) -> anyhow::Result<Self> {
        settings.schedule().map_err(anyhow::Error::msg)?;
        let sources = Sources::new(
            &settings.registry_endpoint,
            &settings.survey_endpoint,
            settings.source_timeout(),
        )?;
        Ok(Self {
            db,
            settings,
            sources,
            holder: uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.db.backend()
    }

    pub(crate) async fn begin_write(&self, serialize_on: Option<&str>) -> Result<WriteTxn> {
        Ok(self.db.begin_write(serialize_on).await?)
    }
}
