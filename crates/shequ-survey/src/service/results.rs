//! What a round yields: results and coverage for any division of its region, read from the
//! round's live tallies (a leaf unit's answer counts from its stored tally after a fold), and
//! the facts stream the plan monitor reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::Stream;
use shequ_domain::{DivisionCode, DivisionLevel, ServiceKind};
use shequ_proto::convert::service_to_pb;
use shequ_proto::names::division_name;
use shequ_proto::survey::v1 as pb;

use tokio::sync::MutexGuard;

use super::live::Live;
use super::{RoundContext, Survey};
use crate::error::{Result, SurveyError};
use crate::model::QuestionKind;
use crate::model::tally::LeafTally;
use crate::region::{Ancestors, RegionMap};
use crate::store::tallies;
use shequ_platform::page::{self, page_size};

/// Mean of `sum` over `n`, absent when `n` is 0.
fn mean(sum: f64, n: i64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

/// Whether `key` is a leaf unit of the round: one of its region map, or one the registry
/// confirmed since.
fn is_leaf(ctx: &RoundContext, map: &RegionMap, key: i64) -> bool {
    map.level(key) == Some(DivisionLevel::Village) || ctx.confirmed_late(key)
}

/// The live tallies `Survey::live` returned (always loaded).
fn live_of(live: &Option<Live>) -> &Live {
    live.as_ref().expect("Survey::live loads the tallies")
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
        if map.level(key).is_none()
            && !ctx.confirmed_late(key)
            && !self.placed_since(ctx, &map, code).await?
        {
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

    /// Whether `code`, which the region map does not hold, is a division of the round the
    /// registry placed after the map loaded: a leaf unit of the region it confirms now, or an
    /// ancestor of a leaf unit with responses it confirmed.
    async fn placed_since(
        &self,
        ctx: &Arc<RoundContext>,
        map: &RegionMap,
        code: DivisionCode,
    ) -> Result<bool> {
        if self.locate_unit(ctx, code).await?.is_ok() {
            return Ok(true);
        }
        drop(self.placed_live(ctx, map).await?);
        let key = code.as_i64();
        let extra = ctx.region_cache.extra.lock().expect("not poisoned");
        Ok(extra.iter().any(|(unit, a)| map.contains(key, *unit, a)))
    }

    /// The round's live tallies once every leaf unit with responses is placed: those the region
    /// map lacks (accepted after it loaded, here or by another process) are confirmed with the
    /// registry and remembered, so coverage and facts count them without a restart.
    async fn placed_live<'a>(
        &self,
        ctx: &'a Arc<RoundContext>,
        map: &RegionMap,
    ) -> Result<MutexGuard<'a, Option<Live>>> {
        loop {
            let mut live = self.live(ctx).await?;
            let unchecked = std::mem::take(
                &mut live
                    .as_mut()
                    .expect("Survey::live loads the tallies")
                    .unchecked,
            );
            let unknown: Vec<i64> = {
                let extra = ctx.region_cache.extra.lock().expect("not poisoned");
                unchecked
                    .into_iter()
                    .filter(|u| map.get(*u).is_none() && !extra.contains_key(u))
                    .collect()
            };
            if unknown.is_empty() {
                return Ok(live);
            }
            // The registry is asked without holding the tallies.
            drop(live);
            for (i, &unit) in unknown.iter().enumerate() {
                let Ok(code) = DivisionCode::from_u64(unit as u64) else {
                    continue;
                };
                if let Err(e) = self.locate_unit(ctx, code).await {
                    // Looked up again by the next read.
                    if let Some(live) = ctx.live.lock().await.as_mut() {
                        live.unchecked.extend_from_slice(&unknown[i..]);
                    }
                    return Err(e);
                }
            }
        }
    }

    pub async fn round_results(
        &self,
        round_id: &str,
        division: Option<DivisionCode>,
    ) -> Result<pb::GetRoundResultsResponse> {
        let ctx = self.round_context(round_id).await?;
        let (map, key) = self.scope(&ctx, division).await?;
        let tally = if is_leaf(&ctx, &map, key) {
            // A leaf unit's answer counts are only stored: fold, then read its tally.
            self.fold(&ctx).await?;
            tallies::by_codes(&self.db.conn, &ctx.id, &ctx.layout, &[key])
                .await?
                .remove(&key)
                .unwrap_or_default()
        } else {
            let live = self.live(&ctx).await?;
            live_of(&live).division(key)
        };
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
        let late = Self::late_units(ctx, map, key);
        if !late.is_empty() {
            units.extend(late);
            units.sort_unstable_by_key(|u| u.0);
        }
        units
    }

    /// The leaf units in division `key` that the registry confirmed one by one after the region
    /// map loaded, in code order.
    fn late_units(ctx: &RoundContext, map: &RegionMap, key: i64) -> Vec<(i64, Ancestors)> {
        let extra = ctx.region_cache.extra.lock().expect("not poisoned");
        let mut late: Vec<(i64, Ancestors)> = extra
            .iter()
            .filter(|(u, a)| map.contains(key, **u, a) && map.get(**u).is_none())
            .map(|(u, a)| (*u, *a))
            .collect();
        late.sort_unstable_by_key(|u| u.0);
        late
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
        let min = i64::from(ctx.min_valid_responses);
        let mut short: Vec<pb::ShortLeafUnit> = Vec::new();
        let mut next_page_token = String::new();
        let live = self.placed_live(&ctx, &map).await?;
        let live = live_of(&live);
        let covered = if is_leaf(&ctx, &map, key) {
            i64::from(live.leaf(key).valid >= min)
        } else {
            live.division(key).covered
        };
        // The page walks the region's units from the token on, merging those the registry
        // confirmed since the map loaded; nothing is gathered for the units before it.
        let inside = |u: &&(i64, Ancestors)| map.contains(key, u.0, &u.1);
        let late = Self::late_units(&ctx, &map, key);
        let from = after.map_or(0, |a| map.units.partition_point(|u| u.0 <= a));
        let late_from = after.map_or(0, |a| late.partition_point(|u| u.0 <= a));
        let mut mapped = map.units[from..]
            .iter()
            .filter(inside)
            .map(|u| u.0)
            .peekable();
        let mut confirmed = late[late_from..].iter().map(|u| u.0).peekable();
        while let Some(code) = match (mapped.peek(), confirmed.peek()) {
            (Some(m), Some(c)) if c < m => confirmed.next(),
            (Some(_), _) => mapped.next(),
            (None, _) => confirmed.next(),
        } {
            let n = live.leaf(code).valid;
            if n >= min {
                continue;
            }
            if short.len() == size {
                let last = short.last().expect("page is full");
                let last_code = last.leaf_unit.trim_start_matches("divisions/").to_owned();
                next_page_token = page::encode(&query, &last_code);
                break;
            }
            short.push(pb::ShortLeafUnit {
                leaf_unit: key_name(code),
                valid_responses: n,
            });
        }
        let leaf_units = (map.units.iter().filter(inside).count() + late.len()) as i64;
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
        let (units, totals) = {
            let live = self.placed_live(&ctx, &map).await?;
            let live = live_of(&live);
            let units = Self::scope_units(&ctx, &map, key);
            let totals: Vec<LeafTally> = units.iter().map(|(unit, _)| live.leaf(*unit)).collect();
            (units, totals)
        };
        let batch_size = self.settings.facts_batch_size.max(1);
        let min = ctx.min_valid_responses;
        Ok(async_stream::try_stream! {
            let mut batch = Vec::with_capacity(batch_size);
            let mut first = true;
            for ((unit, a), t) in units.iter().zip(&totals) {
                batch.push(pb::RoundUnitFacts {
                    code: *unit as u64,
                    province: a.province as u64,
                    prefecture: a.prefecture.unwrap_or_default() as u64,
                    county: a.county.unwrap_or_default() as u64,
                    township: a.township.unwrap_or_default() as u64,
                    valid_responses: t.valid,
                    scored_responses: t.scored,
                    score_sum: t.score_sum,
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
