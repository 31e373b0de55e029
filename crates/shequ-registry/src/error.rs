//! Failures of the registry and the gRPC status each one becomes.

use sea_orm::DbErr;
use shequ_domain::Violations;
use shequ_platform::database::is_unavailable;
use shequ_platform::status;
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Malformed input; every offending field is named.
    #[error("invalid request: {0}")]
    Invalid(Violations),
    /// A resource named by the request does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The resource lies outside the divisions the caller may act in.
    #[error("{0}")]
    PermissionDenied(String),
    /// A referenced resource in a field does not exist.
    #[error("{message}")]
    ReferenceNotFound {
        message: String,
        violations: Violations,
    },
    /// A reused request id with another body.
    #[error("{message}")]
    AlreadyExists {
        message: String,
        violations: Violations,
    },
    /// The etag is stale: somebody else changed the record first.
    #[error("{0}")]
    Aborted(String),
    /// The request is well formed but the record's state forbids it.
    #[error("{message}")]
    FailedPrecondition {
        message: String,
        violations: Violations,
    },
    /// The database cannot be reached.
    #[error("database unavailable")]
    Unavailable,
    /// Anything unexpected; logged, never shown to the client.
    #[error("internal: {0}")]
    Internal(String),
}

impl RegistryError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(shequ_domain::FieldViolation::new(field, description).into())
    }

    pub fn precondition(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::FailedPrecondition {
            message: description.clone(),
            violations: shequ_domain::FieldViolation::new(field, description).into(),
        }
    }
}

impl From<DbErr> for RegistryError {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            Self::Unavailable
        } else {
            Self::Internal(err.to_string())
        }
    }
}

impl From<shequ_domain::FieldViolation> for RegistryError {
    fn from(v: shequ_domain::FieldViolation) -> Self {
        Self::Invalid(v.into())
    }
}

impl From<Violations> for RegistryError {
    fn from(v: Violations) -> Self {
        Self::Invalid(v)
    }
}

impl From<RegistryError> for Status {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::Invalid(v) => status::invalid_argument(&v),
            RegistryError::NotFound(message) => Status::not_found(message),
            RegistryError::PermissionDenied(message) => Status::permission_denied(message),
            RegistryError::ReferenceNotFound {
                message,
                violations,
            } => status::with_violations(Code::NotFound, &message, &violations),
            RegistryError::AlreadyExists {
                message,
                violations,
            } => status::with_violations(Code::AlreadyExists, &message, &violations),
            RegistryError::Aborted(message) => Status::aborted(message),
            RegistryError::FailedPrecondition {
                message,
                violations,
            } => status::with_violations(Code::FailedPrecondition, &message, &violations),
            RegistryError::Unavailable => status::unavailable("the registry database"),
            RegistryError::Internal(cause) => status::internal(&cause),
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
