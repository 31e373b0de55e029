//! Resource names: `divisions/{12-digit code}`, `facilities/{id}`, and the `{prefix}{id}` shape
//! every service's own names share, with the ids a server assigns.

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

/// Parses `facilities/{id}`.
pub fn parse_facility_name<'a>(field: &str, name: &'a str) -> Result<&'a str, FieldViolation> {
    parse_id_name(field, name, FACILITIES)
}

/// An id of a resource name: 1 to 64 lowercase letters, digits or hyphens.
pub fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parses `{prefix}{id}` (`prefix` ends with `/`) into the id, an [`is_id`].
pub fn parse_id_name<'a>(
    field: &str,
    name: &'a str,
    prefix: &str,
) -> Result<&'a str, FieldViolation> {
    match name.strip_prefix(prefix) {
        Some(id) if is_id(id) => Ok(id),
        _ => Err(FieldViolation::new(
            field,
            format!("must look like `{prefix}{{id}}`, got `{}`", excerpt(name)),
        )),
    }
}

/// Parses `{parent}{id}{children}{child}` (`rounds/{round}/responses/{response_id}`, with
/// `parent` = `rounds/` and `children` = `/responses/`) into the two ids: the first an
/// [`is_id`], the second one `is_child` accepts. A refusal shows the name's `pattern`.
pub fn parse_nested_name<'a>(
    field: &str,
    name: &'a str,
    (parent, children): (&str, &str),
    pattern: &str,
    is_child: fn(&str) -> bool,
) -> Result<(&'a str, &'a str), FieldViolation> {
    let ids = name
        .strip_prefix(parent)
        .and_then(|rest| rest.split_once(children));
    match ids {
        Some((id, child)) if is_id(id) && is_child(child) => Ok((id, child)),
        _ => Err(FieldViolation::new(
            field,
            format!("must look like `{pattern}`, got `{}`", excerpt(name)),
        )),
    }
}

/// A new server-assigned id: a time-ordered UUID in lowercase hex.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
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
