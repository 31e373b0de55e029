//! What a round yields: results and coverage for any division of its region, read from the
//! division's tally after folding pending deltas, and the facts stream the plan monitor reads.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::Stream;
use sea_orm::ConnectionTrait;
use shequ_domain::{DivisionCode, ServiceKind};
use shequ_proto::convert::service_to_pb;
use shequ_proto::names::division_name;
use shequ_proto::survey::v1 as pb;

use super::tallies::one_of;
use super::{RoundContext, Survey};
use crate::error::{Result, SurveyError};
use crate::model::QuestionKind;
use crate::region::{Ancestors, RegionMap};
use crate::store::stmt;
use shequ_platform::page::{self, page_size};

/// Leaf units whose valid responses one coverage query reads.
const UNITS_PER_QUERY: usize = 1_000;

/// Mean of `sum` over `n`, absent when `n` is 0.
fn mean(sum: f64, n: i64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

/// The name of a tally key: `divisions/{code}`, or empty for the whole country (0).
fn key_name(key: i64) -> String {
    DivisionCode::from_u64(key as u64)
        .map(division_name)
        .unwrap_or_default()
}

impl Survey {
    /// The tally key of the division the request names (the region when `None`).
    async fn scope(
        &self,
        ctx: &Arc<RoundContext>,
        division: Option<DivisionCode>,
    ) -> Result<(Arc<RegionMap>, i64)> {
        let map = self.region_map(ctx).await?;
        let Some(code) = division else {
            return Ok((map, ctx.region_key()));
        };
        let key = code.as_i64();
        let late = matches!(
            ctx.region_cache
                .extra
                .lock()
                .expect("not poisoned")
                .get(&key),
            Some(Ok(_))
        );
        if map.level(key).is_none() && !late {
            return Err(SurveyError::invalid(
                "division",
                format!(
                    "`{}` is not the round's region {} or a division inside it",
                    division_name(code),
                    match ctx.region {
                        Some((r, _)) => format!("`{}`", division_name(r)),
                        None => "(the whole country)".to_owned(),
                    }
                ),
            ));
        }
        Ok((map, key))
    }

    pub async fn round_results(
        &self,
        round_id: &str,
        division: Option<DivisionCode>,
    ) -> Result<pb::GetRoundResultsResponse> {
        let ctx = self.round_context(round_id).await?;
        let (_, key) = self.scope(&ctx, division).await?;
        self.fold(&ctx).await?;
        let tally = self
            .tallies(&self.db.conn, &ctx, &[key])
            .await?
            .remove(&key)
            .unwrap_or_default();
        let mut slots = tally.slots;
        slots.resize(ctx.layout.slot_count(), 0.0);
        let mut questions = Vec::with_capacity(ctx.questions.len());
        let mut dimensions: BTreeMap<ServiceKind, (i64, f64)> = BTreeMap::new();
        for (i, q) in ctx.questions.iter().enumerate() {
            let own = ctx.layout.slots(i, &slots);
            let count = |j: usize| own.get(j).copied().unwrap_or(0.0).round() as i64;
            let mut result = pb::QuestionResults {
                question_id: q.id.clone(),
                ..Default::default()
            };
            let labelled = |keys: Vec<String>, offset: usize| -> Vec<pb::AnswerCount> {
                keys.into_iter()
                    .enumerate()
                    .map(|(j, answer)| pb::AnswerCount {
                        answer,
                        responses: count(offset + j),
                    })
                    .collect()
            };
            match q.kind {
                QuestionKind::Number => {
                    result.answered = count(0);
                    result.mean = mean(own.get(1).copied().unwrap_or(0.0), result.answered);
                }
                QuestionKind::FreeText => result.answered = count(0),
                QuestionKind::MultipleChoice => {
                    result.answered = count(0);
                    result.counts = labelled(q.options.iter().map(|o| o.id.clone()).collect(), 1);
                }
                QuestionKind::SingleChoice => {
                    result.counts = labelled(q.options.iter().map(|o| o.id.clone()).collect(), 0);
                }
                QuestionKind::YesNo => {
                    result.counts = labelled(vec!["yes".into(), "no".into()], 0);
                }
                QuestionKind::Satisfaction => {
                    result.counts = labelled((1..=5).map(|r: u8| r.to_string()).collect(), 0);
                    if let Some(d) = q.dimension() {
                        let entry = dimensions.entry(d).or_insert((0, 0.0));
                        for (rating, c) in result.counts.iter().enumerate() {
                            entry.0 += c.responses;
                            entry.1 += c.responses as f64 * rating as f64 * 25.0;
                        }
                    }
                }
            }
            if !matches!(
                q.kind,
                QuestionKind::Number | QuestionKind::FreeText | QuestionKind::MultipleChoice
            ) {
                result.answered = result.counts.iter().map(|c| c.responses).sum();
            }
            questions.push(result);
        }
        Ok(pb::GetRoundResultsResponse {
            division: key_name(key),
            valid_responses: tally.valid,
            scored_responses: tally.scored,
            satisfaction_index: mean(tally.score_sum, tally.scored),
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

    /// Every leaf unit of the round in division `key` (0: all of them), in code order: those of
    /// the region map and those the registry confirmed one by one since.
    fn scope_units(ctx: &RoundContext, map: &RegionMap, key: i64) -> Vec<(i64, Ancestors)> {
        let mut units: Vec<(i64, Ancestors)> = map
            .units
            .iter()
            .filter(|(u, a)| map.contains(key, *u, a))
            .copied()
            .collect();
        let extra = ctx.region_cache.extra.lock().expect("not poisoned");
        let before = units.len();
        for (u, known) in extra.iter() {
            if let Ok(a) = known
                && map.contains(key, *u, a)
                && map.get(*u).is_none()
            {
                units.push((*u, *a));
            }
        }
        if units.len() > before {
            units.sort_unstable_by_key(|u| u.0);
        }
        units
    }

    /// Valid responses of the given leaf units that have any.
    async fn valid_of(&self, round_id: &str, codes: &[i64]) -> Result<HashMap<i64, i64>> {
        let mut out = HashMap::with_capacity(codes.len());
        for chunk in codes.chunks(UNITS_PER_QUERY) {
            let (condition, mut values) = one_of(self.backend(), "code", 2, chunk);
            values.insert(0, round_id.into());
            let rows = self
                .db
                .conn
                .query_all_raw(stmt(
                    self.backend(),
                    format!(
                        "SELECT code, valid_responses FROM survey_tallies WHERE round_id = $1 AND {condition}"
                    ),
                    values,
                ))
                .await?;
            for row in rows {
                out.insert(row.try_get_by_index(0)?, row.try_get_by_index(1)?);
            }
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
        let (map, key) = self.scope(&ctx, division).await?;
        let query = format!("coverage {round_id} {key}");
        let after: Option<i64> = match page::decode(&query, page_token)? {
            Some(k) => Some(k.parse().map_err(|_| {
                SurveyError::invalid(
                    "page_token",
                    "is not a token from this query; start again without it",
                )
            })?),
            None => None,
        };
        self.fold(&ctx).await?;
        let covered = self
            .tallies(&self.db.conn, &ctx, &[key])
            .await?
            .remove(&key)
            .map(|t| t.covered)
            .unwrap_or(0);
        let units = Self::scope_units(&ctx, &map, key);
        let min = i64::from(ctx.min_valid_responses);
        let start = after.map_or(0, |a| units.partition_point(|u| u.0 <= a));
        let mut short: Vec<pb::ShortLeafUnit> = Vec::new();
        let mut next_page_token = String::new();
        'pages: for chunk in units[start..].chunks(UNITS_PER_QUERY) {
            let codes: Vec<i64> = chunk.iter().map(|u| u.0).collect();
            let valid = self.valid_of(round_id, &codes).await?;
            for code in codes {
                let n = valid.get(&code).copied().unwrap_or(0);
                if n >= min {
                    continue;
                }
                if short.len() == size {
                    let last = short.last().expect("page is full");
                    let last_code = last.leaf_unit.trim_start_matches("divisions/").to_owned();
                    next_page_token = page::encode(&query, &last_code);
                    break 'pages;
                }
                short.push(pb::ShortLeafUnit {
                    leaf_unit: key_name(code),
                    valid_responses: n,
                });
            }
        }
        let leaf_units = units.len() as i64;
        Ok(pb::GetRoundCoverageResponse {
            division: key_name(key),
            covered_leaf_units: covered,
            leaf_units,
            coverage: if leaf_units > 0 {
                covered as f64 / leaf_units as f64
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
        let (map, key) = self.scope(&ctx, None).await?;
        self.fold(&ctx).await?;
        let totals = self.leaf_tallies(round_id).await?;
        let units = Self::scope_units(&ctx, &map, key);
        let batch_size = self.settings.facts_batch_size.max(1);
        let min = ctx.min_valid_responses;
        Ok(async_stream::try_stream! {
            let mut batch = Vec::with_capacity(batch_size);
            let mut first = true;
            for (unit, a) in &units {
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
