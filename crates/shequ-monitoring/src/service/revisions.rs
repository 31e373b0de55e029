//! Target revisions: recorded by an officer at the plan's level (audited, with the reason), read
//! by anyone who may read the plan, and laid over the plan's targets when it is evaluated.

use chrono::NaiveDate;
use shequ_domain::{DivisionCode, Violations};
use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;
use shequ_platform::page;

use crate::error::{MonitoringError, Result};
use crate::names::{division_name, plan_name};
use crate::plan::{PlanDef, RevisionDef, RevisionSpec};
use crate::service::Monitoring;
use crate::store::{Store, now_micros};

/// The RPC that revises targets, as the audit trail names it.
pub use shequ_platform::methods::monitoring::plan_service::REVISE_TARGET;

/// `plans/{id}/revisions/{n}`
pub fn revision_name(plan_id: &str, number: i64) -> String {
    format!("{}/revisions/{number}", plan_name(plan_id))
}

impl Monitoring {
    /// Checks and records a revision of one of plan `plan_id`'s targets.
    pub async fn revise_target(
        &self,
        principal: &Principal,
        plan_id: &str,
        spec: RevisionSpec,
        actor: &str,
    ) -> Result<RevisionDef> {
        let plan = self.writable_plan(principal, plan_id).await?;
        let mut revision = spec.validate(&plan)?;
        if let Some(code) = revision.division {
            self.check_revision_in_scope(&plan, code).await?;
        }
        revision.actor = actor.to_owned();
        revision.create_time = now_micros();
        let txn = self.begin_write().await?;
        revision.number = Store::on(&*txn)
            .insert_revision(&plan.id, &revision)
            .await?;
        self.audit
            .record(
                &*txn,
                &AuditEntry {
                    principal,
                    method: REVISE_TARGET,
                    resource: revision_name(&plan.id, revision.number),
                    division: plan.scope,
                    action: "revised",
                    reason: &revision.reason,
                },
            )
            .await?;
        txn.commit().await?;
        self.audit.committed();
        tracing::info!(plan = %plan.id, revision = revision.number, "target revised");
        Ok(revision)
    }

    /// A revised division must be known to the registry and lie below the plan's scope.
    async fn check_revision_in_scope(&self, plan: &PlanDef, code: u64) -> Result<()> {
        let division =
            DivisionCode::from_u64(code).map_err(|e| MonitoringError::Internal(e.to_string()))?;
        let mut v = Violations::new();
        match self.ancestry(division).await? {
            None => v.push(
                "revision.division",
                format!(
                    "division `{}` is not known to the registry",
                    division_name(division)
                ),
            ),
            Some(ancestry) => {
                if let Some(scope) = plan.scope
                    && !ancestry.contains(&scope)
                {
                    v.push(
                        "revision.division",
                        format!(
                            "`{}` lies outside the plan's scope `{}`",
                            division_name(division),
                            division_name(scope)
                        ),
                    );
                }
            }
        }
        Ok(v.into_result(())?)
    }

    /// One page of plan `plan_id`'s revisions, in the order recorded, and the next page's token.
    pub async fn list_target_revisions(
        &self,
        principal: &Principal,
        plan_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<RevisionDef>, String)> {
        let plan = self.readable_plan(principal, plan_id).await?;
        let size = page::page_size(page_size)?;
        let query = format!("revisions of {}", plan.id);
        let after = match page::decode(&query, page_token)? {
            Some(n) => n.parse::<i64>().map_err(|_| {
                MonitoringError::invalid("page_token", "is not a token of this listing")
            })?,
            None => 0,
        };
        let mut rows = self
            .store()
            .revisions_after(&plan.id, after, size + 1)
            .await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next = match rows.last() {
            Some(last) if more => page::encode(&query, &last.number.to_string()),
            _ => String::new(),
        };
        Ok((rows, next))
    }

    /// Plan `plan` with the revisions effective by `date` laid over its targets.
    pub async fn plan_in_force(&self, plan: PlanDef, date: NaiveDate) -> Result<PlanDef> {
        let revisions = self
            .store()
            .revisions_after(&plan.id, 0, u64::MAX >> 1)
            .await?;
        Ok(if revisions.is_empty() {
            plan
        } else {
            plan.revised_on(&revisions, date)
        })
    }
}
