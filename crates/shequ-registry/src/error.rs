//! Failures of the registry: the platform's error core, whose statuses name the registry.

use crate::RegistrySpec;

pub type RegistryError = shequ_platform::error::ServiceError<RegistrySpec>;

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
