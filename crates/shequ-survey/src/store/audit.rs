//! The survey's audit trail (`survey_audit_records`): the records themselves are written by the
//! platform's `AuditLog`; here is the lock that keeps their positions, and the tally deltas', in
//! commit order.

use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use super::stmt;

/// The survey's audit table.
pub const AUDIT_TABLE: &str = "survey_audit_records";

/// On PostgreSQL, takes the trail's advisory lock, held until the transaction ends, so what is
/// written under it commits in the order of its positions; nothing on SQLite, which has one
/// writer.
pub async fn lock_trail(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_raw(stmt(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [AUDIT_TABLE.into()],
        ))
        .await?;
    }
    Ok(())
}
