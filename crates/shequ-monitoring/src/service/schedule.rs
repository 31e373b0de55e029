//! Scheduled evaluations: every replica polls, but only the holder of the `schedule` lease (a
//! row with an expiry, taken by a conditional insert or update that works on both backends)
//! checks whether an evaluation is due and runs it, so one runs at a time.

use chrono::{Datelike, TimeZone, Utc};

use crate::config::Schedule;
use crate::error::Result;
use crate::service::Monitoring;
use crate::service::evaluations::Trigger;
use crate::store::now_micros;
use crate::store::rows::EvaluationRecord;

const LEASE: &str = "schedule";

impl Monitoring {
    /// Takes lease `name` for this replica until `now + ttl`, when free, expired or already ours.
    pub async fn try_lease(&self, name: &str, now: i64, ttl_micros: i64) -> Result<bool> {
        self.store()
            .take_lease(name, &self.holder, now, now + ttl_micros)
            .await
    }

    /// Gives lease `name` up, if this replica holds it.
    pub async fn release_lease(&self, name: &str) -> Result<()> {
        self.store().release_lease(name, &self.holder).await
    }

    /// One look at the schedule: when this replica gets the lease and an evaluation is due, runs
    /// it. Returns the evaluation made, if any.
    pub async fn run_schedule_once(&self) -> Result<Option<EvaluationRecord>> {
        let schedule = self.settings.schedule().unwrap_or(Schedule::Off);
        let plan = self
            .settings
            .schedule_plan
            .trim_start_matches("plans/")
            .to_owned();
        if schedule == Schedule::Off || plan.is_empty() {
            return Ok(None);
        }
        let now = now_micros();
        let ttl = self.settings.schedule_lease_secs.max(1) as i64 * 1_000_000;
        if !self.try_lease(LEASE, now, ttl).await? {
            return Ok(None);
        }
        let result = self.run_if_due(schedule, &plan, now).await;
        if let Err(e) = self.release_lease(LEASE).await {
            tracing::warn!(error = %e, "schedule lease not released; it expires by itself");
        }
        result
    }

    async fn run_if_due(
        &self,
        schedule: Schedule,
        plan: &str,
        now: i64,
    ) -> Result<Option<EvaluationRecord>> {
        let last = self.store().last_scheduled(plan).await?;
        if !is_due(schedule, last, now) {
            return Ok(None);
        }
        let today = Utc::now().date_naive();
        let itself = self.itself.clone();
        self.evaluate(&itself, plan, today, None, Trigger::Schedule, "schedule")
            .await
            .map(Some)
    }

    /// Polls the schedule until `stop` resolves.
    pub async fn run_schedule(self, stop: impl Future<Output = ()>) {
        let poll = std::time::Duration::from_secs(self.settings.schedule_poll_secs.max(1));
        tokio::pin!(stop);
        loop {
            match self.run_schedule_once().await {
                Ok(Some(e)) => {
                    tracing::info!(evaluation = %e.id, plan = %e.plan_id, "scheduled evaluation stored")
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "scheduled evaluation failed"),
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(poll) => {}
            }
        }
    }
}

/// Whether a scheduled evaluation is due at `now`, the last one made at `last` (microseconds).
pub fn is_due(schedule: Schedule, last: Option<i64>, now: i64) -> bool {
    let Some(last) = last else {
        return schedule != Schedule::Off;
    };
    match schedule {
        Schedule::Off => false,
        Schedule::Every(d) => now - last >= d.as_micros() as i64,
        Schedule::Monthly => {
            let month = |t: i64| {
                Utc.timestamp_micros(t)
                    .single()
                    .map(|d| (d.year(), d.month()))
            };
            month(now) != month(last)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn due_by_interval_and_by_month() {
        let day = 86_400_000_000i64;
        let jan31 = 1_738_281_600_000_000; // 2025-01-31
        assert!(is_due(Schedule::Monthly, None, jan31));
        assert!(!is_due(Schedule::Monthly, Some(jan31 - day), jan31));
        assert!(is_due(Schedule::Monthly, Some(jan31), jan31 + day));
        let hour = Schedule::Every(Duration::from_secs(3600));
        assert!(!is_due(hour, Some(jan31), jan31 + 1000));
        assert!(is_due(hour, Some(jan31), jan31 + 3_600_000_000));
        assert!(!is_due(Schedule::Off, None, jan31));
    }
}
