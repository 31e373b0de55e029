//! Evaluating a plan: facts from the registry and the survey round, reported values, the rollup
//! in memory, and one transaction that stores the evaluation with one row per division. A source
//! that fails anywhere fails the evaluation before anything is written.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;

use crate::error::{MonitoringError, Result};
use crate::indicators::{Better, Compiled, Formula, Source};
use crate::plan::TargetDef;
use crate::rollup::{Rollup, rollup};
use crate::service::Monitoring;
use crate::service::reported::rollup_input;
use crate::store::rows::{EvaluationRecord, ResultRecord};
use crate::store::{Store, now_micros};

/// One indicator column of an evaluation, with the target it was judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub code: String,
    pub display_name: String,
    pub unit: String,
    pub direction: Better,
    pub reported: bool,
    pub target: Option<TargetDef>,
}

/// What an evaluation stores about its columns (`monitoring_evaluations.indicators`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Columns {
    pub start_year: i32,
    pub columns: Vec<Column>,
    /// When the evaluation read the registry's and the survey's facts, in microseconds since
    /// the epoch; `None` for evaluations stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts_time: Option<i64>,
    /// The periods of the reported values used, sorted: the table the rows' period bits
    /// (`StoredValues::p`) index (see `rollup::periods_of`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<String>,
}

/// One division's values, aligned with the columns (`monitoring_evaluation_results.results`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredValues {
    pub v: Vec<Option<f64>>,
    /// Reported for the division itself; empty when nothing is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub r: Vec<Option<f64>>,
    /// Sum of the children's values; empty when nothing is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub c: Vec<Option<f64>>,
    /// Numerator and denominator behind each quotient; empty when no column has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub n: Vec<Option<f64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub d: Vec<Option<f64>>,
    /// For reported columns: the latest entry time of the values used (microseconds since the
    /// epoch) and their periods as bits of `Columns::periods`; empty when nothing is reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub t: Vec<Option<i64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub p: Vec<u64>,
    /// For each column, the target variant in force (`TargetDef::variant`: 0 for the plan's own
    /// target, `k` for its `k`-th override); empty when the plan's own is in force everywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub g: Vec<u32>,
}

impl StoredValues {
    /// The target variant in force for `column`.
    pub fn variant(&self, column: usize) -> usize {
        self.g.get(column).map_or(0, |&k| k as usize)
    }
}

/// For every node, the target variant in force for each column: the node's own override, else
/// its parent's variant (the nearest ancestor's override, or the plan's own target). Empty rows
/// when no target has overrides.
fn target_variants(r: &Rollup, columns: &[Column]) -> Vec<Vec<u32>> {
    let targets: Vec<Option<&TargetDef>> = columns
        .iter()
        .map(|c| c.target.as_ref().filter(|t| !t.overrides.is_empty()))
        .collect();
    if targets.iter().all(Option::is_none) {
        return Vec::new();
    }
    let nodes = &r.nodes;
    let mut out: Vec<Option<Vec<u32>>> = vec![None; nodes.len()];
    for start in 0..nodes.len() {
        // Walk up to the nearest resolved node (or past the root), then resolve back down.
        let mut chain = Vec::new();
        let mut n = start;
        while out[n].is_none() {
            chain.push(n);
            match nodes[n].parent {
                Some(p) => n = p as usize,
                None => break,
            }
        }
        for &n in chain.iter().rev() {
            let inherited = nodes[n].parent.and_then(|p| out[p as usize].clone());
            let resolved = targets
                .iter()
                .enumerate()
                .map(
                    |(i, t)| match t.and_then(|t| t.override_of(nodes[n].code as u64)) {
                        Some(k) => k as u32,
                        None => inherited.as_ref().map_or(0, |g| g[i]),
                    },
                )
                .collect();
            out[n] = Some(resolved);
        }
    }
    out.into_iter().map(Option::unwrap_or_default).collect()
}

/// How an evaluation was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Request,
    Schedule,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Schedule => "schedule",
        }
    }
}

fn stored_values(r: &Rollup, compiled: &Compiled, variants: &[u32], node: usize) -> StoredValues {
    let k = r.indicators;
    let mut out = StoredValues {
        v: (0..k).map(|i| r.value(node, i)).collect(),
        ..Default::default()
    };
    if variants.iter().any(|&g| g != 0) {
        out.g = variants.to_vec();
    }
    let own: Vec<(usize, Option<f64>, Option<f64>)> = compiled
        .formulas
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f {
            Formula::Reported(j) => Some((i, r.reported_at(node, *j), r.children_sum_at(node, *j))),
            // Reported as is: nothing is summed below it.
            Formula::ReportedAsIs(j) => Some((i, r.reported_at(node, *j), None)),
            _ => None,
        })
        .collect();
    if own.iter().any(|(_, a, b)| a.is_some() || b.is_some()) {
        out.r = vec![None; k];
        out.c = vec![None; k];
        for (i, a, b) in own {
            out.r[i] = a;
            out.c[i] = b;
        }
    }
    let parts: Vec<Option<(f64, f64)>> = (0..k).map(|i| r.parts(node, i)).collect();
    if parts.iter().any(Option::is_some) {
        out.n = parts.iter().map(|p| p.map(|p| p.0)).collect();
        out.d = parts.iter().map(|p| p.map(|p| p.1)).collect();
    }
    // Nothing reported anywhere: no reported figure has a time or periods.
    let provenance: Vec<_> = if r.reported.width > 0 {
        (0..k).map(|i| r.provenance(node, i)).collect()
    } else {
        Vec::new()
    };
    if provenance.iter().any(Option::is_some) {
        out.t = provenance.iter().map(|p| p.map(|p| p.time)).collect();
        out.p = provenance
            .iter()
            .map(|p| p.map_or(0, |p| p.periods))
            .collect();
    }
    out
}

/// The RPC that evaluates plans, as the audit trail names it (scheduled evaluations included).
pub use shequ_platform::methods::monitoring::evaluation_service::EVALUATE_PLAN;

impl Monitoring {
    /// Evaluates `plan_id` on `date` and stores the result, for `principal` (an officer at the
    /// plan's level, or the monitor itself on schedule).
    pub async fn evaluate(
        &self,
        principal: &Principal,
        plan_id: &str,
        date: NaiveDate,
        round_override: Option<&str>,
        trigger: Trigger,
        actor: &str,
    ) -> Result<EvaluationRecord> {
        let plan = self.writable_plan(principal, plan_id).await?;
        // The targets in force on the evaluation's date, revisions included.
        let plan = self.plan_in_force(plan, date).await?;
        let defs = plan.indicators();
        let compiled = Compiled::new(&defs);
        let round = round_override.unwrap_or(&plan.survey_round).to_owned();

        let started = std::time::Instant::now();
        // The two sources stream at the same time; either failing fails the evaluation.
        let wants_survey = !round.is_empty() && defs.iter().any(|d| d.source == Source::Survey);
        let (mut facts, survey) =
            tokio::try_join!(self.sources.registry_facts(plan.scope), async {
                if wants_survey {
                    self.sources.survey_facts(&round).await.map(Some)
                } else {
                    Ok(None)
                }
            })?;
        if let Some(survey) = survey {
            for leaf in &mut facts.leaves {
                leaf.survey = survey.get(&leaf.code).copied();
            }
        }
        let fetched = started.elapsed();
        let facts_time = now_micros();
        let mut used = Vec::with_capacity(compiled.reported.len());
        for code in &compiled.reported {
            used.push(self.reported_as_of(code, date).await?);
        }
        let (reported, periods) = rollup_input(&used);
        let root = plan.scope_code();
        let leaves = std::mem::take(&mut facts.leaves);
        let compiled_for_rollup = compiled.clone();
        let rolled = tokio::task::spawn_blocking(move || {
            let start = std::time::Instant::now();
            let r = rollup(&compiled_for_rollup, root, &leaves, &reported);
            (r, start.elapsed())
        })
        .await
        .map_err(|e| MonitoringError::Internal(format!("rollup: {e}")))?;
        let (rolled, rollup_time) = rolled;
        let rolled = Arc::new(rolled);

        let columns = Columns {
            start_year: plan.start_year,
            columns: defs
                .iter()
                .map(|d| Column {
                    code: d.code.clone(),
                    display_name: d.display_name.clone(),
                    unit: d.unit.clone(),
                    direction: d.direction,
                    reported: d.source == Source::Reported,
                    target: plan.target(&d.code).cloned(),
                })
                .collect(),
            facts_time: Some(facts_time),
            periods,
        };
        let record = EvaluationRecord {
            id: crate::names::new_id(),
            plan_id: plan.id.clone(),
            evaluation_date: date.format("%Y-%m-%d").to_string(),
            create_time: now_micros(),
            trigger_kind: trigger.as_str().to_owned(),
            actor: actor.to_owned(),
            registry_cursor: facts.change_cursor.clone(),
            registry_vintage: facts.vintage.clone(),
            survey_round: round,
            divisions: rolled.nodes.len() as i64,
            leaf_units: rolled.leaf_units as i64,
            indicators: serde_json::to_string(&columns)
                .map_err(|e| MonitoringError::Internal(e.to_string()))?,
        };
        let variants = Arc::new(target_variants(&rolled, &columns.columns));
        self.store_evaluation(
            principal, plan.scope, &record, &rolled, &compiled, &variants,
        )
        .await?;
        tracing::info!(
            plan = %plan.id,
            evaluation = %record.id,
            divisions = record.divisions,
            leaf_units = record.leaf_units,
            fetch_ms = fetched.as_millis() as u64,
            rollup_ms = rollup_time.as_millis() as u64,
            "plan evaluated"
        );
        Ok(record)
    }

    async fn store_evaluation(
        &self,
        principal: &Principal,
        scope: Option<shequ_domain::DivisionCode>,
        record: &EvaluationRecord,
        rolled: &Arc<Rollup>,
        compiled: &Compiled,
        variants: &Arc<Vec<Vec<u32>>>,
    ) -> Result<()> {
        let keep = self.settings.keep_evaluations as usize;
        // Writers take turns (one advisory lock on PostgreSQL), so with retention exactly the
        // newest `keep` evaluations of a plan survive.
        let txn = self.begin_write().await?;
        let store = Store::on(&*txn);
        store.insert_evaluation(record).await?;
        // Rows are encoded on a blocking thread while the previous batch is being inserted, so
        // encoding and the database's work overlap.
        let batch = self.settings.insert_batch_rows.clamp(1, 5000);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<ResultRecord>>>(2);
        let encoder = {
            let rolled = rolled.clone();
            let compiled = compiled.clone();
            let variants = variants.clone();
            tokio::task::spawn_blocking(move || {
                let nodes = &rolled.nodes;
                for start in (0..nodes.len()).step_by(batch) {
                    let end = (start + batch).min(nodes.len());
                    let mut rows: Vec<ResultRecord> = Vec::with_capacity(end - start);
                    for (n, node) in nodes.iter().enumerate().take(end).skip(start) {
                        let own = variants.get(n).map_or(&[][..], Vec::as_slice);
                        let json =
                            match serde_json::to_string(&stored_values(&rolled, &compiled, own, n))
                            {
                                Ok(json) => json,
                                Err(e) => {
                                    let _ = tx.blocking_send(Err(MonitoringError::Internal(
                                        e.to_string(),
                                    )));
                                    return;
                                }
                            };
                        rows.push(ResultRecord {
                            division_code: node.code,
                            level: i32::from(node.level),
                            parent_code: node.parent.map(|p| nodes[p as usize].code),
                            results: json,
                        });
                    }
                    // The receiver is gone when an insert failed; stop encoding.
                    if tx.blocking_send(Ok(rows)).is_err() {
                        return;
                    }
                }
            })
        };
        while let Some(encoded) = rx.recv().await {
            store.insert_results(&record.id, encoded?).await?;
        }
        encoder
            .await
            .map_err(|e| MonitoringError::Internal(format!("encoding results: {e}")))?;
        self.audit
            .record(
                &*txn,
                &AuditEntry {
                    principal,
                    method: EVALUATE_PLAN,
                    resource: crate::names::evaluation_name(&record.plan_id, &record.id),
                    division: scope,
                    action: "evaluated",
                    reason: &format!(
                        "{} evaluation as of {}",
                        record.trigger_kind, record.evaluation_date
                    ),
                },
            )
            .await?;
        let retention = format!("beyond the newest {keep} kept (keep_evaluations)");
        let mut pruned = 0;
        if keep > 0 {
            let ids = store.evaluation_ids_newest_first(&record.plan_id).await?;
            for id in ids.into_iter().skip(keep) {
                store.delete_evaluation(&id).await?;
                self.audit
                    .record(
                        &*txn,
                        &AuditEntry {
                            principal,
                            method: EVALUATE_PLAN,
                            resource: crate::names::evaluation_name(&record.plan_id, &id),
                            division: scope,
                            action: "deleted",
                            reason: &retention,
                        },
                    )
                    .await?;
                pruned += 1;
            }
        }
        txn.commit().await?;
        self.audit.committed();
        if pruned > 0 {
            tracing::info!(
                plan = %record.plan_id,
                pruned,
                keep,
                "evaluations beyond the kept number deleted"
            );
        }
        Ok(())
    }

    pub async fn get_evaluation(&self, plan_id: &str, id: &str) -> Result<EvaluationRecord> {
        self.store().evaluation(plan_id, id).await?.ok_or_else(|| {
            MonitoringError::NotFound(format!(
                "evaluation `{}` not found",
                crate::names::evaluation_name(plan_id, id)
            ))
        })
    }

    /// A plan's evaluations, newest first, paged by (create time, id). The caller checks the
    /// plan may be read.
    pub async fn list_evaluations(
        &self,
        plan_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<EvaluationRecord>, String)> {
        self.get_plan(plan_id).await?;
        let size = shequ_platform::page::page_size(page_size)?;
        let query = format!("evaluations of {plan_id}");
        let after = shequ_platform::page::decode(&query, page_token)?;
        let (before_time, before_id) = match after.as_deref().and_then(|k| k.split_once(':')) {
            Some((t, id)) => (t.parse::<i64>().unwrap_or(i64::MAX), id.to_owned()),
            None => (i64::MAX, String::new()),
        };
        let before_id = if before_id.is_empty() {
            "~".to_owned()
        } else {
            before_id
        };
        let rows = self
            .store()
            .evaluations_before(plan_id, before_time, &before_id, size + 1)
            .await?;
        let more = rows.len() as u64 > size;
        let rows: Vec<_> = rows.into_iter().take(size as usize).collect();
        let next = match rows.last() {
            Some(last) if more => {
                shequ_platform::page::encode(&query, &format!("{}:{}", last.create_time, last.id))
            }
            _ => String::new(),
        };
        Ok((rows, next))
    }
}
