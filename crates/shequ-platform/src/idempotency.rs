//! Safe retries and conditional writes, the same for every service: a request id (the client's
//! idempotency key) belongs to the principal that sent it and is remembered with a fingerprint of
//! the request it came with; an etag names the revision a write is conditional on.

use sha2::{Digest, Sha256};
use shequ_domain::FieldViolation;

use crate::auth::Principal;

/// Longest request id accepted, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// A request id as sent: empty (no key) or at most [`MAX_REQUEST_ID_CHARS`] characters; the
/// violation names `field`.
pub fn check_request_id(field: impl Into<String>, request_id: &str) -> Result<(), FieldViolation> {
    if request_id.chars().count() > MAX_REQUEST_ID_CHARS {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {MAX_REQUEST_ID_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Whose request ids these are (`{kind}:{subject}`): a request id is looked up only among those
/// the same principal sent, so another principal's use of the same key is another key.
pub fn request_owner(principal: &Principal) -> String {
    format!("{}:{}", principal.kind.as_str(), principal.subject)
}

/// The fingerprint of a request as sent (the message's wire encoding, then `reason`), kept with
/// its request id so a retry with another body is told apart from a repeat.
pub fn request_fingerprint(message: &impl prost::Message, reason: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(message.encode_to_vec());
    hasher.update([0]);
    hasher.update(reason.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The etag of a resource at `revision`: `"r{revision}"`, quoted as HTTP writes it.
pub fn etag(revision: i64) -> String {
    format!("\"r{revision}\"")
}

/// Whether a write conditional on `given` may go ahead on a resource at `revision`: an empty etag
/// is no condition.
pub fn etag_matches(given: &str, revision: i64) -> bool {
    given.is_empty() || given == etag(revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_bounded_by_characters() {
        check_request_id("request_id", "").unwrap();
        check_request_id("request_id", &"键".repeat(128)).unwrap();
        let v = check_request_id("requests[2].request_id", &"k".repeat(129)).unwrap_err();
        assert_eq!(v.field, "requests[2].request_id");
        assert_eq!(v.description, "must be at most 128 characters");
    }

    #[test]
    fn the_owner_is_the_principal_kind_and_subject() {
        assert_eq!(
            request_owner(&Principal::development()),
            "development:development"
        );
    }

    #[test]
    fn fingerprints_tell_bodies_and_reasons_apart() {
        let a = prost_types::Duration {
            seconds: 1,
            nanos: 0,
        };
        let b = prost_types::Duration {
            seconds: 2,
            nanos: 0,
        };
        let fa = request_fingerprint(&a, "x");
        assert_eq!(fa.len(), 64);
        assert_eq!(fa, request_fingerprint(&a, "x"));
        assert_ne!(fa, request_fingerprint(&b, "x"));
        assert_ne!(fa, request_fingerprint(&a, "y"));
    }

    #[test]
    fn etags_name_revisions_and_empty_is_no_condition() {
        assert_eq!(etag(7), "\"r7\"");
        assert!(etag_matches("", 7));
        assert!(etag_matches("\"r7\"", 7));
        assert!(!etag_matches("\"r6\"", 7));
        assert!(!etag_matches("r7", 7));
    }
}
