//! Resource names: `divisions/{12-digit code}` and `facilities/{id}`.

use shequ_domain::{DivisionCode, FieldViolation, excerpt};

pub const DIVISIONS: &str = "divisions/";
pub const FACILITIES: &str = "facilities/";

pub fn division_name(code: DivisionCode) -> String {
    format!("{DIVISIONS}{code}")
}

/// Parses `divisions/{code}`; the code may be in any published length and is padded to 12 digits.
pub fn parse_division_name(field: &str, name: &str) -> Result<DivisionCode, FieldViolation> {
    let Some(code) = name.strip_prefix(DIVISIONS) else {
        return Err(FieldViolation::new(
            field,
            format!(
                "must look like `{DIVISIONS}{{code}}`, got `{}`",
                excerpt(name)
            ),
        ));
    };
    DivisionCode::parse(code).map_err(|e| FieldViolation::new(field, e.to_string()))
}

/// Parses an optional division name: empty means "none" (the whole country, for a parent).
pub fn parse_optional_division_name(
    field: &str,
    name: &str,
) -> Result<Option<DivisionCode>, FieldViolation> {
    if name.is_empty() {
        Ok(None)
    } else {
        parse_division_name(field, name).map(Some)
    }
}

pub fn facility_name(id: &str) -> String {
    format!("{FACILITIES}{id}")
}

/// Parses `facilities/{id}` where the id is 1 to 64 lowercase letters, digits or hyphens.
pub fn parse_facility_name<'a>(field: &str, name: &'a str) -> Result<&'a str, FieldViolation> {
    let id = name.strip_prefix(FACILITIES).unwrap_or("");
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(FieldViolation::new(
            field,
            format!(
                "must look like `{FACILITIES}{{id}}`, got `{}`",
                excerpt(name)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_names() {
        let code = parse_division_name("name", "divisions/110101").unwrap();
        assert_eq!(division_name(code), "divisions/110101000000");
        assert_eq!(
            parse_division_name("name", "110101").unwrap_err().field,
            "name"
        );
        assert!(parse_division_name("parent", "divisions/1101011").is_err());
        assert_eq!(parse_optional_division_name("parent", "").unwrap(), None);
    }

    #[test]
    fn facility_names() {
        assert_eq!(
            parse_facility_name("name", "facilities/0190-ab").unwrap(),
            "0190-ab"
        );
        assert!(parse_facility_name("name", "facilities/").is_err());
        assert!(parse_facility_name("name", "facilities/../x").is_err());
        assert!(parse_facility_name("name", "divisions/11").is_err());
    }

    #[test]
    fn refusals_quote_an_excerpt_of_long_names() {
        let long = format!("facilities/{}", "a".repeat(1 << 20));
        let refusals = [
            parse_facility_name("name", &long).unwrap_err(),
            parse_division_name("name", &long).unwrap_err(),
            parse_division_name("name", &format!("divisions/{}", "1".repeat(1 << 20))).unwrap_err(),
        ];
        for refusal in refusals {
            assert!(refusal.description.len() < 200, "{}", refusal.description);
            assert!(
                refusal.description.contains("bytes)"),
                "{}",
                refusal.description
            );
        }
    }
}
