//! A plan as the monitor keeps it once checked: its columns, its body of plan-defined indicators
//! and targets (with their overrides per division), and the built-in national plan.

use serde::{Deserialize, Serialize};
use shequ_domain::{DivisionCode, DivisionLevel, GrowthThresholds, Milestone, Trajectory};

use crate::indicators::{Better, IndicatorDef, catalogue};

/// Id of the built-in national plan.
pub const NATIONAL_PLAN_ID: &str = "national-14th-fyp";

/// The years a plan may name (start, end, baseline and target years): from the founding of the
/// People's Republic to the end of the century; anything else is a typing mistake.
pub const YEARS: std::ops::RangeInclusive<i32> = 1949..=2100;

/// The level of the division a plan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanLevel {
    National = 1,
    Provincial = 2,
    Prefectural = 3,
    County = 4,
    Township = 5,
}

impl PlanLevel {
    pub const ALL: [PlanLevel; 5] = [
        Self::National,
        Self::Provincial,
        Self::Prefectural,
        Self::County,
        Self::Township,
    ];

    /// The level stored as a number; `None` for a number no level has.
    pub fn from_number(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|l| *l as i32 == n)
    }

    /// The registry's level of the plan's scope; `None` for the country.
    pub fn division_level(self) -> Option<DivisionLevel> {
        DivisionLevel::from_number(self as i64 - 1)
    }

    /// As plan files spell it.
    pub fn word(self) -> &'static str {
        match self {
            Self::National => "national",
            Self::Provincial => "provincial",
            Self::Prefectural => "prefectural",
            Self::County => "county",
            Self::Township => "township",
        }
    }
}

/// How a target judges a value: the straight trajectory (with its milestones), or compound
/// annual growth with its thresholds (DOMAIN.md §6, §9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    #[default]
    Linear,
    GrowthRate(GrowthThresholds),
}

impl Method {
    pub fn is_linear(&self) -> bool {
        *self == Self::Linear
    }
}

/// A target; without a baseline the target is a floor: the trajectory starts at the target, so
/// a value short of it is off track (DOMAIN.md's "—" baselines). `overrides` set other targets
/// for divisions below the plan's scope, each for its subtree unless overridden again below.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetDef {
    pub indicator: String,
    pub baseline: Option<(f64, i32)>,
    pub target_value: f64,
    pub target_year: i32,
    pub direction: Better,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
    #[serde(default, skip_serializing_if = "Method::is_linear")]
    pub method: Method,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<TargetOverride>,
}

/// A target for one division and its subtree: its own baseline, target and milestones; the
/// indicator, direction and method are the plan target's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetOverride {
    /// The division's 12-digit code.
    pub division: u64,
    pub baseline: Option<(f64, i32)>,
    pub target_value: f64,
    pub target_year: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
}

/// The target in force for one division: the plan's own (`division` is `None`) or an override.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetFor<'a> {
    pub division: Option<u64>,
    pub baseline: Option<(f64, i32)>,
    pub target_value: f64,
    pub target_year: i32,
    pub milestones: &'a [Milestone],
    pub direction: Better,
    pub method: Method,
}

impl TargetFor<'_> {
    pub fn trajectory(&self, start_year: i32) -> Trajectory {
        let (baseline_value, baseline_year) =
            self.baseline.unwrap_or((self.target_value, start_year - 1));
        Trajectory {
            baseline_value,
            baseline_year,
            target_value: self.target_value,
            target_year: self.target_year,
            direction: self.direction.into(),
            milestones: self.milestones.to_vec(),
        }
    }
}

impl TargetDef {
    pub fn trajectory(&self, start_year: i32) -> Trajectory {
        self.variant(0).trajectory(start_year)
    }

    /// Variant 0 is the plan's own target, `k` > 0 the `k`-th override; an index past the
    /// overrides (none is stored so) reads as the plan's own.
    pub fn variant(&self, k: usize) -> TargetFor<'_> {
        match k.checked_sub(1).and_then(|i| self.overrides.get(i)) {
            Some(o) => TargetFor {
                division: Some(o.division),
                baseline: o.baseline,
                target_value: o.target_value,
                target_year: o.target_year,
                milestones: &o.milestones,
                direction: self.direction,
                method: self.method,
            },
            None => TargetFor {
                division: None,
                baseline: self.baseline,
                target_value: self.target_value,
                target_year: self.target_year,
                milestones: &self.milestones,
                direction: self.direction,
                method: self.method,
            },
        }
    }

    /// The variant in force for a division whose `chain` (the division, then its ancestors,
    /// nearest first) is given: the first override met, else the target itself (0).
    pub fn variant_for(&self, chain: &[u64]) -> usize {
        chain
            .iter()
            .find_map(|&code| self.override_of(code))
            .unwrap_or(0)
    }

    /// Variant `k` as a target of its own, without overrides.
    pub fn resolved(&self, k: usize) -> TargetDef {
        let v = self.variant(k);
        TargetDef {
            indicator: self.indicator.clone(),
            baseline: v.baseline,
            target_value: v.target_value,
            target_year: v.target_year,
            direction: v.direction,
            milestones: v.milestones.to_vec(),
            method: v.method,
            overrides: Vec::new(),
        }
    }

    /// The variant whose division is `code`: 1 + the override's index, or `None`.
    pub fn override_of(&self, code: u64) -> Option<usize> {
        self.overrides
            .iter()
            .position(|o| o.division == code)
            .map(|i| i + 1)
    }
}

/// What a plan stores besides its columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanBody {
    pub indicators: Vec<IndicatorDef>,
    pub targets: Vec<TargetDef>,
}

/// A checked plan (see `PlanSpec::validate`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDef {
    pub id: String,
    pub display_name: String,
    pub level: PlanLevel,
    /// `None` for the country.
    pub scope: Option<DivisionCode>,
    pub parent: Option<String>,
    pub start_year: i32,
    pub end_year: i32,
    /// The survey round's id; empty for none.
    pub survey_round: String,
    pub body: PlanBody,
    pub create_time: i64,
}

impl PlanDef {
    /// The built-in catalogue followed by the plan's own indicators: the evaluation's columns.
    pub fn indicators(&self) -> Vec<IndicatorDef> {
        let mut all = catalogue();
        all.extend(self.body.indicators.iter().cloned());
        all
    }

    pub fn target(&self, indicator: &str) -> Option<&TargetDef> {
        self.body.targets.iter().find(|t| t.indicator == indicator)
    }

    /// The scope's code in storage: 0 for the country.
    pub fn scope_code(&self) -> i64 {
        self.scope.map_or(0, DivisionCode::as_i64)
    }
}

/// The national plan of DOMAIN.md §5: baselines 2020, targets 2025. Indicators whose baseline is
/// "—" get a target without baseline (a floor); "plan-defined" targets are left to the plans.
pub fn national_plan() -> PlanDef {
    let t = |code: &str, baseline: Option<f64>, target: f64| TargetDef {
        indicator: code.to_owned(),
        baseline: baseline.map(|value| (value, 2020)),
        target_value: target,
        target_year: 2025,
        direction: Better::Higher,
        milestones: Vec::new(),
        method: Method::Linear,
        overrides: Vec::new(),
    };
    PlanDef {
        id: NATIONAL_PLAN_ID.to_owned(),
        display_name: "“十四五”城乡社区服务体系建设规划".to_owned(),
        level: PlanLevel::National,
        scope: None,
        parent: None,
        start_year: 2021,
        end_year: 2025,
        survey_round: String::new(),
        body: PlanBody {
            indicators: Vec::new(),
            targets: vec![
                t("urban_facility_coverage", Some(1.0), 1.0),
                t("rural_facility_coverage", Some(0.657), 0.80),
                t("activity_area_share", None, 0.60),
                t("activity_area_compliance", None, 1.0),
                t("opening_hours_compliance", None, 1.0),
                t("online_24h_coverage", None, 1.0),
                t("survey_coverage", None, 1.0),
            ],
        },
        create_time: 0,
    }
}
