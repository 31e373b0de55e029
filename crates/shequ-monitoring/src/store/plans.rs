//! `monitoring_plans`: a plan's columns and its body (indicators and targets) as JSON. A plan is
//! written once and never changes.

use sea_orm::ConnectionTrait;
use shequ_domain::DivisionCode;
use shequ_platform::database::is_unique_violation;

use super::Store;
use super::rows::{PLAN_COLUMNS, PlanRecord};
use crate::error::{MonitoringError, Result};
use crate::plan::{PlanBody, PlanDef, PlanLevel};

fn plan_from_record(r: PlanRecord) -> Result<PlanDef> {
    let body: PlanBody = serde_json::from_str(&r.body)
        .map_err(|e| MonitoringError::Internal(format!("stored plan body: {e}")))?;
    let level = PlanLevel::from_number(r.level).ok_or_else(|| {
        MonitoringError::Internal(format!("stored plan `{}` has level {}", r.id, r.level))
    })?;
    Ok(PlanDef {
        id: r.id,
        display_name: r.display_name,
        level,
        scope: (r.scope_code != 0)
            .then(|| DivisionCode::from_u64(r.scope_code as u64))
            .transpose()
            .map_err(|e| MonitoringError::Internal(e.to_string()))?,
        parent: r.parent_id,
        start_year: r.start_year,
        end_year: r.end_year,
        survey_round: r.survey_round,
        body,
        create_time: r.create_time,
    })
}

impl<C: ConnectionTrait> Store<'_, C> {
    /// Plan `id`, if stored.
    pub async fn plan(&self, id: &str) -> Result<Option<PlanDef>> {
        let row = self
            .one::<PlanRecord>(
                format!("SELECT {PLAN_COLUMNS} FROM monitoring_plans WHERE id = $1"),
                [id.into()],
            )
            .await?;
        row.map(plan_from_record).transpose()
    }

    /// Stores a new plan; `false`, with nothing written, when its id is taken.
    pub async fn insert_plan(&self, plan: &PlanDef) -> Result<bool> {
        let body = serde_json::to_string(&plan.body)
            .map_err(|e| MonitoringError::Internal(e.to_string()))?;
        let inserted = self.conn
            .execute_raw(self.stmt(
                format!(
                    "INSERT INTO monitoring_plans ({PLAN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                [
                    plan.id.clone().into(),
                    plan.display_name.clone().into(),
                    (plan.level as i32).into(),
                    plan.scope_code().into(),
                    plan.parent.clone().into(),
                    plan.start_year.into(),
                    plan.end_year.into(),
                    plan.survey_round.clone().into(),
                    body.into(),
                    plan.create_time.into(),
                ],
            ))
            .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// One page of plans: at most `size` with ids after `after`, by id, and whether more
    /// follow.
    pub async fn plans_after(&self, after: &str, size: u64) -> Result<(Vec<PlanDef>, bool)> {
        let values: Vec<sea_orm::Value> = vec![after.into(), (size as i64 + 1).into()];
        let rows = self
            .all::<PlanRecord>(
                format!(
                    "SELECT {PLAN_COLUMNS} FROM monitoring_plans WHERE id > $1 ORDER BY id LIMIT $2"
                ),
                values,
            )
            .await?;
        let more = rows.len() as u64 > size;
        let plans = rows
            .into_iter()
            .take(size as usize)
            .map(plan_from_record)
            .collect::<Result<Vec<_>>>()?;
        Ok((plans, more))
    }

    /// Every plan, by id; with `scopes`, only plans whose scope code is one of them.
    pub async fn plans(&self, scopes: Option<&[i64]>) -> Result<Vec<PlanDef>> {
        self.all::<PlanRecord>(
            format!("SELECT {PLAN_COLUMNS} FROM monitoring_plans ORDER BY id"),
            [],
        )
        .await?
        .into_iter()
        .filter(|r| scopes.is_none_or(|c| c.contains(&r.scope_code)))
        .map(plan_from_record)
        .collect()
    }
}
