//! Responses in batches (`BulkSubmitResponses`): a batch is checked as a whole before anything
//! is written, so a stream checks batch N+1 while batch N commits.

use std::sync::Arc;

use shequ_platform::Principal;

use super::{BatchOutcome, Prepared, Submission};
use crate::error::{Result, SurveyError};
use crate::service::access::Need;
use crate::service::audit::Submitter;
use crate::service::{RoundContext, Survey};

/// A batch that passed the checks that need no transaction, ready to write.
#[derive(Debug)]
pub struct CheckedBatch {
    ctx: Arc<RoundContext>,
    ids: Vec<String>,
    prepared: Vec<Result<Prepared>>,
}

impl Survey {
    /// Validates and writes one batch; the results are returned only after it commits. A batch
    /// that cannot be checked (registry or database unreachable) or whose round is not open fails
    /// as a whole and writes nothing.
    pub async fn submit_batch(
        &self,
        principal: &Principal,
        round_id: &str,
        responses: &[impl Submission],
    ) -> Result<BatchOutcome> {
        let batch = self.check_batch(principal, round_id, responses).await?;
        self.write_checked(principal, batch).await
    }

    /// Validates one batch without writing anything, so a stream can check the next batch while
    /// the previous one commits.
    pub async fn check_batch(
        &self,
        principal: &Principal,
        round_id: &str,
        responses: &[impl Submission],
    ) -> Result<CheckedBatch> {
        if responses.len() > self.settings.max_batch_responses {
            return Err(SurveyError::invalid(
                "responses",
                format!(
                    "a batch may hold at most {} responses",
                    self.settings.max_batch_responses
                ),
            ));
        }
        let ctx = self
            .authorize_round(principal, round_id, Need::Part)
            .await?;
        self.ensure_open(&self.db.conn, round_id, false).await?;
        let mut prepared = Vec::with_capacity(responses.len());
        for r in responses {
            let checked = match self
                .authorize_leaf_unit(principal, &ctx, r.leaf_unit())
                .await
            {
                Ok(()) => self.prepare(&ctx, r).await,
                Err(e) => Err(e),
            };
            match checked {
                Err(e @ (SurveyError::Dependency { .. } | SurveyError::Unavailable)) => {
                    return Err(e);
                }
                other => prepared.push(other),
            }
        }
        Ok(CheckedBatch {
            ctx,
            ids: responses
                .iter()
                .map(|r| r.response_id().to_owned())
                .collect(),
            prepared,
        })
    }

    /// Writes a checked batch in one transaction; the outcomes come back after it commits.
    pub async fn write_checked(
        &self,
        principal: &Principal,
        batch: CheckedBatch,
    ) -> Result<BatchOutcome> {
        let outcomes = self
            .write_batch(&batch.ctx, batch.prepared, Submitter::Bulk(principal))
            .await?;
        Ok(BatchOutcome {
            ids: batch.ids,
            outcomes,
        })
    }
}
