//! What lies behind a figure: the leaf units a computed figure counted, or the reported values a
//! reported one added up, read from the stored evaluation's rows, paged.

use std::collections::HashMap;

use shequ_platform::page;

use crate::error::{MonitoringError, Result};
use crate::indicators::{IndicatorDef, Kind, Source};
use crate::rollup::periods_of;
use crate::service::Monitoring;
use crate::service::results::{DivisionRow, LoadedEvaluation, parse_row};

/// One record behind a figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub code: i64,
    pub level: i32,
    /// The indicator the record's value belongs to.
    pub indicator: String,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    /// For a reported value: its entry time (microseconds) and periods.
    pub as_of: Option<i64>,
    pub periods: Vec<String>,
}

impl Monitoring {
    /// One page of the records behind `row`'s figure for `indicator` in `eval`, and the next
    /// page's token. The caller has checked the division may be read.
    pub async fn result_records(
        &self,
        eval: &LoadedEvaluation,
        row: &DivisionRow,
        indicator: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Record>, String)> {
        let size = page::page_size(page_size)? as usize;
        let column = eval.column(indicator).ok_or_else(|| {
            MonitoringError::invalid(
                "indicator",
                format!("`indicators/{indicator}` is not an indicator of this evaluation"),
            )
        })?;
        let query = format!(
            "records of {} in {} for {indicator}",
            row.code, eval.record.id
        );
        let token = page::decode(&query, page_token)?;
        let bad_token = || MonitoringError::invalid("page_token", "is not a token of this listing");
        if !eval.columns.columns[column].reported {
            let (branch, after) = match token.as_deref() {
                None => (0, 0),
                Some(t) => t
                    .split_once(':')
                    .and_then(|(b, a)| Some((b.parse().ok()?, a.parse().ok()?)))
                    .ok_or_else(bad_token)?,
            };
            let (records, next) = self
                .leaf_records(eval, row, column, branch, after, size)
                .await?;
            let next = next.map(|(b, a)| page::encode(&query, &format!("{b}:{a}")));
            return Ok((records, next.unwrap_or_default()));
        }
        // Reported: few records as a rule; listed whole, then paged by position.
        let offset: usize = match token.as_deref() {
            None => 0,
            Some(t) => t.parse().map_err(|_| bad_token())?,
        };
        let plan = self.get_plan(&eval.record.plan_id).await?;
        let def = plan.indicators().into_iter().find(|d| d.code == indicator);
        let mut records = Vec::new();
        for part in parts(def.as_ref(), indicator) {
            let Some(c) = eval.column(&part) else {
                continue;
            };
            let as_is = def.as_ref().is_some_and(|d| {
                d.source == Source::Reported && d.kind != Kind::Sum && !d.has_parts()
            });
            self.reported_records(eval, row, c, as_is, &mut records)
                .await?;
        }
        let next = if records.len() > offset + size {
            page::encode(&query, &(offset + size).to_string())
        } else {
            String::new()
        };
        Ok((records.into_iter().skip(offset).take(size).collect(), next))
    }

    /// Leaf units under `row` in the order of their parents (a walk of the branches, children by
    /// code) and then by code, from branch `branch` after leaf code `after`; with the position
    /// to go on from when more follow.
    async fn leaf_records(
        &self,
        eval: &LoadedEvaluation,
        row: &DivisionRow,
        column: usize,
        branch: usize,
        after: i64,
        size: usize,
    ) -> Result<(Vec<Record>, Option<(usize, i64)>)> {
        if row.level == 5 {
            let records = (branch == 0 && after == 0)
                .then(|| leaf_record(eval, row, column))
                .into_iter()
                .collect();
            return Ok((records, None));
        }
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        for (code, parent) in self.store().branches(&eval.record.id).await? {
            if let Some(parent) = parent {
                children.entry(parent).or_default().push(code);
            }
        }
        // The branches under `row`, itself first, depth first with children by code.
        let mut order = Vec::new();
        let mut stack = vec![row.code];
        while let Some(code) = stack.pop() {
            order.push(code);
            if let Some(kids) = children.get_mut(&code) {
                kids.sort_unstable();
                stack.extend(kids.iter().rev());
            }
        }
        let mut out = Vec::new();
        let (mut b, mut after) = (branch, after);
        while b < order.len() {
            let want = size + 1 - out.len();
            let leaves = self
                .store()
                .leaf_results_after(&eval.record.id, order[b], after, want)
                .await?;
            let full = leaves.len() == want;
            for leaf in leaves {
                let leaf = parse_row(leaf)?;
                if out.len() == size {
                    return Ok((out, Some((b, after))));
                }
                after = leaf.code;
                out.push(leaf_record(eval, &leaf, column));
            }
            if !full {
                b += 1;
                after = 0;
            }
        }
        Ok((out, None))
    }

    /// The reported values behind `row`'s figure in `column`: its own when it has one, else its
    /// children's by the same rule; a figure reported as is stands only for itself.
    async fn reported_records(
        &self,
        eval: &LoadedEvaluation,
        row: &DivisionRow,
        column: usize,
        as_is: bool,
        out: &mut Vec<Record>,
    ) -> Result<()> {
        let code = &eval.columns.columns[column].code;
        let mut stack = vec![row.clone()];
        while let Some(r) = stack.pop() {
            let own = r.values.r.get(column).copied().flatten();
            if own.is_some() {
                out.push(Record {
                    code: r.code,
                    level: r.level,
                    indicator: code.clone(),
                    value: own,
                    numerator: None,
                    denominator: None,
                    as_of: r.values.t.get(column).copied().flatten(),
                    periods: r
                        .values
                        .p
                        .get(column)
                        .map(|mask| periods_of(*mask, &eval.columns.periods))
                        .unwrap_or_default(),
                });
                continue;
            }
            if as_is || r.values.c.get(column).copied().flatten().is_none() {
                continue;
            }
            let mut kids = self.child_rows(eval, r.code).await?;
            kids.reverse();
            stack.extend(kids);
        }
        Ok(())
    }
}

/// The indicators whose reported values make up `indicator`'s: a reported ratio's numerator
/// and denominator, else the indicator itself.
fn parts(def: Option<&IndicatorDef>, indicator: &str) -> Vec<String> {
    match def {
        Some(d) if d.has_parts() => vec![d.field.clone(), d.denominator_field.clone()],
        _ => vec![indicator.to_owned()],
    }
}

fn leaf_record(eval: &LoadedEvaluation, row: &DivisionRow, column: usize) -> Record {
    let behind = eval.behind(row, column);
    Record {
        code: row.code,
        level: row.level,
        indicator: eval.columns.columns[column].code.clone(),
        value: row.values.v.get(column).copied().flatten(),
        numerator: behind.numerator,
        denominator: behind.denominator,
        as_of: None,
        periods: Vec::new(),
    }
}
