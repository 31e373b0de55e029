//! Resource names of the monitoring service (`indicators/{code}`, `plans/{id}`,
//! `plans/{id}/evaluations/{id}`), the division and survey round names it refers to, dates and
//! reporting periods.

use chrono::NaiveDate;
use shequ_domain::{FieldViolation, excerpt};
/// Division names (`divisions/{code}`) are the registry's, shared by every service.
pub use shequ_proto::names::{
    DIVISIONS, division_name, parse_division_name, parse_optional_division_name,
};
/// Ids are the same in every service.
pub use shequ_proto::names::{is_id, new_id};
use shequ_proto::names::{parse_id_name, parse_nested_name};

use crate::indicators::is_code;

pub const INDICATORS: &str = "indicators/";
pub const PLANS: &str = "plans/";
pub const ROUNDS: &str = "rounds/";

pub fn parse_plan_name<'a>(field: &str, name: &'a str) -> Result<&'a str, FieldViolation> {
    parse_id_name(field, name, PLANS)
}

/// `rounds/{id}`, or empty for none.
pub fn parse_optional_round_name<'a>(
    field: &str,
    name: &'a str,
) -> Result<Option<&'a str>, FieldViolation> {
    if name.is_empty() {
        return Ok(None);
    }
    parse_id_name(field, name, ROUNDS).map(Some)
}

/// `indicators/{code}` → code.
pub fn parse_indicator_name<'a>(field: &str, name: &'a str) -> Result<&'a str, FieldViolation> {
    match name.strip_prefix(INDICATORS) {
        Some(code) if is_code(code) => Ok(code),
        _ => Err(FieldViolation::new(
            field,
            format!(
                "must look like `{INDICATORS}{{code}}`, got `{}`",
                excerpt(name)
            ),
        )),
    }
}

/// `plans/{plan}/evaluations/{id}` → `(plan, id)`.
pub fn parse_evaluation_name<'a>(
    field: &str,
    name: &'a str,
) -> Result<(&'a str, &'a str), FieldViolation> {
    parse_nested_name(
        field,
        name,
        (PLANS, "/evaluations/"),
        "plans/{plan}/evaluations/{id}",
        is_id,
    )
}

pub fn indicator_name(code: &str) -> String {
    format!("{INDICATORS}{code}")
}

pub fn plan_name(id: &str) -> String {
    format!("{PLANS}{id}")
}

pub fn round_name(id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else {
        format!("{ROUNDS}{id}")
    }
}

pub fn evaluation_name(plan: &str, id: &str) -> String {
    format!("{PLANS}{plan}/evaluations/{id}")
}

/// `YYYY-MM-DD`, or today (UTC) when empty.
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate, FieldViolation> {
    if text.is_empty() {
        return Ok(chrono::Utc::now().date_naive());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        FieldViolation::new(
            field,
            format!("must be a date `YYYY-MM-DD`, got `{}`", excerpt(text)),
        )
    })
}

/// A reporting period (`2025`, `2025-Q1`, `2025-03`) → its first day as `yyyymmdd`.
pub fn parse_period(field: &str, text: &str) -> Result<i32, FieldViolation> {
    let bad = || {
        FieldViolation::new(
            field,
            format!(
                "must be a year `2025`, a quarter `2025-Q1` or a month `2025-03`, got `{}`",
                excerpt(text)
            ),
        )
    };
    let (year, rest) = match text.split_once('-') {
        Some((y, r)) => (y, Some(r)),
        None => (text, None),
    };
    // Digits only: `parse` alone would also take a sign (`2025-+1`).
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || !digits(year) {
        return Err(bad());
    }
    let year: i32 = year.parse().map_err(|_| bad())?;
    if !(1949..=2200).contains(&year) {
        return Err(bad());
    }
    let month = match rest {
        None => 1,
        Some(q) if q.starts_with('Q') => match &q[1..] {
            "1" => 1,
            "2" => 4,
            "3" => 7,
            "4" => 10,
            _ => return Err(bad()),
        },
        Some(m) if m.len() == 2 && digits(m) => match m.parse::<i32>() {
            Ok(m) if (1..=12).contains(&m) => m,
            _ => return Err(bad()),
        },
        Some(_) => return Err(bad()),
    };
    Ok(year * 10_000 + month * 100 + 1)
}

/// `yyyymmdd` of a date.
pub fn day_number(date: NaiveDate) -> i32 {
    use chrono::Datelike;
    date.year() * 10_000 + date.month() as i32 * 100 + date.day() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_periods_parse() {
        assert_eq!(
            parse_evaluation_name("n", &evaluation_name("national", "abc")).unwrap(),
            ("national", "abc")
        );
        assert!(parse_evaluation_name("n", "plans/x/evaluations/").is_err());
        assert_eq!(
            parse_indicator_name("i", "indicators/social_workers").unwrap(),
            "social_workers"
        );
        assert_eq!(parse_period("p", "2025").unwrap(), 20250101);
        assert_eq!(parse_period("p", "2025-Q3").unwrap(), 20250701);
        assert_eq!(parse_period("p", "2025-03").unwrap(), 20250301);
        assert!(parse_period("p", "2025-13").is_err());
        assert!(parse_period("p", "25").is_err());
        assert!(parse_period("p", "2025-+1").is_err());
        assert!(parse_date("d", "2025-02-30").is_err());
    }

    #[test]
    fn refusals_quote_an_excerpt_of_long_names() {
        let long = format!("plans/{}", "p".repeat(1 << 20));
        for refusal in [
            parse_plan_name("name", &long).unwrap_err(),
            parse_indicator_name("name", &long).unwrap_err(),
            parse_evaluation_name("name", &long).unwrap_err(),
            parse_date("date", &long).unwrap_err(),
            parse_period("period", &long).unwrap_err(),
        ] {
            assert!(refusal.description.len() < 200, "{}", refusal.description);
        }
    }
}
