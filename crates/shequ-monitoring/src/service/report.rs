//! Reports of one division of a stored evaluation: per indicator its value, expected value,
//! target and status, and the children with the largest gaps, as text, CSV, JSON or a
//! self-contained HTML page (which also names the plan and the regions).

use std::collections::HashMap;
use std::fmt::Write as _;

use shequ_domain::{DivisionCode, Status};

use crate::error::{MonitoringError, Result};
use crate::html::{HtmlReport, IndicatorPanel as HtmlIndicator, RegionValue, format_value};
use crate::indicators::Better;
use crate::names::{evaluation_name, round_name};
use crate::plan::Method;
use crate::service::Monitoring;
use crate::service::evaluations::Column;
use crate::service::results::{Behind, DivisionRow, LoadedEvaluation, code_name};

/// The language of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Csv,
    Json,
    Html,
}

/// A rendered report and its media type.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub content_type: &'static str,
    pub content: String,
}

impl Monitoring {
    /// The report of one division: per indicator its value, expected value, target and status,
    /// and the `worst` children with the largest gaps.
    pub async fn render_report(
        &self,
        eval: &LoadedEvaluation,
        division: Option<DivisionCode>,
        format: ReportFormat,
        worst: usize,
    ) -> Result<Report> {
        let row = self.division_row(eval, division).await?;
        let mut children = self.child_rows(eval, row.code).await?;
        // What only the HTML page shows: the plan's and the regions' names.
        let labels = if format == ReportFormat::Html {
            self.report_labels(eval, row.code).await?
        } else {
            ReportLabels::default()
        };
        let mut lines = Vec::new();
        for (i, col) in eval.columns.columns.iter().enumerate() {
            let j = eval.judge(&row, i);
            eval.rank(&mut children, i);
            let worst_regions: Vec<(i64, Option<f64>)> = children
                .iter()
                .filter(|c| eval.gap(c, i).is_some_and(|g| g > 0.0))
                .take(worst)
                .map(|c| (c.code, c.values.v.get(i).copied().flatten()))
                .collect();
            lines.push((col, j, worst_regions, eval.behind(&row, i)));
        }
        let fmt = |v: Option<f64>, col: &Column| match v {
            None => "—".to_owned(),
            Some(v) if col.unit == "share" => format!("{:.1}%", v * 100.0),
            Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
            Some(v) => format!("{v:.2}"),
        };
        let region = |code: i64| {
            DivisionCode::from_u64(code as u64)
                .map(|c| c.short_form())
                .unwrap_or_default()
        };
        let title = if row.code == 0 {
            "country".to_owned()
        } else {
            region(row.code)
        };
        let (content_type, content) = match format {
            ReportFormat::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                let csv_err = |e: csv::Error| MonitoringError::Internal(e.to_string());
                w.write_record([
                    "division",
                    "indicator",
                    "name",
                    "unit",
                    "value",
                    "expected_value",
                    "target_value",
                    "status",
                    "worst_regions",
                    "numerator",
                    "denominator",
                    "as_of",
                    "periods",
                    "method",
                    "growth_ratio",
                    "status_note",
                    "target_division",
                ])
                .map_err(csv_err)?;
                let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
                for (col, j, worst, behind) in &lines {
                    let worst: Vec<String> = worst
                        .iter()
                        .map(|(c, v)| format!("{}={}", region(*c), num(*v)))
                        .collect();
                    let as_of = behind.as_of.map(rfc3339).unwrap_or_default();
                    w.write_record([
                        title.as_str(),
                        col.code.as_str(),
                        col.display_name.as_str(),
                        col.unit.as_str(),
                        &num(j.value),
                        &num(j.expected),
                        &num(j.target),
                        status_word(j.status),
                        &worst.join(";"),
                        &num(behind.numerator),
                        &num(behind.denominator),
                        &as_of,
                        &behind.periods.join(";"),
                        method_word(j.method),
                        &num(j.growth_ratio),
                        j.note.as_deref().unwrap_or_default(),
                        &target_division(j.target_division),
                    ])
                    .map_err(csv_err)?;
                }
                let bytes = w
                    .into_inner()
                    .map_err(|e| MonitoringError::Internal(e.to_string()))?;
                ("text/csv", String::from_utf8_lossy(&bytes).into_owned())
            }
            ReportFormat::Json => {
                let indicators: Vec<serde_json::Value> = lines
                    .iter()
                    .map(|(col, j, worst, behind)| {
                        serde_json::json!({
                            "indicator": col.code,
                            "name": col.display_name,
                            "unit": col.unit,
                            "value": j.value,
                            "expected_value": j.expected,
                            "target_value": j.target,
                            "status": status_word(j.status),
                            "worst_regions": worst.iter().map(|(c, v)| serde_json::json!({
                                "division": code_name(*c),
                                "value": v,
                            })).collect::<Vec<_>>(),
                            "numerator": behind.numerator,
                            "denominator": behind.denominator,
                            "as_of": behind.as_of.map(rfc3339),
                            "periods": behind.periods,
                            "method": method_word(j.method),
                            "growth_ratio": j.growth_ratio,
                            "status_note": j.note,
                            "target_division": j.target_division.map(|c| code_name(c as i64)),
                            "milestones": j.milestones.iter().map(|m| serde_json::json!({
                                "year": m.year,
                                "value": m.value,
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                let doc = serde_json::json!({
                    "evaluation": evaluation_name(&eval.record.plan_id, &eval.record.id),
                    "evaluation_date": eval.record.evaluation_date,
                    "division": code_name(row.code),
                    "registry_vintage": eval.record.registry_vintage,
                    "survey_round": round_name(&eval.record.survey_round),
                    "indicators": indicators,
                });
                let text = serde_json::to_string_pretty(&doc)
                    .map_err(|e| MonitoringError::Internal(e.to_string()))?;
                ("application/json", text)
            }
            ReportFormat::Html => (
                "text/html; charset=utf-8",
                html_report(eval, &row, &children, worst, labels).render(),
            ),
            ReportFormat::Text => {
                let mut out = String::new();
                let _ = writeln!(
                    out,
                    "plan `{}`, evaluation of {} for {}",
                    eval.record.plan_id, eval.record.evaluation_date, title
                );
                let header = [
                    "indicator",
                    "value",
                    "expected",
                    "target",
                    "status",
                    "parts",
                    "as of",
                    "worst regions",
                ];
                let mut table: Vec<[String; 8]> = vec![header.map(str::to_owned)];
                let mut notes = Vec::new();
                for (col, j, worst, behind) in &lines {
                    let worst: Vec<String> = worst
                        .iter()
                        .map(|(c, v)| format!("{} {}", region(*c), fmt(*v, col)))
                        .collect();
                    if let Some(note) = &j.note {
                        notes.push(format!("{}: {note}", col.code));
                    }
                    let target = match j.target_division {
                        Some(code) => format!("{} ({})", fmt(j.target, col), region(code as i64)),
                        None => fmt(j.target, col),
                    };
                    let status = match j.growth_ratio {
                        Some(r) => format!("{} (growth {r:.2})", status_word(j.status)),
                        None => status_word(j.status).to_owned(),
                    };
                    table.push([
                        col.code.clone(),
                        fmt(j.value, col),
                        fmt(j.expected, col),
                        target,
                        status,
                        parts_text(behind.numerator, behind.denominator),
                        as_of_text(behind),
                        worst.join(", "),
                    ]);
                }
                let widths: Vec<usize> = (0..8)
                    .map(|c| {
                        table
                            .iter()
                            .map(|r| r[c].chars().count())
                            .max()
                            .unwrap_or(0)
                    })
                    .collect();
                for r in &table {
                    let cells: Vec<String> = r
                        .iter()
                        .zip(&widths)
                        .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
                        .collect();
                    let _ = writeln!(out, "{}", cells.join("  ").trim_end());
                }
                for note in notes {
                    let _ = writeln!(out, "note: {note}");
                }
                ("text/plain", out)
            }
        };
        Ok(Report {
            content_type,
            content,
        })
    }

    /// The plan's name and the names of `code` and its children. Region names come from the
    /// registry; when it cannot answer, the report shows codes instead.
    async fn report_labels(&self, eval: &LoadedEvaluation, code: i64) -> Result<ReportLabels> {
        let division = (code != 0)
            .then(|| DivisionCode::from_u64(code as u64).ok())
            .flatten();
        let regions = match self.sources.registry().division_names(division).await {
            Ok(Some(names)) => names,
            Ok(None) => {
                tracing::warn!("the registry does not know the report's division, showing codes");
                HashMap::new()
            }
            Err(e) => {
                tracing::warn!(error = %e, "region names unavailable for the report, showing codes");
                HashMap::new()
            }
        };
        let plan = match self.find_plan(&eval.record.plan_id).await? {
            Some(p) => p.display_name,
            None => eval.record.plan_id.clone(),
        };
        Ok(ReportLabels { plan, regions })
    }
}

fn status_word(s: Option<Status>) -> &'static str {
    s.map_or("no_target", Status::as_str)
}

fn method_word(m: Option<Method>) -> &'static str {
    match m {
        None => "none",
        Some(Method::Linear) => "linear",
        Some(Method::GrowthRate(_)) => "growth_rate",
    }
}

/// `divisions/{code}` of the override in force; empty for the plan's own target.
fn target_division(code: Option<u64>) -> String {
    code.map(|c| code_name(c as i64)).unwrap_or_default()
}

/// Names the HTML report shows beside codes.
#[derive(Debug, Default)]
struct ReportLabels {
    plan: String,
    regions: HashMap<i64, String>,
}

/// What the HTML page shows of `row` and its children.
fn html_report(
    eval: &LoadedEvaluation,
    row: &DivisionRow,
    children: &[DivisionRow],
    worst: usize,
    labels: ReportLabels,
) -> HtmlReport {
    let short = |code: i64| {
        DivisionCode::from_u64(code as u64)
            .map(|c| c.short_form())
            .unwrap_or_default()
    };
    let name_of = |code: i64| {
        labels
            .regions
            .get(&code)
            .cloned()
            .unwrap_or_else(|| short(code))
    };
    let indicators = eval
        .columns
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            let j = eval.judge(row, i);
            let behind = eval.behind(row, i);
            HtmlIndicator {
                code: col.code.clone(),
                name: col.display_name.clone(),
                unit: col.unit.clone(),
                lower_is_better: col.target.as_ref().map_or(col.direction, |t| t.direction)
                    == Better::Lower,
                value: j.value,
                expected: j.expected,
                target: j.target,
                status: j.status,
                numerator: behind.numerator,
                denominator: behind.denominator,
                as_of: behind
                    .as_of
                    .and_then(chrono::DateTime::from_timestamp_micros)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
                periods: behind.periods,
                method: match (j.method, j.growth_ratio) {
                    (None, _) => String::new(),
                    (Some(Method::Linear), _) => "线性".to_owned(),
                    (Some(Method::GrowthRate(_)), Some(r)) => format!("增长率法 r = {r:.2}"),
                    (Some(Method::GrowthRate(_)), None) => "增长率法".to_owned(),
                },
                note: j.note.clone().unwrap_or_default(),
                milestones: j
                    .milestones
                    .iter()
                    .map(|m| (m.year, format_value(Some(m.value), &col.unit)))
                    .collect(),
                target_source: j
                    .target_division
                    .map(|c| name_of(c as i64))
                    .unwrap_or_default(),
                regions: children
                    .iter()
                    .map(|c| {
                        let judged = eval.judge(c, i);
                        RegionValue {
                            name: name_of(c.code),
                            code: short(c.code),
                            value: judged.value,
                            status: judged.status,
                            gap: eval.gap(c, i),
                            target: judged.target,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    HtmlReport {
        plan_id: eval.record.plan_id.clone(),
        plan_name: if labels.plan.is_empty() {
            eval.record.plan_id.clone()
        } else {
            labels.plan.clone()
        },
        evaluation: evaluation_name(&eval.record.plan_id, &eval.record.id),
        evaluation_date: eval.record.evaluation_date.clone(),
        create_time: rfc3339(eval.record.create_time),
        registry_vintage: eval.record.registry_vintage.clone(),
        registry_cursor: eval.record.registry_cursor.clone(),
        survey_round: round_name(&eval.record.survey_round),
        leaf_units: eval.record.leaf_units,
        region_name: if row.code == 0 {
            "全国".to_owned()
        } else {
            name_of(row.code)
        },
        region_code: if row.code == 0 {
            String::new()
        } else {
            short(row.code)
        },
        worst,
        indicators,
    }
}

/// A quotient's parts as `numerator / denominator`; empty for sums and counts.
fn parts_text(numerator: Option<f64>, denominator: Option<f64>) -> String {
    let n = |v: f64| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    };
    match (numerator, denominator) {
        (Some(a), Some(b)) => format!("{} / {}", n(a), n(b)),
        _ => String::new(),
    }
}

/// The data's time (UTC, to the minute) and, for reported values, their periods.
fn as_of_text(behind: &Behind) -> String {
    let time = behind
        .as_of
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    if behind.periods.is_empty() {
        time
    } else {
        format!("{time} ({})", behind.periods.join(", "))
    }
}

/// Microseconds since the epoch as RFC 3339 (UTC, seconds).
fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
