//! Reading a stored evaluation: one division (one primary-key lookup), its children (one indexed
//! range), the children ranked by gap to the expected value, and the difference between two
//! evaluations (reports are in `report`). Statuses are computed on read from the stored values,
//! the evaluation date and the targets the evaluation recorded.

use chrono::NaiveDate;
use shequ_domain::{DivisionCode, Judgement, Milestone, Status};
use shequ_platform::page;

use crate::error::{MonitoringError, Result};
use crate::indicators::Better;
use crate::names::division_name;
use crate::plan::Method;
use crate::rollup::periods_of;
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
    /// How the status was judged; `None` without a target.
    pub method: Option<Method>,
    /// Why the status is undetermined, or that the value moved away from the target.
    pub note: Option<String>,
    /// The growth-rate method's ratio of observed to required growth.
    pub growth_ratio: Option<f64>,
    /// The division whose target override is in force; `None` for the plan's own target.
    pub target_division: Option<u64>,
    /// The milestones of the target in force.
    pub milestones: Vec<Milestone>,
}

/// What lies behind one indicator's figure for one division.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Behind {
    /// The summed parts of a ratio, share or mean.
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    /// The data's time, in microseconds since the epoch: when the facts were read, or the
    /// latest entry time of the reported values used.
    pub as_of: Option<i64>,
    /// The periods of the reported values used, sorted.
    pub periods: Vec<String>,
}

impl Column {
    /// Judges `value` against the target's `variant` (0 for the plan's own target, see
    /// `TargetDef::variant`).
    pub fn judge(
        &self,
        start_year: i32,
        date: NaiveDate,
        value: Option<f64>,
        variant: usize,
    ) -> Judged {
        match &self.target {
            Some(t) => {
                let target = t.variant(variant);
                let trajectory = target.trajectory(start_year);
                let judgement = match target.method {
                    Method::Linear => Judgement {
                        status: trajectory.status(value, date),
                        growth_ratio: None,
                        note: None,
                    },
                    Method::GrowthRate(thresholds) => {
                        trajectory.growth_status(value, date, thresholds)
                    }
                };
                Judged {
                    value,
                    expected: Some(trajectory.expected(date)),
                    target: Some(target.target_value),
                    status: Some(judgement.status),
                    method: Some(target.method),
                    note: judgement.note,
                    growth_ratio: judgement.growth_ratio,
                    target_division: target.division,
                    milestones: target.milestones.to_vec(),
                }
            }
            None => Judged {
                value,
                expected: None,
                target: None,
                status: value.is_none().then_some(Status::NoData),
                method: None,
                note: None,
                growth_ratio: None,
                target_division: None,
                milestones: Vec::new(),
            },
        }
    }

    /// How far `value` falls short of the expected value (of nothing, without a target), in the
    /// direction that is worse: larger is more lagging; `None` for no data.
    pub fn gap(
        &self,
        start_year: i32,
        date: NaiveDate,
        value: Option<f64>,
        variant: usize,
    ) -> Option<f64> {
        let v = value?;
        let sign = match self.target.as_ref().map_or(self.direction, |t| t.direction) {
            Better::Higher => 1.0,
            Better::Lower => -1.0,
        };
        let expected = self.target.as_ref().map_or(0.0, |t| {
            t.variant(variant).trajectory(start_year).expected(date)
        });
        Some(sign * (expected - v))
    }
}

/// The division name (`divisions/{code}`) of a stored code; empty for the country (0).
pub fn code_name(code: i64) -> String {
    if code == 0 {
        return String::new();
    }
    DivisionCode::from_u64(code as u64)
        .map(division_name)
        .unwrap_or_default()
}

/// An indicator of a division whose value or status moved from one evaluation to another.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorChange {
    /// The division's code; 0 for the country.
    pub division: i64,
    pub indicator: String,
    pub base_value: Option<f64>,
    pub other_value: Option<f64>,
    /// `other_value - base_value`, when both are known.
    pub delta: Option<f64>,
    /// `None`: no target.
    pub base_status: Option<Status>,
    pub other_status: Option<Status>,
}

/// A stored row with its values parsed.
#[derive(Debug, Clone)]
pub struct DivisionRow {
    pub code: i64,
    pub level: i32,
    pub parent: Option<i64>,
    pub values: StoredValues,
}

pub(crate) fn parse_row(r: ResultRecord) -> Result<DivisionRow> {
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
            row.values.variant(column),
        )
    }

    /// What lies behind `row`'s figure for `column`; all unset for rows stored before it was
    /// kept.
    pub fn behind(&self, row: &DivisionRow, column: usize) -> Behind {
        let at = |v: &[Option<f64>]| v.get(column).copied().flatten();
        let reported = self.columns.columns[column].reported;
        Behind {
            numerator: at(&row.values.n),
            denominator: at(&row.values.d),
            as_of: if reported {
                row.values.t.get(column).copied().flatten()
            } else {
                self.columns.facts_time
            },
            periods: row
                .values
                .p
                .get(column)
                .map(|mask| periods_of(*mask, &self.columns.periods))
                .unwrap_or_default(),
        }
    }

    pub fn column(&self, code: &str) -> Option<usize> {
        self.columns.columns.iter().position(|c| c.code == code)
    }

    pub fn gap(&self, row: &DivisionRow, column: usize) -> Option<f64> {
        self.columns.columns[column].gap(
            self.columns.start_year,
            self.date,
            row.values.v.get(column).copied().flatten(),
            row.values.variant(column),
        )
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
    ) -> Result<(Vec<DivisionRow>, String)> {
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
        Ok((rows, next_page_token))
    }

    /// Indicators of `division` and its children whose value or status moved from `base` to
    /// `other`.
    pub async fn compare(
        &self,
        base: &LoadedEvaluation,
        other: &LoadedEvaluation,
        division: Option<DivisionCode>,
    ) -> Result<Vec<IndicatorChange>> {
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
                    _ => col.judge(base.columns.start_year, base.date, None, 0),
                };
                let oj = match &o {
                    Some(row) => other.judge(row, oi),
                    None => col.judge(other.columns.start_year, other.date, None, 0),
                };
                let moved = match (bj.value, oj.value) {
                    (Some(x), Some(y)) => (x - y).abs() > 1e-12,
                    (None, None) => false,
                    _ => true,
                };
                if moved || bj.status != oj.status {
                    changes.push(IndicatorChange {
                        division: code,
                        indicator: col.code.clone(),
                        base_value: bj.value,
                        other_value: oj.value,
                        delta: bj.value.zip(oj.value).map(|(x, y)| y - x),
                        base_status: bj.status,
                        other_status: oj.status,
                    });
                }
            }
        }
        Ok(changes)
    }
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
                milestones: Vec::new(),
                method: Method::Linear,
                overrides: Vec::new(),
            }),
        };
        let date = NaiveDate::from_ymd_opt(2021, 12, 31).unwrap();
        let status = |v| column.judge(2021, date, Some(v), 0).status.unwrap();
        assert_eq!(status(10.0), Status::Achieved);
        assert_eq!(status(20.0), Status::OnTrack);
        assert_eq!(status(25.0), Status::Lagging);
        assert_eq!(status(25.1), Status::OffTrack);
        assert!(
            column.gap(2021, date, Some(25.0), 0).unwrap()
                > column.gap(2021, date, Some(20.0), 0).unwrap()
        );
        assert_eq!(
            column.judge(2021, date, None, 0).status,
            Some(Status::NoData)
        );
    }
}
