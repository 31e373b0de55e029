//! Import of the statistical division CSV files: parse, resolve parent links from the data,
//! diff against what is stored, and write everything in one transaction or nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use flate2::read::GzDecoder;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Value};
use shequ_domain::{DivisionCode, DivisionLevel, LeafUnitKind, TextRule, Violations};
use tracing::info;

use super::Registry;
use crate::error::{RegistryError, Result};
use crate::store::rows::{DIVISION_COLUMNS, DivisionRecord};
use crate::store::{now_micros, stmt};

/// Violations listed in full before the rest are only counted.
const MAX_REPORTED: usize = 50;
/// Rows per multi-row INSERT: 11 bound values each stays under both backends' bind limits.
const ROWS_PER_INSERT: usize = 1000;

/// The five files of the statistical division data, one per level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DivisionFile {
    Provinces,
    Cities,
    Areas,
    Streets,
    Villages,
}

impl DivisionFile {
    pub const ALL: [DivisionFile; 5] = [
        Self::Provinces,
        Self::Cities,
        Self::Areas,
        Self::Streets,
        Self::Villages,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            Self::Provinces => "provinces.csv",
            Self::Cities => "cities.csv",
            Self::Areas => "areas.csv",
            Self::Streets => "streets.csv",
            Self::Villages => "villages.csv",
        }
    }

    pub fn level(self) -> DivisionLevel {
        match self {
            Self::Provinces => DivisionLevel::Province,
            Self::Cities => DivisionLevel::Prefecture,
            Self::Areas => DivisionLevel::County,
            Self::Streets => DivisionLevel::Township,
            Self::Villages => DivisionLevel::Village,
        }
    }

    fn code_digits(self) -> usize {
        match self {
            Self::Provinces => 2,
            Self::Cities => 4,
            Self::Areas => 6,
            Self::Streets => 9,
            Self::Villages => 12,
        }
    }

    /// Column naming the parent, and the ancestor columns the row also states.
    fn parent_column(self) -> Option<&'static str> {
        match self {
            Self::Provinces => None,
            Self::Cities => Some("provinceCode"),
            Self::Areas => Some("cityCode"),
            Self::Streets => Some("areaCode"),
            Self::Villages => Some("streetCode"),
        }
    }

    /// Stated ancestors checked against the parent chain: (column, level).
    fn stated_ancestors(self) -> &'static [(&'static str, DivisionLevel)] {
        match self {
            Self::Provinces | Self::Cities => &[],
            Self::Areas => &[("provinceCode", DivisionLevel::Province)],
            Self::Streets => &[
                ("provinceCode", DivisionLevel::Province),
                ("cityCode", DivisionLevel::Prefecture),
            ],
            Self::Villages => &[
                ("provinceCode", DivisionLevel::Province),
                ("cityCode", DivisionLevel::Prefecture),
                ("areaCode", DivisionLevel::County),
            ],
        }
    }
}

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

/// One parsed row before its ancestors are resolved.
struct ParsedRow {
    file: DivisionFile,
    line: u64,
    code: i64,
    name: String,
    parent: Option<i64>,
    stated: Vec<(&'static str, DivisionLevel, i64)>,
    kind: Option<LeafUnitKind>,
}

/// A division as it will be stored.
#[derive(Debug, Clone, PartialEq)]
struct Resolved {
    level: i32,
    name: String,
    parent: Option<i64>,
    ancestors: [Option<i64>; 4],
    kind: Option<String>,
    kind_overridden: bool,
}

/// Codes published at more than one level for the same unit.
#[derive(Debug, Default)]
struct Merged {
    codes: HashSet<i64>,
    rows: u64,
}

/// Some units are published at two or three levels whose codes pad to the same 12 digits: 东莞市
/// as city 4419 and as area 441900, 金门县 as area 350527, street 350527000 and village
/// 350527000000. One code names one division, so the deepest row is kept (every leaf unit
/// survives) and hung from the shallowest row's parent; the other rows are merged into it.
fn merge_same_unit_rows(parsed: &mut Vec<ParsedRow>) -> Merged {
    let mut by_code: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, row) in parsed.iter().enumerate() {
        by_code.entry(row.code).or_default().push(i);
    }
    let mut merged = Merged::default();
    let mut drop = HashSet::new();
    for (code, rows) in by_code {
        if rows.len() < 2 {
            continue;
        }
        let files: HashSet<DivisionFile> = rows.iter().map(|&i| parsed[i].file).collect();
        if files.len() != rows.len() {
            // The same code twice in one file is a mistake, reported when resolving.
            continue;
        }
        let deepest = *rows
            .iter()
            .max_by_key(|&&i| parsed[i].file)
            .expect("two rows");
        let shallowest = *rows
            .iter()
            .min_by_key(|&&i| parsed[i].file)
            .expect("two rows");
        parsed[deepest].parent = parsed[shallowest].parent;
        drop.extend(rows.iter().copied().filter(|&i| i != deepest));
        merged.codes.insert(code);
        merged.rows += rows.len() as u64 - 1;
    }
    if !drop.is_empty() {
        let mut i = 0;
        parsed.retain(|_| {
            i += 1;
            !drop.contains(&(i - 1))
        });
    }
    merged
}

fn gunzip_if_needed(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        GzDecoder::new(bytes.as_slice()).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

struct Problems {
    violations: Violations,
    more: usize,
}

impl Problems {
    fn push(&mut self, file: DivisionFile, line: u64, description: impl Into<String>) {
        if self.violations.len() < MAX_REPORTED {
            self.violations
                .push(format!("{}:{line}", file.file_name()), description);
        } else {
            self.more += 1;
        }
    }
}

fn parse_code(text: &str, digits: usize) -> std::result::Result<i64, String> {
    let t = text.trim();
    if t.len() != digits {
        return Err(format!(
            "code `{}` must have {digits} digits",
            shequ_domain::excerpt(t)
        ));
    }
    DivisionCode::parse(t)
        .map(|c| c.as_i64())
        .map_err(|e| e.to_string())
}

fn parse_file(
    file: DivisionFile,
    bytes: &[u8],
    rows: &mut Vec<ParsedRow>,
    problems: &mut Problems,
) -> u64 {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(file, 1, format!("unreadable header: {e}"));
            return 0;
        }
    };
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == name)
    };
    let (Some(code_col), Some(name_col)) = (col("code"), col("name")) else {
        problems.push(file, 1, "header must name the columns `code` and `name`");
        return 0;
    };
    let parent_col = match file.parent_column() {
        Some(p) => match col(p) {
            Some(i) => Some(i),
            None => {
                problems.push(file, 1, format!("header must name the column `{p}`"));
                return 0;
            }
        },
        None => None,
    };
    let stated_cols: Vec<_> = file
        .stated_ancestors()
        .iter()
        .filter_map(|&(name, level)| col(name).map(|i| (name, level, i)))
        .collect();
    let kind_col = if file == DivisionFile::Villages {
        col("kind")
    } else {
        None
    };

    let mut count = 0;
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                problems.push(file, line, format!("unreadable row: {e}"));
                break;
            }
        }
        count += 1;
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let code = match parse_code(field(code_col), file.code_digits()) {
            Ok(c) => c,
            Err(e) => {
                problems.push(file, line, e);
                continue;
            }
        };
        let name = field(name_col);
        if name.is_empty() {
            problems.push(file, line, "name must not be empty");
            continue;
        }
        if name.chars().any(char::is_control) {
            problems.push(file, line, "name must not hold control characters");
            continue;
        }
        let parent = match parent_col {
            Some(i) => {
                let digits = DivisionFile::ALL[file.level().number() as usize - 2].code_digits();
                match parse_code(field(i), digits) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        problems.push(
                            file,
                            line,
                            format!("`{}`: {e}", file.parent_column().unwrap_or("")),
                        );
                        continue;
                    }
                }
            }
            None => None,
        };
        let mut stated = Vec::with_capacity(stated_cols.len());
        for &(name, level, i) in &stated_cols {
            let digits = DivisionFile::ALL[level.number() as usize - 1].code_digits();
            match parse_code(field(i), digits) {
                Ok(c) => stated.push((name, level, c)),
                Err(e) => problems.push(file, line, format!("`{name}`: {e}")),
            }
        }
        let kind = match kind_col.map(field) {
            None | Some("") => None,
            Some(k) => match LeafUnitKind::parse(k) {
                Some(k) => Some(k),
                None => {
                    problems.push(
                        file,
                        line,
                        format!(
                            "kind `{}` must be `community` or `village`",
                            shequ_domain::excerpt(k)
                        ),
                    );
                    continue;
                }
            },
        };
        rows.push(ParsedRow {
            file,
            line,
            code,
            name: name.to_owned(),
            parent,
            stated,
            kind,
        });
    }
    count
}

impl Resolved {
    fn from_record(r: &DivisionRecord) -> Self {
        Self {
            level: r.level,
            name: r.name.clone(),
            parent: r.parent_code,
            ancestors: [
                Some(r.province_code),
                r.prefecture_code,
                r.county_code,
                r.township_code,
            ],
            kind: r.kind.clone(),
            kind_overridden: r.kind_overridden != 0,
        }
    }
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

        let existing: HashMap<i64, DivisionRecord> = DivisionRecord::find_by_statement(stmt(
            self.backend(),
            format!("SELECT {DIVISION_COLUMNS} FROM registry_divisions"),
            [],
        ))
        .all(&self.db.conn)
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
                        .or_else(|| existing.get(&parent).map(Resolved::from_record));
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
                    if Resolved::from_record(old) == *new
                        && old.vintage == vintage
                        && old.retired == 0 =>
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

        let backend = self.backend();
        let txn = self.begin_write().await?;
        for chunk in writes.chunks(ROWS_PER_INSERT) {
            let mut sql = format!("INSERT INTO registry_divisions ({DIVISION_COLUMNS}) VALUES ");
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 11);
            for (i, (code, r)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                let b = i * 11;
                sql.push_str(&format!(
                    "(${},${},${},${},${},${},${},${},${},${},${},0)",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10,
                    b + 11
                ));
                values.extend([
                    Value::from(*code),
                    Value::from(r.name.clone()),
                    Value::from(r.level),
                    Value::from(r.parent),
                    Value::from(r.ancestors[0].unwrap_or(*code)),
                    Value::from(r.ancestors[1]),
                    Value::from(r.ancestors[2]),
                    Value::from(r.ancestors[3]),
                    Value::from(r.kind.clone()),
                    Value::from(i32::from(r.kind_overridden)),
                    Value::from(vintage.clone()),
                ]);
            }
            sql.push_str(
                " ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, \
                 parent_code = excluded.parent_code, province_code = excluded.province_code, \
                 prefecture_code = excluded.prefecture_code, county_code = excluded.county_code, \
                 township_code = excluded.township_code, kind = excluded.kind, \
                 kind_overridden = excluded.kind_overridden, vintage = excluded.vintage, retired = 0",
            );
            txn.execute_raw(stmt(backend, sql, values)).await?;
        }
        for chunk in retire.chunks(ROWS_PER_INSERT) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            txn.execute_raw(stmt(
                backend,
                format!(
                    "UPDATE registry_divisions SET retired = 1 WHERE code IN ({})",
                    placeholders.join(",")
                ),
                chunk.iter().map(|&c| Value::from(c)),
            ))
            .await?;
        }
        txn.execute_raw(stmt(
            backend,
            "INSERT INTO registry_imports (vintage, at, actor, inserted, updated, unchanged, retired) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                vintage.clone().into(),
                now_micros().into(),
                request.actor.into(),
                (report.inserted as i64).into(),
                (report.updated as i64).into(),
                (report.unchanged as i64).into(),
                (report.retired as i64).into(),
            ],
        ))
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
                    method: "/shequ.registry.v1.DivisionService/ImportDivisions",
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
        if backend == DbBackend::Postgres {
            // Fresh statistics, so plans over the hierarchy are chosen for its real size.
            self.db
                .conn
                .execute_unprepared("ANALYZE registry_divisions")
                .await?;
        }
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
