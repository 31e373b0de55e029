//! Indicator definitions: the built-in catalogue of DOMAIN.md §5 and plan-defined indicators of
//! the kinds count, sum, ratio, share and mean over registry facts, survey facts or reported
//! values, and how each compiles into sums the rollup adds up.

use serde::{Deserialize, Serialize};
use shequ_domain::{Direction, TextRule, Violations};

use crate::facts::{RegistryField, SurveyField};

mod catalogue;

pub use catalogue::{builtin, catalogue};

/// Facts of the registry an indicator may read, by name, in declaration order.
pub const REGISTRY_FIELDS: &[&str] = RegistryField::NAMES;

/// Facts of the survey an indicator may read, by name, in declaration order. `covered` is 1 when
/// the unit reached the round's minimum of valid responses.
pub const SURVEY_FIELDS: &[&str] = SurveyField::NAMES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Count,
    Sum,
    Ratio,
    Share,
    Mean,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Registry,
    Survey,
    Reported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitFilter {
    #[default]
    All,
    Community,
    Village,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Higher,
    Lower,
}

impl From<Better> for Direction {
    fn from(b: Better) -> Self {
        match b {
            Better::Higher => Direction::HigherIsBetter,
            Better::Lower => Direction::LowerIsBetter,
        }
    }
}

/// One indicator, built in or defined by a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorDef {
    pub code: String,
    pub display_name: String,
    pub kind: Kind,
    pub source: Source,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub denominator_field: String,
    #[serde(default)]
    pub unit_kind: UnitFilter,
    pub unit: String,
    pub direction: Better,
    /// A reported ratio's value is numerator / denominator × `factor`; 1 elsewhere.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub factor: f64,
}

fn one() -> f64 {
    1.0
}

fn is_one(f: &f64) -> bool {
    *f == 1.0
}

impl IndicatorDef {
    /// How a parent's value is made from its children's.
    pub fn rollup(&self) -> &'static str {
        match (self.source, self.kind) {
            (_, Kind::Sum | Kind::Count) => "sum of parts",
            (Source::Reported, _) if !self.has_parts() => "none",
            (Source::Survey, Kind::Mean) => "mean of responses",
            _ => "ratio of sums",
        }
    }

    /// A reported ratio, share or mean that names the reported sums it divides (`field` over
    /// `denominator_field`); without them it is a figure reported as is.
    pub fn has_parts(&self) -> bool {
        self.source == Source::Reported
            && matches!(self.kind, Kind::Ratio | Kind::Share | Kind::Mean)
            && !(self.field.is_empty() && self.denominator_field.is_empty())
    }

    /// A reported sum: what a reported ratio may name as its numerator or denominator.
    pub fn is_reported_sum(&self) -> bool {
        self.source == Source::Reported && self.kind == Kind::Sum
    }

    /// Whether values are shares, so targets must lie in 0..=1.
    pub fn is_share(&self) -> bool {
        self.unit == "share"
    }

    /// Checks a plan-defined indicator; fields are relative to the indicator message.
    pub fn validate(&self) -> Violations {
        let mut v = Violations::new();
        if !is_code(&self.code) {
            v.push(
                "code",
                "must be 1 to 64 lowercase letters, digits or `_`, starting with a letter",
            );
        } else if builtin(&self.code).is_some() {
            v.push("code", format!("`{}` is a built-in indicator", self.code));
        }
        // As sent: `IndicatorSpec::validate` stores it trimmed.
        TextRule::required_unbounded().check(&mut v, "display_name", &self.display_name);
        let with_parts = self.has_parts();
        let fields = match self.source {
            Source::Registry => REGISTRY_FIELDS,
            Source::Survey => SURVEY_FIELDS,
            // The parts' codes are checked against the plan's indicators (`PlanSpec::validate`).
            Source::Reported => {
                match self.kind {
                    Kind::Count => v.push(
                        "kind",
                        "a reported indicator is a sum, or a ratio, share or mean of two sums",
                    ),
                    Kind::Sum => {
                        if !self.field.is_empty() {
                            v.push("field", "must be empty for a reported sum");
                        }
                        if !self.denominator_field.is_empty() {
                            v.push("denominator_field", "must be empty for a reported sum");
                        }
                    }
                    Kind::Ratio | Kind::Share | Kind::Mean if with_parts => {
                        for (name, code) in [
                            ("field", &self.field),
                            ("denominator_field", &self.denominator_field),
                        ] {
                            if code.is_empty() {
                                v.push(
                                    name,
                                    "names a reported sum indicator when the other part does",
                                );
                            }
                        }
                    }
                    Kind::Ratio | Kind::Share | Kind::Mean => {}
                }
                &[]
            }
        };
        if self.source != Source::Reported {
            self.check_fields(&mut v, fields);
        }
        if self.kind == Kind::Share && self.unit != "share" {
            v.push("unit", "a share indicator has the unit `share`");
        }
        if !self.factor.is_finite() || self.factor <= 0.0 {
            v.push("factor", "must be a finite number above 0");
        } else if self.factor != 1.0 && !with_parts {
            v.push(
                "factor",
                "is only for a reported ratio, share or mean with a numerator and a denominator",
            );
        }
        v
    }

    /// Checks `field` and `denominator_field` of a registry or survey indicator against `fields`.
    fn check_fields(&self, v: &mut Violations, fields: &[&str]) {
        if !fields.contains(&self.field.as_str()) {
            v.push("field", format!("must be one of {}", fields.join(", ")));
        }
        let needs_denominator = matches!(self.kind, Kind::Ratio | Kind::Mean);
        if needs_denominator && !fields.contains(&self.denominator_field.as_str()) {
            v.push(
                "denominator_field",
                format!("must be one of {}", fields.join(", ")),
            );
        } else if !needs_denominator && !self.denominator_field.is_empty() {
            v.push("denominator_field", "is only for ratio and mean indicators");
        }
    }
}

pub fn is_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code.as_bytes()[0].is_ascii_lowercase()
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// One per-leaf-unit quantity the rollup sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    pub fact: Fact,
    /// Count units whose fact is positive rather than sum the fact.
    pub count_positive: bool,
    pub filter: UnitFilter,
    /// `fact.slot()`, resolved once here: the rollup reads it for every leaf unit.
    pub(crate) slot: usize,
}

impl Measure {
    fn new(fact: Fact, count_positive: bool, filter: UnitFilter) -> Self {
        Self {
            fact,
            count_positive,
            filter,
            slot: fact.slot(),
        }
    }
}

/// How many facts a leaf unit has, the registry's and the survey's laid end to end.
pub const FACT_SLOTS: usize = RegistryField::COUNT + SurveyField::COUNT;

/// A fact of a leaf unit, from the registry or from the survey round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    Registry(RegistryField),
    Survey(SurveyField),
}

impl Fact {
    /// The fact `name` of `source` (registry or survey); a name the source does not have reads
    /// `leaf_units`, as the unit count of that source.
    fn of(source: Source, name: &str) -> Self {
        match source {
            Source::Registry => {
                Self::Registry(RegistryField::parse(name).unwrap_or(RegistryField::LeafUnits))
            }
            _ => Self::Survey(SurveyField::parse(name).unwrap_or(SurveyField::LeafUnits)),
        }
    }

    /// Where the fact lies among a leaf unit's [`FACT_SLOTS`] facts, the registry's first.
    pub const fn slot(self) -> usize {
        match self {
            Self::Registry(f) => f.index(),
            Self::Survey(f) => RegistryField::COUNT + f.index(),
        }
    }
}

/// An indicator as sums: value = numerator / denominator, or numerator alone when the
/// denominator only says whether anything was counted (`presence`). No denominator (0) is no data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Formula {
    Quotient {
        numerator: usize,
        denominator: usize,
    },
    Presence {
        numerator: usize,
        presence: usize,
    },
    /// A reported sum: index into the rollup's reported indicators.
    Reported(usize),
    /// A reported ratio of two reported sums (indices into the reported indicators), `ratio`
    /// indexing the rollup's pairs: numerator / denominator × `factor`.
    ReportedRatio {
        ratio: usize,
        numerator: usize,
        denominator: usize,
        factor: f64,
    },
    /// A figure reported as is (index into the reported indicators): only where reported.
    ReportedAsIs(usize),
}

/// The distinct measures of a set of indicators and each indicator's formula over them.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    pub measures: Vec<Measure>,
    pub formulas: Vec<Formula>,
    /// Codes of the reported indicators whose values are read, in index order.
    pub reported: Vec<String>,
    /// Per reported ratio (`Formula::ReportedRatio::ratio`): its numerator's and denominator's
    /// indices into `reported`.
    pub ratios: Vec<(usize, usize)>,
}

impl Compiled {
    pub fn new(defs: &[IndicatorDef]) -> Self {
        let mut out = Self::default();
        for d in defs {
            let formula = match d.source {
                Source::Reported if d.has_parts() => {
                    let numerator = out.reported_index(&d.field);
                    let denominator = out.reported_index(&d.denominator_field);
                    out.ratios.push((numerator, denominator));
                    Formula::ReportedRatio {
                        ratio: out.ratios.len() - 1,
                        numerator,
                        denominator,
                        factor: d.factor,
                    }
                }
                Source::Reported if d.kind == Kind::Sum => {
                    Formula::Reported(out.reported_index(&d.code))
                }
                Source::Reported => Formula::ReportedAsIs(out.reported_index(&d.code)),
                source => {
                    let units = Measure::new(Fact::of(source, "leaf_units"), false, d.unit_kind);
                    let field = Measure::new(
                        Fact::of(source, &d.field),
                        matches!(d.kind, Kind::Count | Kind::Share),
                        d.unit_kind,
                    );
                    match d.kind {
                        Kind::Count | Kind::Sum => Formula::Presence {
                            numerator: out.measure(field),
                            presence: out.measure(units),
                        },
                        Kind::Share => Formula::Quotient {
                            numerator: out.measure(field),
                            denominator: out.measure(units),
                        },
                        Kind::Ratio | Kind::Mean => Formula::Quotient {
                            numerator: out.measure(field),
                            denominator: out.measure(Measure::new(
                                Fact::of(source, &d.denominator_field),
                                false,
                                d.unit_kind,
                            )),
                        },
                    }
                }
            };
            out.formulas.push(formula);
        }
        out
    }

    /// The index of the reported indicator `code`, added when new: a ratio and its parts read
    /// the same values.
    fn reported_index(&mut self, code: &str) -> usize {
        if let Some(i) = self.reported.iter().position(|c| c == code) {
            return i;
        }
        self.reported.push(code.to_owned());
        self.reported.len() - 1
    }

    fn measure(&mut self, m: Measure) -> usize {
        if let Some(i) = self.measures.iter().position(|x| *x == m) {
            return i;
        }
        self.measures.push(m);
        self.measures.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_valid_and_shares_measures() {
        for d in catalogue() {
            let mut d = d;
            let code = d.code.clone();
            d.code = format!("x_{code}");
            assert!(d.validate().is_empty(), "{code}: {:?}", d.validate());
        }
        let c = Compiled::new(&catalogue());
        assert_eq!(c.formulas.len(), catalogue().len());
        assert_eq!(c.reported, ["community_workers", "social_workers"]);
        // activity_area_compliance and opening_hours_compliance share their denominator.
        assert!(c.measures.len() < 2 * c.formulas.len());
    }

    #[test]
    fn bad_definitions_name_their_fields() {
        let mut d = builtin("activity_area_share").unwrap();
        d.code = "Bad Code".into();
        d.field = "nope".into();
        d.denominator_field = String::new();
        let fields: Vec<_> = d.validate().iter().map(|v| v.field.clone()).collect();
        assert_eq!(fields, ["code", "field", "denominator_field"]);
        assert!(
            !builtin("urban_facility_coverage")
                .unwrap()
                .validate()
                .is_empty()
        );
    }
}
