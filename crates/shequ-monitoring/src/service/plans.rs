//! Plans: create (checked, immutable), read, list, the built-in national plan, plan files and
//! alignment with the parent plan.

use sea_orm::{ConnectionTrait, FromQueryResult};
use shequ_domain::DivisionCode;
use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;
use shequ_platform::database::is_unique_violation;
use shequ_platform::page;

use crate::error::{MonitoringError, Result};
use crate::indicators::{IndicatorDef, catalogue};
use crate::names::plan_name;
use crate::plan::{
    Alignment, NATIONAL_PLAN_ID, PlanBody, PlanDef, PlanFileFormat, PlanLevel, PlanSpec,
    misalignments, national_plan, parse_plan_file,
};
use crate::service::Monitoring;
use crate::store::rows::{PLAN_COLUMNS, PlanRecord};
use crate::store::{now_micros, stmt};

/// The plan-writing RPCs, as the audit trail names them.
pub const CREATE_PLAN: &str = "/shequ.monitoring.v1.PlanService/CreatePlan";
pub const LOAD_NATIONAL_PLAN: &str = "/shequ.monitoring.v1.PlanService/LoadNationalPlan";
pub const LOAD_PLAN_FILE: &str = "/shequ.monitoring.v1.PlanService/LoadPlanFile";

/// An indicator as listed: built in, or defined by a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedIndicator {
    /// The id of the plan that defines it; `None` for a built-in indicator.
    pub plan: Option<String>,
    pub def: IndicatorDef,
}

fn plan_from_record(r: PlanRecord) -> Result<PlanDef> {
    let body: PlanBody = serde_json::from_str(&r.body)
        .map_err(|e| MonitoringError::Internal(format!("stored plan body: {e}")))?;
    Ok(PlanDef {
        id: r.id,
        display_name: r.display_name,
        level: if r.level == 2 {
            PlanLevel::Provincial
        } else {
            PlanLevel::National
        },
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

impl Monitoring {
    pub async fn find_plan(&self, id: &str) -> Result<Option<PlanDef>> {
        let row = PlanRecord::find_by_statement(stmt(
            self.backend(),
            format!("SELECT {PLAN_COLUMNS} FROM monitoring_plans WHERE id = $1"),
            [id.into()],
        ))
        .one(&self.db.conn)
        .await?;
        row.map(plan_from_record).transpose()
    }

    pub async fn get_plan(&self, id: &str) -> Result<PlanDef> {
        self.find_plan(id)
            .await?
            .ok_or_else(|| MonitoringError::NotFound(format!("plan `plans/{id}` not found")))
    }

    /// Checks and stores a plan; a provincial plan's parent must exist and cover its scope. Only
    /// an officer at the plan's level may: its province in scope, or national scope. `method` is
    /// the RPC recorded in the audit trail.
    pub async fn create_plan(
        &self,
        principal: &Principal,
        method: &'static str,
        plan: PlanSpec,
    ) -> Result<PlanDef> {
        let mut def = plan.validate()?;
        self.authorize_plan_level(principal, def.scope).await?;
        if let Some(parent_id) = &def.parent {
            let Some(parent) = self.find_plan(parent_id).await? else {
                return Err(MonitoringError::reference_not_found(
                    "plan.parent",
                    format!("plan `plans/{parent_id}` not found"),
                ));
            };
            if parent.scope.is_some() && parent.scope != def.scope {
                return Err(MonitoringError::invalid(
                    "plan.scope",
                    format!(
                        "lies outside the parent plan's scope `divisions/{}`",
                        parent.scope_code()
                    ),
                ));
            }
        }
        def.create_time = now_micros();
        let body = serde_json::to_string(&def.body)
            .map_err(|e| MonitoringError::Internal(e.to_string()))?;
        let txn = self.begin_write().await?;
        let inserted = txn
            .execute_raw(stmt(
                self.backend(),
                format!(
                    "INSERT INTO monitoring_plans ({PLAN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                [
                    def.id.clone().into(),
                    def.display_name.clone().into(),
                    (def.level as i32).into(),
                    def.scope_code().into(),
                    def.parent.clone().into(),
                    def.start_year.into(),
                    def.end_year.into(),
                    def.survey_round.clone().into(),
                    body.into(),
                    def.create_time.into(),
                ],
            ))
            .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(MonitoringError::AlreadyExists(format!(
                    "plan `plans/{}` exists; a plan never changes, create another id",
                    def.id
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.audit
            .record(
                &*txn,
                &AuditEntry {
                    principal,
                    method,
                    resource: plan_name(&def.id),
                    division: def.scope,
                    action: "created",
                    reason: "",
                },
            )
            .await?;
        txn.commit().await?;
        self.audit.committed();
        tracing::info!(plan = %def.id, "plan created");
        Ok(def)
    }

    /// The built-in national plan, stored on first call (by a national officer).
    pub async fn load_national_plan(&self, principal: &Principal) -> Result<PlanDef> {
        self.require_national(principal, "the national plan")?;
        if let Some(plan) = self.find_plan(NATIONAL_PLAN_ID).await? {
            return Ok(plan);
        }
        match self
            .create_plan(principal, LOAD_NATIONAL_PLAN, national_plan().into())
            .await
        {
            Err(MonitoringError::AlreadyExists(_)) => self.get_plan(NATIONAL_PLAN_ID).await,
            other => other,
        }
    }

    /// Loads a plan file, TOML or YAML as `PlanFileFormat::detect` tells.
    pub async fn load_plan_file(&self, principal: &Principal, content: &str) -> Result<PlanDef> {
        let plan = parse_plan_file(content, PlanFileFormat::detect(content))?;
        self.create_plan(principal, LOAD_PLAN_FILE, plan).await
    }

    /// The plans the principal may read (see `access`), by id, one page, and the token of the
    /// next page (empty after the last).
    pub async fn list_plans(
        &self,
        principal: &Principal,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<PlanDef>, String)> {
        let size = page::page_size(page_size)?;
        let after = page::decode("plans", page_token)?.unwrap_or_default();
        let readable = self.readable_plan_scopes(principal).await?;
        let mut values: Vec<sea_orm::Value> = vec![after.into(), (size as i64 + 1).into()];
        let filter = match &readable {
            None => String::new(),
            Some(codes) => {
                let placeholders: Vec<String> =
                    (0..codes.len()).map(|i| format!("${}", i + 3)).collect();
                values.extend(codes.iter().map(|&c| c.into()));
                format!(" AND scope_code IN ({})", placeholders.join(", "))
            }
        };
        let rows = PlanRecord::find_by_statement(stmt(
            self.backend(),
            format!(
                "SELECT {PLAN_COLUMNS} FROM monitoring_plans WHERE id > $1{filter} ORDER BY id LIMIT $2"
            ),
            values,
        ))
        .all(&self.db.conn)
        .await?;
        let more = rows.len() as u64 > size;
        let plans = rows
            .into_iter()
            .take(size as usize)
            .map(plan_from_record)
            .collect::<Result<Vec<_>>>()?;
        let next_page_token = match plans.last() {
            Some(last) if more => page::encode("plans", &last.id),
            _ => String::new(),
        };
        Ok((plans, next_page_token))
    }

    /// The built-in catalogue, then the own indicators of the plans the principal may read, by
    /// plan id; with `plan`, what that plan evaluates.
    pub async fn list_indicators(
        &self,
        principal: &Principal,
        plan: Option<&str>,
    ) -> Result<Vec<ListedIndicator>> {
        let plans = match plan {
            Some(id) => match self.readable_plan(principal, id).await {
                Ok(plan) => vec![plan],
                Err(MonitoringError::NotFound(message)) => {
                    return Err(MonitoringError::reference_not_found("plan", message));
                }
                Err(e) => return Err(e),
            },
            None => {
                let readable = self.readable_plan_scopes(principal).await?;
                PlanRecord::find_by_statement(stmt(
                    self.backend(),
                    format!("SELECT {PLAN_COLUMNS} FROM monitoring_plans ORDER BY id"),
                    [],
                ))
                .all(&self.db.conn)
                .await?
                .into_iter()
                .filter(|r| readable.as_ref().is_none_or(|c| c.contains(&r.scope_code)))
                .map(plan_from_record)
                .collect::<Result<Vec<_>>>()?
            }
        };
        let mut out: Vec<ListedIndicator> = catalogue()
            .into_iter()
            .map(|def| ListedIndicator { plan: None, def })
            .collect();
        for p in plans {
            out.extend(p.body.indicators.into_iter().map(|def| ListedIndicator {
                plan: Some(p.id.clone()),
                def,
            }));
        }
        Ok(out)
    }

    /// The targets of plan `id` less ambitious than its parent plan's.
    pub async fn check_alignment(&self, principal: &Principal, id: &str) -> Result<Alignment> {
        let plan = self.readable_plan(principal, id).await?;
        let Some(parent_id) = &plan.parent else {
            return Ok(Alignment::default());
        };
        let parent = self.get_plan(parent_id).await?;
        Ok(Alignment {
            parent: Some(parent_id.clone()),
            misalignments: misalignments(&plan, &parent),
        })
    }
}
