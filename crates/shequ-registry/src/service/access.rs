//! Regional authorization: a principal acts only inside its divisions. Containment follows the
//! hierarchy's parent links as stored in each division's ancestor columns, never the digits of
//! the codes. The check runs on the resource's division before anything else, so a resource
//! outside the scope is PERMISSION_DENIED whether or not it exists; listings under a division
//! above the scope keep only what lies inside it.

use std::collections::HashSet;

use shequ_domain::DivisionCode;
use shequ_platform::Principal;
use shequ_platform::auth::Scope;

use super::Registry;
use crate::error::{RegistryError, Result};
use crate::store::rows::DivisionRecord;
use crate::store::{divisions, facilities};

/// Where a listing's parent lies relative to the caller's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Everything under it is in scope.
    Inside,
    /// It is above the scope: only part of what lies under it is in scope.
    Above,
}

/// The division itself and each of its ancestors, by parent links.
pub fn ancestry(record: &DivisionRecord) -> impl Iterator<Item = DivisionCode> + '_ {
    [
        Some(record.code),
        Some(record.province_code),
        record.prefecture_code,
        record.county_code,
        record.township_code,
    ]
    .into_iter()
    .flatten()
    .filter_map(|c| DivisionCode::from_u64(c as u64).ok())
}

/// Whether `record` lies in the principal's scope.
pub fn covers(principal: &Principal, record: &DivisionRecord) -> bool {
    principal.scope.contains_any(ancestry(record))
}

fn denied(principal: &Principal, resource: &str) -> RegistryError {
    RegistryError::PermissionDenied(format!(
        "`{resource}` is outside the divisions `{}` may act in",
        principal.subject
    ))
}

impl Registry {
    /// The whole country: only a principal with national scope.
    pub fn require_national(&self, principal: &Principal, what: &str) -> Result<()> {
        if principal.scope.is_national() {
            Ok(())
        } else {
            Err(RegistryError::PermissionDenied(format!(
                "{what} needs national scope; `{}` acts only in some divisions",
                principal.subject
            )))
        }
    }

    /// Division `code` must lie in scope. For a regional principal an unknown code is refused
    /// the same way, so probing codes tells nothing about divisions outside the scope.
    pub async fn authorize_division(
        &self,
        principal: &Principal,
        code: DivisionCode,
    ) -> Result<()> {
        if principal.scope.is_national() {
            return Ok(());
        }
        match self.find_division(code).await? {
            Some(record) if covers(principal, &record) => Ok(()),
            _ => Err(denied(principal, &format!("divisions/{code}"))),
        }
    }

    /// Facility `id` must lie in scope, by its leaf unit; deleted facilities count too.
    pub async fn authorize_facility(&self, principal: &Principal, id: &str) -> Result<()> {
        if principal.scope.is_national() {
            return Ok(());
        }
        let leaf = facilities::leaf_code(&self.db.conn, id).await?;
        let resource = format!("facilities/{id}");
        let Some(leaf) = leaf else {
            return Err(denied(principal, &resource));
        };
        let code = DivisionCode::from_u64(leaf as u64)
            .map_err(|e| RegistryError::Internal(e.to_string()))?;
        match self.find_division(code).await? {
            Some(record) if covers(principal, &record) => Ok(()),
            _ => Err(denied(principal, &resource)),
        }
    }

    /// How a listing under `parent` (`None`: the country) relates to the scope: inside it, above
    /// it (to be filtered), or outside it (refused).
    pub async fn reach(
        &self,
        principal: &Principal,
        parent: Option<DivisionCode>,
    ) -> Result<Reach> {
        let Scope::Within(scope) = &principal.scope else {
            return Ok(Reach::Inside);
        };
        let Some(parent) = parent else {
            return Ok(Reach::Above);
        };
        let resource = format!("divisions/{parent}");
        let Some(record) = self.find_division(parent).await? else {
            return Err(denied(principal, &resource));
        };
        if covers(principal, &record) {
            return Ok(Reach::Inside);
        }
        for own in self.divisions_by_code(scope.iter().copied()).await? {
            if ancestry(&own).any(|c| c == parent) {
                return Ok(Reach::Above);
            }
        }
        Err(denied(principal, &resource))
    }

    /// Of the leaf units `codes`, those in the principal's scope.
    pub async fn leaf_units_in_scope(
        &self,
        principal: &Principal,
        codes: impl IntoIterator<Item = i64>,
    ) -> Result<HashSet<i64>> {
        let codes: HashSet<i64> = codes.into_iter().collect();
        if principal.scope.is_national() {
            return Ok(codes);
        }
        let records = self
            .divisions_by_code(
                codes
                    .iter()
                    .filter_map(|c| DivisionCode::from_u64(*c as u64).ok()),
            )
            .await?;
        Ok(records
            .iter()
            .filter(|r| covers(principal, r))
            .map(|r| r.code)
            .collect())
    }

    /// Every leaf unit of a batch must lie in scope; the first one outside names its request
    /// (`requests[i]`). Unknown codes are refused the same way for a regional principal.
    pub async fn authorize_batch(
        &self,
        principal: &Principal,
        leaves: &[(usize, DivisionCode)],
    ) -> Result<()> {
        if principal.scope.is_national() || leaves.is_empty() {
            return Ok(());
        }
        let known: std::collections::HashMap<i64, DivisionRecord> = self
            .divisions_by_code(leaves.iter().map(|(_, c)| *c))
            .await?
            .into_iter()
            .map(|r| (r.code, r))
            .collect();
        for (i, code) in leaves {
            if !known
                .get(&code.as_i64())
                .is_some_and(|r| covers(principal, r))
            {
                return Err(RegistryError::PermissionDenied(format!(
                    "`requests[{i}]`: `divisions/{code}` is outside the divisions `{}` may act in",
                    principal.subject
                )));
            }
        }
        Ok(())
    }

    pub(crate) async fn divisions_by_code(
        &self,
        codes: impl IntoIterator<Item = DivisionCode>,
    ) -> Result<Vec<DivisionRecord>> {
        let codes: Vec<i64> = codes.into_iter().map(DivisionCode::as_i64).collect();
        Ok(divisions::by_codes(&self.db.conn, &codes).await?)
    }
}
