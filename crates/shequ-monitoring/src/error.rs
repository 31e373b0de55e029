//! Failures of the monitoring service and the gRPC status each one becomes.

use sea_orm::DbErr;
use shequ_domain::{FieldViolation, Violations};
use shequ_platform::database::is_unavailable;
use shequ_platform::status;
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum MonitoringError {
    /// Malformed input; every offending field is named.
    #[error("invalid request: {0}")]
    Invalid(Violations),
    /// A resource named by the request does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A resource referenced in a field does not exist.
    #[error("{message}")]
    ReferenceNotFound {
        message: String,
        violations: Violations,
    },
    /// The caller may not act on this resource (it lies outside the caller's divisions, or needs
    /// a wider scope).
    #[error("{0}")]
    PermissionDenied(String),
    /// A plan id already taken.
    #[error("{0}")]
    AlreadyExists(String),
    /// The database cannot be reached.
    #[error("database unavailable")]
    Unavailable,
    /// A source service (`what`) cannot be reached or failed mid-stream.
    #[error("{what} unavailable: {cause}")]
    SourceUnavailable { what: &'static str, cause: String },
    /// Anything unexpected; logged, never shown to the client.
    #[error("internal: {0}")]
    Internal(String),
}

impl MonitoringError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(FieldViolation::new(field, description).into())
    }

    pub fn reference_not_found(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::ReferenceNotFound {
            message: description.clone(),
            violations: FieldViolation::new(field, description).into(),
        }
    }
}

impl From<DbErr> for MonitoringError {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            Self::Unavailable
        } else {
            Self::Internal(err.to_string())
        }
    }
}

impl From<FieldViolation> for MonitoringError {
    fn from(v: FieldViolation) -> Self {
        Self::Invalid(v.into())
    }
}

impl From<Violations> for MonitoringError {
    fn from(v: Violations) -> Self {
        Self::Invalid(v)
    }
}

impl From<MonitoringError> for Status {
    fn from(err: MonitoringError) -> Self {
        match err {
            MonitoringError::Invalid(v) => status::invalid_argument(&v),
            MonitoringError::NotFound(message) => Status::not_found(message),
            MonitoringError::ReferenceNotFound {
                message,
                violations,
            } => status::with_violations(Code::NotFound, &message, &violations),
            MonitoringError::PermissionDenied(message) => Status::permission_denied(message),
            MonitoringError::AlreadyExists(message) => Status::already_exists(message),
            MonitoringError::Unavailable => status::unavailable("the monitoring database"),
            MonitoringError::SourceUnavailable { what, cause } => {
                tracing::warn!(source = what, error = %cause, "source call failed");
                status::unavailable(what)
            }
            MonitoringError::Internal(cause) => status::internal(&cause),
        }
    }
}

pub type Result<T, E = MonitoringError> = std::result::Result<T, E>;

/// A field as the caller sent it: its value, or the violation saying why it could not be read
/// (a malformed name, a value the contract does not know). The check of the whole request reports
/// it in its place among its own, so violations come in the order of the request's fields.
pub type Sent<T> = std::result::Result<T, FieldViolation>;
