//! Weekly opening hours: intervals per day of week, and the minimum daily hours the 8-hour rule checks.

use crate::violation::Violations;

/// The plan's rule: open and serving at least 8 hours every day (开放和服务时间不少于每天8小时).
pub const MIN_DAILY_OPEN_MINUTES: u32 = 8 * 60;

const MINUTES_PER_DAY: u16 = 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DayOfWeek {
    Monday = 1,
    Tuesday = 2,
    Wednesday = 3,
    Thursday = 4,
    Friday = 5,
    Saturday = 6,
    Sunday = 7,
}

impl DayOfWeek {
    pub const ALL: [DayOfWeek; 7] = [
        Self::Monday,
        Self::Tuesday,
        Self::Wednesday,
        Self::Thursday,
        Self::Friday,
        Self::Saturday,
        Self::Sunday,
    ];

    pub fn from_number(n: i64) -> Option<Self> {
        Self::ALL
            .get(usize::try_from(n.checked_sub(1)?).ok()?)
            .copied()
    }

    pub fn number(self) -> u8 {
        self as u8
    }
}

/// One opening on one day, in minutes after midnight, `open < close <= 1440`.
/// An opening across midnight is written as two intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpeningInterval {
    pub day: DayOfWeek,
    pub open_minute: u16,
    pub close_minute: u16,
}

impl OpeningInterval {
    pub fn minutes(&self) -> u32 {
        u32::from(self.close_minute - self.open_minute)
    }
}

/// A validated week: well-formed intervals, sorted, none overlapping another on the same day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpeningHours {
    intervals: Vec<OpeningInterval>,
}

impl OpeningHours {
    /// Validates raw intervals `(day number 1-7, open minute, close minute)` in request order, so that
    /// a violation names the index the client sent.
    pub fn from_raw(raw: &[(i64, i64, i64)]) -> Result<Self, Violations> {
        let mut violations = Violations::new();
        let mut intervals = Vec::with_capacity(raw.len());
        for (i, &(day, open, close)) in raw.iter().enumerate() {
            let at = format!("[{i}]");
            let Some(day) = DayOfWeek::from_number(day) else {
                violations.push(
                    format!("{at}.day"),
                    "must be a day of the week, monday to sunday",
                );
                continue;
            };
            let in_day = |m: i64| (0..=i64::from(MINUTES_PER_DAY)).contains(&m);
            if !in_day(open) {
                violations.push(format!("{at}.open_minute"), "must be between 0 and 1440");
                continue;
            }
            if !in_day(close) {
                violations.push(format!("{at}.close_minute"), "must be between 0 and 1440");
                continue;
            }
            if open >= close {
                violations.push(
                    format!("{at}.close_minute"),
                    "must be after `open_minute`; split an opening across midnight into two",
                );
                continue;
            }
            intervals.push((
                i,
                OpeningInterval {
                    day,
                    open_minute: open as u16,
                    close_minute: close as u16,
                },
            ));
        }
        intervals.sort_by_key(|(_, iv)| *iv);
        for pair in intervals.windows(2) {
            let ((_, a), (j, b)) = (pair[0], pair[1]);
            if a.day == b.day && b.open_minute < a.close_minute {
                violations.push(format!("[{j}]"), "overlaps another opening on the same day");
            }
        }
        violations.into_result(Self {
            intervals: intervals.into_iter().map(|(_, iv)| iv).collect(),
        })
    }

    pub fn intervals(&self) -> &[OpeningInterval] {
        &self.intervals
    }

    /// Minutes open on one day.
    pub fn daily_minutes(&self, day: DayOfWeek) -> u32 {
        self.intervals
            .iter()
            .filter(|iv| iv.day == day)
            .map(OpeningInterval::minutes)
            .sum()
    }

    /// The least-open day of the week; a day with no opening counts as zero.
    pub fn min_daily_minutes(&self) -> u32 {
        DayOfWeek::ALL
            .iter()
            .map(|&d| self.daily_minutes(d))
            .min()
            .unwrap_or(0)
    }

    pub fn meets_daily_minimum(&self) -> bool {
        self.min_daily_minutes() >= MIN_DAILY_OPEN_MINUTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_day(open: i64, close: i64) -> Vec<(i64, i64, i64)> {
        (1..=7).map(|d| (d, open, close)).collect()
    }

    #[test]
    fn eight_hours_every_day_meets_the_rule() {
        let week = OpeningHours::from_raw(&every_day(8 * 60, 16 * 60)).unwrap();
        assert_eq!(week.min_daily_minutes(), 480);
        assert!(week.meets_daily_minimum());
    }

    #[test]
    fn the_shortest_day_decides() {
        let mut raw = every_day(9 * 60, 18 * 60);
        raw[6] = (7, 9 * 60, 12 * 60);
        raw.push((7, 14 * 60, 18 * 60)); // Sunday: 3 h + 4 h = 7 h
        let week = OpeningHours::from_raw(&raw).unwrap();
        assert_eq!(week.daily_minutes(DayOfWeek::Sunday), 420);
        assert_eq!(week.min_daily_minutes(), 420);
        assert!(!week.meets_daily_minimum());
    }

    #[test]
    fn a_closed_day_counts_as_zero() {
        let raw: Vec<_> = (1..=6).map(|d| (d, 0, 1440)).collect();
        assert_eq!(OpeningHours::from_raw(&raw).unwrap().min_daily_minutes(), 0);
        assert_eq!(OpeningHours::default().min_daily_minutes(), 0);
    }

    #[test]
    fn split_day_with_touching_intervals_is_fine() {
        let week = OpeningHours::from_raw(&[(1, 0, 720), (1, 720, 1440)]).unwrap();
        assert_eq!(week.daily_minutes(DayOfWeek::Monday), 1440);
    }

    #[test]
    fn names_the_offending_interval() {
        let err = OpeningHours::from_raw(&[
            (1, 480, 720),
            (8, 0, 10),
            (2, 600, 540),
            (1, 700, 900),
            (3, -1, 5),
        ])
        .unwrap_err();
        let fields: Vec<_> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["[1].day", "[2].close_minute", "[4].open_minute", "[3]"]
        );
    }
}
