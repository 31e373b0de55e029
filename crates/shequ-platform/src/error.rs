//! The failures every service shares and the one mapping of them to `tonic::Status`: bad input
//! with every offending field, missing resources and references, conflicts, forbidden states, an
//! unreachable database or dependency, and internal faults, each optionally with a
//! machine-readable `google.rpc.ErrorInfo` beside its message and field violations.

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;

use sea_orm::DbErr;
use shequ_domain::{FieldViolation, Violations};
use tonic::{Code, Status};

use crate::database::is_unavailable;
use crate::status;

/// `google.rpc.ErrorInfo`: a reason, its domain and metadata, for clients that act on the cause.
pub use tonic_types::ErrorInfo;

/// The service a failure belongs to, as its statuses name it ("the registry database").
pub trait ServiceName {
    /// `registry`, `survey`, `monitoring`: also the name in logs, traces and the migration table.
    const NAME: &'static str;
}

/// A failure of service `S`. Each service names it once (`type RegistryError =
/// ServiceError<RegistrySpec>`); `S` only says which service's database and calls a status names.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError<S> {
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
    /// The resource exists already, or a reused request id came with another body.
    #[error("{message}")]
    AlreadyExists {
        message: String,
        violations: Violations,
    },
    /// The etag is stale: somebody else changed the record first.
    #[error("{0}")]
    Aborted(String),
    /// The request is well formed but a state forbids it.
    #[error("{message}")]
    FailedPrecondition {
        message: String,
        violations: Violations,
    },
    /// The caller may not act on the resource (it lies outside the caller's divisions, or needs
    /// a wider scope).
    #[error("{0}")]
    PermissionDenied(String),
    /// The service's own database cannot be reached.
    #[error("database unavailable")]
    Unavailable,
    /// A service this one calls (`dependency`, e.g. "the facility registry") failed it.
    #[error("{dependency} {failure}: {cause}")]
    Dependency {
        dependency: &'static str,
        failure: DependencyFailure,
        cause: String,
    },
    /// Anything unexpected; logged, never shown to the client.
    #[error("internal: {0}")]
    Internal(String),
    /// Any of the above with a machine-readable reason; see [`ServiceError::with_info`].
    #[error("{}", .error.to_string())]
    WithInfo {
        error: Box<ServiceError<S>>,
        info: ErrorInfo,
    },
    /// Never built: it only ties the error to its service.
    #[doc(hidden)]
    #[error("unreachable")]
    Never(PhantomData<fn() -> S>, Infallible),
}

/// How a dependency failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyFailure {
    /// It cannot be reached, or failed mid-call; the caller may retry.
    Unavailable,
    /// It answered, but refused this service's own credentials (`[client]`): nothing that needs
    /// it works until an operator fixes them.
    Refused,
}

impl fmt::Display for DependencyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unavailable => "unavailable",
            Self::Refused => "refused this service's call",
        })
    }
}

impl<S> ServiceError<S> {
    /// One offending field.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(FieldViolation::new(field, description).into())
    }

    /// A referenced resource that does not exist, named by its field.
    pub fn reference_not_found(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::ReferenceNotFound {
            message: description.clone(),
            violations: FieldViolation::new(field, description).into(),
        }
    }

    /// A state that forbids the request, named by the field it concerns.
    pub fn precondition(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::FailedPrecondition {
            message: description.clone(),
            violations: FieldViolation::new(field, description).into(),
        }
    }

    /// A resource that exists already, with no field to blame.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::AlreadyExists {
            message: message.into(),
            violations: Violations::new(),
        }
    }

    /// `dependency` cannot be reached, or failed mid-call; `cause` is only logged.
    pub fn dependency_unavailable(dependency: &'static str, cause: impl Into<String>) -> Self {
        Self::Dependency {
            dependency,
            failure: DependencyFailure::Unavailable,
            cause: cause.into(),
        }
    }

    /// `dependency` refused this service's own credentials.
    pub fn dependency_refused(dependency: &'static str, cause: impl Into<String>) -> Self {
        Self::Dependency {
            dependency,
            failure: DependencyFailure::Refused,
            cause: cause.into(),
        }
    }

    /// This failure with `info` in its status's details, beside its message and violations (a
    /// second call replaces the first `info`).
    pub fn with_info(self, info: ErrorInfo) -> Self {
        let error = match self {
            Self::WithInfo { error, .. } => error,
            other => Box::new(other),
        };
        Self::WithInfo { error, info }
    }

    /// The machine-readable reason, when one was given.
    pub fn info(&self) -> Option<&ErrorInfo> {
        match self {
            Self::WithInfo { info, .. } => Some(info),
            _ => None,
        }
    }

    /// The code of the status this failure becomes (per-item results of a batch carry it).
    pub fn code(&self) -> Code {
        match self {
            Self::Invalid(_) => Code::InvalidArgument,
            Self::NotFound(_) | Self::ReferenceNotFound { .. } => Code::NotFound,
            Self::AlreadyExists { .. } => Code::AlreadyExists,
            Self::Aborted(_) => Code::Aborted,
            Self::FailedPrecondition { .. } => Code::FailedPrecondition,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::Unavailable | Self::Dependency { .. } => Code::Unavailable,
            Self::Internal(_) => Code::Internal,
            Self::WithInfo { error, .. } => error.code(),
            Self::Never(_, never) => match *never {},
        }
    }
}

impl<S> From<DbErr> for ServiceError<S> {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            Self::Unavailable
        } else {
            Self::Internal(err.to_string())
        }
    }
}

impl<S> From<FieldViolation> for ServiceError<S> {
    fn from(v: FieldViolation) -> Self {
        Self::Invalid(v.into())
    }
}

impl<S> From<Violations> for ServiceError<S> {
    fn from(v: Violations) -> Self {
        Self::Invalid(v)
    }
}

impl<S: ServiceName> From<ServiceError<S>> for Status {
    fn from(err: ServiceError<S>) -> Self {
        match err {
            ServiceError::Invalid(v) => status::invalid_argument(&v),
            ServiceError::NotFound(message) => Status::not_found(message),
            ServiceError::ReferenceNotFound {
                message,
                violations,
            } => violated(Code::NotFound, message, &violations),
            ServiceError::AlreadyExists {
                message,
                violations,
            } => violated(Code::AlreadyExists, message, &violations),
            ServiceError::Aborted(message) => Status::aborted(message),
            ServiceError::FailedPrecondition {
                message,
                violations,
            } => violated(Code::FailedPrecondition, message, &violations),
            ServiceError::PermissionDenied(message) => Status::permission_denied(message),
            ServiceError::Unavailable => status::unavailable(&format!("the {} database", S::NAME)),
            ServiceError::Dependency {
                dependency,
                failure: DependencyFailure::Unavailable,
                cause,
            } => {
                tracing::warn!(dependency, error = %cause, "dependency call failed");
                status::unavailable(dependency)
            }
            ServiceError::Dependency {
                dependency,
                failure: DependencyFailure::Refused,
                cause,
            } => {
                tracing::error!(dependency, error = %cause, "a dependency refused this service's credentials");
                Status::unavailable(format!(
                    "{dependency} refused the {} service's call ({cause}); its service credentials ([client]) need fixing, retry later",
                    S::NAME
                ))
            }
            ServiceError::Internal(cause) => status::internal(&cause),
            ServiceError::WithInfo { error, info } => {
                status::with_error_info(Status::from(*error), info)
            }
            ServiceError::Never(_, never) => match never {},
        }
    }
}

/// A status of `code` carrying `violations`, or none when there are none to carry.
fn violated(code: Code, message: String, violations: &Violations) -> Status {
    if violations.is_empty() {
        Status::new(code, message)
    } else {
        status::with_violations(code, &message, violations)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tonic_types::StatusExt;

    use super::*;

    #[derive(Debug)]
    enum Sample {}

    impl ServiceName for Sample {
        const NAME: &'static str = "sample";
    }

    type SampleError = ServiceError<Sample>;

    #[test]
    fn statuses_carry_code_message_and_fields() {
        let status = Status::from(SampleError::precondition("round", "is closed"));
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.message(), "is closed");
        assert_eq!(
            status::field_violations(&status),
            [("round".to_owned(), "is closed".to_owned())]
        );
        assert!(status.get_details_error_info().is_none());

        let status = Status::from(SampleError::already_exists("plan `plans/p` exists"));
        assert_eq!(status.code(), Code::AlreadyExists);
        assert!(status.get_details_bad_request().is_none());

        let status = Status::from(SampleError::Unavailable);
        assert_eq!(
            status.message(),
            "the sample database is unavailable, retry later"
        );
    }

    #[test]
    fn dependency_failures_name_the_dependency() {
        let unavailable = SampleError::dependency_unavailable("the facility registry", "timeout");
        assert_eq!(unavailable.code(), Code::Unavailable);
        assert_eq!(
            Status::from(unavailable).message(),
            "the facility registry is unavailable, retry later"
        );
        let refused = Status::from(SampleError::dependency_refused(
            "the facility registry",
            "Unauthenticated: bad token",
        ));
        assert_eq!(refused.code(), Code::Unavailable);
        assert!(
            refused
                .message()
                .starts_with("the facility registry refused the sample service's call"),
            "{}",
            refused.message()
        );
    }

    #[test]
    fn error_info_travels_beside_the_violations() {
        let info = ErrorInfo::new(
            "SAMPLE_REASON",
            "sample.shequ",
            HashMap::from([("field".to_owned(), "round".to_owned())]),
        );
        let err = SampleError::invalid("round", "is empty").with_info(info);
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(err.info().map(|i| i.reason.as_str()), Some("SAMPLE_REASON"));
        assert_eq!(err.to_string(), "invalid request: `round`: is empty");
        let status = Status::from(err);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "invalid request: `round`: is empty");
        assert_eq!(status::field_violations(&status).len(), 1);
        let info = status.get_details_error_info().unwrap();
        assert_eq!(info.reason, "SAMPLE_REASON");
        assert_eq!(info.domain, "sample.shequ");
        assert_eq!(info.metadata["field"], "round");
    }
}
