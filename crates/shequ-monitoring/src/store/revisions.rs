//! `monitoring_target_revisions`: the revisions of plans' targets, append-only, numbered per
//! plan in the order recorded.

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use super::Store;
use super::rows::{REVISION_COLUMNS, RevisionRecord};
use crate::error::{MonitoringError, Result};
use crate::plan::{RevisedPath, RevisionDef};

fn revision_from_record(r: RevisionRecord) -> Result<RevisionDef> {
    let broken = |what: String| {
        MonitoringError::Internal(format!(
            "stored revision {} of plan `{}`: {what}",
            r.revision, r.plan_id
        ))
    };
    let path: RevisedPath = serde_json::from_str(&r.body).map_err(|e| broken(e.to_string()))?;
    let effective_date = NaiveDate::parse_from_str(&r.effective_date, "%Y-%m-%d")
        .map_err(|e| broken(e.to_string()))?;
    Ok(RevisionDef {
        number: r.revision,
        indicator: r.indicator,
        division: (r.division_code != 0).then_some(r.division_code as u64),
        effective_date,
        path,
        reason: r.reason,
        actor: r.actor,
        create_time: r.create_time,
    })
}

impl<C: ConnectionTrait> Store<'_, C> {
    /// Stores `revision` of `plan_id` as the plan's next number, which it returns.
    pub async fn insert_revision(&self, plan_id: &str, revision: &RevisionDef) -> Result<i64> {
        let last = self
            .conn
            .query_one_raw(self.stmt(
                "SELECT coalesce(max(revision), 0) AS r FROM monitoring_target_revisions WHERE plan_id = $1",
                [plan_id.into()],
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "r"))
            .transpose()?
            .unwrap_or(0);
        let number = last + 1;
        let body = serde_json::to_string(&revision.path)
            .map_err(|e| MonitoringError::Internal(e.to_string()))?;
        self.execute(
            format!(
                "INSERT INTO monitoring_target_revisions ({REVISION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            [
                plan_id.into(),
                number.into(),
                revision.indicator.clone().into(),
                (revision.division.unwrap_or(0) as i64).into(),
                revision.effective_date.format("%Y-%m-%d").to_string().into(),
                body.into(),
                revision.reason.clone().into(),
                revision.actor.clone().into(),
                revision.create_time.into(),
            ],
        )
        .await?;
        Ok(number)
    }

    /// The revisions of `plan_id` numbered after `after`, at most `limit`, by number.
    pub async fn revisions_after(
        &self,
        plan_id: &str,
        after: i64,
        limit: u64,
    ) -> Result<Vec<RevisionDef>> {
        self.all::<RevisionRecord>(
            format!(
                "SELECT {REVISION_COLUMNS} FROM monitoring_target_revisions WHERE plan_id = $1 AND revision > $2 ORDER BY revision LIMIT $3"
            ),
            [plan_id.into(), after.into(), (limit as i64).into()],
        )
        .await?
        .into_iter()
        .map(revision_from_record)
        .collect()
    }
}
