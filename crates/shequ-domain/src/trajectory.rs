//! A target's trajectory and the status of a value on it: the straight line of DOMAIN.md §6,
//! bent by milestones (§8), or compound annual growth (§9, the Open SDG method).

use chrono::NaiveDate;

use crate::indicator::{Direction, Status};

/// Tolerance for comparing computed values with targets, so 0.8 computed as 0.7999999999 counts.
const EPSILON: f64 = 1e-9;

/// The value a target expects at the end of a year between its baseline and its target.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Milestone {
    pub year: i32,
    pub value: f64,
}

/// A target with its baseline: the straight line from the end of the baseline year to the end of
/// the target year, or, with milestones, straight lines between consecutive points (baseline,
/// each milestone, target), each point at the end of its year.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    pub baseline_value: f64,
    pub baseline_year: i32,
    pub target_value: f64,
    pub target_year: i32,
    pub direction: Direction,
    /// Years strictly between the baseline's and the target's, increasing.
    pub milestones: Vec<Milestone>,
}

/// The thresholds of the growth-rate method: the ratio of observed to required growth at or
/// above which a value is on track, and lagging.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GrowthThresholds {
    pub on_track: f64,
    pub lagging: f64,
}

impl Default for GrowthThresholds {
    /// Open SDG's: 0.95 and 0.6.
    fn default() -> Self {
        Self {
            on_track: 0.95,
            lagging: 0.6,
        }
    }
}

/// A status with what the method saw on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub status: Status,
    /// The growth-rate method's ratio of observed to required growth, when it was computed.
    pub growth_ratio: Option<f64>,
    /// Why the status is undetermined, or that the value moved away from the target since the
    /// baseline (a negative ratio); `None` otherwise.
    pub note: Option<String>,
}

impl Judgement {
    fn status(status: Status) -> Self {
        Self {
            status,
            growth_ratio: None,
            note: None,
        }
    }
}

/// Days in a year, on average, for the growth-rate method's elapsed years.
const DAYS_PER_YEAR: f64 = 365.25;

impl Trajectory {
    /// Share of the way from the end of the baseline year to the end of the target year that has
    /// elapsed by the end of `date`, clamped to [0, 1].
    pub fn elapsed_fraction(&self, date: NaiveDate) -> f64 {
        let start = first_day_after_year(self.baseline_year);
        let end = first_day_after_year(self.target_year);
        fraction(start, end, end_of(date))
    }

    /// The expected value at the end of `date`: baseline + (target − baseline) × f without
    /// milestones; with them, the same straight line between the two points around the date.
    pub fn expected(&self, date: NaiveDate) -> f64 {
        if self.milestones.is_empty() {
            return self.baseline_value
                + (self.target_value - self.baseline_value) * self.elapsed_fraction(date);
        }
        let now = end_of(date);
        let points: Vec<(NaiveDate, f64)> =
            std::iter::once((self.baseline_year, self.baseline_value))
                .chain(self.milestones.iter().map(|m| (m.year, m.value)))
                .chain(std::iter::once((self.target_year, self.target_value)))
                .map(|(year, value)| (first_day_after_year(year), value))
                .collect();
        let next = points
            .iter()
            .position(|(at, _)| now <= *at)
            .unwrap_or(points.len() - 1);
        if next == 0 {
            return self.baseline_value;
        }
        let ((from, a), (to, b)) = (points[next - 1], points[next]);
        a + (b - a) * fraction(from, to, now)
    }

    /// Status of `value` on `date` by the linear method; `None` (the value cannot be computed)
    /// is no data.
    pub fn status(&self, value: Option<f64>, date: NaiveDate) -> Status {
        let Some(v) = value.filter(|v| v.is_finite()) else {
            return Status::NoData;
        };
        let sign = self.sign();
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

    /// Status of `value` on `date` by compound annual growth (DOMAIN.md §9): achieved once the
    /// target is reached; else the ratio r of the observed growth since the baseline,
    /// (V / B)^(1/e) − 1 over e years to the end of `date`, to the growth the target requires,
    /// (T / B)^(1/n) − 1 over the n years from baseline to target, is on track at or above
    /// `thresholds.on_track`, lagging at or above `thresholds.lagging`, else off track. Where the
    /// method cannot apply the status is undetermined, with the reason. Milestones are not read.
    pub fn growth_status(
        &self,
        value: Option<f64>,
        date: NaiveDate,
        thresholds: GrowthThresholds,
    ) -> Judgement {
        let Some(v) = value.filter(|v| v.is_finite()) else {
            return Judgement::status(Status::NoData);
        };
        if self.sign() * v >= self.sign() * self.target_value - EPSILON {
            return Judgement::status(Status::Achieved);
        }
        let (b, t) = (self.baseline_value, self.target_value);
        let days = (end_of(date) - first_day_after_year(self.baseline_year)).num_days();
        let e = days as f64 / DAYS_PER_YEAR;
        let n = f64::from(self.target_year - self.baseline_year);
        let cannot = if b <= 0.0 {
            Some(format!("the baseline {b} is not above 0"))
        } else if t <= 0.0 {
            Some(format!("the target {t} is not above 0"))
        } else if v <= 0.0 {
            Some(format!("the value {v} is not above 0"))
        } else if e <= 0.0 {
            Some("no time has passed since the baseline year ended".to_owned())
        } else if (t - b).abs() <= EPSILON || n <= 0.0 {
            Some("the target asks for no growth from the baseline".to_owned())
        } else {
            None
        };
        if let Some(reason) = cannot {
            return Judgement {
                status: Status::Undetermined,
                growth_ratio: None,
                note: Some(format!("the growth-rate method cannot apply: {reason}")),
            };
        }
        let observed = (v / b).powf(1.0 / e) - 1.0;
        let required = (t / b).powf(1.0 / n) - 1.0;
        let r = observed / required;
        let status = if r >= thresholds.on_track - EPSILON {
            Status::OnTrack
        } else if r >= thresholds.lagging - EPSILON {
            Status::Lagging
        } else {
            Status::OffTrack
        };
        Judgement {
            status,
            growth_ratio: Some(r),
            note: (r < 0.0)
                .then(|| "the value moved away from the target since the baseline".to_owned()),
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

    /// Mirrors "lower is better" onto "higher is better".
    fn sign(&self) -> f64 {
        match self.direction {
            Direction::HigherIsBetter => 1.0,
            Direction::LowerIsBetter => -1.0,
        }
    }
}

/// The moment `date` ends: the first instant of the next day.
fn end_of(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(date)
}

/// Share of [`start`, `end`] elapsed at `now`, clamped to [0, 1]; 1 for an empty span.
fn fraction(start: NaiveDate, end: NaiveDate, now: NaiveDate) -> f64 {
    let total = (end - start).num_days();
    if total <= 0 {
        return 1.0;
    }
    ((now - start).num_days() as f64 / total as f64).clamp(0.0, 1.0)
}

fn first_day_after_year(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap_or(NaiveDate::MAX)
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
            milestones: Vec::new(),
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
            milestones: Vec::new(),
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
    fn milestones_bend_the_expected_line() {
        // 0.657 at the end of 2020, 0.70 at the end of 2022, 0.80 at the end of 2025.
        let mut t = rural();
        t.milestones = vec![Milestone {
            year: 2022,
            value: 0.70,
        }];
        assert_eq!(t.expected(d(2020, 12, 31)), 0.657);
        assert!((t.expected(d(2022, 12, 31)) - 0.70).abs() < 1e-12);
        assert!((t.expected(d(2025, 12, 31)) - 0.80).abs() < 1e-12);
        assert_eq!(t.expected(d(2030, 1, 1)), 0.80);
        // End of 2021: 365 of the 730 days to the milestone.
        let mid = t.expected(d(2021, 12, 31));
        assert!(
            (mid - (0.657 + 0.043 * 365.0 / 730.0)).abs() < 1e-12,
            "{mid}"
        );
        // End of 2024: 731 of the 1096 days from the milestone to the target.
        let late = t.expected(d(2024, 12, 31));
        assert!(
            (late - (0.70 + 0.10 * 731.0 / 1096.0)).abs() < 1e-12,
            "{late}"
        );
        // Without milestones the line is the straight one.
        let straight = rural();
        let two_points = t.expected(d(2021, 12, 31));
        assert!(two_points < straight.expected(d(2021, 12, 31)));
        // A status is judged against the bent line.
        assert_eq!(t.status(Some(0.70), d(2022, 12, 31)), Status::OnTrack);
        assert_eq!(t.status(Some(0.699), d(2022, 12, 31)), Status::Lagging);
    }

    /// The value that makes the observed growth `ratio` times the required one, worked out here
    /// from DOMAIN.md §9 apart from the code under test.
    fn value_at_ratio(t: &Trajectory, date: NaiveDate, ratio: f64) -> f64 {
        let e =
            (date.succ_opt().unwrap() - d(t.baseline_year + 1, 1, 1)).num_days() as f64 / 365.25;
        let n = f64::from(t.target_year - t.baseline_year);
        let required = (t.target_value / t.baseline_value).powf(1.0 / n) - 1.0;
        t.baseline_value * (1.0 + ratio * required).powf(e)
    }

    #[test]
    fn growth_rate_status_at_each_threshold() {
        let th = GrowthThresholds::default();
        let day = d(2022, 12, 31);
        for t in [
            Trajectory {
                baseline_value: 0.5,
                baseline_year: 2020,
                target_value: 0.8,
                target_year: 2025,
                direction: Direction::HigherIsBetter,
                milestones: Vec::new(),
            },
            // Lower is better: both growths are negative while things improve.
            Trajectory {
                baseline_value: 200.0,
                baseline_year: 2020,
                target_value: 120.0,
                target_year: 2025,
                direction: Direction::LowerIsBetter,
                milestones: Vec::new(),
            },
        ] {
            let judge = |ratio: f64| t.growth_status(Some(value_at_ratio(&t, day, ratio)), day, th);
            assert_eq!(judge(1.2).status, Status::OnTrack);
            assert_eq!(judge(0.95 + 1e-6).status, Status::OnTrack);
            assert_eq!(judge(0.95 - 1e-6).status, Status::Lagging);
            assert_eq!(judge(0.6 + 1e-6).status, Status::Lagging);
            assert_eq!(judge(0.6 - 1e-6).status, Status::OffTrack);
            let r = judge(0.8).growth_ratio.unwrap();
            assert!((r - 0.8).abs() < 1e-9, "{r}");
            assert_eq!(judge(0.8).note, None);
            let away = judge(-0.5);
            assert_eq!(away.status, Status::OffTrack);
            assert!(away.note.unwrap().contains("moved away"));
            assert_eq!(
                t.growth_status(Some(t.target_value), day, th).status,
                Status::Achieved
            );
            assert_eq!(t.growth_status(None, day, th).status, Status::NoData);
        }
        // The thresholds are the target's.
        let t = Trajectory {
            baseline_value: 0.5,
            baseline_year: 2020,
            target_value: 0.8,
            target_year: 2025,
            direction: Direction::HigherIsBetter,
            milestones: Vec::new(),
        };
        let strict = GrowthThresholds {
            on_track: 1.0,
            lagging: 0.9,
        };
        let v = value_at_ratio(&t, day, 0.95);
        assert_eq!(t.growth_status(Some(v), day, th).status, Status::OnTrack);
        assert_eq!(
            t.growth_status(Some(v), day, strict).status,
            Status::Lagging
        );
    }

    #[test]
    fn growth_rate_says_why_it_cannot_apply() {
        let th = GrowthThresholds::default();
        let base = Trajectory {
            baseline_value: 0.5,
            baseline_year: 2020,
            target_value: 0.8,
            target_year: 2025,
            direction: Direction::HigherIsBetter,
            milestones: Vec::new(),
        };
        let cases = [
            (
                Trajectory {
                    baseline_value: 0.0,
                    ..base.clone()
                },
                0.6,
                d(2022, 6, 1),
                "baseline 0",
            ),
            (
                Trajectory {
                    baseline_value: 5.0,
                    target_value: -1.0,
                    direction: Direction::LowerIsBetter,
                    ..base.clone()
                },
                3.0,
                d(2022, 6, 1),
                "target -1",
            ),
            (base.clone(), 0.0, d(2022, 6, 1), "value 0"),
            (base.clone(), 0.6, d(2020, 12, 30), "no time"),
            (
                Trajectory {
                    target_value: 0.5,
                    direction: Direction::LowerIsBetter,
                    ..base.clone()
                },
                0.7,
                d(2022, 6, 1),
                "no growth",
            ),
        ];
        for (t, v, day, why) in cases {
            let j = t.growth_status(Some(v), day, th);
            assert_eq!(j.status, Status::Undetermined, "{why}");
            assert_eq!(j.growth_ratio, None, "{why}");
            assert!(j.note.unwrap().contains(why), "{why}");
        }
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
}
