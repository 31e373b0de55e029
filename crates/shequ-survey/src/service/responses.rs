//! Responses: validated against the round (questionnaire version, window, channel, region),
//! masked, and written exactly once, each batch in one transaction together with one tally delta
//! row; invalidation keeps the response and records a delta that takes it out of the tallies.
//! One file per workflow: `validate` (the rules and the body hash), `write` (the exactly-once
//! write every submission goes through), `submit` (one response), `bulk` (batches, checked while
//! the previous one commits), `invalidate`.

mod bulk;
mod invalidate;
mod submit;
mod validate;
mod write;

use sea_orm::ConnectionTrait;
use shequ_domain::FieldViolation;

use super::Survey;
use super::rounds::OPEN;
use crate::error::{Result, SurveyError};
use crate::names::{response_name, round_name};
use crate::store::responses;
use crate::store::rounds;
use crate::store::rows::ResponseRecord;

pub use bulk::CheckedBatch;
pub use invalidate::MAX_REASON_CHARS;
pub use validate::{Prepared, Submission};

/// How a response was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Online,
    Paper,
    Phone,
    Kiosk,
}

impl Channel {
    /// The channel as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Paper => "paper",
            Self::Phone => "phone",
            Self::Kiosk => "kiosk",
        }
    }

    /// A stored channel.
    pub fn parse(stored: &str) -> Option<Self> {
        [Self::Online, Self::Paper, Self::Phone, Self::Kiosk]
            .into_iter()
            .find(|c| c.as_str() == stored)
    }
}

/// What became of one response of a batch.
#[derive(Debug)]
pub enum Outcome {
    Accepted,
    Duplicate,
    Rejected(SurveyError),
}

/// What became of each response of a written batch, in the batch's order, with the id it was
/// sent with.
#[derive(Debug)]
pub struct BatchOutcome {
    ids: Vec<String>,
    outcomes: Vec<Outcome>,
}

impl IntoIterator for BatchOutcome {
    type Item = (String, Outcome);
    type IntoIter = std::iter::Zip<std::vec::IntoIter<String>, std::vec::IntoIter<Outcome>>;

    fn into_iter(self) -> Self::IntoIter {
        self.ids.into_iter().zip(self.outcomes)
    }
}

fn already_exists(response_id: &str) -> SurveyError {
    SurveyError::AlreadyExists {
        message: format!("response `{response_id}` was already submitted with another body"),
        violations: FieldViolation::new(
            "response_id",
            "is already used by another response of this round",
        )
        .into(),
    }
}

/// Adds `prefix` to the field paths of a validation error.
pub fn prefixed(err: SurveyError, prefix: &str) -> SurveyError {
    match err {
        SurveyError::Invalid(v) => SurveyError::Invalid(v.prefixed(prefix)),
        SurveyError::AlreadyExists {
            message,
            violations,
        } => SurveyError::AlreadyExists {
            message,
            violations: violations.prefixed(prefix),
        },
        other => other,
    }
}

impl Survey {
    pub async fn get_response(&self, round_id: &str, response_id: &str) -> Result<ResponseRecord> {
        self.find_response(&self.db.conn, round_id, response_id, false)
            .await
    }

    async fn find_response(
        &self,
        conn: &impl ConnectionTrait,
        round_id: &str,
        response_id: &str,
        lock: bool,
    ) -> Result<ResponseRecord> {
        responses::find(conn, round_id, response_id, lock)
            .await?
            .ok_or_else(|| {
                SurveyError::NotFound(format!(
                    "response `{}` does not exist",
                    response_name(round_id, response_id)
                ))
            })
    }

    async fn ensure_open(
        &self,
        conn: &impl ConnectionTrait,
        round_id: &str,
        lock: bool,
    ) -> Result<()> {
        match rounds::state(conn, round_id, lock).await? {
            None => Err(SurveyError::NotFound(format!(
                "round `{}` does not exist",
                round_name(round_id)
            ))),
            Some(s) if s == OPEN => Ok(()),
            Some(s) => Err(SurveyError::precondition(
                "parent",
                format!("the round is {s}; responses are accepted only while it is open"),
            )),
        }
    }
}
