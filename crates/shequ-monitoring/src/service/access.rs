//! Regional authorization: a principal acts only inside its divisions, by the hierarchy's parent
//! links, never by the digits of codes. The check runs on the resource's division before anything
//! else, so for a regional principal a resource outside the scope is PERMISSION_DENIED whether or
//! not it exists; only a national principal sees NOT_FOUND.
//!
//! Where a resource's ancestry comes from:
//! - a stored evaluation's results: each row names its parent (`parent_code`), taken from the
//!   ancestor codes the registry's facts carry, so a division's ancestry in an evaluation is the
//!   chain of parents up to the evaluation's root;
//! - any other division (a reported value's, a plan's scope, the principal's own divisions): the
//!   registry's `ListDivisionAncestors`, called with the monitor's own credentials through the
//!   platform's registry client, which remembers an answer for a minute (a code the registry does
//!   not know, or a failure, is asked about again).
//!
//! Plans: writing one (create, load, evaluate) needs a `plan.officer` at its level: its division
//! in scope (a province, prefecture, county or township), national scope for a national plan.
//! Reading one (and its evaluations' list) needs the plan to overlap the scope: a national plan,
//! a plan of a division in scope or below one, or of a division some division of the scope lies
//! in. Reading results needs the division in
//! scope; a division above the scope (the whole evaluation of a plan wider than the scope
//! included) is refused, since its aggregate covers what lies outside.

use std::sync::Arc;

use shequ_domain::DivisionCode;
use shequ_platform::Principal;
use shequ_platform::auth::Scope;

use crate::error::{MonitoringError, Result};
use crate::names::division_name;
use crate::plan::PlanDef;
use crate::service::Monitoring;
use crate::service::results::LoadedEvaluation;

/// A division itself and its ancestors, or `None` for a code the registry does not know.
pub(crate) type Ancestry = Option<Arc<[DivisionCode]>>;

pub(crate) fn denied(principal: &Principal, resource: &str) -> MonitoringError {
    MonitoringError::PermissionDenied(format!(
        "`{resource}` is outside the divisions `{}` may act in",
        principal.subject
    ))
}

impl Monitoring {
    /// The whole country: only a principal with national scope.
    pub fn require_national(&self, principal: &Principal, what: &str) -> Result<()> {
        if principal.scope.is_national() {
            Ok(())
        } else {
            Err(MonitoringError::PermissionDenied(format!(
                "{what} needs national scope; `{}` acts only in some divisions",
                principal.subject
            )))
        }
    }

    /// `code` and its ancestors by the registry's parent links; `None` when the registry does not
    /// know it.
    pub(crate) async fn ancestry(&self, code: DivisionCode) -> Result<Ancestry> {
        Ok(self.sources.registry().ancestry(code).await?)
    }

    /// Division `code` must lie in scope. For a regional principal a code the registry does not
    /// know is refused the same way.
    pub async fn authorize_division(
        &self,
        principal: &Principal,
        code: DivisionCode,
    ) -> Result<()> {
        let Scope::Within(scope) = &principal.scope else {
            return Ok(());
        };
        if scope.contains(&code) {
            return Ok(());
        }
        match self.ancestry(code).await? {
            Some(ancestry) if principal.scope.contains_any(ancestry.iter().copied()) => Ok(()),
            _ => Err(denied(principal, &division_name(code))),
        }
    }

    /// As [`Monitoring::authorize_division`], for a division that must exist: one the registry
    /// does not know is NOT_FOUND once the scope allows it (a regional principal is refused first
    /// for anything outside its scope, so probing says nothing).
    pub async fn authorize_known_division(
        &self,
        principal: &Principal,
        code: DivisionCode,
    ) -> Result<()> {
        self.authorize_division(principal, code).await?;
        match self.ancestry(code).await? {
            Some(_) => Ok(()),
            None => Err(MonitoringError::NotFound(format!(
                "division `{}` not found",
                division_name(code)
            ))),
        }
    }

    /// The plan scopes (`monitoring_plans.scope_code`) a regional principal may read: the country
    /// (0), every division of the scope and every ancestor of one. `None`: all (national scope).
    pub async fn readable_plan_scopes(&self, principal: &Principal) -> Result<Option<Vec<i64>>> {
        let Scope::Within(scope) = &principal.scope else {
            return Ok(None);
        };
        let mut codes = vec![0];
        for &own in scope {
            match self.ancestry(own).await? {
                Some(ancestry) => codes.extend(ancestry.iter().map(|c| c.as_i64())),
                None => codes.push(own.as_i64()),
            }
        }
        codes.sort_unstable();
        codes.dedup();
        Ok(Some(codes))
    }

    /// Whether `plan` overlaps the principal's scope (see the module's rules).
    pub async fn plan_readable(&self, principal: &Principal, plan: &PlanDef) -> Result<bool> {
        let Some(scope) = plan.scope else {
            return Ok(true);
        };
        if principal.scope.contains_any([scope]) {
            return Ok(true);
        }
        let codes = match self.readable_plan_scopes(principal).await? {
            None => return Ok(true),
            Some(codes) => codes,
        };
        if codes.contains(&scope.as_i64()) {
            return Ok(true);
        }
        // A plan of a division inside the scope (a prefecture's plan, read in its province).
        Ok(match self.ancestry(scope).await? {
            Some(ancestry) => principal.scope.contains_any(ancestry.iter().copied()),
            None => false,
        })
    }

    /// Plan `id`, which the principal may read; refused when it does not overlap the scope (for
    /// a regional principal also when it does not exist).
    pub async fn readable_plan(&self, principal: &Principal, id: &str) -> Result<PlanDef> {
        match self.find_plan(id).await? {
            Some(plan) if self.plan_readable(principal, &plan).await? => Ok(plan),
            None if principal.scope.is_national() => Err(MonitoringError::NotFound(format!(
                "plan `plans/{id}` not found"
            ))),
            _ => Err(denied(principal, &format!("plans/{id}"))),
        }
    }

    /// A plan at `scope` (`None`: the national plan) may be written only by a principal at that
    /// level: holding the province, or national.
    pub async fn authorize_plan_level(
        &self,
        principal: &Principal,
        scope: Option<DivisionCode>,
    ) -> Result<()> {
        match scope {
            None => self.require_national(principal, "the national plan"),
            Some(province) => self.authorize_division(principal, province).await,
        }
    }

    /// Plan `id`, which the principal may write (evaluate): it exists and lies at the principal's
    /// level. For a regional principal an unknown plan is refused.
    pub async fn writable_plan(&self, principal: &Principal, id: &str) -> Result<PlanDef> {
        let plan = self.readable_plan(principal, id).await?;
        self.authorize_plan_level(principal, plan.scope).await?;
        Ok(plan)
    }

    /// Evaluation `id` of plan `plan_id`, once the plan may be read.
    pub async fn readable_evaluation(
        &self,
        principal: &Principal,
        plan_id: &str,
        id: &str,
    ) -> Result<LoadedEvaluation> {
        self.readable_plan(principal, plan_id).await?;
        self.load_evaluation(plan_id, id).await
    }

    /// The results of `division` in `eval` (`None`: its root) may be read only when the division
    /// lies in scope by the evaluation's own parent links. A division the evaluation does not hold
    /// is refused for a regional principal.
    pub async fn authorize_result(
        &self,
        principal: &Principal,
        eval: &LoadedEvaluation,
        division: Option<DivisionCode>,
    ) -> Result<()> {
        if principal.scope.is_national() {
            return Ok(());
        }
        let resource = match division {
            Some(code) => format!(
                "{}/{}",
                crate::names::evaluation_name(&eval.record.plan_id, &eval.record.id),
                division_name(code)
            ),
            None => crate::names::evaluation_name(&eval.record.plan_id, &eval.record.id),
        };
        let start = match division {
            Some(code) => code.as_i64(),
            None => {
                // The root: the plan's scope, or the country (never inside a regional scope).
                let root = self.division_row(eval, None).await?;
                if root.code == 0 {
                    return Err(denied(principal, &resource));
                }
                root.code
            }
        };
        let mut code = start;
        // At most the five levels; the bound guards against a cycle in stored data.
        for _ in 0..6 {
            let Ok(division) = DivisionCode::from_u64(code as u64) else {
                break;
            };
            if principal.scope.contains_any([division]) {
                return Ok(());
            }
            let parent = self.store().result_parent(&eval.record.id, code).await?;
            match parent {
                Some(parent) if parent != 0 => code = parent,
                _ => break,
            }
        }
        Err(denied(principal, &resource))
    }
}
