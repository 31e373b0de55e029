//! Reported values in the rollup (DOMAIN.md §8): sums up the hierarchy, ratios of two reported
//! sums carried up as (numerator, denominator) pairs, and figures reported as is; every figure
//! keeps the latest entry time and the periods of the values it used, as bits.

use std::collections::HashMap;

use super::Node;

/// Periods an evaluation tells apart: one bit each in a `u64`.
pub const PERIOD_BITS: usize = 64;

/// A reported value as the rollup reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportedEntry {
    pub value: f64,
    /// When it was entered, in microseconds since the epoch.
    pub time: i64,
    /// Its period's bit in the evaluation's period table (see [`period_bit`]).
    pub period: u8,
}

/// A figure made of reported values: the latest entry time and the periods used, as bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summed {
    pub value: f64,
    pub time: i64,
    pub periods: u64,
}

/// A reported ratio's parts at one division.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub numerator: f64,
    pub denominator: f64,
    pub time: i64,
    pub periods: u64,
}

impl From<ReportedEntry> for Summed {
    fn from(e: ReportedEntry) -> Self {
        Self {
            value: e.value,
            time: e.time,
            periods: 1 << e.period,
        }
    }
}

impl Summed {
    fn plus(self, o: Self) -> Self {
        Self {
            value: self.value + o.value,
            time: self.time.max(o.time),
            periods: self.periods | o.periods,
        }
    }
}

impl Pair {
    fn plus(self, o: Self) -> Self {
        Self {
            numerator: self.numerator + o.numerator,
            denominator: self.denominator + o.denominator,
            time: self.time.max(o.time),
            periods: self.periods | o.periods,
        }
    }
}

/// The bit of the `j`-th of `n` sorted periods: one each, but beyond [`PERIOD_BITS`] periods the
/// oldest share bit 0.
pub fn period_bit(j: usize, n: usize) -> u8 {
    j.saturating_sub(n.saturating_sub(PERIOD_BITS)) as u8
}

/// The periods of the sorted table `periods` whose bits `mask` sets, in table order.
pub fn periods_of(mask: u64, periods: &[String]) -> Vec<String> {
    let n = periods.len();
    periods
        .iter()
        .enumerate()
        .filter(|(j, _)| mask >> period_bit(*j, n) & 1 == 1)
        .map(|(_, p)| p.clone())
        .collect()
}

/// Every division's reported figures; all empty when nothing is reported anywhere.
#[derive(Debug, Clone, Default)]
pub struct ReportedColumns {
    /// Reported indicators read; 0 when nothing is reported.
    pub width: usize,
    /// `nodes × width`: the value reported for the division itself.
    pub own: Vec<Option<ReportedEntry>>,
    /// `nodes × width`: the sum of the children's figures.
    pub children: Vec<Option<Summed>>,
    /// Each reported ratio's numerator and denominator, as indices of the reported indicators.
    pub ratios: Vec<(usize, usize)>,
    /// `nodes × ratios`: the sum of the pairs of the children whose pairs are complete.
    pub children_pairs: Vec<Option<Pair>>,
}

impl ReportedColumns {
    /// The own values of `nodes` from `reported` (one map per reported indicator); nothing at all
    /// when every map is empty.
    pub fn new(
        nodes: &[Node],
        reported: &[HashMap<i64, ReportedEntry>],
        width: usize,
        ratios: &[(usize, usize)],
    ) -> Self {
        if reported.iter().all(HashMap::is_empty) {
            return Self::default();
        }
        let mut own = Vec::with_capacity(nodes.len() * width);
        for node in nodes {
            own.extend((0..width).map(|k| {
                reported
                    .get(k)
                    .filter(|m| !m.is_empty())
                    .and_then(|m| m.get(&node.code).copied())
            }));
        }
        Self {
            width,
            own,
            children: vec![None; nodes.len() * width],
            ratios: ratios.to_vec(),
            children_pairs: vec![None; nodes.len() * ratios.len()],
        }
    }

    /// Adds the figures of node `n` into its parent `p`'s children sums.
    #[inline]
    pub fn add_child(&mut self, n: usize, p: usize) {
        let r = self.width;
        for k in 0..r {
            if let Some(v) = self.sum(n, k) {
                let s = &mut self.children[p * r + k];
                *s = Some(s.map_or(v, |a| a.plus(v)));
            }
        }
        let q = self.ratios.len();
        for j in 0..q {
            if let Some(v) = self.pair(n, j) {
                let s = &mut self.children_pairs[p * q + j];
                *s = Some(s.map_or(v, |a| a.plus(v)));
            }
        }
    }

    /// The value reported for the division itself for the `k`-th reported indicator.
    pub fn own(&self, node: usize, k: usize) -> Option<ReportedEntry> {
        let r = self.width;
        (k < r).then(|| self.own[node * r + k]).flatten()
    }

    /// The sum of the children's figures for the `k`-th reported indicator.
    pub fn children(&self, node: usize, k: usize) -> Option<Summed> {
        let r = self.width;
        (k < r).then(|| self.children[node * r + k]).flatten()
    }

    /// A reported sum: the division's own value, else the sum of its children's.
    pub fn sum(&self, node: usize, k: usize) -> Option<Summed> {
        self.own(node, k)
            .map(Summed::from)
            .or_else(|| self.children(node, k))
    }

    /// The `j`-th ratio's parts: the division's own when it reported both, else the sums over
    /// its children whose pairs are complete.
    pub fn pair(&self, node: usize, j: usize) -> Option<Pair> {
        let q = self.ratios.len();
        if self.width == 0 || j >= q {
            return None;
        }
        let (a, b) = self.ratios[j];
        match (self.own(node, a), self.own(node, b)) {
            (Some(n), Some(d)) => Some(Pair {
                numerator: n.value,
                denominator: d.value,
                time: n.time.max(d.time),
                periods: (1 << n.period) | (1 << d.period),
            }),
            _ => self.children_pairs[node * q + j],
        }
    }
}
