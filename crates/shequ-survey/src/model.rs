//! Questionnaires and answers as the service stores them (JSON in the database) and the rules
//! that check them (their wire form is read in `grpc/convert/questions.rs`); what the tallies count
//! in `tally`. No I/O.

pub mod tally;

use serde::{Deserialize, Serialize};
use shequ_domain::ServiceKind;

/// Most questions in a questionnaire.
pub const MAX_QUESTIONS: usize = 200;
/// Most options of a choice question.
pub const MAX_OPTIONS: usize = 50;
/// Longest free-text answer, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest question or option text, in characters after trimming.
pub const MAX_LABEL_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Satisfaction,
    SingleChoice,
    MultipleChoice,
    YesNo,
    Number,
    FreeText,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionDef {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionDef {
    pub id: String,
    pub text: String,
    pub kind: QuestionKind,
    pub required: bool,
    pub counts_towards_satisfaction: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionDef>,
    #[serde(default)]
    pub min_value: f64,
    #[serde(default)]
    pub max_value: f64,
}

impl QuestionDef {
    pub fn dimension(&self) -> Option<ServiceKind> {
        self.dimension.as_deref().and_then(ServiceKind::parse)
    }
}

/// One stored answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerValue {
    Rating(u8),
    Option(String),
    Options(Vec<String>),
    Yes(bool),
    Number(f64),
    Text(String),
}

/// The answers of a response in the order given: `(question id, value)`.
pub type Answers = Vec<(String, AnswerValue)>;

/// 1 to 32 of `a-z`, `0-9`, `_`: question and option ids.
pub fn is_token(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// 1 to 64 of `A-Z`, `a-z`, `0-9`, `-`, `_`: client-chosen response ids.
pub fn is_response_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The response's satisfaction score (DOMAIN.md §4) over its answered satisfaction questions that
/// count towards satisfaction.
pub fn satisfaction_score(questions: &[QuestionDef], answers: &Answers) -> Option<f64> {
    shequ_domain::satisfaction_score(answers.iter().filter_map(|(id, value)| {
        match value {
            AnswerValue::Rating(r)
                if questions
                    .iter()
                    .any(|q| &q.id == id && q.counts_towards_satisfaction) =>
            {
                Some(*r)
            }
            _ => None,
        }
    }))
}

/// The answer as one CSV cell.
pub fn answer_cell(value: &AnswerValue) -> String {
    match value {
        AnswerValue::Rating(r) => r.to_string(),
        AnswerValue::Option(o) => o.clone(),
        AnswerValue::Options(o) => o.join(";"),
        AnswerValue::Yes(y) => if *y { "yes" } else { "no" }.to_owned(),
        AnswerValue::Number(n) => n.to_string(),
        AnswerValue::Text(t) => t.clone(),
    }
}
