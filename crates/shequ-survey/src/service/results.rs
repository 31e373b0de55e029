//! What a round yields: results and coverage for any division of its region, summed over the
//! per-leaf-unit aggregates, and the facts stream the plan monitor reads.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::Stream;
use sea_orm::{ConnectionTrait, Value};
use shequ_domain::{DivisionCode, ServiceKind};
use shequ_proto::convert::service_to_pb;
use shequ_proto::names::division_name;
use shequ_proto::survey::v1 as pb;

use super::{RoundContext, Survey};
use crate::error::{Result, SurveyError};
use crate::model::QuestionKind;
use crate::region::RegionMap;
use crate::store::stmt;
use shequ_platform::page::{self, page_size};

/// Mean of `sum` over `n`, absent when `n` is 0.
fn mean(sum: f64, n: i64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

impl Survey {
    /// The division the request names (the region when `None`), with its aggregate column.
    async fn scope(
        &self,
        ctx: &RoundContext,
        division: Option<DivisionCode>,
    ) -> Result<(Arc<RegionMap>, DivisionCode, &'static str)> {
        let map = self.region_map(ctx).await?;
        let code = division.unwrap_or(ctx.region);
        let column = map.scope_column(code.as_i64()).ok_or_else(|| {
            SurveyError::invalid(
                "division",
                format!(
                    "`{}` is not the round's region `{}` or a division inside it",
                    division_name(code),
                    division_name(ctx.region)
                ),
            )
        })?;
        Ok((map, code, column))
    }

    pub async fn round_results(
        &self,
        round_id: &str,
        division: Option<DivisionCode>,
    ) -> Result<pb::GetRoundResultsResponse> {
        let ctx = self.round_context(round_id).await?;
        let (_, code, column) = self.scope(&ctx, division).await?;
        let backend = self.backend();
        let values = || -> Vec<Value> { vec![round_id.into(), code.as_i64().into()] };
        let totals = self
            .db
            .conn
            .query_one_raw(stmt(
                backend,
                format!(
                    "SELECT CAST(coalesce(sum(valid_responses), 0) AS BIGINT), CAST(coalesce(sum(scored_responses), 0) AS BIGINT), coalesce(sum(score_sum), 0.0) \
                     FROM survey_unit_aggregates WHERE round_id = $1 AND {column} = $2"
                ),
                values(),
            ))
            .await?;
        let (valid, scored, score_sum) = match totals {
            Some(row) => (
                row.try_get_by_index::<i64>(0)?,
                row.try_get_by_index::<i64>(1)?,
                row.try_get_by_index::<f64>(2)?,
            ),
            None => (0, 0, 0.0),
        };
        let rows = self
            .db
            .conn
            .query_all_raw(stmt(
                backend,
                format!(
                    "SELECT c.question_id, c.answer, CAST(sum(c.responses) AS BIGINT), sum(c.value_sum) \
                     FROM survey_answer_counts c JOIN survey_unit_aggregates u ON u.round_id = c.round_id AND u.leaf_code = c.leaf_code \
                     WHERE c.round_id = $1 AND u.{column} = $2 GROUP BY c.question_id, c.answer"
                ),
                values(),
            ))
            .await?;
        let mut counts: HashMap<String, BTreeMap<String, (i64, f64)>> = HashMap::new();
        for row in rows {
            let question: String = row.try_get_by_index(0)?;
            let answer: String = row.try_get_by_index(1)?;
            let n: i64 = row.try_get_by_index(2)?;
            let sum: f64 = row.try_get_by_index(3)?;
            counts.entry(question).or_default().insert(answer, (n, sum));
        }
        let mut questions = Vec::with_capacity(ctx.questions.len());
        let mut dimensions: BTreeMap<ServiceKind, (i64, f64)> = BTreeMap::new();
        for q in &ctx.questions {
            let answers = counts.remove(&q.id).unwrap_or_default();
            let mut result = pb::QuestionResults {
                question_id: q.id.clone(),
                ..Default::default()
            };
            match q.kind {
                QuestionKind::Number | QuestionKind::FreeText => {
                    let (n, sum) = answers.get("").copied().unwrap_or((0, 0.0));
                    result.answered = n;
                    if q.kind == QuestionKind::Number {
                        result.mean = mean(sum, n);
                    }
                }
                _ => {
                    let keys: Vec<String> = match q.kind {
                        QuestionKind::Satisfaction => (1..=5).map(|r: u8| r.to_string()).collect(),
                        QuestionKind::YesNo => vec!["yes".into(), "no".into()],
                        _ => q.options.iter().map(|o| o.id.clone()).collect(),
                    };
                    result.counts = keys
                        .iter()
                        .map(|k| pb::AnswerCount {
                            answer: k.clone(),
                            responses: answers.get(k).map(|a| a.0).unwrap_or(0),
                        })
                        .collect();
                    result.answered = if q.kind == QuestionKind::MultipleChoice {
                        answers.get("").map(|a| a.0).unwrap_or(0)
                    } else {
                        result.counts.iter().map(|c| c.responses).sum()
                    };
                    if let (QuestionKind::Satisfaction, Some(d)) = (q.kind, q.dimension()) {
                        let entry = dimensions.entry(d).or_insert((0, 0.0));
                        for c in &result.counts {
                            let rating: f64 = c.answer.parse().unwrap_or(1.0);
                            entry.0 += c.responses;
                            entry.1 += c.responses as f64 * (rating - 1.0) * 25.0;
                        }
                    }
                }
            }
            questions.push(result);
        }
        Ok(pb::GetRoundResultsResponse {
            division: division_name(code),
            valid_responses: valid,
            scored_responses: scored,
            satisfaction_index: mean(score_sum, scored),
            questions,
            dimensions: dimensions
                .into_iter()
                .map(|(d, (n, sum))| pb::DimensionResults {
                    dimension: service_to_pb(d) as i32,
                    answers: n,
                    satisfaction_index: mean(sum, n),
                })
                .collect(),
        })
    }

    /// Valid responses per leaf unit of the round with any.
    async fn valid_per_unit(
        &self,
        round_id: &str,
        column: &str,
        code: i64,
    ) -> Result<HashMap<i64, (i64, i64, f64)>> {
        let rows = self
            .db
            .conn
            .query_all_raw(stmt(
                self.backend(),
                format!("SELECT leaf_code, valid_responses, scored_responses, score_sum FROM survey_unit_aggregates WHERE round_id = $1 AND {column} = $2"),
                [round_id.into(), code.into()],
            ))
            .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in rows {
            out.insert(
                row.try_get_by_index(0)?,
                (
                    row.try_get_by_index(1)?,
                    row.try_get_by_index(2)?,
                    row.try_get_by_index(3)?,
                ),
            );
        }
        Ok(out)
    }

    pub async fn round_coverage(
        &self,
        round_id: &str,
        division: Option<DivisionCode>,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<pb::GetRoundCoverageResponse> {
        let size = page_size(requested_page_size)? as usize;
        let ctx = self.round_context(round_id).await?;
        let (map, code, column) = self.scope(&ctx, division).await?;
        let query = format!("coverage {round_id} {code}");
        let after: Option<i64> = match page::decode(&query, page_token)? {
            Some(key) => Some(key.parse().map_err(|_| {
                SurveyError::invalid(
                    "page_token",
                    "is not a token from this query; start again without it",
                )
            })?),
            None => None,
        };
        let valid = self.valid_per_unit(round_id, column, code.as_i64()).await?;
        let min = i64::from(ctx.min_valid_responses);
        let (mut units, mut covered) = (0i64, 0i64);
        let mut short = Vec::new();
        let mut next_page_token = String::new();
        for (unit, ancestors) in &map.units {
            if !map.contains(code.as_i64(), *unit, ancestors) {
                continue;
            }
            units += 1;
            let n = valid.get(unit).map(|v| v.0).unwrap_or(0);
            if n >= min {
                covered += 1;
            } else if after.is_none_or(|a| *unit > a) {
                if short.len() == size {
                    if next_page_token.is_empty() {
                        let last: &pb::ShortLeafUnit = short.last().expect("page is full");
                        let last_code = last.leaf_unit.trim_start_matches("divisions/").to_owned();
                        next_page_token = page::encode(&query, &last_code);
                    }
                } else {
                    short.push(pb::ShortLeafUnit {
                        leaf_unit: DivisionCode::from_u64(*unit as u64)
                            .map(division_name)
                            .unwrap_or_default(),
                        valid_responses: n,
                    });
                }
            }
        }
        Ok(pb::GetRoundCoverageResponse {
            division: division_name(code),
            covered_leaf_units: covered,
            leaf_units: units,
            coverage: if units > 0 {
                covered as f64 / units as f64
            } else {
                0.0
            },
            short_leaf_units: short,
            next_page_token,
        })
    }

    /// Per leaf unit of the round's region, in code order and in batches: valid and scored
    /// responses and the score sum, with the unit's ancestors.
    pub async fn round_facts(
        &self,
        round_id: &str,
    ) -> Result<impl Stream<Item = Result<pb::StreamRoundFactsResponse>> + Send + 'static> {
        let ctx = self.round_context(round_id).await?;
        let (map, code, column) = self.scope(&ctx, None).await?;
        let totals = self.valid_per_unit(round_id, column, code.as_i64()).await?;
        let batch_size = self.settings.facts_batch_size.max(1);
        let min = ctx.min_valid_responses;
        Ok(async_stream::try_stream! {
            let mut batch = Vec::with_capacity(batch_size);
            let mut first = true;
            for (unit, a) in &map.units {
                let (valid, scored, sum) = totals.get(unit).copied().unwrap_or((0, 0, 0.0));
                batch.push(pb::RoundUnitFacts {
                    code: *unit as u64,
                    province: a.province as u64,
                    prefecture: a.prefecture.unwrap_or_default() as u64,
                    county: a.county.unwrap_or_default() as u64,
                    township: a.township.unwrap_or_default() as u64,
                    valid_responses: valid,
                    scored_responses: scored,
                    score_sum: sum,
                });
                if batch.len() == batch_size {
                    let facts = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                    yield pb::StreamRoundFactsResponse { facts, min_valid_responses: if std::mem::take(&mut first) { min } else { 0 } };
                }
            }
            if !batch.is_empty() || first {
                yield pb::StreamRoundFactsResponse { facts: batch, min_valid_responses: if first { min } else { 0 } };
            }
        })
    }
}
