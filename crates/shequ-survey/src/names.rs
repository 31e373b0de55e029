//! Resource names of the survey service (`questionnaires/{id}`, `rounds/{id}`,
//! `rounds/{id}/responses/{id}`) and timestamps on the wire.

use prost_types::Timestamp;
use shequ_domain::{FieldViolation, excerpt};

pub use shequ_proto::names::{division_name, parse_division_name};

use crate::model::is_response_id;

pub const QUESTIONNAIRES: &str = "questionnaires/";
pub const ROUNDS: &str = "rounds/";

fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn parse<'a>(field: &str, name: &'a str, prefix: &str) -> Result<&'a str, FieldViolation> {
    match name.strip_prefix(prefix) {
        Some(id) if is_id(id) => Ok(id),
        _ => Err(FieldViolation::new(
            field,
            format!("must look like `{prefix}{{id}}`, got `{}`", excerpt(name)),
        )),
    }
}

pub fn parse_questionnaire_name<'a>(field: &str, name: &'a str) -> Result<&'a str, FieldViolation> {
    parse(field, name, QUESTIONNAIRES)
}

pub fn parse_round_name<'a>(field: &str, name: &'a str) -> Result<&'a str, FieldViolation> {
    parse(field, name, ROUNDS)
}

/// `rounds/{round}/responses/{response_id}` → `(round, response_id)`.
pub fn parse_response_name<'a>(
    field: &str,
    name: &'a str,
) -> Result<(&'a str, &'a str), FieldViolation> {
    let bad = || {
        FieldViolation::new(
            field,
            format!(
                "must look like `rounds/{{round}}/responses/{{response_id}}`, got `{}`",
                excerpt(name)
            ),
        )
    };
    let rest = name.strip_prefix(ROUNDS).ok_or_else(bad)?;
    let (round, response) = rest.split_once("/responses/").ok_or_else(bad)?;
    if is_id(round) && is_response_id(response) {
        Ok((round, response))
    } else {
        Err(bad())
    }
}

pub fn questionnaire_name(id: &str) -> String {
    format!("{QUESTIONNAIRES}{id}")
}

pub fn round_name(id: &str) -> String {
    format!("{ROUNDS}{id}")
}

pub fn response_name(round: &str, response_id: &str) -> String {
    format!("{ROUNDS}{round}/responses/{response_id}")
}

/// A new server-assigned id: a time-ordered UUID in lowercase hex.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Microseconds since the epoch, or `None` for an out-of-range timestamp.
pub fn micros(ts: &Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return None;
    }
    ts.seconds
        .checked_mul(1_000_000)?
        .checked_add(i64::from(ts.nanos / 1000))
}

pub fn timestamp(micros: i64) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(parse_round_name("name", "rounds/abc-1").unwrap(), "abc-1");
        assert!(parse_round_name("name", "rounds/").is_err());
        assert!(parse_questionnaire_name("name", "rounds/x").is_err());
        assert_eq!(
            parse_response_name("name", &response_name("r1", "R-1_x")).unwrap(),
            ("r1", "R-1_x")
        );
        assert!(parse_response_name("name", "rounds/r1/responses/").is_err());
        assert_eq!(micros(&timestamp(-1_500_001)), Some(-1_500_001));
    }

    #[test]
    fn refusals_quote_an_excerpt_of_long_names() {
        let long = format!("rounds/{}", "r".repeat(1 << 20));
        for refusal in [
            parse_round_name("name", &long).unwrap_err(),
            parse_questionnaire_name("name", &long).unwrap_err(),
            parse_response_name("name", &long).unwrap_err(),
        ] {
            assert!(refusal.description.len() < 200, "{}", refusal.description);
        }
    }
}
