//! The registry's logic, independent of gRPC: divisions, facilities, facts and the change feed.

pub mod divisions;
pub mod facilities;
pub mod feed;
pub mod import;
pub mod page;

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, TransactionTrait};
use shequ_platform::{Database, Shutdown};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use crate::config::RegistrySettings;
use crate::error::Result;

/// Shared state of one registry instance; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    pub(crate) db: Database,
    pub(crate) settings: RegistrySettings,
    /// Woken after every committed facility change, so following feeds need not poll this replica.
    pub(crate) changed: Arc<Notify>,
    pub(crate) shutdown: Shutdown,
    /// SQLite allows one writer; taking turns here avoids lock-upgrade failures between
    /// transactions that read before they write.
    write_turn: Arc<Mutex<()>>,
}

/// A write transaction and, on SQLite, this process's turn to write.
pub(crate) struct WriteTxn {
    pub txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTxn {
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        self.txn.rollback().await?;
        Ok(())
    }
}

impl Registry {
    pub fn new(db: Database, settings: RegistrySettings, shutdown: Shutdown) -> Self {
        Self {
            db,
            settings,
            changed: Arc::new(Notify::new()),
            shutdown,
            write_turn: Arc::new(Mutex::new(())),
        }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.db.backend()
    }

    /// Begins a write transaction. On PostgreSQL facility writes are serialised by an advisory
    /// lock, so change-log sequence numbers commit in order and a feed reader never skips one.
    pub(crate) async fn begin_write(&self) -> Result<WriteTxn> {
        let turn = if self.db.is_sqlite() {
            Some(self.write_turn.clone().lock_owned().await)
        } else {
            None
        };
        let txn = self.db.conn.begin().await?;
        if self.backend() == DbBackend::Postgres {
            txn.execute_unprepared(
                "SELECT pg_advisory_xact_lock(hashtext('registry_facility_changes'))",
            )
            .await?;
        }
        Ok(WriteTxn { txn, _turn: turn })
    }
}
