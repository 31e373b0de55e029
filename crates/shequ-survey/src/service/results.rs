//! What a round yields: results and coverage for any division of its region, read from the
//! round's live tallies (a leaf unit's answer counts from its stored tally after a fold), and
//! the facts the plan monitor reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use shequ_domain::{DivisionCode, DivisionLevel, ServiceKind};
use tokio::sync::MutexGuard;

use super::live::Live;
use super::{RoundContext, Survey};
use crate::error::{Result, SurveyError};
use crate::model::QuestionKind;
use crate::model::tally::LeafTally;
use crate::names::division_name;
use crate::region::{Ancestors, RegionMap};
use crate::store::tallies;
use shequ_platform::page::{self, page_size};

/// What a round's valid responses say for one division.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundResults {
    /// The division's code, 0 for the whole country.
    pub division: i64,
    pub valid_responses: i64,
    pub scored_responses: i64,
    /// The mean satisfaction score; `None` without a scored response.
    pub satisfaction_index: Option<f64>,
    /// One per question, in questionnaire order.
    pub questions: Vec<QuestionResults>,
    /// One per service a satisfaction question is about, in catalogue order.
    pub dimensions: Vec<DimensionResults>,
}

/// The answers to one question.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuestionResults {
    pub question_id: String,
    pub answered: i64,
    /// Per rating, option or yes/no; empty for number and free-text questions.
    pub counts: Vec<AnswerCount>,
    /// A number question's mean answer.
    pub mean: Option<f64>,
}

/// How many responses gave one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerCount {
    pub answer: String,
    pub responses: i64,
}

/// The satisfaction answers about one service.
#[derive(Debug, Clone, PartialEq)]
pub struct DimensionResults {
    pub dimension: ServiceKind,
    pub answers: i64,
    pub satisfaction_index: Option<f64>,
}

/// How much of a division's leaf units a round covers, with one page of those it does not.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundCoverage {
    /// The division's code, 0 for the whole country.
    pub division: i64,
    pub covered_leaf_units: i64,
    pub leaf_units: i64,
    pub coverage: f64,
    pub short_leaf_units: Vec<ShortLeafUnit>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// A leaf unit short of the round's minimum of valid responses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShortLeafUnit {
    pub leaf_unit: i64,
    pub valid_responses: i64,
}

/// Every leaf unit of a round's region, in code order, with its ancestors and live tally.
#[derive(Debug)]
pub struct RoundFacts {
    pub min_valid_responses: i32,
    pub units: Vec<(i64, Ancestors)>,
    /// `units[i]`'s tally.
    pub totals: Vec<LeafTally>,
}

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
    ) -> Result<RoundResults> {
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
            let mut result = QuestionResults {
                question_id: q.id.clone(),
                ..Default::default()
            };
            let labelled = |keys: Vec<String>, offset: usize| -> Vec<AnswerCount> {
                keys.into_iter()
                    .enumerate()
                    .map(|(j, answer)| AnswerCount {
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
        Ok(RoundResults {
            division: key,
            valid_responses: tally.valid,
            scored_responses: tally.scored,
            satisfaction_index: mean(tally.score_sum, tally.scored),
            questions,
            dimensions: dimensions
                .into_iter()
                .map(|(d, (n, sum))| DimensionResults {
                    dimension: d,
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
    ) -> Result<RoundCoverage> {
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
        let mut short: Vec<ShortLeafUnit> = Vec::new();
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
                let last_code = DivisionCode::from_u64(last.leaf_unit as u64)
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                next_page_token = page::encode(&query, &last_code);
                break;
            }
            short.push(ShortLeafUnit {
                leaf_unit: code,
                valid_responses: n,
            });
        }
        let leaf_units = (map.units.iter().filter(inside).count() + late.len()) as i64;
        Ok(RoundCoverage {
            division: key,
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

    /// Per leaf unit of the round's region, in code order: valid and scored responses and the
    /// score sum, with the unit's ancestors.
    pub async fn round_facts(&self, round_id: &str) -> Result<RoundFacts> {
        let ctx = self.round_context(round_id).await?;
        let (map, key) = self.scope(&ctx, None).await?;
        let live = self.placed_live(&ctx, &map).await?;
        let live = live_of(&live);
        let units = Self::scope_units(&ctx, &map, key);
        let totals: Vec<LeafTally> = units.iter().map(|(unit, _)| live.leaf(*unit)).collect();
        Ok(RoundFacts {
            min_valid_responses: ctx.min_valid_responses,
            units,
            totals,
        })
    }
}
