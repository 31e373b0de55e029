//! Reading a stored evaluation: one division (one primary-key lookup), its children (one indexed
//! range), the children ranked by gap to the expected value, the difference between two
//! evaluations, and reports as text, CSV or JSON. Statuses are computed on read from the stored
//! values, the evaluation date and the targets the evaluation recorded.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::NaiveDate;
use shequ_domain::{DivisionCode, Status};
use shequ_platform::page;
use shequ_proto::monitoring::v1 as pb;
use shequ_proto::names::division_name;

use crate::error::{MonitoringError, Result};
use crate::html::{HtmlReport, IndicatorPanel as HtmlIndicator, RegionValue};
use crate::indicators::Better;
use crate::names::{evaluation_name, indicator_name, round_name};
use crate::service::Monitoring;
use crate::service::evaluations::{Column, Columns, StoredValues};
use crate::store::rows::{EvaluationRecord, ResultRecord};

/// What a `ListChildResults` page asks for.
#[derive(Debug, Clone, Copy)]
pub struct ChildPage<'a> {
    /// Rank by this indicator's gap; `None` orders by code.
    pub rank_by: Option<&'a str>,
    /// At most this many children over all pages; 0 for all.
    pub limit: usize,
    pub page_size: usize,
    pub page_token: &'a str,
}

/// A stored evaluation with its columns parsed.
#[derive(Debug, Clone)]
pub struct LoadedEvaluation {
    pub record: EvaluationRecord,
    pub columns: Columns,
    pub date: NaiveDate,
}

/// One indicator of one division, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub value: Option<f64>,
    pub expected: Option<f64>,
    pub target: Option<f64>,
    /// `None`: the plan sets no target.
    pub status: Option<Status>,
}

impl Column {
    pub fn judge(&self, start_year: i32, date: NaiveDate, value: Option<f64>) -> Judged {
        match &self.target {
            Some(t) => {
                let trajectory = t.trajectory(start_year);
                Judged {
                    value,
                    expected: Some(trajectory.expected(date)),
                    target: Some(t.target_value),
                    status: Some(trajectory.status(value, date)),
                }
            }
            None => Judged {
                value,
                expected: None,
                target: None,
                status: value.is_none().then_some(Status::NoData),
            },
        }
    }

    /// How far `value` falls short of the expected value (of nothing, without a target), in the
    /// direction that is worse: larger is more lagging; `None` for no data.
    pub fn gap(&self, start_year: i32, date: NaiveDate, value: Option<f64>) -> Option<f64> {
        let v = value?;
        let sign = match self.target.as_ref().map_or(self.direction, |t| t.direction) {
            Better::Higher => 1.0,
            Better::Lower => -1.0,
        };
        let expected = self
            .target
            .as_ref()
            .map_or(0.0, |t| t.trajectory(start_year).expected(date));
        Some(sign * (expected - v))
    }
}

pub fn status_to_pb(s: Option<Status>) -> pb::IndicatorStatus {
    match s {
        None => pb::IndicatorStatus::NoTarget,
        Some(Status::Achieved) => pb::IndicatorStatus::Achieved,
        Some(Status::OnTrack) => pb::IndicatorStatus::OnTrack,
        Some(Status::Lagging) => pb::IndicatorStatus::Lagging,
        Some(Status::OffTrack) => pb::IndicatorStatus::OffTrack,
        Some(Status::NoData) => pb::IndicatorStatus::NoData,
    }
}

fn status_word(s: Option<Status>) -> &'static str {
    s.map_or("no_target", Status::as_str)
}

pub fn code_name(code: i64) -> String {
    if code == 0 {
        return String::new();
    }
    DivisionCode::from_u64(code as u64)
        .map(division_name)
        .unwrap_or_default()
}

/// A stored row with its values parsed.
#[derive(Debug, Clone)]
pub struct DivisionRow {
    pub code: i64,
    pub level: i32,
    pub parent: Option<i64>,
    pub values: StoredValues,
}

fn parse_row(r: ResultRecord) -> Result<DivisionRow> {
    Ok(DivisionRow {
        code: r.division_code,
        level: r.level,
        parent: r.parent_code,
        values: serde_json::from_str(&r.results)
            .map_err(|e| MonitoringError::Internal(format!("stored results: {e}")))?,
    })
}

impl LoadedEvaluation {
    pub fn judge(&self, row: &DivisionRow, column: usize) -> Judged {
        self.columns.columns[column].judge(
            self.columns.start_year,
            self.date,
            row.values.v.get(column).copied().flatten(),
        )
    }

    pub fn column(&self, code: &str) -> Option<usize> {
        self.columns.columns.iter().position(|c| c.code == code)
    }

    pub fn gap(&self, row: &DivisionRow, column: usize) -> Option<f64> {
        self.columns.columns[column].gap(
            self.columns.start_year,
            self.date,
            row.values.v.get(column).copied().flatten(),
        )
    }

    pub fn division_to_pb(&self, row: &DivisionRow) -> pb::DivisionResult {
        pb::DivisionResult {
            division: code_name(row.code),
            level: row.level,
            parent: row.parent.map(code_name).unwrap_or_default(),
            results: self
                .columns
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let j = self.judge(row, i);
                    pb::IndicatorResult {
                        indicator: indicator_name(&c.code),
                        value: j.value,
                        expected_value: j.expected,
                        target_value: j.target,
                        status: status_to_pb(j.status) as i32,
                        reported_value: row.values.r.get(i).copied().flatten(),
                        children_sum: row.values.c.get(i).copied().flatten(),
                    }
                })
                .collect(),
        }
    }

    /// `rows` ordered by gap on `column`, the most lagging first, no data last, then by code.
    pub fn rank(&self, rows: &mut [DivisionRow], column: usize) {
        rows.sort_by(|a, b| {
            let (ga, gb) = (self.gap(a, column), self.gap(b, column));
            match (ga, gb) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then(a.code.cmp(&b.code))
        });
    }
}

impl Monitoring {
    pub async fn load_evaluation(&self, plan_id: &str, id: &str) -> Result<LoadedEvaluation> {
        let record = self.get_evaluation(plan_id, id).await?;
        let columns: Columns = serde_json::from_str(&record.indicators)
            .map_err(|e| MonitoringError::Internal(format!("stored columns: {e}")))?;
        let date = NaiveDate::parse_from_str(&record.evaluation_date, "%Y-%m-%d")
            .map_err(|e| MonitoringError::Internal(format!("stored date: {e}")))?;
        Ok(LoadedEvaluation {
            record,
            columns,
            date,
        })
    }

    /// One division's row; `None` for the evaluation's root (the plan's scope).
    pub async fn division_row(
        &self,
        eval: &LoadedEvaluation,
        division: Option<DivisionCode>,
    ) -> Result<DivisionRow> {
        let id = &eval.record.id;
        let row = match division {
            Some(code) => self.store().result(id, code.as_i64()).await?,
            None => self.store().root_result(id).await?,
        };
        let row = row.ok_or_else(|| {
            MonitoringError::reference_not_found(
                "division",
                format!(
                    "division `{}` is not in the evaluation's scope",
                    division.map(division_name).unwrap_or_default()
                ),
            )
        })?;
        parse_row(row)
    }

    /// The children of `parent`, ordered by code.
    pub async fn child_rows(
        &self,
        eval: &LoadedEvaluation,
        parent: i64,
    ) -> Result<Vec<DivisionRow>> {
        self.store()
            .child_results(&eval.record.id, parent)
            .await?
            .into_iter()
            .map(parse_row)
            .collect()
    }

    /// The children of `parent` after the code `after`, by code, at most `n`.
    async fn child_rows_after(
        &self,
        eval: &LoadedEvaluation,
        parent: i64,
        after: i64,
        n: usize,
    ) -> Result<Vec<DivisionRow>> {
        self.store()
            .child_results_after(&eval.record.id, parent, after, n)
            .await?
            .into_iter()
            .map(parse_row)
            .collect()
    }

    /// One page of the children of `division`, by code or ranked. In code order a page is one
    /// indexed range after the last code sent; ranked pages rank every child (the evaluation never
    /// changes, so the ranking is the same for every page) and resume at the position reached.
    pub async fn list_child_results(
        &self,
        eval: &LoadedEvaluation,
        division: Option<DivisionCode>,
        page: ChildPage<'_>,
    ) -> Result<pb::ListChildResultsResponse> {
        let column = match page.rank_by {
            Some(code) => Some(eval.column(code).ok_or_else(|| {
                MonitoringError::invalid(
                    "rank_by",
                    format!("`indicators/{code}` is not in the evaluation"),
                )
            })?),
            None => None,
        };
        let query = format!(
            "child-results|{}|{}|{}|{}",
            eval.record.id,
            division.map(|d| d.as_i64()).unwrap_or(0),
            page.rank_by.unwrap_or(""),
            page.limit
        );
        let bad_token = || {
            MonitoringError::invalid(
                "page_token",
                "is not a token from this query; start again without it",
            )
        };
        // The key: children already sent, and the last code sent.
        let (sent, last) = match page::decode(&query, page.page_token)
            .map_err(|v| MonitoringError::Invalid(v.into()))?
        {
            None => (0, 0),
            Some(key) => {
                let (sent, last) = key.split_once(':').ok_or_else(bad_token)?;
                (
                    sent.parse::<usize>().map_err(|_| bad_token())?,
                    last.parse::<i64>().map_err(|_| bad_token())?,
                )
            }
        };
        let remaining = if page.limit > 0 {
            page.limit.saturating_sub(sent)
        } else {
            usize::MAX
        };
        let want = page.page_size.min(remaining);
        let parent = self.division_row(eval, division).await?;
        let (rows, more) = match column {
            Some(c) => {
                let mut rows = self.child_rows(eval, parent.code).await?;
                eval.rank(&mut rows, c);
                let rest: Vec<DivisionRow> = rows.into_iter().skip(sent).collect();
                let more = rest.len() > want;
                (rest.into_iter().take(want).collect::<Vec<_>>(), more)
            }
            None if want == 0 => (Vec::new(), false),
            None => {
                let mut rows = self
                    .child_rows_after(eval, parent.code, last, want + 1)
                    .await?;
                let more = rows.len() > want;
                rows.truncate(want);
                (rows, more)
            }
        };
        let more = more && remaining > rows.len();
        let next_page_token = match rows.last() {
            Some(r) if more => page::encode(&query, &format!("{}:{}", sent + rows.len(), r.code)),
            _ => String::new(),
        };
        Ok(pb::ListChildResultsResponse {
            results: rows.iter().map(|r| eval.division_to_pb(r)).collect(),
            next_page_token,
        })
    }

    /// Indicators of `division` and its children whose value or status moved from `base` to
    /// `other`.
    pub async fn compare(
        &self,
        base: &LoadedEvaluation,
        other: &LoadedEvaluation,
        division: Option<DivisionCode>,
    ) -> Result<Vec<pb::IndicatorChange>> {
        let mut changes = Vec::new();
        let b_root = self.division_row(base, division).await?;
        let o_root = self.division_row(other, division).await?;
        let b_children = self.child_rows(base, b_root.code).await?;
        let o_children = self.child_rows(other, o_root.code).await?;
        let mut pairs = vec![(Some(b_root.clone()), Some(o_root))];
        let mut codes: Vec<i64> = b_children
            .iter()
            .chain(&o_children)
            .map(|r| r.code)
            .collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            pairs.push((
                b_children.iter().find(|r| r.code == code).cloned(),
                o_children.iter().find(|r| r.code == code).cloned(),
            ));
        }
        for (b, o) in pairs {
            let code = b.as_ref().or(o.as_ref()).map_or(0, |r| r.code);
            for (oi, col) in other.columns.columns.iter().enumerate() {
                let bi = base.column(&col.code);
                let bj = match (&b, bi) {
                    (Some(row), Some(i)) => base.judge(row, i),
                    _ => col.judge(base.columns.start_year, base.date, None),
                };
                let oj = match &o {
                    Some(row) => other.judge(row, oi),
                    None => col.judge(other.columns.start_year, other.date, None),
                };
                let moved = match (bj.value, oj.value) {
                    (Some(x), Some(y)) => (x - y).abs() > 1e-12,
                    (None, None) => false,
                    _ => true,
                };
                if moved || bj.status != oj.status {
                    changes.push(pb::IndicatorChange {
                        division: code_name(code),
                        indicator: indicator_name(&col.code),
                        base_value: bj.value,
                        other_value: oj.value,
                        delta: bj.value.zip(oj.value).map(|(x, y)| y - x),
                        base_status: status_to_pb(bj.status) as i32,
                        other_status: status_to_pb(oj.status) as i32,
                    });
                }
            }
        }
        Ok(changes)
    }

    /// The report of one division: per indicator its value, expected value, target and status,
    /// and the `worst` children with the largest gaps.
    pub async fn render_report(
        &self,
        eval: &LoadedEvaluation,
        division: Option<DivisionCode>,
        format: pb::ReportFormat,
        worst: usize,
    ) -> Result<pb::RenderReportResponse> {
        let row = self.division_row(eval, division).await?;
        let mut children = self.child_rows(eval, row.code).await?;
        // What only the HTML page shows: the plan's and the regions' names.
        let labels = if format == pb::ReportFormat::Html {
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
            lines.push((col, j, worst_regions));
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
            pb::ReportFormat::Csv => {
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
                ])
                .map_err(csv_err)?;
                let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
                for (col, j, worst) in &lines {
                    let worst: Vec<String> = worst
                        .iter()
                        .map(|(c, v)| format!("{}={}", region(*c), num(*v)))
                        .collect();
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
                    ])
                    .map_err(csv_err)?;
                }
                let bytes = w
                    .into_inner()
                    .map_err(|e| MonitoringError::Internal(e.to_string()))?;
                ("text/csv", String::from_utf8_lossy(&bytes).into_owned())
            }
            pb::ReportFormat::Json => {
                let indicators: Vec<serde_json::Value> = lines
                    .iter()
                    .map(|(col, j, worst)| {
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
            pb::ReportFormat::Html => (
                "text/html; charset=utf-8",
                html_report(eval, &row, &children, worst, labels).render(),
            ),
            pb::ReportFormat::Text | pb::ReportFormat::Unspecified => {
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
                    "worst regions",
                ];
                let mut table: Vec<[String; 6]> = vec![header.map(str::to_owned)];
                for (col, j, worst) in &lines {
                    let worst: Vec<String> = worst
                        .iter()
                        .map(|(c, v)| format!("{} {}", region(*c), fmt(*v, col)))
                        .collect();
                    table.push([
                        col.code.clone(),
                        fmt(j.value, col),
                        fmt(j.expected, col),
                        fmt(j.target, col),
                        status_word(j.status).to_owned(),
                        worst.join(", "),
                    ]);
                }
                let widths: Vec<usize> = (0..6)
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
                ("text/plain", out)
            }
        };
        Ok(pb::RenderReportResponse {
            content_type: content_type.to_owned(),
            content,
        })
    }

    /// The plan's name and the names of `code` and its children. Region names come from the
    /// registry; when it cannot answer, the report shows codes instead.
    async fn report_labels(&self, eval: &LoadedEvaluation, code: i64) -> Result<ReportLabels> {
        let division = (code != 0)
            .then(|| DivisionCode::from_u64(code as u64).ok())
            .flatten();
        let regions = match self.sources.division_names(division).await {
            Ok(names) => names,
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

/// Microseconds since the epoch as RFC 3339 (UTC, seconds).
fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::TargetDef;

    #[test]
    fn lower_is_better_mirrors_statuses_and_gaps() {
        let column = Column {
            code: "waiting_days".into(),
            display_name: "等待天数".into(),
            unit: "days".into(),
            direction: Better::Lower,
            reported: true,
            target: Some(TargetDef {
                indicator: "waiting_days".into(),
                baseline: Some((30.0, 2020)),
                target_value: 10.0,
                target_year: 2022,
                direction: Better::Lower,
            }),
        };
        let date = NaiveDate::from_ymd_opt(2021, 12, 31).unwrap();
        let status = |v| column.judge(2021, date, Some(v)).status.unwrap();
        assert_eq!(status(10.0), Status::Achieved);
        assert_eq!(status(20.0), Status::OnTrack);
        assert_eq!(status(25.0), Status::Lagging);
        assert_eq!(status(25.1), Status::OffTrack);
        assert!(
            column.gap(2021, date, Some(25.0)).unwrap()
                > column.gap(2021, date, Some(20.0)).unwrap()
        );
        assert_eq!(column.judge(2021, date, None).status, Some(Status::NoData));
    }
}
