//! The audit trail every service keeps: one row per write naming its principal, written in the
//! write's own transaction, and `shequ.audit.v1.AuditService`, the stream an `auditor` reads it
//! from (catch up after a position, then follow).
//!
//! A service adds [`audit_migration!`] to its migrations, records an [`AuditEntry`] in each write
//! transaction with [`AuditLog::record`], calls [`AuditLog::committed`] after the commit, and serves
//! [`AuditApi`]. On PostgreSQL its writers must take one advisory lock (`begin_write(Some(..))`),
//! so positions commit in order and a follower never skips one.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use shequ_domain::DivisionCode;
use shequ_proto::audit::v1 as pb;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

use crate::auth::{Principal, PrincipalKind};
use crate::database::Database;
use crate::server::{Shutdown, deadline_of, within_deadline};
use crate::sql::{now_micros, stmt};

/// Records per read while catching up.
const BATCH: i64 = 500;

/// A migration creating the audit table `$table` (named with the service's prefix, such as
/// `registry_audit_records`) at schema version `$version`.
#[macro_export]
macro_rules! audit_migration {
    ($version:expr, $table:literal) => {
        $crate::database::Migration {
            version: $version,
            name: "audit trail",
            sqlite: concat!(
                "CREATE TABLE ",
                $table,
                " (position INTEGER PRIMARY KEY AUTOINCREMENT, at BIGINT NOT NULL, subject TEXT NOT NULL, principal_kind TEXT NOT NULL, roles TEXT NOT NULL, method TEXT NOT NULL, resource TEXT NOT NULL, division BIGINT, action TEXT NOT NULL, reason TEXT NOT NULL);"
            ),
            postgres: concat!(
                "CREATE TABLE ",
                $table,
                " (position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, subject TEXT NOT NULL, principal_kind TEXT NOT NULL, roles TEXT NOT NULL, method TEXT NOT NULL, resource TEXT NOT NULL, division BIGINT, action TEXT NOT NULL, reason TEXT NOT NULL);"
            ),
        }
    };
}

/// One write to record.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub principal: &'a Principal,
    /// Full gRPC method.
    pub method: &'static str,
    /// The resource written, such as `facilities/{id}`.
    pub resource: String,
    /// The division the write took place in; `None` for the whole country.
    pub division: Option<DivisionCode>,
    /// `created`, `updated`, `deleted`, `undeleted`, `imported`, ...
    pub action: &'static str,
    pub reason: &'a str,
}

/// The audit table of one service.
#[derive(Debug, Clone)]
pub struct AuditLog {
    table: &'static str,
    db: Database,
    committed: Arc<Notify>,
    poll: Duration,
}

#[derive(Debug, FromQueryResult)]
struct AuditRow {
    position: i64,
    at: i64,
    subject: String,
    principal_kind: String,
    roles: String,
    method: String,
    resource: String,
    division: Option<i64>,
    action: String,
    reason: String,
}

impl AuditLog {
    /// The trail in `table`; followers also look for other replicas' records every `poll`.
    pub fn new(db: Database, table: &'static str, poll: Duration) -> Self {
        Self {
            table,
            db,
            committed: Arc::new(Notify::new()),
            poll,
        }
    }

    /// Records `entry` inside the write's transaction `txn`.
    pub async fn record(
        &self,
        txn: &impl ConnectionTrait,
        entry: &AuditEntry<'_>,
    ) -> Result<(), DbErr> {
        let p = entry.principal;
        txn.execute_raw(stmt(
            txn.get_database_backend(),
            format!(
                "INSERT INTO {} (at, subject, principal_kind, roles, method, resource, division, action, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                self.table
            ),
            [
                now_micros().into(),
                p.subject.clone().into(),
                p.kind.as_str().into(),
                p.role_names().join(",").into(),
                entry.method.into(),
                entry.resource.clone().into(),
                entry.division.map(|d| d.as_i64()).into(),
                entry.action.into(),
                entry.reason.to_owned().into(),
            ],
        ))
        .await?;
        Ok(())
    }

    /// Wakes followers after a transaction with audit records committed.
    pub fn committed(&self) {
        self.committed.notify_waiters();
    }

    /// Records after `after`, oldest first; with `follow`, new ones as they commit, until the
    /// client goes away or `shutdown` fires.
    pub fn stream(
        &self,
        after: i64,
        follow: bool,
        shutdown: Shutdown,
    ) -> impl Stream<Item = Result<pb::AuditRecord, DbErr>> + Send + 'static {
        let log = self.clone();
        async_stream::try_stream! {
            let mut cursor = after;
            loop {
                let notified = log.committed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let rows = AuditRow::find_by_statement(stmt(
                    log.db.backend(),
                    format!("SELECT position, at, subject, principal_kind, roles, method, resource, division, action, reason FROM {} WHERE position > $1 ORDER BY position LIMIT $2", log.table),
                    [cursor.into(), BATCH.into()],
                ))
                .all(&log.db.conn)
                .await?;
                let full = rows.len() as i64 == BATCH;
                for row in rows {
                    cursor = row.position;
                    yield record_to_pb(row);
                }
                if full {
                    continue;
                }
                if !follow || shutdown.is_triggered() {
                    break;
                }
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep(log.poll) => {}
                    _ = shutdown.wait() => break,
                }
            }
        }
    }
}

fn record_to_pb(row: AuditRow) -> pb::AuditRecord {
    let kind = match row.principal_kind.as_str() {
        k if k == PrincipalKind::Development.as_str() => pb::PrincipalKind::Development,
        k if k == PrincipalKind::Token.as_str() => pb::PrincipalKind::Token,
        k if k == PrincipalKind::Certificate.as_str() => pb::PrincipalKind::Certificate,
        _ => pb::PrincipalKind::Unspecified,
    };
    pb::AuditRecord {
        position: row.position,
        time: Some(prost_types::Timestamp {
            seconds: row.at.div_euclid(1_000_000),
            nanos: (row.at.rem_euclid(1_000_000) * 1000) as i32,
        }),
        subject: row.subject,
        principal_kind: kind as i32,
        roles: row
            .roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        method: row.method,
        resource: row.resource,
        division: row
            .division
            .and_then(|c| DivisionCode::from_u64(c as u64).ok())
            .map(|c| format!("divisions/{c}"))
            .unwrap_or_default(),
        action: row.action,
        reason: row.reason,
    }
}

/// `shequ.audit.v1.AuditService` over one service's trail.
#[derive(Debug, Clone)]
pub struct AuditApi {
    log: AuditLog,
    shutdown: Shutdown,
}

impl AuditApi {
    pub fn new(log: AuditLog, shutdown: Shutdown) -> Self {
        Self { log, shutdown }
    }
}

type AuditStream =
    Pin<Box<dyn Stream<Item = Result<pb::StreamAuditRecordsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::audit_service_server::AuditService for AuditApi {
    type StreamAuditRecordsStream = AuditStream;

    async fn stream_audit_records(
        &self,
        request: Request<pb::StreamAuditRecordsRequest>,
    ) -> Result<Response<Self::StreamAuditRecordsStream>, Status> {
        let deadline = deadline_of(request.metadata());
        let r = request.into_inner();
        if r.after_position < 0 {
            return Err(crate::status::invalid_field(
                "after_position",
                "must be 0 or a position returned by this stream",
            ));
        }
        let stream = futures::StreamExt::map(
            self.log
                .stream(r.after_position, r.follow, self.shutdown.clone()),
            |item| match item {
                Ok(record) => Ok(pb::StreamAuditRecordsResponse {
                    record: Some(record),
                }),
                Err(e) if crate::database::is_unavailable(&e) => {
                    Err(crate::status::unavailable("the database"))
                }
                Err(e) => Err(crate::status::internal(&e)),
            },
        );
        Ok(Response::new(within_deadline(stream, deadline)))
    }
}
