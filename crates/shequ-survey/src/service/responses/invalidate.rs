//! Invalidating a response: it stays stored, leaves the tallies through a delta in the same
//! transaction, and the change is recorded with who, when and why.

use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;

use crate::error::{Result, SurveyError};
use crate::model::Answers;
use crate::model::tally::Entry;
use crate::names::response_name;
use crate::service::Survey;
use crate::service::audit::INVALIDATE_RESPONSE;
use crate::store::now_micros;
use crate::store::responses;
use crate::store::rows::ResponseRecord;

/// Longest invalidation reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

impl Survey {
    /// Marks a response invalid: it stays stored, leaves the aggregates in the same transaction,
    /// and the change is recorded with who, when and why.
    pub async fn invalidate_response(
        &self,
        principal: &Principal,
        round_id: &str,
        response_id: &str,
        reason: &str,
        actor: &str,
    ) -> Result<ResponseRecord> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(SurveyError::invalid(
                "reason",
                "must say why the response is invalid",
            ));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(SurveyError::invalid(
                "reason",
                format!("must be at most {MAX_REASON_CHARS} characters"),
            ));
        }
        let ctx = self.round_context(round_id).await?;
        let txn = self.begin_write().await?;
        let record = self
            .find_response(&*txn, round_id, response_id, true)
            .await?;
        if record.valid == 0 {
            return Err(SurveyError::precondition(
                "name",
                "the response is already invalid",
            ));
        }
        let answers: Answers = serde_json::from_str(&record.answers)
            .map_err(|e| SurveyError::Internal(format!("stored answers: {e}")))?;
        let now = now_micros();
        responses::invalidate(&*txn, round_id, response_id, actor, reason, now).await?;
        let unit = shequ_domain::DivisionCode::from_u64(record.leaf_code as u64)
            .map_err(|e| SurveyError::Internal(e.to_string()))?;
        let ancestors = match self.locate_unit(&ctx, unit).await? {
            Ok(a) => a,
            Err(description) => {
                return Err(SurveyError::Internal(format!(
                    "stored response's leaf unit: {description}"
                )));
            }
        };
        let entry = Entry {
            leaf: record.leaf_code,
            ancestors,
            sign: -1,
            score: record.score,
            hits: ctx.layout.hits(&ctx.questions, &answers),
        };
        responses::record_invalidation(&*txn, round_id, response_id, actor, reason, now).await?;
        self.record_delta(&*txn, round_id, std::slice::from_ref(&entry))
            .await?;
        self.audit(
            &*txn,
            &AuditEntry {
                principal,
                method: INVALIDATE_RESPONSE,
                resource: response_name(round_id, response_id),
                division: Some(unit),
                action: "invalidated",
                reason,
            },
        )
        .await?;
        txn.commit().await?;
        self.audit.committed();
        self.fold_later(&ctx);
        self.get_response(round_id, response_id).await
    }
}
