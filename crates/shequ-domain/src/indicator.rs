//! Indicator trajectories and status (achieved, on track, lagging, off track, no data), and the
//! satisfaction score of a survey response.

use chrono::{Datelike, NaiveDate};

/// Tolerance for comparing computed values with targets, so 0.8 computed as 0.7999999999 counts.
const EPSILON: f64 = 1e-9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Achieved,
    OnTrack,
    Lagging,
    OffTrack,
    NoData,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Achieved => "achieved",
            Self::OnTrack => "on_track",
            Self::Lagging => "lagging",
            Self::OffTrack => "off_track",
            Self::NoData => "no_data",
        }
    }
}

/// A target with its baseline: the straight line from the end of the baseline year to the end of
/// the target year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trajectory {
    pub baseline_value: f64,
    pub baseline_year: i32,
    pub target_value: f64,
    pub target_year: i32,
    pub direction: Direction,
}

impl Trajectory {
    /// Share of the way from the end of the baseline year to the end of the target year that has
    /// elapsed by the end of `date`, clamped to [0, 1].
    pub fn elapsed_fraction(&self, date: NaiveDate) -> f64 {
        let start = first_day_after_year(self.baseline_year);
        let end = first_day_after_year(self.target_year);
        let total = (end - start).num_days();
        if total <= 0 {
            return 1.0;
        }
        let now = date.succ_opt().unwrap_or(date);
        ((now - start).num_days() as f64 / total as f64).clamp(0.0, 1.0)
    }

    /// expected(t) = baseline + (target − baseline) × f
    pub fn expected(&self, date: NaiveDate) -> f64 {
        self.baseline_value
            + (self.target_value - self.baseline_value) * self.elapsed_fraction(date)
    }

    /// Status of `value` on `date`; `None` (the value cannot be computed) is no data.
    pub fn status(&self, value: Option<f64>, date: NaiveDate) -> Status {
        let Some(v) = value.filter(|v| v.is_finite()) else {
            return Status::NoData;
        };
        // Mirror "lower is better" onto "higher is better".
        let sign = match self.direction {
            Direction::HigherIsBetter => 1.0,
            Direction::LowerIsBetter => -1.0,
        };
        let (v, base, target, expected) = (
            sign * v,
            sign * self.baseline_value,
            sign * self.target_value,
            sign * self.expected(date),
        );
        if v >= target - EPSILON {
            Status::Achieved
        } else if v >= expected - EPSILON {
            Status::OnTrack
        } else if v >= base + 0.5 * (expected - base) - EPSILON {
            Status::Lagging
        } else {
            Status::OffTrack
        }
    }

    /// True when `self` asks for less than `other` by its target (a provincial target below the
    /// national one, for an indicator where higher is better).
    pub fn is_less_ambitious_than(&self, other: &Trajectory) -> bool {
        match self.direction {
            Direction::HigherIsBetter => self.target_value < other.target_value - EPSILON,
            Direction::LowerIsBetter => self.target_value > other.target_value + EPSILON,
        }
    }
}

fn first_day_after_year(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap_or(NaiveDate::MAX)
}

/// Whether `date` falls in `year`; a helper for period checks.
pub fn in_year(date: NaiveDate, year: i32) -> bool {
    date.year() == year
}

/// Satisfaction score of one response: the mean of its answered 5-point questions mapped
/// 1→0, 2→25, 3→50, 4→75, 5→100. `None` when no such question was answered; answers outside
/// 1..=5 are ignored (validation refuses them earlier).
pub fn satisfaction_score(answers: impl IntoIterator<Item = u8>) -> Option<f64> {
    let (sum, n) = answers
        .into_iter()
        .filter(|a| (1..=5).contains(a))
        .fold((0u32, 0u32), |(s, n), a| (s + u32::from(a - 1) * 25, n + 1));
    (n > 0).then(|| f64::from(sum) / f64::from(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rural() -> Trajectory {
        Trajectory {
            baseline_value: 0.657,
            baseline_year: 2020,
            target_value: 0.80,
            target_year: 2025,
            direction: Direction::HigherIsBetter,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn elapsed_fraction_runs_from_end_of_baseline_year_to_end_of_target_year() {
        let t = rural();
        assert_eq!(t.elapsed_fraction(d(2020, 6, 1)), 0.0);
        assert_eq!(t.elapsed_fraction(d(2020, 12, 31)), 0.0);
        assert_eq!(t.elapsed_fraction(d(2025, 12, 31)), 1.0);
        assert_eq!(t.elapsed_fraction(d(2030, 1, 1)), 1.0);
        // End of 2023: three of five years (1095 of 1826 days).
        let f = t.elapsed_fraction(d(2023, 12, 31));
        assert!((f - 1095.0 / 1826.0).abs() < 1e-12, "{f}");
    }

    #[test]
    fn status_boundaries_higher_is_better() {
        let t = rural();
        let day = d(2023, 12, 31);
        let expected = t.expected(day);
        let lag_floor = 0.657 + 0.5 * (expected - 0.657);
        assert_eq!(t.status(Some(0.80), day), Status::Achieved);
        assert_eq!(t.status(Some(0.7999), day), Status::OnTrack);
        assert_eq!(t.status(Some(expected), day), Status::OnTrack);
        assert_eq!(t.status(Some(expected - 1e-6), day), Status::Lagging);
        assert_eq!(t.status(Some(lag_floor), day), Status::Lagging);
        assert_eq!(t.status(Some(lag_floor - 1e-6), day), Status::OffTrack);
        assert_eq!(t.status(None, day), Status::NoData);
        assert_eq!(t.status(Some(f64::NAN), day), Status::NoData);
    }

    #[test]
    fn status_boundaries_lower_is_better() {
        let t = Trajectory {
            baseline_value: 100.0,
            baseline_year: 2020,
            target_value: 50.0,
            target_year: 2025,
            direction: Direction::LowerIsBetter,
        };
        let day = d(2022, 12, 31);
        let expected = t.expected(day);
        assert!(expected < 100.0 && expected > 50.0);
        assert_eq!(t.status(Some(50.0), day), Status::Achieved);
        assert_eq!(t.status(Some(expected), day), Status::OnTrack);
        assert_eq!(t.status(Some(expected + 0.01), day), Status::Lagging);
        let lag_ceiling = 100.0 + 0.5 * (expected - 100.0);
        assert_eq!(t.status(Some(lag_ceiling), day), Status::Lagging);
        assert_eq!(t.status(Some(lag_ceiling + 0.01), day), Status::OffTrack);
    }

    #[test]
    fn ambition_comparison() {
        let national = rural();
        let mut province = rural();
        province.target_value = 0.75;
        assert!(province.is_less_ambitious_than(&national));
        province.target_value = 0.85;
        assert!(!province.is_less_ambitious_than(&national));
    }

    #[test]
    fn satisfaction_maps_the_five_point_scale() {
        assert_eq!(satisfaction_score([1, 5]), Some(50.0));
        assert_eq!(satisfaction_score([4]), Some(75.0));
        assert_eq!(satisfaction_score([2, 3, 4]), Some(50.0));
        assert_eq!(satisfaction_score([]), None);
        assert_eq!(satisfaction_score([0, 6]), None);
        assert!(in_year(d(2025, 3, 1), 2025));
    }
}
