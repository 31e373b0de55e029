//! Building `tonic::Status` values the same way in every service: field violations travel as
//! `google.rpc.BadRequest` details, a machine-readable reason as `google.rpc.ErrorInfo`, internal
//! causes are logged and never sent to the client.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, ErrorInfo, FieldViolation as PbFieldViolation, StatusExt};

pub use shequ_domain::{FieldViolation, Violations};

/// `INVALID_ARGUMENT` with every offending field.
pub fn invalid_argument(violations: &Violations) -> Status {
    with_violations(Code::InvalidArgument, &summary(violations), violations)
}

/// A status of any code carrying field violations (ALREADY_EXISTS on a reused request id, say).
pub fn with_violations(code: Code, message: &str, violations: &Violations) -> Status {
    let details = ErrorDetails::with_bad_request(
        violations
            .iter()
            .map(|v| PbFieldViolation::new(v.field.clone(), v.description.clone()))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(code, message, details)
}

/// `status` with `info` added to its details, beside the field violations it carries.
pub fn with_error_info(status: Status, info: ErrorInfo) -> Status {
    let mut details = status.get_error_details();
    details.set_error_info(info.reason, info.domain, info.metadata);
    Status::with_error_details(status.code(), status.message(), details)
}

/// The first few violations in words; all of them travel in the details. Headers carry both, and
/// h2 clients refuse headers over 16 KiB by default.
fn summary(violations: &Violations) -> String {
    const SHOWN: usize = 3;
    let mut text = String::from("invalid request: ");
    for (i, v) in violations.iter().take(SHOWN).enumerate() {
        if i > 0 {
            text.push_str("; ");
        }
        text.push_str(&v.to_string());
    }
    if violations.len() > SHOWN {
        text.push_str(&format!("; and {} more", violations.len() - SHOWN));
    }
    text
}

/// One offending field.
pub fn invalid_field(field: &str, description: impl Into<String>) -> Status {
    invalid_argument(&FieldViolation::new(field, description).into())
}

/// The database could not be reached; the client may retry.
pub fn unavailable(what: &str) -> Status {
    Status::unavailable(format!("{what} is unavailable, retry later"))
}

/// An unexpected failure: the cause is logged with an id, the client gets only the id.
pub fn internal(cause: &dyn std::fmt::Display) -> Status {
    let id = uuid_like();
    tracing::error!(error_id = %id, error = %cause, "internal error");
    Status::internal(format!("internal error `{id}`"))
}

/// Field violations carried by a status, for clients and tests.
pub fn field_violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    format!("{:x}-{:x}", nanos, SEQ.fetch_add(1, Ordering::Relaxed))
}
