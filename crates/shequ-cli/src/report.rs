//! The demo's report: leaf-unit facts summed per prefecture, the plan's registry indicators
//! computed from the sums, and plain-text tables.

use std::collections::{BTreeMap, HashMap};

use shequ_domain::LeafUnitKind;
use shequ_proto::registry::v1 as pb;

use crate::generate::kind_of;

/// Tolerance for comparing a computed share with a target, so 0.8 computed as 0.79999 counts.
const EPSILON: f64 = 1e-9;

/// Sums over the leaf units of a region; in-service facilities only, as the facts stream counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub leaf_units: u64,
    pub communities: u64,
    /// Communities with at least one in-service facility.
    pub communities_covered: u64,
    pub villages: u64,
    pub villages_covered: u64,
    pub facilities: u64,
    pub total_floor_area_m2: f64,
    pub activity_area_m2: f64,
    pub activity_share_compliant: u64,
    pub opening_hours_compliant: u64,
    /// Leaf units with a facility offering a round-the-clock online service.
    pub online_24h_units: u64,
    pub community_workers: u64,
    pub social_workers: u64,
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn count(n: i32) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Tally {
    pub fn add(&mut self, facts: &pb::LeafUnitFacts) {
        let covered = u64::from(facts.in_service_facilities > 0);
        self.leaf_units += 1;
        match kind_of(facts) {
            LeafUnitKind::Community => {
                self.communities += 1;
                self.communities_covered += covered;
            }
            LeafUnitKind::Village => {
                self.villages += 1;
                self.villages_covered += covered;
            }
        }
        self.facilities += count(facts.in_service_facilities);
        self.total_floor_area_m2 += facts.total_floor_area_m2;
        self.activity_area_m2 += facts.activity_area_m2;
        self.activity_share_compliant += count(facts.activity_share_compliant);
        self.opening_hours_compliant += count(facts.opening_hours_compliant);
        self.online_24h_units += u64::from(facts.online_24h);
        self.community_workers += count(facts.community_workers);
        self.social_workers += count(facts.social_workers);
    }

    pub fn merge(&mut self, other: &Tally) {
        self.leaf_units += other.leaf_units;
        self.communities += other.communities;
        self.communities_covered += other.communities_covered;
        self.villages += other.villages;
        self.villages_covered += other.villages_covered;
        self.facilities += other.facilities;
        self.total_floor_area_m2 += other.total_floor_area_m2;
        self.activity_area_m2 += other.activity_area_m2;
        self.activity_share_compliant += other.activity_share_compliant;
        self.opening_hours_compliant += other.opening_hours_compliant;
        self.online_24h_units += other.online_24h_units;
        self.community_workers += other.community_workers;
        self.social_workers += other.social_workers;
    }

    /// urban_facility_coverage: communities with a facility / communities.
    pub fn urban_coverage(&self) -> Option<f64> {
        ratio(self.communities_covered, self.communities)
    }

    /// rural_facility_coverage: villages with a facility / villages.
    pub fn rural_coverage(&self) -> Option<f64> {
        ratio(self.villages_covered, self.villages)
    }

    /// activity_area_share: Σ activity area / Σ total floor area.
    pub fn activity_area_share(&self) -> Option<f64> {
        (self.total_floor_area_m2 > 0.0).then(|| self.activity_area_m2 / self.total_floor_area_m2)
    }

    /// activity_area_compliance: facilities whose own share is at least 60% / facilities.
    pub fn activity_area_compliance(&self) -> Option<f64> {
        ratio(self.activity_share_compliant, self.facilities)
    }

    /// opening_hours_compliance: facilities open at least 8 hours every day / facilities.
    pub fn opening_hours_compliance(&self) -> Option<f64> {
        ratio(self.opening_hours_compliant, self.facilities)
    }

    /// online_24h_coverage: leaf units with a round-the-clock online service / leaf units.
    pub fn online_24h_coverage(&self) -> Option<f64> {
        ratio(self.online_24h_units, self.leaf_units)
    }
}

/// One prefecture's line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefectureRow {
    pub code: u64,
    pub name: String,
    pub tally: Tally,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub rows: Vec<PrefectureRow>,
    pub total: Tally,
}

/// Sums `facts` per prefecture, in code order. `names` maps 12-digit prefecture codes to names;
/// a unit whose prefecture is unnamed is listed under its code.
pub fn build<'a>(
    facts: impl IntoIterator<Item = &'a pb::LeafUnitFacts>,
    names: &HashMap<u64, String>,
) -> Report {
    let mut by_prefecture: BTreeMap<u64, Tally> = BTreeMap::new();
    for f in facts {
        by_prefecture.entry(f.prefecture).or_default().add(f);
    }
    let mut total = Tally::default();
    let rows = by_prefecture
        .into_iter()
        .map(|(code, tally)| {
            total.merge(&tally);
            PrefectureRow {
                code,
                name: names
                    .get(&code)
                    .cloned()
                    .unwrap_or_else(|| format!("{code:012}")),
                tally,
            }
        })
        .collect();
    Report { rows, total }
}

/// A national 2025 target and how the region's value compares with it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetCheck {
    pub indicator: &'static str,
    /// The target as the plan writes it, e.g. `≥ 80%`.
    pub target_text: &'static str,
    pub target: f64,
    pub value: Option<f64>,
}

impl TargetCheck {
    /// `None` when the value cannot be computed (no units or no facilities).
    pub fn met(&self) -> Option<bool> {
        self.value.map(|v| v >= self.target - EPSILON)
    }
}

/// The national 2025 targets of the indicators the registry's facts support (all "higher is
/// better"), checked against `tally`.
pub fn national_targets(tally: &Tally) -> Vec<TargetCheck> {
    vec![
        TargetCheck {
            indicator: "urban facility coverage",
            target_text: "100%",
            target: 1.0,
            value: tally.urban_coverage(),
        },
        TargetCheck {
            indicator: "rural facility coverage",
            target_text: "≥ 80%",
            target: 0.8,
            value: tally.rural_coverage(),
        },
        TargetCheck {
            indicator: "activity-area share",
            target_text: "≥ 60%",
            target: 0.6,
            value: tally.activity_area_share(),
        },
        TargetCheck {
            indicator: "60% activity-area rule compliance",
            target_text: "100%",
            target: 1.0,
            value: tally.activity_area_compliance(),
        },
        TargetCheck {
            indicator: "8-hour opening rule compliance",
            target_text: "100%",
            target: 1.0,
            value: tally.opening_hours_compliance(),
        },
        TargetCheck {
            indicator: "online 24h coverage",
            target_text: "100%",
            target: 1.0,
            value: tally.online_24h_coverage(),
        },
    ]
}

/// The per-prefecture table with a total row, then a legend.
pub fn render_prefectures(report: &Report, total_label: &str) -> String {
    use Align::{Left, Right};
    let columns = [
        ("prefecture", Left),
        ("leaf units", Right),
        ("urban coverage", Right),
        ("rural coverage", Right),
        ("activity share", Right),
        ("60% rule", Right),
        ("8 h rule", Right),
        ("online 24h", Right),
        ("community workers", Right),
        ("social workers", Right),
    ];
    let line = |name: &str, t: &Tally| {
        vec![
            name.to_owned(),
            thousands(t.leaf_units),
            format!(
                "{}/{} {}",
                thousands(t.communities_covered),
                thousands(t.communities),
                percent(t.urban_coverage())
            ),
            format!(
                "{}/{} {}",
                thousands(t.villages_covered),
                thousands(t.villages),
                percent(t.rural_coverage())
            ),
            percent(t.activity_area_share()),
            percent(t.activity_area_compliance()),
            percent(t.opening_hours_compliance()),
            percent(t.online_24h_coverage()),
            thousands(t.community_workers),
            thousands(t.social_workers),
        ]
    };
    let mut rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| line(&r.name, &r.tally))
        .collect();
    rows.push(line(total_label, &report.total));
    let mut out = table(&columns, &rows, rows.len() - 1);
    out.push_str(
        "\nurban / rural coverage: communities / villages with at least one in-service facility\n\
         activity share: Σ activity area / Σ total floor area of in-service facilities\n\
         60% rule, 8 h rule: in-service facilities whose activity area is at least 60% of the floor\n\
         \x20 area, and that open at least 8 hours every day of the week\n\
         online 24h: leaf units with a facility offering a service online around the clock\n",
    );
    out
}

/// The targets table: indicator, value, target and met / not met.
pub fn render_targets(checks: &[TargetCheck]) -> String {
    use Align::{Left, Right};
    let columns = [
        ("indicator", Left),
        ("value", Right),
        ("2025 target", Right),
        ("status", Left),
    ];
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            vec![
                c.indicator.to_owned(),
                percent(c.value),
                c.target_text.to_owned(),
                match c.met() {
                    Some(true) => "met",
                    Some(false) => "not met",
                    None => "no data",
                }
                .to_owned(),
            ]
        })
        .collect();
    table(&columns, &rows, usize::MAX)
}

/// `0.7123` → `71.2%`; no value → `-`.
pub fn percent(value: Option<f64>) -> String {
    match value {
        Some(v) => format!("{:.1}%", v * 100.0),
        None => "-".to_owned(),
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Columns as wide as they need to be, with a rule under the headers and another above row
/// `rule_before` (the total row, when there is one).
pub fn table(columns: &[(&str, Align)], rows: &[Vec<String>], rule_before: usize) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|(h, _)| display_width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(cell));
        }
    }
    let render = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (i, (cell, (&w, (_, align)))) in cells.zip(widths.iter().zip(columns)).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(w.saturating_sub(display_width(cell)));
            match align {
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(cell);
                }
            }
        }
        line.truncate(line.trim_end().len());
        line.push('\n');
        line
    };
    let rule = {
        let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        format!("{}\n", "-".repeat(total))
    };
    let mut out = render(&mut columns.iter().map(|(h, _)| *h));
    out.push_str(&rule);
    for (i, row) in rows.iter().enumerate() {
        if i == rule_before {
            out.push_str(&rule);
        }
        out.push_str(&render(&mut row.iter().map(String::as_str)));
    }
    out
}

/// Terminal columns a string takes: CJK and full-width characters take two.
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '\u{1100}'..='\u{115F}'
            | '\u{2E80}'..='\u{A4CF}'
            | '\u{AC00}'..='\u{D7A3}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{FE30}'..='\u{FE4F}'
            | '\u{FF00}'..='\u{FF60}'
            | '\u{FFE0}'..='\u{FFE6}' => 2,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use shequ_proto::common::v1 as common;

    use super::*;

    const PREF_A: u64 = 130_100_000_000;
    const PREF_B: u64 = 130_200_000_000;

    #[allow(clippy::too_many_arguments)]
    fn facts(
        prefecture: u64,
        kind: common::LeafUnitKind,
        facilities: i32,
        total: f64,
        activity: f64,
        share_ok: i32,
        hours_ok: i32,
        online: bool,
    ) -> pb::LeafUnitFacts {
        pb::LeafUnitFacts {
            code: prefecture + 1,
            kind: kind as i32,
            province: 130_000_000_000,
            prefecture,
            in_service_facilities: facilities,
            total_floor_area_m2: total,
            activity_area_m2: activity,
            activity_share_compliant: share_ok,
            opening_hours_compliant: hours_ok,
            online_24h: online,
            community_workers: 3 * facilities,
            social_workers: facilities,
            ..Default::default()
        }
    }

    fn sample() -> Vec<pb::LeafUnitFacts> {
        use common::LeafUnitKind::{Community, Village};
        vec![
            // Prefecture A: two communities (one with two facilities), two villages (one bare).
            facts(PREF_A, Community, 2, 1000.0, 700.0, 2, 1, true),
            facts(PREF_A, Community, 1, 500.0, 200.0, 0, 1, false),
            facts(PREF_A, Village, 1, 300.0, 180.0, 1, 0, false),
            facts(PREF_A, Village, 0, 0.0, 0.0, 0, 0, false),
            // Prefecture B: one village without a facility, one of unknown kind with one.
            facts(PREF_B, Village, 0, 0.0, 0.0, 0, 0, false),
            facts(
                PREF_B,
                common::LeafUnitKind::Unspecified,
                1,
                200.0,
                120.0,
                1,
                1,
                true,
            ),
        ]
    }

    #[test]
    fn sums_per_prefecture_and_in_total() {
        let names = HashMap::from([(PREF_A, "石家庄市".to_owned())]);
        let report = build(&sample(), &names);
        assert_eq!(report.rows.len(), 2);
        let a = &report.rows[0];
        assert_eq!((a.code, a.name.as_str()), (PREF_A, "石家庄市"));
        assert_eq!(report.rows[1].name, "130200000000");
        let t = &a.tally;
        assert_eq!((t.communities, t.communities_covered), (2, 2));
        assert_eq!((t.villages, t.villages_covered), (2, 1));
        assert_eq!(t.urban_coverage(), Some(1.0));
        assert_eq!(t.rural_coverage(), Some(0.5));
        // (700 + 200 + 180) / (1000 + 500 + 300)
        assert_eq!(t.activity_area_share(), Some(1080.0 / 1800.0));
        assert_eq!(t.facilities, 4);
        assert_eq!(t.activity_area_compliance(), Some(0.75));
        assert_eq!(t.opening_hours_compliance(), Some(0.5));
        assert_eq!(t.online_24h_coverage(), Some(0.25));
        assert_eq!((t.community_workers, t.social_workers), (12, 4));

        let b = &report.rows[1].tally;
        assert_eq!(b.communities, 0);
        assert_eq!(b.urban_coverage(), None);
        assert_eq!((b.villages, b.villages_covered), (2, 1));

        let total = &report.total;
        assert_eq!(total.leaf_units, 6);
        assert_eq!(total.facilities, 5);
        assert_eq!(total.rural_coverage(), Some(0.5));
        assert_eq!(total.activity_area_share(), Some(1200.0 / 2000.0));
        assert_eq!(total.opening_hours_compliance(), Some(0.6));
        assert_eq!(total.online_24h_coverage(), Some(2.0 / 6.0));
    }

    #[test]
    fn targets_are_met_inclusively() {
        let total = build(&sample(), &HashMap::new()).total;
        let checks = national_targets(&total);
        let status: Vec<_> = checks.iter().map(|c| (c.indicator, c.met())).collect();
        assert_eq!(
            status,
            [
                ("urban facility coverage", Some(true)),
                ("rural facility coverage", Some(false)),
                // Exactly 60%.
                ("activity-area share", Some(true)),
                ("60% activity-area rule compliance", Some(false)),
                ("8-hour opening rule compliance", Some(false)),
                ("online 24h coverage", Some(false)),
            ]
        );
        let empty = national_targets(&Tally::default());
        assert!(empty.iter().all(|c| c.met().is_none()));
        assert!(render_targets(&empty).contains("no data"));
    }

    #[test]
    fn tables_align_chinese_names() {
        let names = HashMap::from([(PREF_A, "石家庄市".to_owned())]);
        let report = build(&sample(), &names);
        let text = render_prefectures(&report, "河北省 total");
        let lines: Vec<&str> = text.lines().take(6).collect();
        assert!(lines[0].starts_with("prefecture"));
        assert!(lines[1].starts_with("-----"));
        assert!(lines[2].starts_with("石家庄市"));
        assert!(lines[3].starts_with("130200000000"));
        assert_eq!(lines[4], lines[1], "a rule sets the total apart");
        assert!(lines[5].starts_with("河北省 total"));
        // Right-aligned columns end at the same terminal column.
        let widths: Vec<usize> = [lines[0], lines[2], lines[5]]
            .iter()
            .map(|l| display_width(l))
            .collect();
        assert_eq!(widths[0], widths[1]);
        assert_eq!(widths[1], widths[2]);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(percent(Some(0.7123)), "71.2%");
        assert_eq!(percent(None), "-");
    }
}
