//! Reported values: officials enter a value for a division, an indicator and a period; every
//! change is a new revision with who, when and why, and the latest revision counts.

use std::collections::HashMap;

use chrono::NaiveDate;
use shequ_domain::{DivisionCode, Violations};
use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;

use crate::error::{MonitoringError, Result, Sent};
use crate::indicators::{Source, builtin};
use crate::names::{day_number, division_name, indicator_name, parse_period};
use crate::rollup::{ReportedEntry, period_bit};
use crate::service::Monitoring;
use crate::store::rows::ReportedRecord;
use crate::store::{Store, now_micros};

/// The RPC that writes reported values, as the audit trail names it.
pub use shequ_platform::methods::monitoring::indicator_service::REPORT_VALUE;

/// A reported value as an official sends it, before it is checked. A field that could not be
/// read is named as in the request (`value.indicator`, `value.division`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedValueSpec {
    /// The indicator's code.
    pub indicator: Sent<String>,
    pub division: Sent<DivisionCode>,
    /// The reporting period as written: `2025`, `2025-Q3` or `2025-09`.
    pub period: String,
    pub value: f64,
    pub reason: String,
}

impl Monitoring {
    /// Records a reported value as a new revision, for a division in the principal's scope.
    pub async fn report_value(
        &self,
        principal: &Principal,
        value: &ReportedValueSpec,
        actor: &str,
    ) -> Result<ReportedRecord> {
        let mut v = Violations::new();
        let indicator = match &value.indicator {
            Ok(code) => {
                if builtin(code).is_some_and(|d| d.source != Source::Reported) {
                    v.push(
                        "value.indicator",
                        format!("`{code}` is computed, not reported"),
                    );
                }
                code.as_str()
            }
            Err(e) => {
                v.push(e.field.clone(), e.description.clone());
                ""
            }
        };
        let division = match &value.division {
            Ok(division) => Some(*division),
            Err(e) => {
                v.push(e.field.clone(), e.description.clone());
                None
            }
        };
        let period_start = parse_period("value.period", &value.period).unwrap_or_else(|e| {
            v.push(e.field, e.description);
            0
        });
        if !value.value.is_finite() || value.value < 0.0 {
            v.push("value.value", "must be a finite number, not negative");
        }
        if value.reason.chars().count() > 1000 {
            v.push("value.reason", "must be at most 1000 characters");
        }
        // The division's scope first: outside it nothing else is said about the request.
        if let Some(division) = division {
            self.authorize_known_division(principal, division).await?;
        }
        let Some(division) = division.filter(|_| v.is_empty()) else {
            return Err(v.into());
        };
        let txn = self.begin_write().await?;
        let store = Store::on(&*txn);
        let revision = store.last_revision(indicator, division.as_i64()).await? + 1;
        let record = ReportedRecord {
            indicator: indicator.to_owned(),
            division_code: division.as_i64(),
            period: value.period.clone(),
            period_start,
            revision,
            value: value.value,
            actor: actor.to_owned(),
            reason: value.reason.clone(),
            change_time: now_micros(),
        };
        store.insert_reported(&record).await?;
        self.audit
            .record(
                &*txn,
                &AuditEntry {
                    principal,
                    method: REPORT_VALUE,
                    resource: format!(
                        "{}/{}/revisions/{}",
                        indicator_name(indicator),
                        division_name(division),
                        revision
                    ),
                    division: Some(division),
                    action: "reported",
                    reason: &record.reason,
                },
            )
            .await?;
        txn.commit().await?;
        self.audit.committed();
        Ok(record)
    }

    pub async fn reported_history(
        &self,
        indicator: &str,
        division: DivisionCode,
    ) -> Result<Vec<ReportedRecord>> {
        self.store()
            .reported_history(indicator, division.as_i64())
            .await
    }

    /// The revision each division reported for `indicator` as of `date`: of the periods begun
    /// by then, the latest to begin; of its revisions, the latest.
    pub(crate) async fn reported_as_of(
        &self,
        indicator: &str,
        date: NaiveDate,
    ) -> Result<HashMap<i64, ReportedRecord>> {
        let rows = self
            .store()
            .reported_begun_by(indicator, day_number(date))
            .await?;
        let mut best: HashMap<i64, ReportedRecord> = HashMap::new();
        for r in rows {
            match best.get_mut(&r.division_code) {
                Some(b) if (r.period_start, r.revision) <= (b.period_start, b.revision) => {}
                Some(b) => *b = r,
                None => {
                    best.insert(r.division_code, r);
                }
            }
        }
        Ok(best)
    }

    pub(crate) fn no_indicator(code: &str) -> MonitoringError {
        MonitoringError::NotFound(format!("indicator `indicators/{code}` not found"))
    }
}

/// The rollup's input from the values each reported indicator uses (one map per indicator): each
/// value with its entry time and its period's bit in the evaluation's period table, which is
/// returned sorted.
pub(crate) fn rollup_input(
    reported: &[HashMap<i64, ReportedRecord>],
) -> (Vec<HashMap<i64, ReportedEntry>>, Vec<String>) {
    let mut periods: Vec<String> = reported
        .iter()
        .flat_map(|m| m.values().map(|r| r.period.clone()))
        .collect();
    periods.sort_unstable();
    periods.dedup();
    let n = periods.len();
    let input = reported
        .iter()
        .map(|m| {
            m.iter()
                .map(|(code, r)| {
                    let j = periods.binary_search(&r.period).unwrap_or_default();
                    let entry = ReportedEntry {
                        value: r.value,
                        time: r.change_time,
                        period: period_bit(j, n),
                    };
                    (*code, entry)
                })
                .collect()
        })
        .collect();
    (input, periods)
}
