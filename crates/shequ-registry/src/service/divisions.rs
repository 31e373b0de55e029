//! Reading the hierarchy: lookups, children, ancestors, search, leaf-unit counts, kind overrides.

use shequ_domain::{DivisionCode, DivisionLevel, LeafUnitKind};

use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;
use shequ_platform::methods::registry::division_service;

use super::Registry;
use crate::error::{RegistryError, Result};
use crate::store::divisions;
use crate::store::rows::DivisionRecord;
use shequ_platform::page;

/// One page of divisions and the token for the next.
#[derive(Debug)]
pub struct DivisionPage {
    pub divisions: Vec<DivisionRecord>,
    pub next_page_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeafUnitCounts {
    pub communities: u64,
    pub villages: u64,
}

impl Registry {
    pub async fn get_division(&self, code: DivisionCode) -> Result<DivisionRecord> {
        self.find_division(code).await?.ok_or_else(|| {
            RegistryError::NotFound(format!("division `divisions/{code}` not found"))
        })
    }

    pub async fn find_division(&self, code: DivisionCode) -> Result<Option<DivisionRecord>> {
        Ok(divisions::find(&self.db.conn, code).await?)
    }

    /// Children of `parent` (provinces when `None`), by code.
    pub async fn list_divisions(
        &self,
        parent: Option<DivisionCode>,
        page_size: i32,
        page_token: &str,
        show_retired: bool,
    ) -> Result<DivisionPage> {
        let size = page::page_size(page_size)?;
        let query = format!("children|{parent:?}|{show_retired}");
        let after: i64 = match page::decode(&query, page_token)? {
            Some(k) => k
                .parse()
                .map_err(|_| RegistryError::invalid("page_token", "is malformed"))?,
            None => 0,
        };
        if let Some(code) = parent {
            self.get_division(code).await?;
        }
        let rows = divisions::children(&self.db.conn, parent, show_retired, after, size as i64 + 1)
            .await?;
        Ok(paged(rows, size, &query, |r| r.code.to_string()))
    }

    /// Ancestors of a division from its stored parent chain, province first.
    pub async fn division_ancestors(&self, code: DivisionCode) -> Result<Vec<DivisionRecord>> {
        let division = self.get_division(code).await?;
        let codes: Vec<i64> = [
            Some(division.province_code),
            division.prefecture_code,
            division.county_code,
            division.township_code,
        ]
        .into_iter()
        .flatten()
        .filter(|&c| c != division.code)
        .collect();
        let mut rows = divisions::by_codes(&self.db.conn, &codes).await?;
        rows.sort_by_key(|r| r.level);
        Ok(rows)
    }

    /// Divisions whose name contains `query`, optionally under `parent` and at `level`, by code.
    pub async fn search_divisions(
        &self,
        query_text: &str,
        parent: Option<DivisionCode>,
        level: Option<DivisionLevel>,
        page_size: i32,
        page_token: &str,
    ) -> Result<DivisionPage> {
        let text = query_text.trim();
        if text.is_empty() || text.chars().count() > 50 {
            return Err(RegistryError::invalid(
                "query",
                "must be 1 to 50 characters",
            ));
        }
        let size = page::page_size(page_size)?;
        let query = format!("search|{text}|{parent:?}|{level:?}");
        let after: i64 = match page::decode(&query, page_token)? {
            Some(k) => k
                .parse()
                .map_err(|_| RegistryError::invalid("page_token", "is malformed"))?,
            None => 0,
        };
        let scope = match parent {
            Some(code) => Some((self.get_division(code).await?.scope_column(), code)),
            None => None,
        };
        let rows =
            divisions::search(&self.db.conn, text, scope, level, after, size as i64 + 1).await?;
        Ok(paged(rows, size, &query, |r| r.code.to_string()))
    }

    /// Leaf units under a division (a leaf unit counts itself; `None` is the whole country), by
    /// kind; retired units excluded.
    pub async fn count_leaf_units(&self, code: Option<DivisionCode>) -> Result<LeafUnitCounts> {
        let scope = match code {
            Some(code) => Some((self.get_division(code).await?.scope_column(), code)),
            None => None,
        };
        let mut counts = LeafUnitCounts::default();
        for (kind, n) in divisions::count_leaf_units(&self.db.conn, scope).await? {
            match kind.as_deref().and_then(LeafUnitKind::parse) {
                Some(LeafUnitKind::Community) => counts.communities += n as u64,
                Some(LeafUnitKind::Village) | None => counts.villages += n as u64,
            }
        }
        Ok(counts)
    }

    /// Overrides the inferred kind of a leaf unit; later imports keep the override.
    pub async fn set_leaf_unit_kind(
        &self,
        code: DivisionCode,
        kind: LeafUnitKind,
        actor: &str,
        principal: &Principal,
    ) -> Result<DivisionRecord> {
        let division = self.get_division(code).await?;
        if !division.level().is_leaf() {
            return Err(RegistryError::invalid(
                "division.name",
                format!("`divisions/{code}` is not a leaf unit; only leaf units have a kind"),
            ));
        }
        let txn = self.begin_write().await?;
        divisions::override_kind(&*txn, code, kind).await?;
        self.audit
            .record(
                &*txn,
                &AuditEntry {
                    principal,
                    method: division_service::UPDATE_DIVISION,
                    resource: format!("divisions/{code}"),
                    division: Some(code),
                    action: "updated",
                    reason: "",
                },
            )
            .await?;
        txn.commit().await?;
        self.audit.committed();
        // Leaf-unit kinds shown on facilities may have changed.
        self.cache.clear();
        tracing::info!(division = %code, kind = kind.as_str(), actor, "leaf-unit kind overridden");
        self.get_division(code).await
    }
}

/// Cuts one extra fetched row off and turns it into the next page token.
fn paged(
    mut rows: Vec<DivisionRecord>,
    size: u64,
    query: &str,
    key: impl Fn(&DivisionRecord) -> String,
) -> DivisionPage {
    let next_page_token = if rows.len() as u64 > size {
        rows.truncate(size as usize);
        rows.last()
            .map(|r| page::encode(query, &key(r)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    DivisionPage {
        divisions: rows,
        next_page_token,
    }
}
