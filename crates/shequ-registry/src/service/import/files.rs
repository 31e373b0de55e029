//! The five statistical division files of an import: reading their rows (plain or gzipped
//! CSV), each problem named `file.csv:line`, and merging units published at several levels.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use flate2::read::GzDecoder;
use shequ_domain::{DivisionCode, DivisionLevel, LeafUnitKind, Violations};

/// Violations listed in full before the rest are only counted.
const MAX_REPORTED: usize = 50;

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

/// One parsed row before its ancestors are resolved.
pub(super) struct ParsedRow {
    pub(super) file: DivisionFile,
    pub(super) line: u64,
    pub(super) code: i64,
    pub(super) name: String,
    pub(super) parent: Option<i64>,
    pub(super) stated: Vec<(&'static str, DivisionLevel, i64)>,
    pub(super) kind: Option<LeafUnitKind>,
}

/// Codes published at more than one level for the same unit.
#[derive(Debug, Default)]
pub(super) struct Merged {
    pub(super) codes: HashSet<i64>,
    pub(super) rows: u64,
}

/// Some units are published at two or three levels whose codes pad to the same 12 digits: 东莞市
/// as city 4419 and as area 441900, 金门县 as area 350527, street 350527000 and village
/// 350527000000. One code names one division, so the deepest row is kept (every leaf unit
/// survives) and hung from the shallowest row's parent; the other rows are merged into it.
pub(super) fn merge_same_unit_rows(parsed: &mut Vec<ParsedRow>) -> Merged {
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

pub(super) fn gunzip_if_needed(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        GzDecoder::new(bytes.as_slice()).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

pub(super) struct Problems {
    pub(super) violations: Violations,
    pub(super) more: usize,
}

impl Problems {
    pub(super) fn push(&mut self, file: DivisionFile, line: u64, description: impl Into<String>) {
        if self.violations.len() < MAX_REPORTED {
            self.violations
                .push(format!("{}:{line}", file.file_name()), description);
        } else {
            self.more += 1;
        }
    }
}

fn parse_code(text: &str, digits: usize) -> Result<i64, String> {
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

pub(super) fn parse_file(
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
