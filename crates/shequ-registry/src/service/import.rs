//! Import of the statistical division CSV files: parse, resolve parent links from the data,
//! diff against what is stored, and write everything in one transaction or nothing.

mod files;

use std::collections::{BTreeMap, HashMap, HashSet};

use shequ_domain::{LeafUnitKind, TextRule, Violations};
use tracing::info;

pub use files::DivisionFile;
use files::{Problems, gunzip_if_needed, merge_same_unit_rows, parse_file};

use super::Registry;
use crate::error::{RegistryError, Result};
use crate::store::divisions::{self, ImportedDivision as Resolved};
use crate::store::imports::{self, ImportRecord};
use crate::store::now_micros;
use crate::store::rows::DivisionRecord;

/// What the caller sends: the vintage and the raw (plain or gzipped) bytes of some of the files.
#[derive(Debug, Default)]
pub struct ImportRequest {
    pub vintage: String,
    pub files: BTreeMap<DivisionFile, Vec<u8>>,
    pub validate_only: bool,
    pub retire_missing: bool,
    pub actor: String,
    /// The authenticated principal; `None` is the development principal.
    pub principal: Option<std::sync::Arc<shequ_platform::Principal>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub vintage: String,
    pub rows: BTreeMap<DivisionFile, u64>,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub retired: u64,
    /// Rows merged into a row of another level naming the same unit.
    pub merged: u64,
    pub validate_only: bool,
}

impl Registry {
    /// Imports divisions. Malformed rows refuse the whole import with their file and line; nothing
    /// is written unless everything is valid, and then everything is written in one transaction.
    pub async fn import_divisions(&self, request: ImportRequest) -> Result<ImportReport> {
        let mut bad = Violations::new();
        let vintage = TextRule::required(64).apply(&mut bad, "vintage", &request.vintage);
        if !bad.is_empty() {
            return Err(RegistryError::Invalid(bad));
        }
        if request.files.is_empty() {
            return Err(RegistryError::invalid("file", "no division file was sent"));
        }
        let started = std::time::Instant::now();
        let mut problems = Problems {
            violations: Violations::new(),
            more: 0,
        };
        let mut parsed = Vec::new();
        let mut report = ImportReport {
            vintage: vintage.clone(),
            validate_only: request.validate_only,
            ..Default::default()
        };
        for (file, bytes) in request.files {
            let bytes = gunzip_if_needed(bytes).map_err(|e| {
                RegistryError::invalid("data", format!("{}: not valid gzip: {e}", file.file_name()))
            })?;
            let rows = parse_file(file, &bytes, &mut parsed, &mut problems);
            report.rows.insert(file, rows);
        }

        let existing: HashMap<i64, DivisionRecord> = divisions::all(&self.db.conn)
            .await?
            .into_iter()
            .map(|r| (r.code, r))
            .collect();

        let merged = merge_same_unit_rows(&mut parsed);
        report.merged = merged.rows;
        // Resolve level by level so every parent is known before its children.
        parsed.sort_by_key(|r| (r.file, r.code));
        let mut resolved: HashMap<i64, Resolved> = HashMap::with_capacity(parsed.len());
        let mut order: Vec<i64> = Vec::with_capacity(parsed.len());
        for row in &parsed {
            if resolved.contains_key(&row.code) {
                problems.push(
                    row.file,
                    row.line,
                    format!("code `{}` appears twice", row.code),
                );
                continue;
            }
            let level = row.file.level();
            let ancestors = match row.parent {
                None => [Some(row.code), None, None, None],
                Some(parent) => {
                    let known = resolved
                        .get(&parent)
                        .cloned()
                        .or_else(|| existing.get(&parent).map(Resolved::of));
                    let Some(p) = known else {
                        problems.push(
                            row.file,
                            row.line,
                            format!("parent `{parent}` is not in this import or the registry"),
                        );
                        continue;
                    };
                    let one_up = p.level == i32::from(level.number()) - 1;
                    let skips_merged =
                        p.level < i32::from(level.number()) && merged.codes.contains(&row.code);
                    if !one_up && !skips_merged {
                        problems.push(
                            row.file,
                            row.line,
                            format!("parent `{parent}` is not one level up"),
                        );
                        continue;
                    }
                    let mut a = p.ancestors;
                    a[p.level as usize - 1] = Some(parent);
                    a
                }
            };
            let mut consistent = true;
            for &(column, stated_level, code) in &row.stated {
                let actual = ancestors[stated_level.number() as usize - 1];
                let merged_in_chain = merged.codes.contains(&code)
                    && (code == row.code || ancestors.contains(&Some(code)));
                if actual != Some(code) && !merged_in_chain {
                    problems.push(
                        row.file,
                        row.line,
                        format!(
                            "`{column}` is `{code}` but the parent chain gives `{}`",
                            actual.unwrap_or(0)
                        ),
                    );
                    consistent = false;
                }
            }
            if !consistent {
                continue;
            }
            let previous = existing.get(&row.code);
            let (kind, kind_overridden) = if !level.is_leaf() {
                (None, false)
            } else if let Some(k) = row.kind {
                (Some(k.as_str().to_owned()), true)
            } else if let Some(p) = previous.filter(|p| p.kind_overridden != 0) {
                (p.kind.clone(), true)
            } else {
                (
                    Some(LeafUnitKind::infer_from_name(&row.name).as_str().to_owned()),
                    false,
                )
            };
            resolved.insert(
                row.code,
                Resolved {
                    level: i32::from(level.number()),
                    name: row.name.clone(),
                    parent: row.parent,
                    ancestors,
                    kind,
                    kind_overridden,
                },
            );
            order.push(row.code);
        }
        if !problems.violations.is_empty() {
            if problems.more > 0 {
                problems
                    .violations
                    .push("data", format!("and {} more problems", problems.more));
            }
            return Err(RegistryError::Invalid(problems.violations));
        }

        let mut writes: Vec<(i64, &Resolved)> = Vec::new();
        for code in &order {
            let new = &resolved[code];
            match existing.get(code) {
                Some(old)
                    if Resolved::of(old) == *new && old.vintage == vintage && old.retired == 0 =>
                {
                    report.unchanged += 1;
                }
                Some(_) => {
                    report.updated += 1;
                    writes.push((*code, new));
                }
                None => {
                    report.inserted += 1;
                    writes.push((*code, new));
                }
            }
        }
        let mut retire = Vec::new();
        if request.retire_missing {
            let provinces: HashSet<i64> =
                resolved.values().filter_map(|r| r.ancestors[0]).collect();
            retire = existing
                .values()
                .filter(|r| {
                    r.retired == 0
                        && provinces.contains(&r.province_code)
                        && !resolved.contains_key(&r.code)
                })
                .map(|r| r.code)
                .collect();
            retire.sort_unstable();
            report.retired = retire.len() as u64;
        }
        if request.validate_only {
            return Ok(report);
        }

        let txn = self.begin_write().await?;
        divisions::upsert(&*txn, &writes, &vintage).await?;
        divisions::retire(&*txn, &retire).await?;
        imports::insert(
            &*txn,
            &ImportRecord {
                vintage: &vintage,
                at: now_micros(),
                actor: &request.actor,
                inserted: report.inserted,
                updated: report.updated,
                unchanged: report.unchanged,
                retired: report.retired,
            },
        )
        .await?;
        let principal = request
            .principal
            .unwrap_or_else(|| std::sync::Arc::new(shequ_platform::Principal::development()));
        let reason = format!(
            "vintage {vintage}: {} inserted, {} updated, {} retired",
            report.inserted, report.updated, report.retired
        );
        self.audit
            .record(
                &*txn,
                &shequ_platform::audit::AuditEntry {
                    principal: &principal,
                    method: shequ_platform::methods::registry::division_service::IMPORT_DIVISIONS,
                    resource: "divisions".to_owned(),
                    division: None,
                    action: "imported",
                    reason: &reason,
                },
            )
            .await?;
        txn.commit().await?;
        self.audit.committed();
        // Leaf-unit kinds shown on facilities may have changed.
        self.cache.clear();
        divisions::refresh_statistics(&self.db.conn).await?;
        info!(
            vintage = %vintage,
            inserted = report.inserted,
            updated = report.updated,
            unchanged = report.unchanged,
            retired = report.retired,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "divisions imported"
        );
        Ok(report)
    }
}
