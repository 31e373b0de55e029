//! One response submitted on its own (`SubmitResponse`): checked, written, and read back.

use shequ_platform::Principal;

use super::{Outcome, Submission, prefixed};
use crate::error::{Result, SurveyError};
use crate::service::Survey;
use crate::service::audit::Submitter;
use crate::store::rows::ResponseRecord;

impl Survey {
    /// Submits one response: the stored response and whether it was a duplicate.
    pub async fn submit_response(
        &self,
        principal: &Principal,
        round_id: &str,
        response: &impl Submission,
    ) -> Result<(ResponseRecord, bool)> {
        let ctx = self.round_context(round_id).await?;
        self.ensure_open(&self.db.conn, round_id, false).await?;
        let prepared = self
            .prepare(&ctx, response)
            .await
            .map_err(|e| prefixed(e, "response"))?;
        let id = prepared.row.response_id.clone();
        let outcome = self
            .write_batch(&ctx, vec![Ok(prepared)], Submitter::Single(principal))
            .await?
            .pop()
            .ok_or_else(|| SurveyError::Internal("no outcome".into()))?;
        let duplicate = match outcome {
            Outcome::Accepted => false,
            Outcome::Duplicate => true,
            Outcome::Rejected(e) => return Err(prefixed(e, "response")),
        };
        Ok((self.get_response(round_id, &id).await?, duplicate))
    }
}
