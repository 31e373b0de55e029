//! Failures of the survey service and the gRPC status each one becomes.

use sea_orm::DbErr;
use shequ_domain::{FieldViolation, Violations};
use shequ_platform::database::is_unavailable;
use shequ_platform::status;
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
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
    /// A reused response id with another body.
    #[error("{message}")]
    AlreadyExists {
        message: String,
        violations: Violations,
    },
    /// The request is well formed but a state forbids it.
    #[error("{message}")]
    FailedPrecondition {
        message: String,
        violations: Violations,
    },
    /// The database cannot be reached.
    #[error("database unavailable")]
    Unavailable,
    /// The caller may not act on the resource (outside its divisions).
    #[error("{0}")]
    PermissionDenied(String),
    /// The registry cannot be reached, so a leaf unit cannot be checked yet.
    #[error("registry unavailable: {0}")]
    RegistryUnavailable(String),
    /// The registry refused the survey's own credentials (`[client]`), so nothing that needs it
    /// can be checked until an operator fixes them.
    #[error("registry refused the survey's call: {0}")]
    RegistryRefused(String),
    /// Anything unexpected; logged, never shown to the client.
    #[error("internal: {0}")]
    Internal(String),
}

impl SurveyError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(FieldViolation::new(field, description).into())
    }

    pub fn precondition(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::FailedPrecondition {
            message: description.clone(),
            violations: FieldViolation::new(field, description).into(),
        }
    }

    pub fn reference_not_found(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::ReferenceNotFound {
            message: description.clone(),
            violations: FieldViolation::new(field, description).into(),
        }
    }

    /// The field violations and code this error carries, for per-response results of a batch.
    pub fn code(&self) -> Code {
        match self {
            Self::Invalid(_) => Code::InvalidArgument,
            Self::NotFound(_) | Self::ReferenceNotFound { .. } => Code::NotFound,
            Self::AlreadyExists { .. } => Code::AlreadyExists,
            Self::FailedPrecondition { .. } => Code::FailedPrecondition,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::Unavailable | Self::RegistryUnavailable(_) | Self::RegistryRefused(_) => {
                Code::Unavailable
            }
            Self::Internal(_) => Code::Internal,
        }
    }
}

impl From<DbErr> for SurveyError {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            Self::Unavailable
        } else {
            Self::Internal(err.to_string())
        }
    }
}

impl From<FieldViolation> for SurveyError {
    fn from(v: FieldViolation) -> Self {
        Self::Invalid(v.into())
    }
}

impl From<Violations> for SurveyError {
    fn from(v: Violations) -> Self {
        Self::Invalid(v)
    }
}

impl From<SurveyError> for Status {
    fn from(err: SurveyError) -> Self {
        match err {
            SurveyError::Invalid(v) => status::invalid_argument(&v),
            SurveyError::NotFound(message) => Status::not_found(message),
            SurveyError::ReferenceNotFound {
                message,
                violations,
            } => status::with_violations(Code::NotFound, &message, &violations),
            SurveyError::AlreadyExists {
                message,
                violations,
            } => status::with_violations(Code::AlreadyExists, &message, &violations),
            SurveyError::FailedPrecondition {
                message,
                violations,
            } => status::with_violations(Code::FailedPrecondition, &message, &violations),
            SurveyError::PermissionDenied(message) => Status::permission_denied(message),
            SurveyError::Unavailable => status::unavailable("the survey database"),
            SurveyError::RegistryUnavailable(cause) => {
                tracing::warn!(error = %cause, "registry call failed");
                status::unavailable("the facility registry")
            }
            SurveyError::RegistryRefused(cause) => {
                tracing::error!(error = %cause, "the registry refused the survey's credentials");
                Status::unavailable(format!(
                    "the facility registry refused the survey service's call ({cause}); its service credentials ([client]) need fixing, retry later"
                ))
            }
            SurveyError::Internal(cause) => status::internal(&cause),
        }
    }
}

pub type Result<T, E = SurveyError> = std::result::Result<T, E>;
