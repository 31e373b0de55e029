//! Plans: create (checked, immutable), read, list, the built-in national plan, plan files and
//! alignment with the parent plan.

use std::collections::HashMap;

use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;
use shequ_platform::page;

use crate::error::{MonitoringError, Result};
use crate::indicators::{IndicatorDef, catalogue};
use crate::names::{division_name, plan_name};
use crate::plan::{
    Alignment, Ancestor, NATIONAL_PLAN_ID, PlanDef, PlanFileFormat, PlanLevel, PlanSpec, align,
    national_plan, parse_plan_file,
};
use crate::service::Monitoring;
use crate::store::{Store, now_micros};
use shequ_domain::{DivisionCode, Violations};

/// The plan-writing RPCs, as the audit trail names them.
pub use shequ_platform::methods::monitoring::plan_service::{
    CREATE_PLAN, LOAD_NATIONAL_PLAN, LOAD_PLAN_FILE,
};

/// An indicator as listed: built in, or defined by a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedIndicator {
    /// The id of the plan that defines it; `None` for a built-in indicator.
    pub plan: Option<String>,
    pub def: IndicatorDef,
}

impl Monitoring {
    pub async fn find_plan(&self, id: &str) -> Result<Option<PlanDef>> {
        self.store().plan(id).await
    }

    pub async fn get_plan(&self, id: &str) -> Result<PlanDef> {
        self.find_plan(id)
            .await?
            .ok_or_else(|| MonitoringError::NotFound(format!("plan `plans/{id}` not found")))
    }

    /// Checks and stores a plan: its scope at the level it names (the registry's), its parent (if
    /// named) covering its scope, its overrides inside it. Only an officer at the plan's level
    /// may: its division in scope, or national scope. `method` is
    /// the RPC recorded in the audit trail.
    pub async fn create_plan(
        &self,
        principal: &Principal,
        method: &'static str,
        plan: PlanSpec,
    ) -> Result<PlanDef> {
        let mut def = plan.validate()?;
        self.authorize_plan_level(principal, def.scope).await?;
        // Below a province the registry tells the scope's level (the code's digits do not).
        let ancestry = match def.scope {
            Some(scope) => match self.ancestry(scope).await? {
                Some(ancestry) => ancestry.to_vec(),
                None => {
                    return Err(MonitoringError::reference_not_found(
                        "plan.scope",
                        format!("division `{}` not found", division_name(scope)),
                    ));
                }
            },
            None => Vec::new(),
        };
        if let (Some(scope), Some(want)) = (def.scope, def.level.division_level())
            && def.level != PlanLevel::Provincial
        {
            let level = self
                .sources
                .registry()
                .division_level(scope)
                .await
                .map_err(MonitoringError::from)?;
            if level != Some(want) {
                return Err(MonitoringError::invalid(
                    "plan.level",
                    format!(
                        "is {}, but `{}` is a division of level {}",
                        def.level.word(),
                        division_name(scope),
                        level.map_or(0, |l| l.number())
                    ),
                ));
            }
        }
        if let Some(parent_id) = &def.parent {
            let Some(parent) = self.find_plan(parent_id).await? else {
                return Err(MonitoringError::reference_not_found(
                    "plan.parent",
                    format!("plan `plans/{parent_id}` not found"),
                ));
            };
            if let Some(above) = parent.scope
                && !ancestry.contains(&above)
            {
                return Err(MonitoringError::invalid(
                    "plan.scope",
                    format!(
                        "lies outside the parent plan's scope `{}`",
                        division_name(above)
                    ),
                ));
            }
        }
        self.check_overrides_in_scope(&def).await?;
        def.create_time = now_micros();
        let txn = self.begin_write().await?;
        if !Store::on(&*txn).insert_plan(&def).await? {
            return Err(MonitoringError::already_exists(format!(
                "plan `plans/{}` exists; a plan never changes, create another id",
                def.id
            )));
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

    /// Every target override's division must be known to the registry and lie below the plan's
    /// scope; every offending override is named.
    async fn check_overrides_in_scope(&self, def: &PlanDef) -> Result<()> {
        let mut v = Violations::new();
        for (n, t) in def.body.targets.iter().enumerate() {
            for (k, o) in t.overrides.iter().enumerate() {
                let field = format!("plan.targets[{n}].overrides[{k}].division");
                let code = DivisionCode::from_u64(o.division)
                    .map_err(|e| MonitoringError::Internal(e.to_string()))?;
                match self.ancestry(code).await? {
                    None => v.push(
                        field,
                        format!(
                            "division `{}` is not known to the registry",
                            division_name(code)
                        ),
                    ),
                    Some(ancestry) => {
                        if let Some(scope) = def.scope
                            && !ancestry.contains(&scope)
                        {
                            v.push(
                                field,
                                format!(
                                    "`{}` lies outside the plan's scope `{}`",
                                    division_name(code),
                                    division_name(scope)
                                ),
                            );
                        }
                    }
                }
            }
        }
        Ok(v.into_result(())?)
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
            Err(MonitoringError::AlreadyExists { .. }) => self.get_plan(NATIONAL_PLAN_ID).await,
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
        let (plans, more) = if principal.scope.is_national() {
            self.store().plans_after(&after, size).await?
        } else {
            // Plans below the scope's divisions are readable too, which only the registry's
            // ancestries tell: the plans after the token are read and kept if readable.
            let mut readable = Vec::new();
            for plan in self.store().plans(None).await? {
                if plan.id.as_str() > after.as_str() && self.plan_readable(principal, &plan).await?
                {
                    readable.push(plan);
                }
                if readable.len() as u64 > size {
                    break;
                }
            }
            let more = readable.len() as u64 > size;
            readable.truncate(size as usize);
            (readable, more)
        };
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
                let mut readable = Vec::new();
                for plan in self.store().plans(None).await? {
                    if self.plan_readable(principal, &plan).await? {
                        readable.push(plan);
                    }
                }
                readable
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

    /// The targets of plan `id` less ambitious than the target in force for the same division in
    /// the nearest ancestor's plan with the same indicator (see `plan::align`).
    pub async fn check_alignment(&self, principal: &Principal, id: &str) -> Result<Alignment> {
        let plan = self.readable_plan(principal, id).await?;
        // The scope and its ancestors, province first: the divisions whose plans are compared,
        // the country (0) above them all.
        let above: Vec<i64> = match plan.scope {
            Some(scope) => {
                let ancestry = self.ancestry(scope).await?;
                let mut codes: Vec<i64> = ancestry
                    .as_deref()
                    .unwrap_or(&[])
                    .iter()
                    .skip(1)
                    .map(|c| c.as_i64())
                    .collect();
                codes.insert(0, 0);
                codes
            }
            None => Vec::new(),
        };
        let mut plans = self.store().plans(Some(&above)).await?;
        // A named parent of the same division (a province's later plan) is the nearest of all.
        if let Some(parent_id) = &plan.parent
            && !plans.iter().any(|p| &p.id == parent_id)
            && let Some(parent) = self.find_plan(parent_id).await?
        {
            plans.push(parent);
        }
        let ancestors: Vec<Ancestor<'_>> = plans
            .iter()
            .filter(|p| p.id != plan.id)
            .map(|p| Ancestor {
                plan: p,
                depth: above
                    .iter()
                    .position(|&c| c == p.scope_code())
                    .unwrap_or(above.len()),
                named: plan.parent.as_deref() == Some(p.id.as_str()),
            })
            .collect();
        let mut chains: HashMap<u64, Vec<u64>> = HashMap::new();
        let mut codes: Vec<u64> = plan.scope.iter().map(|c| c.as_u64()).collect();
        for t in &plan.body.targets {
            codes.extend(t.overrides.iter().map(|o| o.division));
        }
        for code in codes {
            let Ok(division) = DivisionCode::from_u64(code) else {
                continue;
            };
            let ancestry = self.ancestry(division).await?;
            // The division, then its ancestors nearest first.
            let mut chain: Vec<u64> = ancestry
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .skip(1)
                .rev()
                .map(|c| c.as_u64())
                .collect();
            chain.insert(0, code);
            chains.insert(code, chain);
        }
        let scope_chain = plan
            .scope
            .and_then(|c| chains.get(&c.as_u64()).cloned())
            .unwrap_or_default();
        let chain = |code: u64| chains.get(&code).cloned().unwrap_or_else(|| vec![code]);
        Ok(Alignment {
            parent: plan.parent.clone(),
            misalignments: align(&plan, &ancestors, &scope_chain, &chain),
        })
    }
}
