//! Regional authorization: a principal acts only inside its divisions, by the registry's parent
//! links, never by the digits of codes. A round's division is its region (the whole country for a
//! national round), a response's is its leaf unit, results and coverage are those of the division
//! asked for. Checks run before anything is looked up further, so for a regional principal a
//! resource outside its scope is PERMISSION_DENIED whether it exists or not.
//!
//! Ancestries come from the round's region map (leaf units) or from the registry's
//! `ListDivisionAncestors` (any other division), remembered for a minute by the platform's
//! registry client.

use std::sync::Arc;

use shequ_domain::DivisionCode;
use shequ_platform::Principal;
use shequ_platform::auth::Scope;

use super::{RoundContext, Survey};
use crate::error::{Result, SurveyError};
use crate::names::{division_name, parse_division_name, response_name, round_name};

/// How a round's region relates to a principal's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The whole region lies in the scope.
    Inside,
    /// The region holds some of the scope (a regional principal and a national or provincial
    /// round): the round may be read, and acted on only inside the scope.
    Above,
}

/// What a principal needs of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// To read it or act on its part inside the scope: the region holds or lies in the scope.
    Part,
    /// To create, open, close or export it: the whole region in scope.
    Whole,
}

pub(crate) fn denied(principal: &Principal, resource: &str) -> SurveyError {
    SurveyError::PermissionDenied(format!(
        "`{resource}` is outside the divisions `{}` may act in",
        principal.subject
    ))
}

/// A round's region as named in messages: `divisions/{code}` or the whole country.
fn region_label(region: Option<DivisionCode>) -> String {
    match region {
        Some(code) => format!("`{}`", division_name(code)),
        None => "the whole country".to_owned(),
    }
}

impl Survey {
    /// Division `code` and its ancestors by the registry's parent links; a code the registry
    /// does not know is only itself.
    pub(crate) async fn ancestry(&self, code: DivisionCode) -> Result<Arc<[DivisionCode]>> {
        Ok(self
            .registry
            .ancestry(code)
            .await?
            .unwrap_or_else(|| Arc::from([code])))
    }

    /// How the region `region` (`None`: the whole country) relates to the principal's scope;
    /// `None` when it lies beside it.
    pub(crate) async fn reach(
        &self,
        principal: &Principal,
        region: Option<DivisionCode>,
    ) -> Result<Option<Reach>> {
        let Scope::Within(scope) = &principal.scope else {
            return Ok(Some(Reach::Inside));
        };
        if scope.is_empty() {
            return Ok(None);
        }
        let Some(region) = region else {
            return Ok(Some(Reach::Above));
        };
        if principal
            .scope
            .contains_any(self.ancestry(region).await?.iter().copied())
        {
            return Ok(Some(Reach::Inside));
        }
        for own in scope {
            if self.ancestry(*own).await?.contains(&region) {
                return Ok(Some(Reach::Above));
            }
        }
        Ok(None)
    }

    /// Round `id` as far as `need` asks, with its context. For a regional principal a round that
    /// does not exist is refused like one outside its scope.
    pub(crate) async fn authorize_round(
        &self,
        principal: &Principal,
        id: &str,
        need: Need,
    ) -> Result<Arc<RoundContext>> {
        let ctx = match self.round_context(id).await {
            Err(SurveyError::NotFound(_)) if !principal.scope.is_national() => {
                return Err(denied(principal, &round_name(id)));
            }
            other => other?,
        };
        let region = ctx.region.map(|r| r.0);
        match (self.reach(principal, region).await?, need) {
            (Some(Reach::Inside), _) | (Some(Reach::Above), Need::Part) => Ok(ctx),
            (Some(Reach::Above), Need::Whole) => Err(SurveyError::PermissionDenied(format!(
                "`{}` covers {}, more than the divisions `{}` may act in",
                round_name(id),
                region_label(region),
                principal.subject
            ))),
            (None, _) => Err(denied(principal, &round_name(id))),
        }
    }

    /// Creating a round over `region` needs the whole region in scope (national scope for the
    /// whole country).
    pub(crate) async fn authorize_region(
        &self,
        principal: &Principal,
        region: Option<DivisionCode>,
    ) -> Result<()> {
        match self.reach(principal, region).await? {
            Some(Reach::Inside) => Ok(()),
            _ => Err(SurveyError::PermissionDenied(format!(
                "a round over {} needs it all inside the divisions `{}` may act in",
                region_label(region),
                principal.subject
            ))),
        }
    }

    /// Results or coverage of `division` of a round (`None`: the round's whole region): the
    /// division must lie in scope.
    pub(crate) async fn authorize_part(
        &self,
        principal: &Principal,
        ctx: &RoundContext,
        division: Option<DivisionCode>,
    ) -> Result<()> {
        if principal.scope.is_national() {
            return Ok(());
        }
        let Some(target) = division.or(ctx.region.map(|r| r.0)) else {
            return Err(SurveyError::PermissionDenied(format!(
                "the whole country's figures of `{}` need national scope; `{}` acts only in some divisions, so name one",
                round_name(&ctx.id),
                principal.subject
            )));
        };
        if principal
            .scope
            .contains_any(self.ancestry(target).await?.iter().copied())
        {
            Ok(())
        } else {
            Err(denied(principal, &division_name(target)))
        }
    }

    /// Leaf unit `unit` of round `ctx` must lie in scope (a response's division).
    pub(crate) async fn authorize_unit(
        &self,
        principal: &Principal,
        ctx: &Arc<RoundContext>,
        unit: DivisionCode,
    ) -> Result<()> {
        if principal.scope.is_national() {
            return Ok(());
        }
        let inside = match self.locate_unit(ctx, unit).await? {
            Ok(a) => principal.scope.contains_any(
                [
                    Some(a.province),
                    a.prefecture,
                    a.county,
                    a.township,
                    Some(unit.as_i64()),
                ]
                .into_iter()
                .flatten()
                .filter_map(|c| DivisionCode::from_u64(c as u64).ok()),
            ),
            // Not a leaf unit of the round: placed by the registry, so what is refused for lying
            // outside the scope says nothing more about it.
            Err(_) => principal
                .scope
                .contains_any(self.ancestry(unit).await?.iter().copied()),
        };
        if inside {
            Ok(())
        } else {
            Err(denied(principal, &division_name(unit)))
        }
    }

    /// A submitted response's leaf unit, as named, must lie in scope; a malformed name is left
    /// to validation.
    pub(crate) async fn authorize_leaf_unit(
        &self,
        principal: &Principal,
        ctx: &Arc<RoundContext>,
        name: &str,
    ) -> Result<()> {
        if principal.scope.is_national() {
            return Ok(());
        }
        match parse_division_name("leaf_unit", name) {
            Ok(unit) => self.authorize_unit(principal, ctx, unit).await,
            Err(_) => Ok(()),
        }
    }

    /// Response `response_id` of round `round_id`, by its leaf unit. For a regional principal a
    /// response that does not exist is refused like one outside its scope.
    pub(crate) async fn authorize_response(
        &self,
        principal: &Principal,
        round_id: &str,
        response_id: &str,
    ) -> Result<()> {
        let ctx = self
            .authorize_round(principal, round_id, Need::Part)
            .await?;
        if principal.scope.is_national() {
            return Ok(());
        }
        let resource = response_name(round_id, response_id);
        let record = match self.get_response(round_id, response_id).await {
            Err(SurveyError::NotFound(_)) => return Err(denied(principal, &resource)),
            other => other?,
        };
        let unit = DivisionCode::from_u64(record.leaf_code as u64)
            .map_err(|e| SurveyError::Internal(e.to_string()))?;
        self.authorize_unit(principal, &ctx, unit)
            .await
            .map_err(|e| match e {
                SurveyError::PermissionDenied(_) => denied(principal, &resource),
                other => other,
            })
    }

    /// The facts stream hands out every leaf unit of the round: national scope, whatever the
    /// principal's kind or roles (a service's token is scoped like anyone's).
    pub(crate) fn authorize_facts(&self, principal: &Principal, round_id: &str) -> Result<()> {
        if principal.scope.is_national() {
            Ok(())
        } else {
            Err(SurveyError::PermissionDenied(format!(
                "the facts of `{}` cover every leaf unit of its region and need national scope; `{}` acts only in some divisions",
                round_name(round_id),
                principal.subject
            )))
        }
    }
}
