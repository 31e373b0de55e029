//! Failures of the survey service: the platform's error core, whose statuses name the survey.

use crate::SurveySpec;

pub type SurveyError = shequ_platform::error::ServiceError<SurveySpec>;

pub type Result<T, E = SurveyError> = std::result::Result<T, E>;
