//! The rollup: leaf-unit facts summed up through the ancestor codes they carry, in memory, into
//! every indicator's value for every division in scope. A pure function, unit-tested and timed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::facts::{RegistryField, RegistryUnitFacts, SurveyUnitFacts};
use crate::indicators::{Compiled, FACT_SLOTS, Formula, UnitFilter};

mod reported;

pub use reported::{
    PERIOD_BITS, Pair, ReportedColumns, ReportedEntry, Summed, period_bit, periods_of,
};

/// What the rollup needs of one leaf unit.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafFacts {
    pub code: i64,
    /// Province, prefecture, county, township; 0 where the chain skips a level.
    pub ancestors: [i64; 4],
    pub community: bool,
    /// What the registry says of it; `leaf_units` is 1.
    pub registry: RegistryUnitFacts,
    /// What the survey round says of it, when the unit is in the round's region.
    pub survey: Option<SurveyUnitFacts>,
}

impl LeafFacts {
    /// Every fact of the unit at its slot (`Fact::slot`), the registry's first; the survey's are
    /// 0 when the unit is not in the round's region.
    fn values(&self) -> [f64; FACT_SLOTS] {
        let mut values = [0.0; FACT_SLOTS];
        values[..RegistryField::COUNT].copy_from_slice(&self.registry.values());
        if let Some(survey) = &self.survey {
            values[RegistryField::COUNT..].copy_from_slice(&survey.values());
        }
        values
    }
}

/// A division in scope; parents come before their children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// 0 for the country.
    pub code: i64,
    /// 0 for the country, 1 (province) to 5 (leaf unit).
    pub level: u8,
    pub parent: Option<u32>,
}

/// Every division's indicator values.
#[derive(Debug, Clone, Default)]
pub struct Rollup {
    pub nodes: Vec<Node>,
    pub indicators: usize,
    /// One per indicator.
    pub formulas: Vec<Formula>,
    pub measures: usize,
    /// `nodes × measures`: each division's sums; values are computed from them when asked, so
    /// the rollup never materialises `nodes × indicators` values.
    pub sums: Vec<f64>,
    /// The reported figures (empty when nothing is reported anywhere).
    pub reported: ReportedColumns,
    pub leaf_units: usize,
}

/// Where a figure of reported values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance {
    /// The latest entry time of the values used, in microseconds since the epoch.
    pub time: i64,
    /// The periods of the values used, as bits (see [`periods_of`]).
    pub periods: u64,
}

impl Rollup {
    /// The value reported for the division itself for the `i`-th reported indicator.
    pub fn reported_at(&self, node: usize, i: usize) -> Option<f64> {
        self.reported.own(node, i).map(|e| e.value)
    }

    /// The sum of the children's values for the `i`-th reported indicator.
    pub fn children_sum_at(&self, node: usize, i: usize) -> Option<f64> {
        self.reported.children(node, i).map(|s| s.value)
    }

    /// The summed numerator and denominator behind a quotient (a computed ratio, share or mean,
    /// or a reported ratio with a complete pair); `None` for sums, counts and as-is figures.
    pub fn parts(&self, node: usize, indicator: usize) -> Option<(f64, f64)> {
        let m = self.measures;
        match self.formulas[indicator] {
            Formula::Quotient {
                numerator,
                denominator,
            } => Some((
                self.sums[node * m + numerator],
                self.sums[node * m + denominator],
            )),
            Formula::ReportedRatio { ratio, .. } => self
                .reported
                .pair(node, ratio)
                .map(|p| (p.numerator, p.denominator)),
            Formula::Presence { .. } | Formula::Reported(_) | Formula::ReportedAsIs(_) => None,
        }
    }

    /// The time and periods of the reported values behind a reported indicator's figure; `None`
    /// for computed indicators and where nothing was used.
    pub fn provenance(&self, node: usize, indicator: usize) -> Option<Provenance> {
        match self.formulas[indicator] {
            Formula::Reported(k) => self.reported.sum(node, k).map(|s| Provenance {
                time: s.time,
                periods: s.periods,
            }),
            Formula::ReportedRatio { ratio, .. } => {
                self.reported.pair(node, ratio).map(|p| Provenance {
                    time: p.time,
                    periods: p.periods,
                })
            }
            Formula::ReportedAsIs(k) => self.reported.own(node, k).map(|e| Provenance {
                time: e.time,
                periods: 1 << e.period,
            }),
            Formula::Quotient { .. } | Formula::Presence { .. } => None,
        }
    }

    /// The value of an indicator for a division; `None` is no data.
    pub fn value(&self, node: usize, indicator: usize) -> Option<f64> {
        let m = self.measures;
        let s = &self.sums[node * m..(node + 1) * m];
        match self.formulas[indicator] {
            Formula::Quotient {
                numerator,
                denominator,
            } => (s[denominator] > 0.0).then(|| s[numerator] / s[denominator]),
            Formula::Presence {
                numerator,
                presence,
            } => (s[presence] > 0.0).then_some(s[numerator]),
            Formula::Reported(k) => self.reported.sum(node, k).map(|s| s.value),
            Formula::ReportedRatio { ratio, factor, .. } => self
                .reported
                .pair(node, ratio)
                .filter(|p| p.denominator > 0.0)
                .map(|p| p.numerator / p.denominator * factor),
            Formula::ReportedAsIs(k) => self.reported_at(node, k),
        }
    }
}

/// Sums the leaf units' facts up to `root` (0 for the country) and computes every formula of
/// `compiled` for every division. `reported[r]` maps division codes to the value reported for the
/// `r`-th reported indicator (`compiled.reported`); a division without one takes the sum of its
/// children's values, and a ratio the sums of its children's complete pairs.
pub fn rollup(
    compiled: &Compiled,
    root: i64,
    leaves: &[LeafFacts],
    reported: &[HashMap<i64, ReportedEntry>],
) -> Rollup {
    let m = compiled.measures.len();
    let root_slot = if root == 0 {
        None
    } else {
        leaves
            .iter()
            .find_map(|l| l.ancestors.iter().position(|a| *a == root))
    };
    let first_slot = root_slot.map_or(0, |s| s + 1);
    let mut nodes = vec![Node {
        code: root,
        level: root_slot.map_or(0, |s| s as u8 + 1),
        parent: None,
    }];
    // Divisions above the leaf units only: leaf codes come unique from the registry.
    let mut index: HashMap<i64, u32, BuildHasherDefault<CodeHasher>> =
        HashMap::with_capacity_and_hasher(leaves.len() / 8, BuildHasherDefault::default());
    index.insert(root, 0);
    let mut sums: Vec<f64> = Vec::with_capacity((leaves.len() * 17 / 16 + 1) * m);
    sums.resize(m, 0.0);
    // Leaves arrive ordered by code, so consecutive ones usually share their parent.
    let mut last_parent: (i64, u32) = (i64::MIN, 0);
    let mut leaf_units = 0;
    for leaf in leaves {
        if root_slot.is_some_and(|s| leaf.ancestors[s] != root) {
            continue;
        }
        let deepest = leaf.ancestors[first_slot..]
            .iter()
            .rev()
            .find(|a| **a != 0)
            .copied()
            .unwrap_or(root);
        let parent = if deepest == last_parent.0 {
            last_parent.1
        } else {
            let idx = match index.get(&deepest) {
                Some(i) => *i,
                None => {
                    let mut parent = 0u32;
                    for (slot, code) in leaf.ancestors.iter().enumerate().skip(first_slot) {
                        if *code == 0 {
                            continue;
                        }
                        parent = *index.entry(*code).or_insert_with(|| {
                            nodes.push(Node {
                                code: *code,
                                level: slot as u8 + 1,
                                parent: Some(parent),
                            });
                            sums.resize(sums.len() + m, 0.0);
                            (nodes.len() - 1) as u32
                        });
                    }
                    parent
                }
            };
            last_parent = (deepest, idx);
            idx
        };
        nodes.push(Node {
            code: leaf.code,
            level: 5,
            parent: Some(parent),
        });
        leaf_units += 1;
        let start = sums.len();
        sums.resize(start + m, 0.0);
        // Each measure's fact was resolved to its slot when the indicators were compiled.
        let values = leaf.values();
        for (slot, measure) in sums[start..].iter_mut().zip(&compiled.measures) {
            let kept = match measure.filter {
                UnitFilter::All => true,
                UnitFilter::Community => leaf.community,
                UnitFilter::Village => !leaf.community,
            };
            let v = if kept { values[measure.slot] } else { 0.0 };
            *slot = if measure.count_positive {
                f64::from(u8::from(v > 0.0))
            } else {
                v
            };
        }
    }

    // Children come after their parents: one backward pass adds every node into its parent.
    // Without any report the reported columns stay empty rather than `nodes × r` of `None`.
    let mut figures =
        ReportedColumns::new(&nodes, reported, compiled.reported.len(), &compiled.ratios);
    let r = figures.width;
    for n in (1..nodes.len()).rev() {
        let p = nodes[n].parent.unwrap_or(0) as usize;
        if m > 0 {
            let (left, right) = sums.split_at_mut(n * m);
            for (a, b) in left[p * m..(p + 1) * m].iter_mut().zip(&right[..m]) {
                *a += *b;
            }
        }
        if r > 0 {
            figures.add_child(n, p);
        }
    }

    Rollup {
        nodes,
        indicators: compiled.formulas.len(),
        formulas: compiled.formulas.clone(),
        measures: m,
        sums,
        reported: figures,
        leaf_units,
    }
}

/// Division codes are already well spread integers: one multiply mixes them enough.
#[derive(Debug, Default)]
struct CodeHasher(u64);

impl Hasher for CodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_i64(&mut self, n: i64) {
        self.0 = (n as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(26);
    }
}

#[cfg(test)]
mod tests;
