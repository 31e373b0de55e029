//! Page tokens: opaque to clients, bound to the query they came from, keyed on the last row seen
//! so pages stay stable while others write.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use shequ_domain::FieldViolation;

pub const DEFAULT_PAGE_SIZE: u64 = 100;
pub const MAX_PAGE_SIZE: u64 = 1000;

/// Page size from a request: 0 means the default, negative is refused, large is capped.
pub fn page_size(requested: i32) -> Result<u64, FieldViolation> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        n => Ok((n as u64).min(MAX_PAGE_SIZE)),
    }
}

fn fingerprint(query: &str) -> String {
    let digest = Sha256::digest(query.as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// A token that resumes after `last_key` for the query described by `query`.
pub fn encode(query: &str, last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", fingerprint(query), last_key))
}

/// The key to resume after, or `None` for the first page. A token from another query is refused.
pub fn decode(query: &str, token: &str) -> Result<Option<String>, FieldViolation> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || {
        FieldViolation::new(
            "page_token",
            "is not a token from this query; start again without it",
        )
    };
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (fp, key) = raw.split_once('|').ok_or_else(bad)?;
    if fp != fingerprint(query) {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_query() {
        let t = encode("parent=1", "abc");
        assert_eq!(decode("parent=1", &t).unwrap().as_deref(), Some("abc"));
        assert!(decode("parent=2", &t).is_err());
        assert!(decode("parent=1", "%%%").is_err());
        assert_eq!(decode("x", "").unwrap(), None);
        assert_eq!(page_size(0).unwrap(), 100);
        assert_eq!(page_size(5000).unwrap(), 1000);
        assert!(page_size(-1).is_err());
    }
}
