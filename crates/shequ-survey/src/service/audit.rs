//! The survey's audit trail (`survey_audit_records`): one record per write naming its principal,
//! written last in the write's own transaction. Responses are recorded one per `SubmitResponse`
//! and one per committed bulk batch (the round and how many responses it accepted), so the trail
//! does not grow with every response of a bulk load.

use sea_orm::ConnectionTrait;
use shequ_domain::DivisionCode;
use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;

use super::{RoundContext, Survey};
use crate::error::Result;
use crate::names::{response_name, round_name};
use crate::store::audit::lock_trail;

pub use shequ_platform::methods::survey::questionnaire_service::{
    CREATE_QUESTIONNAIRE, PUBLISH_QUESTIONNAIRE, UPDATE_QUESTIONNAIRE,
};
pub use shequ_platform::methods::survey::response_service::{
    BULK_SUBMIT_RESPONSES, INVALIDATE_RESPONSE, SUBMIT_RESPONSE,
};
pub use shequ_platform::methods::survey::round_service::{CLOSE_ROUND, CREATE_ROUND, OPEN_ROUND};

/// Who submits responses, and how: each response recorded, or one record per batch.
#[derive(Debug, Clone, Copy)]
pub enum Submitter<'a> {
    Single(&'a Principal),
    Bulk(&'a Principal),
}

impl Survey {
    /// Records `entry` in the write's transaction `txn`; call it last before the commit. On
    /// PostgreSQL it first takes the trail's advisory lock, held until the commit, so positions
    /// commit in order and a follower never skips one; taken this late, writers still run side
    /// by side until their last statement.
    pub(crate) async fn audit(
        &self,
        txn: &impl ConnectionTrait,
        entry: &AuditEntry<'_>,
    ) -> Result<()> {
        lock_trail(txn).await?;
        self.audit.record(txn, entry).await?;
        Ok(())
    }

    /// Records the responses one write accepted: each of them for `SubmitResponse`, one record
    /// naming the round and the count for a bulk batch; nothing when none was accepted.
    pub(crate) async fn audit_responses<'a>(
        &self,
        txn: &impl ConnectionTrait,
        ctx: &RoundContext,
        submitter: Submitter<'_>,
        accepted: impl IntoIterator<Item = (&'a str, i64)>,
    ) -> Result<()> {
        let accepted: Vec<(&str, i64)> = accepted.into_iter().collect();
        match submitter {
            Submitter::Single(principal) => {
                for (response_id, leaf) in accepted {
                    self.audit(
                        txn,
                        &AuditEntry {
                            principal,
                            method: SUBMIT_RESPONSE,
                            resource: response_name(&ctx.id, response_id),
                            division: DivisionCode::from_u64(leaf as u64).ok(),
                            action: "submitted",
                            reason: "",
                        },
                    )
                    .await?;
                }
            }
            Submitter::Bulk(principal) if !accepted.is_empty() => {
                let count = format!("{} responses accepted", accepted.len());
                self.audit(
                    txn,
                    &AuditEntry {
                        principal,
                        method: BULK_SUBMIT_RESPONSES,
                        resource: round_name(&ctx.id),
                        division: ctx.region.map(|r| r.0),
                        action: "submitted",
                        reason: &count,
                    },
                )
                .await?;
            }
            Submitter::Bulk(_) => {}
        }
        Ok(())
    }
}
