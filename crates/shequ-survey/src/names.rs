//! Resource names of the survey service (`questionnaires/{id}`, `rounds/{id}`,
//! `rounds/{id}/responses/{id}`) and timestamps on the wire.

use prost_types::Timestamp;
use shequ_domain::FieldViolation;

pub use shequ_proto::names::{division_name, new_id, parse_division_name};
use shequ_proto::names::{parse_id_name, parse_nested_name};

use crate::model::is_response_id;

pub const QUESTIONNAIRES: &str = "questionnaires/";
pub const ROUNDS: &str = "rounds/";

pub fn parse_questionnaire_name<'a>(field: &str, name: &'a str) -> Result<&'a str, FieldViolation> {
    parse_id_name(field, name, QUESTIONNAIRES)
}

pub fn parse_round_name<'a>(field: &str, name: &'a str) -> Result<&'a str, FieldViolation> {
    parse_id_name(field, name, ROUNDS)
}

/// `rounds/{round}/responses/{response_id}` → `(round, response_id)`.
pub fn parse_response_name<'a>(
    field: &str,
    name: &'a str,
) -> Result<(&'a str, &'a str), FieldViolation> {
    parse_nested_name(
        field,
        name,
        (ROUNDS, "/responses/"),
        "rounds/{round}/responses/{response_id}",
        is_response_id,
    )
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
