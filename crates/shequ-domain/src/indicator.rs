//! An indicator's direction and status (achieved, on track, lagging, off track, no data, or
//! undetermined where the growth-rate method cannot apply; judged in `trajectory`), and the
//! satisfaction score of a survey response.

use chrono::{Datelike, NaiveDate};

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
    /// The method cannot judge the value (the growth-rate method with a baseline, target or
    /// value at or below 0, no time elapsed, or a target equal to its baseline); the judgement
    /// says why.
    Undetermined,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Achieved => "achieved",
            Self::OnTrack => "on_track",
            Self::Lagging => "lagging",
            Self::OffTrack => "off_track",
            Self::NoData => "no_data",
            Self::Undetermined => "undetermined",
        }
    }
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

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
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
