//! Deterministic, plausible facility records for the demo: a seeded SplitMix64 generator decides
//! for every leaf unit whether it has a facility and what that facility looks like.
//!
//! The shares are chosen to resemble the plan's starting point, not to reproduce any real
//! statistics: almost every community has a facility, villages have one about three times in
//! four with a different rate in every prefecture, and a minority of facilities miss the 60%
//! activity-area rule or the 8-hour rule.

use shequ_domain::{LeafUnitKind, ServiceKind};
use shequ_proto::common::v1 as common;
use shequ_proto::convert::service_to_pb;
use shequ_proto::names::division_name;
use shequ_proto::registry::v1 as pb;

/// Seed of the demo, so every run registers the same facilities.
pub const DEMO_SEED: u64 = 2025;

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, fast and good enough for test data.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n); 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in [lo, hi).
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// What the generator needs to know about a leaf unit.
#[derive(Debug, Clone, Copy)]
pub struct LeafUnit<'a> {
    /// 12-digit statistical code.
    pub code: u64,
    pub kind: LeafUnitKind,
    pub prefecture: u64,
    pub county: u64,
    /// Official name, e.g. 棉一东社区居民委员会.
    pub name: &'a str,
}

/// Draws facilities for leaf units. Each unit gets its own stream of numbers derived from the
/// seed and its code, so the result does not depend on the order units are visited in.
#[derive(Debug, Clone, Copy)]
pub struct FacilityGenerator {
    seed: u64,
}

/// Share of communities with a facility on record.
const COMMUNITY_RATE: f64 = 0.995;
/// Range of the per-prefecture share of villages with a facility on record.
const VILLAGE_RATE: (f64, f64) = (0.62, 0.86);

impl FacilityGenerator {
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    fn rng(&self, salt: u64, code: u64) -> SplitMix64 {
        SplitMix64::new(self.seed ^ salt ^ code.wrapping_mul(0x2545_F491_4F6C_DD1D))
    }

    /// Share of villages in `prefecture` that have a facility on record.
    pub fn village_rate(&self, prefecture: u64) -> f64 {
        let mut rng = self.rng(0x5649_4C4C_4147_4500, prefecture);
        rng.between(VILLAGE_RATE.0, VILLAGE_RATE.1)
    }

    /// The CreateFacility requests for `unit`: none, one, or occasionally two.
    pub fn facilities_for(&self, unit: &LeafUnit<'_>) -> Vec<pb::CreateFacilityRequest> {
        let mut rng = self.rng(0, unit.code);
        let community = unit.kind == LeafUnitKind::Community;
        let has_facility = if community {
            rng.chance(COMMUNITY_RATE)
        } else {
            rng.chance(self.village_rate(unit.prefecture))
        };
        if !has_facility {
            return Vec::new();
        }
        let second = rng.chance(if community { 0.05 } else { 0.01 });
        let mut out = vec![self.facility(unit, &mut rng, 1)];
        if second {
            out.push(self.facility(unit, &mut rng, 2));
        }
        out
    }

    fn facility(
        &self,
        unit: &LeafUnit<'_>,
        rng: &mut SplitMix64,
        ordinal: u32,
    ) -> pb::CreateFacilityRequest {
        let community = unit.kind == LeafUnitKind::Community;
        let base = base_name(unit.name);
        let display_name = match (community, ordinal) {
            (true, 1) if base.ends_with("社区") => format!("{base}党群服务中心"),
            (true, 1) => format!("{base}社区党群服务中心"),
            (true, _) => format!("{base}便民服务站"),
            (false, 1) if base.ends_with('村') => format!("{base}党群服务中心"),
            (false, 1) => format!("{base}村党群服务中心"),
            (false, _) => format!("{base}村综合服务站"),
        };
        let status = self.status(community, ordinal, rng);
        let total = round_to(
            if community {
                300.0 + 1200.0 * rng.unit().powf(1.6)
            } else {
                100.0 + 700.0 * rng.unit().powf(1.4)
            },
            0.5,
        );
        let share = if rng.chance(if community { 0.82 } else { 0.74 }) {
            rng.between(0.605, 0.92)
        } else {
            rng.between(0.35, 0.595)
        };
        let activity = round_to(total * share, 0.1).min(total);
        let services = services(community, rng);
        let mut online = Vec::new();
        if rng.chance(if community { 0.55 } else { 0.2 }) {
            online.push(service_to_pb(ServiceKind::GovernmentServices) as i32);
            let convenience = service_to_pb(ServiceKind::Convenience) as i32;
            if services.contains(&convenience) && rng.chance(0.3) {
                online.push(convenience);
            }
        }
        let self_service_terminals = if community {
            [0, 1, 1, 2, 2, 3][rng.below(6) as usize]
        } else {
            i32::from(rng.chance(0.3))
        };
        let community_workers = if community {
            5 + rng.below(10) as i32
        } else {
            3 + rng.below(6) as i32
        };
        let social_workers = if community {
            if rng.chance(0.6) {
                1 + rng.below(3) as i32
            } else {
                0
            }
        } else {
            i32::from(rng.chance(0.15))
        };
        let operator = rng
            .chance(if community { 0.25 } else { 0.03 })
            .then(|| self.operator(unit.county));
        pb::CreateFacilityRequest {
            facility: Some(pb::Facility {
                display_name,
                leaf_unit: division_name_of(unit.code),
                address: format!("{}驻地", unit.name),
                status: status as i32,
                total_floor_area_m2: total,
                activity_area_m2: activity,
                opening_hours: opening_hours(community, rng),
                services,
                online_24h_services: online,
                self_service_terminals,
                staff: Some(pb::Staff {
                    community_workers,
                    social_workers,
                }),
                operator,
                ..Default::default()
            }),
            request_id: format!("demo-{}-{ordinal}", unit.code),
            reason: "registered by `shequ demo`".to_owned(),
        }
    }

    fn status(&self, community: bool, ordinal: u32, rng: &mut SplitMix64) -> pb::FacilityStatus {
        let in_service = match (community, ordinal) {
            (true, 1) => 0.985,
            (false, 1) => 0.93,
            _ => 0.85,
        };
        let r = rng.unit();
        if r < in_service {
            pb::FacilityStatus::InService
        } else if r < in_service + (1.0 - in_service) * 0.4 {
            pb::FacilityStatus::UnderConstruction
        } else if r < in_service + (1.0 - in_service) * 0.7 {
            pb::FacilityStatus::Planned
        } else {
            pb::FacilityStatus::Suspended
        }
    }

    /// A social-work organisation serving a county: one per county, with a valid Unified Social
    /// Credit Code (`52` = registered with civil affairs as a social service organisation).
    fn operator(&self, county: u64) -> pb::Operator {
        const BRANDS: [&str; 6] = ["益民", "同心", "阳光", "康乐", "邻里", "恒爱"];
        let mut rng = self.rng(0x4F50_4552_4154_4F52, county);
        let brand = BRANDS[rng.below(BRANDS.len() as u64) as usize];
        let mut body = format!("52{:06}", county / 1_000_000 % 1_000_000);
        for _ in 0..9 {
            body.push(char::from(USCC_ALPHABET[rng.below(31) as usize]));
        }
        pb::Operator {
            display_name: format!("{brand}社会工作服务中心"),
            uscc: with_uscc_check(&body),
        }
    }
}

fn division_name_of(code: u64) -> String {
    match shequ_domain::DivisionCode::from_u64(code) {
        Ok(code) => division_name(code),
        Err(_) => format!("divisions/{code:012}"),
    }
}

/// The leaf unit's name without its committee suffix: 棉一东社区居民委员会 → 棉一东社区.
fn base_name(name: &str) -> &str {
    for suffix in ["居民委员会", "村民委员会", "居委会", "村委会"] {
        if let Some(base) = name.strip_suffix(suffix).filter(|b| !b.is_empty()) {
            return base;
        }
    }
    name
}

fn round_to(value: f64, step: f64) -> f64 {
    (value / step).round() * step
}

/// Services offered: government services (代办) everywhere, the rest by how common they are.
fn services(community: bool, rng: &mut SplitMix64) -> Vec<i32> {
    ServiceKind::ALL
        .into_iter()
        .filter(|kind| {
            let (c, v) = match kind {
                ServiceKind::ElderlyCare => (0.9, 0.8),
                ServiceKind::Childcare => (0.35, 0.1),
                ServiceKind::Employment => (0.6, 0.35),
                ServiceKind::DisabilityHelp => (0.5, 0.3),
                ServiceKind::MinorsCare => (0.55, 0.4),
                ServiceKind::Health => (0.5, 0.6),
                ServiceKind::PsychologicalSupport => (0.25, 0.05),
                ServiceKind::Emergency => (0.45, 0.3),
                ServiceKind::GovernmentServices => (1.0, 1.0),
                ServiceKind::Convenience => (0.6, 0.45),
            };
            rng.chance(if community { c } else { v })
        })
        .map(|kind| service_to_pb(kind) as i32)
        .collect()
}

/// Weekly hours from a few common patterns; the last two miss the 8-hour rule on some days.
fn opening_hours(community: bool, rng: &mut SplitMix64) -> Vec<pb::OpeningInterval> {
    const WEEKDAYS: std::ops::RangeInclusive<i32> = 1..=5;
    const WEEKEND: std::ops::RangeInclusive<i32> = 6..=7;
    let weights: [u32; 5] = if community {
        [40, 20, 20, 12, 8]
    } else {
        [30, 25, 5, 22, 18]
    };
    let mut pick = rng.below(u64::from(weights.iter().sum::<u32>())) as u32;
    let pattern = weights
        .iter()
        .position(|&w| {
            if pick < w {
                true
            } else {
                pick -= w;
                false
            }
        })
        .unwrap_or(0);
    let mut hours = Vec::new();
    let mut open = |days: std::ops::RangeInclusive<i32>, from: (i32, i32), to: (i32, i32)| {
        for day in days {
            hours.push(pb::OpeningInterval {
                day,
                open_minute: from.0 * 60 + from.1,
                close_minute: to.0 * 60 + to.1,
            });
        }
    };
    match pattern {
        // 08:30-17:30 on weekdays, 09:00-17:00 at weekends: exactly 8 hours at the least.
        0 => {
            open(WEEKDAYS, (8, 30), (17, 30));
            open(WEEKEND, (9, 0), (17, 0));
        }
        // Split shift every day: 08:00-12:00 and 14:00-18:00.
        1 => {
            open(1..=7, (8, 0), (12, 0));
            open(1..=7, (14, 0), (18, 0));
        }
        // Extended hours: 08:00-20:00 every day.
        2 => open(1..=7, (8, 0), (20, 0)),
        // Weekend mornings only: 3 hours on Saturday and Sunday.
        3 => {
            open(WEEKDAYS, (8, 30), (17, 30));
            open(WEEKEND, (9, 0), (12, 0));
        }
        // Office hours on weekdays, closed at weekends.
        _ => open(WEEKDAYS, (9, 0), (16, 30)),
    }
    hours
}

const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Appends the GB 32100-2015 check character to the first 17 characters of a code.
fn with_uscc_check(body: &str) -> String {
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| {
            let value = USCC_ALPHABET.iter().position(|&a| a == b).unwrap_or(0) as u32;
            value * w
        })
        .sum();
    let check = USCC_ALPHABET[((31 - sum % 31) % 31) as usize];
    format!("{body}{}", char::from(check))
}

/// The kind a facts message reports; a unit without one counts as a village, as the registry's
/// own leaf-unit counts do.
pub fn kind_of(facts: &pb::LeafUnitFacts) -> LeafUnitKind {
    match common::LeafUnitKind::try_from(facts.kind) {
        Ok(common::LeafUnitKind::Community) => LeafUnitKind::Community,
        _ => LeafUnitKind::Village,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use shequ_registry::grpc::convert::facility_spec_from_pb;

    use super::*;
    use crate::slice::leaf_unit_names;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs for seed 1234567 from the reference C implementation.
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
        let mut rng = SplitMix64::new(7);
        for _ in 0..10_000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(rng.below(6) < 6);
        }
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn uscc_check_character_is_valid() {
        assert_eq!(with_uscc_check("91350100M000100Y4"), "91350100M000100Y43");
        let generator = FacilityGenerator::new(DEMO_SEED);
        let operator = generator.operator(130_102_000_000);
        assert!(operator.uscc.starts_with("52130102"));
        shequ_domain::Uscc::parse(&operator.uscc).unwrap();
    }

    #[test]
    fn base_names_drop_the_committee_suffix() {
        assert_eq!(base_name("棉一东社区居民委员会"), "棉一东社区");
        assert_eq!(base_name("北翟营村委会"), "北翟营");
        assert_eq!(base_name("居委会"), "居委会");
    }

    /// Every leaf unit of Hebei, kind inferred from the name as the registry does on import.
    fn hebei_units(names: &HashMap<u64, String>) -> Vec<LeafUnit<'_>> {
        let mut units: Vec<LeafUnit<'_>> = names
            .iter()
            .map(|(&code, name)| LeafUnit {
                code,
                kind: LeafUnitKind::infer_from_name(name),
                prefecture: code / 100_000_000 * 100_000_000,
                county: code / 1_000_000 * 1_000_000,
                name,
            })
            .collect();
        units.sort_by_key(|u| u.code);
        units
    }

    #[test]
    fn generated_facilities_are_valid_varied_and_deterministic() {
        let names = leaf_unit_names().unwrap();
        let units = hebei_units(&names);
        let generator = FacilityGenerator::new(DEMO_SEED);
        let (mut communities, mut communities_with) = (0, 0);
        let (mut villages, mut villages_with) = (0, 0);
        let (mut facilities, mut low_share, mut short_days, mut online) = (0, 0, 0, 0);
        let mut request_ids = std::collections::HashSet::new();
        for unit in &units {
            let requests = generator.facilities_for(unit);
            match unit.kind {
                LeafUnitKind::Community => {
                    communities += 1;
                    communities_with += usize::from(!requests.is_empty());
                }
                LeafUnitKind::Village => {
                    villages += 1;
                    villages_with += usize::from(!requests.is_empty());
                }
            }
            for request in &requests {
                let facility = request.facility.as_ref().unwrap();
                let spec = facility_spec_from_pb(facility)
                    .unwrap_or_else(|v| panic!("{}: {v:?}", request.request_id));
                assert_eq!(spec.leaf_unit.as_u64(), unit.code);
                assert!((100.0..=1500.0).contains(&spec.total_floor_area_m2));
                assert!(spec.activity_area_m2 <= spec.total_floor_area_m2);
                assert!(spec.staff.community_workers > 0);
                assert!(request_ids.insert(request.request_id.clone()));
                facilities += 1;
                low_share += usize::from(!spec.meets_activity_share());
                short_days += usize::from(!spec.meets_opening_hours());
                online += usize::from(spec.offers_online_24h());
            }
        }
        let share = |n: usize, of: usize| n as f64 / of as f64;
        assert!(share(communities_with, communities) > 0.98);
        let village_share = share(villages_with, villages);
        assert!((0.65..0.9).contains(&village_share), "{village_share}");
        for part in [low_share, short_days, online] {
            let s = share(part, facilities);
            assert!((0.1..0.7).contains(&s), "{s}");
        }
        let unit = units[0];
        assert_eq!(
            generator.facilities_for(&unit),
            FacilityGenerator::new(DEMO_SEED).facilities_for(&unit)
        );
    }
}
