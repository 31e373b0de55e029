//! Failures of the monitoring service: the platform's error core, whose statuses name the
//! monitor, and the fields a request's check reports in their place.

use shequ_domain::FieldViolation;

use crate::MonitoringSpec;

pub type MonitoringError = shequ_platform::error::ServiceError<MonitoringSpec>;

pub type Result<T, E = MonitoringError> = std::result::Result<T, E>;

/// A field as the caller sent it: its value, or the violation saying why it could not be read
/// (a malformed name, a value the contract does not know). The check of the whole request reports
/// it in its place among its own, so violations come in the order of the request's fields.
pub type Sent<T> = std::result::Result<T, FieldViolation>;
