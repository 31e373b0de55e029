//! `monitoring_reported_values`: every revision of every reported value, append-only.

use sea_orm::ConnectionTrait;

use super::Store;
use super::rows::{REPORTED_COLUMNS, ReportedRecord};
use crate::error::Result;

impl<C: ConnectionTrait> Store<'_, C> {
    /// The latest revision of `indicator` for `division`; 0 before the first.
    pub async fn last_revision(&self, indicator: &str, division: i64) -> Result<i64> {
        Ok(self
            .conn
            .query_one_raw(self.stmt(
                "SELECT coalesce(max(revision), 0) AS r FROM monitoring_reported_values WHERE indicator = $1 AND division_code = $2",
                [indicator.into(), division.into()],
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "r"))
            .transpose()?
            .unwrap_or(0))
    }

    pub async fn insert_reported(&self, r: &ReportedRecord) -> Result<()> {
        self.execute(
            format!(
                "INSERT INTO monitoring_reported_values ({REPORTED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            [
                r.indicator.clone().into(),
                r.division_code.into(),
                r.period.clone().into(),
                r.period_start.into(),
                r.revision.into(),
                r.value.into(),
                r.actor.clone().into(),
                r.reason.clone().into(),
                r.change_time.into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Every revision of `indicator` for `division`, oldest first.
    pub async fn reported_history(
        &self,
        indicator: &str,
        division: i64,
    ) -> Result<Vec<ReportedRecord>> {
        self.all::<ReportedRecord>(
            format!(
                "SELECT {REPORTED_COLUMNS} FROM monitoring_reported_values WHERE indicator = $1 AND division_code = $2 ORDER BY revision"
            ),
            [indicator.into(), division.into()],
        )
        .await
    }

    /// Every revision of `indicator`, for every division, of the periods begun on or before
    /// `day` (`yyyymmdd`).
    pub async fn reported_begun_by(
        &self,
        indicator: &str,
        day: i32,
    ) -> Result<Vec<ReportedRecord>> {
        self.all::<ReportedRecord>(
            format!(
                "SELECT {REPORTED_COLUMNS} FROM monitoring_reported_values WHERE indicator = $1 AND period_start <= $2"
            ),
            [indicator.into(), day.into()],
        )
        .await
    }
}
