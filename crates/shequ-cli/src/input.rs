//! Records read from files for the write subcommands: facilities from TOML, JSON or CSV, and
//! survey responses from CSV or JSON lines. Every error names the line and the field.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};
use shequ_domain::{FacilityStatus, ServiceKind};
use shequ_proto::common::v1 as common;
use shequ_proto::convert::service_to_pb;
use shequ_proto::registry::v1 as pb;
use shequ_proto::survey::v1 as survey;

use crate::client::CliError;

/// A file's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Toml,
    Json,
    JsonLines,
    Csv,
}

impl FileKind {
    pub fn of(path: &Path) -> Result<Self, CliError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Ok(Self::Toml),
            Some("json") => Ok(Self::Json),
            Some("jsonl" | "ndjson") => Ok(Self::JsonLines),
            Some("csv") => Ok(Self::Csv),
            _ => Err(CliError::input(format!(
                "{}: unknown file type; use .toml, .json, .jsonl or .csv",
                path.display()
            ))),
        }
    }
}

/// Reads a whole text file, naming it in the error.
pub fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))
}

/// One record and the line it starts on (0 when the format does not tell).
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub line: u64,
    pub record: T,
}

/// A facility as written in a file. Absent fields are left out of an update's mask.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityRecord {
    /// `facilities/{id}`: required to update, refused on create.
    pub name: Option<String>,
    pub etag: Option<String>,
    pub display_name: Option<String>,
    /// A 12-digit code, or `divisions/{code}`.
    pub leaf_unit: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// `planned`, `under_construction`, `in_service`, `suspended` or `closed`.
    pub status: Option<String>,
    pub total_floor_area_m2: Option<f64>,
    pub activity_area_m2: Option<f64>,
    /// e.g. `mon-fri 08:00-18:00; sat,sun 09:00-12:00,14:00-17:00`.
    pub opening_hours: Option<String>,
    pub services: Option<Vec<String>>,
    pub online_24h_services: Option<Vec<String>>,
    pub self_service_terminals: Option<i32>,
    pub community_workers: Option<i32>,
    pub social_workers: Option<i32>,
    pub operator_name: Option<String>,
    pub operator_uscc: Option<String>,
    pub contact_telephone: Option<String>,
    /// Kept in the facility's history.
    pub reason: Option<String>,
}

/// Fields of `FacilityRecord` that hold lists (`;`-separated in CSV) or numbers.
const LIST_FIELDS: [&str; 2] = ["services", "online_24h_services"];
const FLOAT_FIELDS: [&str; 4] = [
    "latitude",
    "longitude",
    "total_floor_area_m2",
    "activity_area_m2",
];
const INT_FIELDS: [&str; 3] = [
    "self_service_terminals",
    "community_workers",
    "social_workers",
];

/// The facility records of a TOML (`[[facility]]` tables), JSON (an array of objects, or one
/// object) or CSV (a header row of field names) file.
pub fn read_facilities(path: &Path) -> Result<Vec<Located<FacilityRecord>>, CliError> {
    let kind = FileKind::of(path)?;
    let text = read_text(path)?;
    let at = |line: u64, e: &dyn std::fmt::Display| {
        CliError::input(format!("{}: line {line}: {e}", path.display()))
    };
    match kind {
        FileKind::Toml => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct File {
                #[serde(default)]
                facility: Vec<FacilityRecord>,
            }
            let file: File = toml::from_str(&text)
                .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
            Ok(file
                .facility
                .into_iter()
                .map(|record| Located { line: 0, record })
                .collect())
        }
        FileKind::Json => {
            let value: Value = serde_json::from_str(&text).map_err(|e| at(e.line() as u64, &e))?;
            let items = match value {
                Value::Array(items) => items,
                other => vec![other],
            };
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    serde_json::from_value(item)
                        .map(|record| Located { line: 0, record })
                        .map_err(|e| {
                            CliError::input(format!("{}: record {}: {e}", path.display(), i + 1))
                        })
                })
                .collect()
        }
        FileKind::JsonLines => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map(|record| Located {
                        line: i as u64 + 1,
                        record,
                    })
                    .map_err(|e| at(i as u64 + 1, &e))
            })
            .collect(),
        FileKind::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            let headers = reader
                .headers()
                .map_err(|e| at(1, &e))?
                .iter()
                .map(str::to_owned)
                .collect::<Vec<_>>();
            let mut out = Vec::new();
            for record in reader.records() {
                let record =
                    record.map_err(|e| at(e.position().map_or(0, csv::Position::line), &e))?;
                let line = record.position().map_or(0, csv::Position::line);
                let mut object = Map::new();
                for (header, cell) in headers.iter().zip(record.iter()) {
                    if cell.is_empty() {
                        continue;
                    }
                    let value = csv_cell(header, cell).map_err(|e| {
                        CliError::input(format!(
                            "{}: line {line}, field `{header}`: {e}",
                            path.display()
                        ))
                    })?;
                    object.insert(header.clone(), value);
                }
                let record =
                    serde_json::from_value(Value::Object(object)).map_err(|e| at(line, &e))?;
                out.push(Located { line, record });
            }
            Ok(out)
        }
    }
}

fn csv_cell(header: &str, cell: &str) -> Result<Value, String> {
    if LIST_FIELDS.contains(&header) {
        return Ok(Value::Array(
            cell.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ));
    }
    if FLOAT_FIELDS.contains(&header) {
        let v: f64 = cell
            .parse()
            .map_err(|_| format!("`{cell}` is not a number"))?;
        return serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| format!("`{cell}` is not a finite number"));
    }
    if INT_FIELDS.contains(&header) {
        let v: i64 = cell
            .parse()
            .map_err(|_| format!("`{cell}` is not a whole number"))?;
        return Ok(Value::from(v));
    }
    Ok(Value::String(cell.to_owned()))
}

/// A record's place for messages: `file: line 3` or `file: record 2`.
pub fn place(path: &Path, line: u64, index: usize) -> String {
    if line > 0 {
        format!("{}: line {line}", path.display())
    } else {
        format!("{}: record {}", path.display(), index + 1)
    }
}

/// `divisions/{code}` from `13`, `130000000000` or `divisions/13`.
pub fn division_name(text: &str) -> String {
    let code = text.trim().trim_start_matches("divisions/");
    format!("divisions/{code}")
}

/// The facility message and the update mask of the fields the record sets.
pub fn facility_from_record(
    record: &FacilityRecord,
) -> Result<(pb::Facility, Vec<String>), String> {
    let mut f = pb::Facility::default();
    let mut mask = Vec::new();
    let mut set = |path: &str| mask.push(path.to_owned());
    if let Some(v) = &record.display_name {
        f.display_name = v.clone();
        set("display_name");
    }
    if let Some(v) = &record.leaf_unit {
        f.leaf_unit = division_name(v);
        set("leaf_unit");
    }
    if let Some(v) = &record.address {
        f.address = v.clone();
        set("address");
    }
    match (record.latitude, record.longitude) {
        (Some(latitude), Some(longitude)) => {
            f.location = Some(common::LatLng {
                latitude,
                longitude,
            });
            set("location");
        }
        (None, None) => {}
        _ => return Err("field `latitude`: give both `latitude` and `longitude`".to_owned()),
    }
    if let Some(v) = &record.status {
        let status = FacilityStatus::parse(v).ok_or_else(|| {
            format!(
                "field `status`: unknown status `{v}`; expected one of {}",
                FacilityStatus::ALL.map(FacilityStatus::as_str).join(", ")
            )
        })?;
        f.status = shequ_proto::convert::status_to_pb(status) as i32;
        set("status");
    }
    if let Some(v) = record.total_floor_area_m2 {
        f.total_floor_area_m2 = v;
        set("total_floor_area_m2");
    }
    if let Some(v) = record.activity_area_m2 {
        f.activity_area_m2 = v;
        set("activity_area_m2");
    }
    if let Some(v) = &record.opening_hours {
        f.opening_hours =
            parse_opening_hours(v).map_err(|e| format!("field `opening_hours`: {e}"))?;
        set("opening_hours");
    }
    if let Some(v) = &record.services {
        f.services = parse_services(v).map_err(|e| format!("field `services`: {e}"))?;
        set("services");
    }
    if let Some(v) = &record.online_24h_services {
        f.online_24h_services =
            parse_services(v).map_err(|e| format!("field `online_24h_services`: {e}"))?;
        set("online_24h_services");
    }
    if let Some(v) = record.self_service_terminals {
        f.self_service_terminals = v;
        set("self_service_terminals");
    }
    if record.community_workers.is_some() || record.social_workers.is_some() {
        let staff = f.staff.get_or_insert_with(Default::default);
        if let Some(v) = record.community_workers {
            staff.community_workers = v;
            set("staff.community_workers");
        }
        if let Some(v) = record.social_workers {
            staff.social_workers = v;
            set("staff.social_workers");
        }
    }
    if record.operator_name.is_some() || record.operator_uscc.is_some() {
        let operator = f.operator.get_or_insert_with(Default::default);
        if let Some(v) = &record.operator_name {
            operator.display_name = v.clone();
            set("operator.display_name");
        }
        if let Some(v) = &record.operator_uscc {
            operator.uscc = v.clone();
            set("operator.uscc");
        }
    }
    if let Some(v) = &record.contact_telephone {
        f.contact_telephone = v.clone();
        set("contact_telephone");
    }
    if let Some(v) = &record.name {
        f.name = if v.starts_with("facilities/") {
            v.clone()
        } else {
            format!("facilities/{v}")
        };
    }
    if let Some(v) = &record.etag {
        f.etag = v.clone();
    }
    Ok((f, mask))
}

fn parse_services(names: &[String]) -> Result<Vec<i32>, String> {
    names
        .iter()
        .map(|n| {
            ServiceKind::parse(n.trim())
                .map(|k| service_to_pb(k) as i32)
                .ok_or_else(|| {
                    format!(
                        "unknown service `{n}`; expected one of {}",
                        ServiceKind::ALL.map(ServiceKind::as_str).join(", ")
                    )
                })
        })
        .collect()
}

const DAYS: [(&str, common::DayOfWeek); 7] = [
    ("mon", common::DayOfWeek::Monday),
    ("tue", common::DayOfWeek::Tuesday),
    ("wed", common::DayOfWeek::Wednesday),
    ("thu", common::DayOfWeek::Thursday),
    ("fri", common::DayOfWeek::Friday),
    ("sat", common::DayOfWeek::Saturday),
    ("sun", common::DayOfWeek::Sunday),
];

/// `mon-fri 08:00-18:00; sat,sun 09:00-12:00,14:00-17:00` (`daily` means every day).
pub fn parse_opening_hours(text: &str) -> Result<Vec<pb::OpeningInterval>, String> {
    let day_index = |d: &str| {
        DAYS.iter()
            .position(|(name, _)| *name == d)
            .ok_or_else(|| format!("unknown day `{d}`; use mon, tue, wed, thu, fri, sat, sun"))
    };
    let minute = |t: &str| -> Result<i32, String> {
        let (h, m) = t
            .split_once(':')
            .ok_or_else(|| format!("`{t}` is not a time like 08:30"))?;
        let (h, m): (i32, i32) = (
            h.parse().map_err(|_| format!("`{t}` is not a time"))?,
            m.parse().map_err(|_| format!("`{t}` is not a time"))?,
        );
        if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
            return Err(format!("`{t}` is not a time of day"));
        }
        Ok(h * 60 + m)
    };
    let mut out = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (days, times) = entry
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("`{entry}` needs days and times, e.g. `mon-fri 08:00-18:00`"))?;
        let mut chosen = Vec::new();
        for part in days.split(',') {
            let part = part.trim().to_ascii_lowercase();
            if part == "daily" {
                chosen.extend(0..7);
            } else if let Some((a, b)) = part.split_once('-') {
                let (a, b) = (day_index(a)?, day_index(b)?);
                if a > b {
                    return Err(format!("`{part}` runs backwards"));
                }
                chosen.extend(a..=b);
            } else {
                chosen.push(day_index(&part)?);
            }
        }
        for span in times.split(',').map(str::trim) {
            let (open, close) = span
                .split_once('-')
                .ok_or_else(|| format!("`{span}` is not a span like 08:00-18:00"))?;
            let (open, close) = (minute(open.trim())?, minute(close.trim())?);
            for &d in &chosen {
                out.push(pb::OpeningInterval {
                    day: DAYS[d].1 as i32,
                    open_minute: open,
                    close_minute: close,
                });
            }
        }
    }
    Ok(out)
}

/// A survey response read from a file, before its answers are typed.
#[derive(Debug, Clone)]
pub struct ResponseRecord {
    pub response_id: String,
    pub leaf_unit: String,
    pub channel: String,
    pub collect_time: String,
    /// Question id → raw answer.
    pub answers: BTreeMap<String, Value>,
}

/// Columns of a response CSV that are not questions.
const RESPONSE_FIELDS: [&str; 4] = ["response_id", "leaf_unit", "channel", "collect_time"];

/// Responses from CSV (`response_id,leaf_unit,channel,collect_time,` then one column per question
/// id; an empty cell is unanswered, multiple choices are `;`-separated) or JSON lines (those four
/// fields and an `answers` object keyed by question id).
pub fn read_responses(path: &Path) -> Result<Vec<Located<ResponseRecord>>, CliError> {
    let kind = FileKind::of(path)?;
    let text = read_text(path)?;
    let at = |line: u64, field: &str, e: &dyn std::fmt::Display| {
        CliError::input(format!(
            "{}: line {line}, field `{field}`: {e}",
            path.display()
        ))
    };
    let mut out = Vec::new();
    match kind {
        FileKind::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            let headers: Vec<String> = reader
                .headers()
                .map_err(|e| CliError::input(format!("{}: line 1: {e}", path.display())))?
                .iter()
                .map(str::to_owned)
                .collect();
            for required in RESPONSE_FIELDS {
                if !headers.iter().any(|h| h == required) {
                    return Err(at(1, required, &"missing column"));
                }
            }
            for record in reader.records() {
                let record = record.map_err(|e| {
                    CliError::input(format!(
                        "{}: line {}: {e}",
                        path.display(),
                        e.position().map_or(0, csv::Position::line)
                    ))
                })?;
                let line = record.position().map_or(0, csv::Position::line);
                let mut fields = BTreeMap::new();
                let mut answers = BTreeMap::new();
                for (header, cell) in headers.iter().zip(record.iter()) {
                    if RESPONSE_FIELDS.contains(&header.as_str()) {
                        fields.insert(header.as_str(), cell.to_owned());
                    } else if !cell.is_empty() {
                        answers.insert(header.clone(), Value::String(cell.to_owned()));
                    }
                }
                let mut take = |f: &str| fields.remove(f).unwrap_or_default();
                out.push(Located {
                    line,
                    record: ResponseRecord {
                        response_id: take("response_id"),
                        leaf_unit: take("leaf_unit"),
                        channel: take("channel"),
                        collect_time: take("collect_time"),
                        answers,
                    },
                });
            }
        }
        FileKind::JsonLines | FileKind::Json => {
            for (i, l) in text.lines().enumerate() {
                let line = i as u64 + 1;
                if l.trim().is_empty() {
                    continue;
                }
                let value: Value = serde_json::from_str(l).map_err(|e| {
                    CliError::input(format!("{}: line {line}: {e}", path.display()))
                })?;
                let Value::Object(mut object) = value else {
                    return Err(CliError::input(format!(
                        "{}: line {line}: expected a JSON object",
                        path.display()
                    )));
                };
                let mut text_field = |f: &str| match object.remove(f) {
                    Some(Value::String(s)) => Ok(s),
                    None | Some(Value::Null) => Ok(String::new()),
                    Some(_) => Err(at(line, f, &"expected a string")),
                };
                let response_id = text_field("response_id")?;
                let leaf_unit = text_field("leaf_unit")?;
                let channel = text_field("channel")?;
                let collect_time = text_field("collect_time")?;
                let answers = match object.remove("answers") {
                    Some(Value::Object(a)) => a.into_iter().collect(),
                    None => BTreeMap::new(),
                    Some(_) => return Err(at(line, "answers", &"expected an object")),
                };
                if let Some(unknown) = object.keys().next() {
                    return Err(at(line, unknown, &"unknown field"));
                }
                out.push(Located {
                    line,
                    record: ResponseRecord {
                        response_id,
                        leaf_unit,
                        channel,
                        collect_time,
                        answers,
                    },
                });
            }
        }
        FileKind::Toml => {
            return Err(CliError::input(format!(
                "{}: responses are read from .csv or .jsonl files",
                path.display()
            )));
        }
    }
    Ok(out)
}

/// Turns a record into a response for a questionnaire whose questions have `types`
/// (question id → type). The error names the field.
pub fn response_from_record(
    record: &ResponseRecord,
    types: &BTreeMap<String, survey::QuestionType>,
) -> Result<survey::Response, String> {
    use survey::QuestionType as T;
    use survey::answer::Value as A;
    if record.response_id.is_empty() {
        return Err("field `response_id`: required".to_owned());
    }
    if record.leaf_unit.is_empty() {
        return Err("field `leaf_unit`: required".to_owned());
    }
    let channel = match record.channel.to_ascii_lowercase().as_str() {
        "online" => survey::Channel::Online,
        "paper" => survey::Channel::Paper,
        "phone" => survey::Channel::Phone,
        "kiosk" => survey::Channel::Kiosk,
        other => {
            return Err(format!(
                "field `channel`: unknown channel `{other}`; expected online, paper, phone or kiosk"
            ));
        }
    };
    let collect_time =
        parse_time(&record.collect_time).map_err(|e| format!("field `collect_time`: {e}"))?;
    let mut answers = Vec::new();
    for (question, raw) in &record.answers {
        let field = |e: &str| format!("field `{question}`: {e}");
        let ty = types
            .get(question)
            .ok_or_else(|| field("no such question in the round's questionnaire"))?;
        let as_text = match raw {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let value = match ty {
            T::Satisfaction => A::Rating(
                as_text
                    .as_deref()
                    .and_then(|t| t.parse::<i32>().ok())
                    .ok_or_else(|| field("expected a rating from 1 to 5"))?,
            ),
            T::SingleChoice => A::OptionId(as_text.ok_or_else(|| field("expected an option id"))?),
            T::MultipleChoice => {
                let ids: Vec<String> = match raw {
                    Value::Array(items) => items
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<_>>()
                        .ok_or_else(|| field("expected option ids"))?,
                    Value::String(s) => s
                        .split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    _ => return Err(field("expected option ids")),
                };
                A::OptionIds(survey::OptionIds { ids })
            }
            T::YesNo => A::Yes(match as_text.as_deref() {
                Some("true" | "yes" | "1") => true,
                Some("false" | "no" | "0") => false,
                _ => return Err(field("expected yes or no")),
            }),
            T::Number => A::Number(
                as_text
                    .as_deref()
                    .and_then(|t| t.parse::<f64>().ok())
                    .ok_or_else(|| field("expected a number"))?,
            ),
            T::FreeText => A::Text(as_text.ok_or_else(|| field("expected text"))?),
            T::Unspecified => return Err(field("the question has no type")),
        };
        answers.push(survey::Answer {
            question_id: question.clone(),
            value: Some(value),
        });
    }
    Ok(survey::Response {
        response_id: record.response_id.clone(),
        leaf_unit: division_name(&record.leaf_unit),
        channel: channel as i32,
        collect_time: Some(collect_time),
        answers,
        ..Default::default()
    })
}

/// RFC 3339 (`2025-05-01T09:30:00+08:00`) or a plain date (midnight UTC).
pub fn parse_time(text: &str) -> Result<prost_types::Timestamp, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: t.timestamp_subsec_nanos() as i32,
        });
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        return Ok(prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: 0,
        });
    }
    Err(format!(
        "`{text}` is not a time like 2025-05-01T09:30:00+08:00 or a date like 2025-05-01"
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        (dir, path)
    }

    #[test]
    fn opening_hours_expand_day_ranges() {
        let hours =
            parse_opening_hours("mon-fri 08:00-18:00; sat,sun 09:00-12:00,14:00-17:00").unwrap();
        assert_eq!(hours.len(), 5 + 2 * 2);
        assert_eq!(hours[0].open_minute, 480);
        assert_eq!(hours[0].close_minute, 1080);
        assert!(parse_opening_hours("mon 25:00-26:00").is_err());
        assert!(parse_opening_hours("someday 08:00-09:00").is_err());
    }

    #[test]
    fn csv_facilities_name_the_bad_line_and_field() {
        let (_d, path) = file(
            "f.csv",
            "display_name,leaf_unit,total_floor_area_m2,services\n\
             甲,130102001001,500,elderly_care;health\n\
             乙,130102001002,lots,health\n",
        );
        let e = read_facilities(&path).unwrap_err();
        assert!(
            e.message.contains("line 3, field `total_floor_area_m2`"),
            "{}",
            e.message
        );
        let (_d, path) = file(
            "f.csv",
            "display_name,leaf_unit,services\n甲,130102001001,elderly_care;health\n",
        );
        let records = read_facilities(&path).unwrap();
        assert_eq!(records[0].line, 2);
        let (f, mask) = facility_from_record(&records[0].record).unwrap();
        assert_eq!(f.leaf_unit, "divisions/130102001001");
        assert_eq!(f.services.len(), 2);
        assert_eq!(mask, ["display_name", "leaf_unit", "services"]);
    }

    #[test]
    fn unknown_status_is_refused_by_name() {
        let record = FacilityRecord {
            status: Some("open".into()),
            ..Default::default()
        };
        let e = facility_from_record(&record).unwrap_err();
        assert!(e.starts_with("field `status`"), "{e}");
    }

    #[test]
    fn responses_type_their_answers() {
        let (_d, path) = file(
            "r.csv",
            "response_id,leaf_unit,channel,collect_time,q1,q2\n\
             r1,130102001001,online,2025-05-01,5,a;b\n",
        );
        let records = read_responses(&path).unwrap();
        let types = BTreeMap::from([
            ("q1".to_owned(), survey::QuestionType::Satisfaction),
            ("q2".to_owned(), survey::QuestionType::MultipleChoice),
        ]);
        let r = response_from_record(&records[0].record, &types).unwrap();
        assert_eq!(r.answers.len(), 2);
        assert_eq!(r.channel, survey::Channel::Online as i32);
        let (_d, path) = file(
            "r.csv",
            "response_id,leaf_unit,channel,collect_time,q1\nr1,130102001001,fax,2025-05-01,5\n",
        );
        let records = read_responses(&path).unwrap();
        let e = response_from_record(&records[0].record, &types).unwrap_err();
        assert!(e.starts_with("field `channel`"), "{e}");
    }
}
