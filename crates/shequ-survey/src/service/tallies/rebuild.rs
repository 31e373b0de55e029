//! Rebuilding: the tallies of a round whose responses predate them (marked by the migrations
//! that introduced tallies and changed their format) are rebuilt from its stored valid responses
//! on first use.

use std::sync::Arc;

use crate::error::{Result, SurveyError};
use crate::model::Answers;
use crate::model::tally::Entry;
use crate::service::{RoundContext, Survey};
use crate::store::{responses, tallies};

/// Stored responses read per query, and so per delta, while a round's tallies are rebuilt.
const REBUILD_PAGE: usize = 1_000;

impl Survey {
    /// Rebuilds the tallies of a round whose responses predate them (marked by the migration
    /// that introduced tallies): one delta per page of stored valid responses, then unmarks it.
    pub(crate) async fn rebuild_if_marked(&self, ctx: &Arc<RoundContext>) -> Result<()> {
        if ctx
            .rebuild_checked
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Ok(());
        }
        if !tallies::marked_for_rebuild(&self.db.conn, &ctx.id).await? {
            ctx.rebuild_checked
                .store(true, std::sync::atomic::Ordering::Release);
            return Ok(());
        }
        let txn = self.begin_write().await?;
        let mut after = String::new();
        loop {
            let rows = responses::valid_page(&*txn, &ctx.id, &after, REBUILD_PAGE).await?;
            if rows.is_empty() {
                break;
            }
            let mut entries = Vec::with_capacity(rows.len());
            for row in rows {
                after = row.response_id;
                let leaf = row.leaf_code;
                let answers: Answers = serde_json::from_str(&row.answers)
                    .map_err(|e| SurveyError::Internal(format!("stored answers: {e}")))?;
                let unit = shequ_domain::DivisionCode::from_u64(leaf as u64)
                    .map_err(|e| SurveyError::Internal(e.to_string()))?;
                let ancestors = match self.locate_unit(ctx, unit).await? {
                    Ok(a) => a,
                    Err(description) => {
                        tracing::warn!(round = %ctx.id, leaf, %description, "stored response's unit left out of the rebuilt tallies");
                        continue;
                    }
                };
                entries.push(Entry {
                    leaf,
                    ancestors,
                    sign: 1,
                    score: row.score,
                    hits: ctx.layout.hits(&ctx.questions, &answers),
                });
            }
            self.record_delta(&*txn, &ctx.id, &entries).await?;
        }
        tallies::unmark_rebuild(&*txn, &ctx.id).await?;
        txn.commit().await?;
        ctx.rebuild_checked
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}
