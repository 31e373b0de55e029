//! The rollup: leaf-unit facts summed up through the ancestor codes they carry, in memory, into
//! every indicator's value for every division in scope. A pure function, unit-tested and timed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::facts::{RegistryUnitFacts, SurveyUnitFacts};
use crate::indicators::{Compiled, Fact, Formula, UnitFilter};

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
    pub reported_indicators: usize,
    /// One per indicator.
    pub formulas: Vec<Formula>,
    pub measures: usize,
    /// `nodes × measures`: each division's sums; values are computed from them when asked, so
    /// the rollup never materialises `nodes × indicators` values.
    pub sums: Vec<f64>,
    /// `nodes × reported_indicators` (0 when nothing is reported anywhere): the value reported
    /// for the division itself.
    pub reported: Vec<Option<f64>>,
    /// `nodes × reported_indicators`: the sum of the children's values.
    pub children_sum: Vec<Option<f64>>,
    pub leaf_units: usize,
}

impl Rollup {
    /// The value reported for the division itself for the `i`-th reported indicator.
    pub fn reported_at(&self, node: usize, i: usize) -> Option<f64> {
        let r = self.reported_indicators;
        (i < r).then(|| self.reported[node * r + i]).flatten()
    }

    /// The sum of the children's values for the `i`-th reported indicator.
    pub fn children_sum_at(&self, node: usize, i: usize) -> Option<f64> {
        let r = self.reported_indicators;
        (i < r).then(|| self.children_sum[node * r + i]).flatten()
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
            Formula::Reported(i) => self.reported_at(node, i).or(self.children_sum_at(node, i)),
        }
    }
}

/// Sums the leaf units' facts up to `root` (0 for the country) and computes every formula of
/// `compiled` for every division. `reported[r]` maps division codes to the value reported for the
/// `r`-th reported indicator; a division without one takes the sum of its children's values.
pub fn rollup(
    compiled: &Compiled,
    root: i64,
    leaves: &[LeafFacts],
    reported: &[HashMap<i64, f64>],
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
        for (slot, measure) in sums[start..].iter_mut().zip(&compiled.measures) {
            let kept = match measure.filter {
                UnitFilter::All => true,
                UnitFilter::Community => leaf.community,
                UnitFilter::Village => !leaf.community,
            };
            let v = match (measure.fact, &leaf.survey) {
                _ if !kept => 0.0,
                (Fact::Registry(f), _) => leaf.registry.get(f),
                (Fact::Survey(f), Some(s)) => s.get(f),
                (Fact::Survey(_), None) => 0.0,
            };
            *slot = if measure.count_positive {
                f64::from(u8::from(v > 0.0))
            } else {
                v
            };
        }
    }

    // Children come after their parents: one backward pass adds every node into its parent.
    // Without any report the reported columns stay empty rather than `nodes × r` of `None`.
    let r = if reported.iter().any(|m| !m.is_empty()) {
        compiled.reported.len()
    } else {
        0
    };
    let mut own: Vec<Option<f64>> = Vec::with_capacity(nodes.len() * r);
    for node in nodes.iter().filter(|_| r > 0) {
        own.extend((0..r).map(|k| {
            reported
                .get(k)
                .filter(|m| !m.is_empty())
                .and_then(|m| m.get(&node.code).copied())
        }));
    }
    let mut children_sum: Vec<Option<f64>> = vec![None; nodes.len() * r];
    for n in (1..nodes.len()).rev() {
        let p = nodes[n].parent.unwrap_or(0) as usize;
        if m > 0 {
            let (left, right) = sums.split_at_mut(n * m);
            for (a, b) in left[p * m..(p + 1) * m].iter_mut().zip(&right[..m]) {
                *a += *b;
            }
        }
        for k in 0..r {
            if let Some(v) = own[n * r + k].or(children_sum[n * r + k]) {
                let s = &mut children_sum[p * r + k];
                *s = Some(s.unwrap_or(0.0) + v);
            }
        }
    }

    Rollup {
        nodes,
        indicators: compiled.formulas.len(),
        reported_indicators: r,
        formulas: compiled.formulas.clone(),
        measures: m,
        sums,
        reported: own,
        children_sum,
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
mod tests {
    use super::*;
    use crate::indicators::{Compiled, catalogue};

    fn index_of(code: &str) -> usize {
        catalogue().iter().position(|d| d.code == code).unwrap()
    }

    fn leaf(code: i64, township: i64, community: bool, facilities: f64) -> LeafFacts {
        LeafFacts {
            code,
            ancestors: [11, 1101, 110101, township],
            community,
            registry: RegistryUnitFacts {
                leaf_units: 1.0,
                in_service_facilities: facilities,
                total_floor_area_m2: 500.0 * facilities,
                activity_area_m2: 300.0 * facilities,
                ..RegistryUnitFacts::default()
            },
            survey: None,
        }
    }

    #[test]
    fn leaf_units_roll_up_by_kind_and_no_data_stays_none() {
        let leaves = vec![
            leaf(1001, 100, true, 1.0),
            leaf(1002, 100, true, 0.0),
            leaf(2001, 200, true, 2.0),
        ];
        let c = Compiled::new(&catalogue());
        let r = rollup(&c, 0, &leaves, &[]);
        // country, province, prefecture, county, 2 townships, 3 leaves
        assert_eq!(r.nodes.len(), 9);
        assert_eq!(r.leaf_units, 3);
        let urban = index_of("urban_facility_coverage");
        let rural = index_of("rural_facility_coverage");
        let area = index_of("activity_area_share");
        let county = r.nodes.iter().position(|n| n.code == 110101).unwrap();
        assert_eq!(r.value(0, urban), Some(2.0 / 3.0));
        assert_eq!(r.value(county, rural), None, "no villages: no data");
        assert_eq!(r.value(county, area), Some(0.6));
        let empty_leaf = r.nodes.iter().position(|n| n.code == 1002).unwrap();
        assert_eq!(
            r.value(empty_leaf, area),
            None,
            "no facility: no floor area"
        );
        assert_eq!(r.value(0, index_of("satisfaction_index")), None);
    }

    #[test]
    fn reported_values_sum_up_unless_a_parent_reports_its_own() {
        let leaves = vec![leaf(1001, 100, true, 1.0), leaf(2001, 200, false, 0.0)];
        let c = Compiled::new(&catalogue());
        let workers = HashMap::from([(100, 10.0), (200, 5.0), (110101, 20.0)]);
        let r = rollup(&c, 11, &leaves, &[workers, HashMap::new()]);
        assert_eq!(r.nodes[0].code, 11);
        assert_eq!(r.nodes[0].level, 1);
        let w = index_of("community_workers");
        let county = r.nodes.iter().position(|n| n.code == 110101).unwrap();
        assert_eq!(r.value(county, w), Some(20.0));
        assert_eq!(r.children_sum_at(county, 0), Some(15.0));
        assert_eq!(
            r.value(0, w),
            Some(20.0),
            "the province sums its child's value"
        );
        assert_eq!(r.value(0, index_of("social_workers")), None);
    }

    #[test]
    fn plan_defined_counts_ratios_and_means_follow_their_definitions() {
        use crate::indicators::{Better, IndicatorDef, Kind, Source};
        let def = |code: &str, kind, field: &str, den: &str, unit_kind| IndicatorDef {
            code: code.into(),
            display_name: code.into(),
            kind,
            source: Source::Registry,
            field: field.into(),
            denominator_field: den.into(),
            unit_kind,
            unit: "n".into(),
            direction: Better::Lower,
        };
        let defs = [
            def(
                "with_facility",
                Kind::Count,
                "in_service_facilities",
                "",
                UnitFilter::Village,
            ),
            def(
                "terminals",
                Kind::Mean,
                "self_service_terminals",
                "in_service_facilities",
                UnitFilter::All,
            ),
            def(
                "area",
                Kind::Sum,
                "total_floor_area_m2",
                "",
                UnitFilter::Community,
            ),
        ];
        let mut a = leaf(1001, 100, false, 2.0);
        a.registry.self_service_terminals = 6.0;
        let b = leaf(1002, 100, false, 0.0);
        let mut c = leaf(1003, 100, true, 1.0);
        c.registry.self_service_terminals = 1.0;
        let r = rollup(&Compiled::new(&defs), 0, &[a, b, c], &[]);
        assert_eq!(r.value(0, 0), Some(1.0), "villages with a facility");
        assert_eq!(r.value(0, 1), Some(7.0 / 3.0), "terminals per facility");
        assert_eq!(r.value(0, 2), Some(500.0), "community floor area");
        let village_b = r.nodes.iter().position(|n| n.code == 1002).unwrap();
        assert_eq!(r.value(village_b, 1), None);
        assert_eq!(
            r.value(village_b, 2),
            None,
            "no community to count: no data"
        );
    }

    /// A national-sized rollup counts every leaf unit once; its time is measured by the benchmark.
    #[test]
    fn national_sized_rollup_counts_every_leaf_unit() {
        let mut leaves = Vec::with_capacity(620_573);
        let mut code = 100_000_000_000i64;
        'outer: for p in 0..31i64 {
            for c in 0..96 {
                for t in 0..14 {
                    for v in 0..15 {
                        if leaves.len() == 620_573 {
                            break 'outer;
                        }
                        code += 1;
                        let township = p * 1_000_000 + c * 100 + t;
                        let mut l = leaf(code, township, v % 3 == 0, f64::from(v % 2));
                        l.ancestors = [p + 1, 10_000 + p * 10, 100_000 + p * 100 + c, township];
                        leaves.push(l);
                    }
                }
            }
        }
        let c = Compiled::new(&catalogue());
        let r = rollup(&c, 0, &leaves, &[HashMap::new(), HashMap::new()]);
        assert_eq!(r.leaf_units, 620_573);
    }
}
