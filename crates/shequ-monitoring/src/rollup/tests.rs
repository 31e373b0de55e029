//! The rollup's unit tests: computed indicators, reported sums and ratios of reported sums.

use super::*;
use crate::indicators::{Better, Compiled, IndicatorDef, Kind, Source, catalogue};

/// Values entered at time 0 for the period of bit 0.
fn entries(values: &[(i64, f64)]) -> HashMap<i64, ReportedEntry> {
    values
        .iter()
        .map(|(code, value)| (*code, at(*value, 0, 0)))
        .collect()
}

fn at(value: f64, time: i64, period: u8) -> ReportedEntry {
    ReportedEntry {
        value,
        time,
        period,
    }
}

/// A plan-defined reported indicator.
fn reported(code: &str, kind: Kind, parts: (&str, &str), unit: &str, factor: f64) -> IndicatorDef {
    IndicatorDef {
        code: code.into(),
        display_name: code.into(),
        kind,
        source: Source::Reported,
        field: parts.0.into(),
        denominator_field: parts.1.into(),
        unit_kind: UnitFilter::All,
        unit: unit.into(),
        direction: Better::Higher,
        factor,
    }
}

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
    let workers = entries(&[(100, 10.0), (200, 5.0), (110101, 20.0)]);
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
        factor: 1.0,
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

/// A leaf unit under province 11, prefecture `prefecture` (1101, 1102, 1103) and one county.
fn leaf_in(code: i64, prefecture: i64) -> LeafFacts {
    let mut l = leaf(code, prefecture * 1000 + 1, true, 0.0);
    l.ancestors[1] = prefecture;
    l.ancestors[2] = prefecture * 100 + 1;
    l
}

/// Stereoscopic parking spaces among new ones: two sums and their share, per 1,000 as well,
/// and a share reported as is.
fn parking() -> (Vec<IndicatorDef>, Compiled) {
    let mut defs = catalogue();
    defs.extend([
        reported(
            "stereo_share",
            Kind::Share,
            ("stereo_spaces", "new_spaces"),
            "share",
            1.0,
        ),
        reported("stereo_spaces", Kind::Sum, ("", ""), "spaces", 1.0),
        reported("new_spaces", Kind::Sum, ("", ""), "spaces", 1.0),
        reported(
            "stereo_per_1000",
            Kind::Ratio,
            ("stereo_spaces", "new_spaces"),
            "per 1000",
            1000.0,
        ),
        reported("declared_share", Kind::Share, ("", ""), "share", 1.0),
    ]);
    let c = Compiled::new(&defs);
    (defs, c)
}

fn position(defs: &[IndicatorDef], code: &str) -> usize {
    defs.iter().position(|d| d.code == code).unwrap()
}

/// The rollup's input: one map per reported indicator of `c`, from (code, division, entry).
fn input(c: &Compiled, values: &[(&str, i64, ReportedEntry)]) -> Vec<HashMap<i64, ReportedEntry>> {
    let mut out = vec![HashMap::new(); c.reported.len()];
    for (code, division, e) in values {
        let k = c.reported.iter().position(|r| r == code).unwrap();
        out[k].insert(*division, *e);
    }
    out
}

#[test]
fn a_share_of_prefectures_is_the_ratio_of_their_summed_parts() {
    let (defs, c) = parking();
    let leaves = [
        leaf_in(1, 1101),
        leaf_in(2, 1102),
        leaf_in(3, 1103),
        leaf_in(4, 1101),
    ];
    let values = input(
        &c,
        &[
            ("stereo_spaces", 1101, at(3000.0, 10, 0)),
            ("new_spaces", 1101, at(10_000.0, 20, 0)),
            ("stereo_spaces", 1102, at(500.0, 30, 1)),
            ("new_spaces", 1102, at(40_000.0, 40, 1)),
            // Only a numerator: left out of the province's pair.
            ("stereo_spaces", 1103, at(900.0, 99, 2)),
            // A leaf's complete pair under a prefecture that reported its own: not used above.
            ("stereo_spaces", 1, at(1.0, 50, 3)),
            ("new_spaces", 1, at(1.0, 50, 3)),
        ],
    );
    let r = rollup(&c, 11, &leaves, &values);
    let share = position(&defs, "stereo_share");
    let per_1000 = position(&defs, "stereo_per_1000");
    let node = |code| r.nodes.iter().position(|n| n.code == code).unwrap();
    assert_eq!(r.nodes[0].code, 11);
    assert_eq!(r.parts(0, share), Some((3500.0, 50_000.0)));
    assert!((r.value(0, share).unwrap() - 0.07).abs() < 1e-12);
    assert!((r.value(0, per_1000).unwrap() - 70.0).abs() < 1e-9);
    assert_eq!(r.value(node(1101), share), Some(0.3));
    assert_eq!(r.value(node(1102), share), Some(0.0125));
    assert_eq!(r.value(node(1103), share), None, "one part: no pair");
    assert_eq!(r.parts(node(1103), share), None);
    assert_eq!(r.value(node(1), share), Some(1.0));
    // The sums themselves still sum every value: 3,000 + 500 + 900.
    assert_eq!(r.value(0, position(&defs, "stereo_spaces")), Some(4400.0));
    // Times and periods of what was used: the prefectures' own pairs, not the leaf's.
    let p = r.provenance(0, share).unwrap();
    assert_eq!((p.time, p.periods), (40, 0b11));
    let p = r.provenance(0, position(&defs, "stereo_spaces")).unwrap();
    assert_eq!((p.time, p.periods), (99, 0b111));
    let p = r.provenance(node(1101), share).unwrap();
    assert_eq!((p.time, p.periods), (20, 0b1));
    // A computed indicator has no provenance of its own.
    assert_eq!(r.provenance(0, 0), None);
}

#[test]
fn a_zero_denominator_or_no_pair_is_no_data() {
    let (defs, c) = parking();
    let leaves = [leaf_in(1, 1101), leaf_in(2, 1102)];
    let values = input(
        &c,
        &[
            ("stereo_spaces", 1101, at(0.0, 1, 0)),
            ("new_spaces", 1101, at(0.0, 1, 0)),
        ],
    );
    let r = rollup(&c, 11, &leaves, &values);
    let share = position(&defs, "stereo_share");
    assert_eq!(r.parts(0, share), Some((0.0, 0.0)));
    assert_eq!(r.value(0, share), None);
    let p1102 = r.nodes.iter().position(|n| n.code == 1102).unwrap();
    assert_eq!(r.value(p1102, share), None);
    assert_eq!(r.provenance(p1102, share), None);
}

#[test]
fn a_share_reported_as_is_stands_only_where_it_was_reported() {
    let (defs, c) = parking();
    let leaves = [leaf_in(1, 1101), leaf_in(2, 1102)];
    let values = input(
        &c,
        &[
            ("declared_share", 1101, at(0.3, 7, 5)),
            ("declared_share", 1102, at(0.5, 8, 6)),
        ],
    );
    let r = rollup(&c, 11, &leaves, &values);
    let declared = position(&defs, "declared_share");
    let node = |code| r.nodes.iter().position(|n| n.code == code).unwrap();
    assert_eq!(r.value(node(1101), declared), Some(0.3));
    assert_eq!(r.value(0, declared), None, "never summed nor averaged");
    assert_eq!(r.value(node(110101), declared), None, "nor handed down");
    assert_eq!(r.parts(node(1101), declared), None);
    let p = r.provenance(node(1102), declared).unwrap();
    assert_eq!((p.time, p.periods), (8, 1 << 6));
}

#[test]
fn computed_quotients_expose_their_parts_and_sums_do_not() {
    let leaves = vec![leaf(1001, 100, true, 1.0), leaf(1002, 100, true, 0.0)];
    let c = Compiled::new(&catalogue());
    let r = rollup(&c, 0, &leaves, &[]);
    let urban = index_of("urban_facility_coverage");
    let area = index_of("activity_area_share");
    assert_eq!(r.parts(0, urban), Some((1.0, 2.0)));
    assert_eq!(r.parts(0, area), Some((300.0, 500.0)));
    assert_eq!(r.parts(0, index_of("facility_community_workers")), None);
    assert_eq!(r.parts(0, index_of("community_workers")), None);
}

#[test]
fn beyond_64_periods_the_oldest_share_one_bit() {
    let table: Vec<String> = (0..70).map(|i| format!("p{i:03}")).collect();
    assert_eq!(period_bit(0, 64), 0);
    assert_eq!(period_bit(63, 64), 63);
    assert_eq!(period_bit(6, 70), 0);
    assert_eq!(period_bit(7, 70), 1);
    assert_eq!(period_bit(69, 70), 63);
    assert_eq!(periods_of(1 << 63, &table), ["p069"]);
    assert_eq!(periods_of(1, &table).len(), 7);
    assert_eq!(periods_of(0b101, &table[..3]), ["p000", "p002"]);
}
