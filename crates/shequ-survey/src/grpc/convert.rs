//! Wire messages to the survey's own types and back, with the field paths of every refusal.

use futures::Stream;
use shequ_domain::{DivisionCode, TextRule, Violations};
use shequ_proto::convert::service_to_pb;
use shequ_proto::names::parse_optional_division_name;
use shequ_proto::survey::v1 as pb;
use tonic::Status;

mod questions;

pub use questions::{answers_from_pb, answers_to_pb, questions_from_pb, questions_to_pb};

use crate::error::SurveyError;
use crate::model::{Answers, QuestionDef};
use crate::names::{
    division_name, micros, parse_questionnaire_name, questionnaire_name, response_name, round_name,
    timestamp,
};
use crate::service::questionnaires::{MAX_TITLE_CHARS, Questionnaire, QuestionnaireDraft};
use crate::service::responses::{BatchOutcome, Channel, Outcome, Submission};
use crate::service::results::{RoundCoverage, RoundFacts, RoundResults};
use crate::service::rounds::{CLOSED, DRAFT, MAX_DISPLAY_NAME_CHARS, NewRound, OPEN};
use crate::store::rows::{ResponseRecord, RoundRecord};

/// The name of a division code: `divisions/{code}`, or empty for the whole country (0).
fn code_name(code: i64) -> String {
    DivisionCode::from_u64(code as u64)
        .map(division_name)
        .unwrap_or_default()
}

pub fn state_to_pb(state: &str) -> pb::RoundState {
    match state {
        DRAFT => pb::RoundState::Draft,
        OPEN => pb::RoundState::Open,
        CLOSED => pb::RoundState::Closed,
        _ => pb::RoundState::Unspecified,
    }
}

/// A listing's state filter: `None` for every state.
pub fn state_filter(state: pb::RoundState) -> Option<&'static str> {
    match state {
        pb::RoundState::Unspecified => None,
        pb::RoundState::Draft => Some(DRAFT),
        pb::RoundState::Open => Some(OPEN),
        pb::RoundState::Closed => Some(CLOSED),
    }
}

pub fn round_to_pb(r: &RoundRecord) -> pb::Round {
    pb::Round {
        name: round_name(&r.id),
        display_name: r.display_name.clone(),
        questionnaire: questionnaire_name(&r.questionnaire_id),
        questionnaire_version: r.questionnaire_version,
        // Region code 0 is the whole country, named by an empty region.
        region: DivisionCode::from_u64(r.region_code as u64)
            .map(division_name)
            .unwrap_or_default(),
        start_time: Some(timestamp(r.start_time)),
        end_time: Some(timestamp(r.end_time)),
        min_valid_responses: r.min_valid_responses,
        state: state_to_pb(&r.state) as i32,
        create_time: Some(timestamp(r.create_time)),
        update_time: Some(timestamp(r.update_time)),
    }
}

/// A round to create, every bad field named (`round.…`).
pub fn new_round_from_pb(round: &pb::Round) -> Result<NewRound, SurveyError> {
    let mut v = Violations::new();
    let display_name = TextRule::required(MAX_DISPLAY_NAME_CHARS).apply(
        &mut v,
        "round.display_name",
        &round.display_name,
    );
    let questionnaire = parse_questionnaire_name("round.questionnaire", &round.questionnaire)
        .map_err(|e| v.push(e.field, e.description))
        .ok();
    if round.questionnaire_version < 1 {
        v.push(
            "round.questionnaire_version",
            "must name a published version, 1 or more",
        );
    }
    let region = parse_optional_division_name("round.region", &round.region)
        .map_err(|e| v.push(e.field, e.description))
        .ok();
    let start = round.start_time.as_ref().and_then(micros);
    let end = round.end_time.as_ref().and_then(micros);
    if start.is_none() {
        v.push("round.start_time", "is required");
    }
    if end.is_none() {
        v.push("round.end_time", "is required");
    }
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        v.push("round.end_time", "must be after `start_time`");
    }
    if round.min_valid_responses < 1 {
        v.push("round.min_valid_responses", "must be at least 1");
    }
    let (Some(questionnaire), Some(region), Some(start_time), Some(end_time), true) =
        (questionnaire, region, start, end, v.is_empty())
    else {
        return Err(SurveyError::Invalid(v));
    };
    Ok(NewRound {
        display_name,
        questionnaire_id: questionnaire.to_owned(),
        questionnaire_version: round.questionnaire_version,
        region,
        start_time,
        end_time,
        min_valid_responses: round.min_valid_responses,
    })
}

/// The writable part of a questionnaire; fields are reported as `questionnaire.…`.
pub fn draft_from_pb(q: &pb::Questionnaire) -> Result<QuestionnaireDraft, SurveyError> {
    let mut v = Violations::new();
    let title = TextRule::required(MAX_TITLE_CHARS).apply(&mut v, "title", &q.title);
    let questions = match questions_from_pb(&q.questions) {
        Ok(questions) => questions,
        Err(e) => {
            v.extend(e);
            Vec::new()
        }
    };
    if !v.is_empty() {
        return Err(SurveyError::Invalid(v.prefixed("questionnaire")));
    }
    Ok(QuestionnaireDraft { title, questions })
}

pub fn questionnaire_to_pb(q: &Questionnaire) -> pb::Questionnaire {
    pb::Questionnaire {
        name: questionnaire_name(&q.id),
        title: q.title.clone(),
        questions: questions_to_pb(&q.questions),
        version: q.version,
        latest_version: q.latest_version,
        update_time: Some(timestamp(q.update_time)),
    }
}

/// A listing's state filter: `Some(true)` for the published.
pub fn published_filter(state: pb::QuestionnaireState) -> Option<bool> {
    match state {
        pb::QuestionnaireState::Unspecified => None,
        pb::QuestionnaireState::Unpublished => Some(false),
        pb::QuestionnaireState::Published => Some(true),
    }
}

/// A response as sent, read in place: the service checks it field by field (`Survey::prepare`).
impl Submission for pb::Response {
    fn response_id(&self) -> &str {
        &self.response_id
    }

    fn leaf_unit(&self) -> &str {
        &self.leaf_unit
    }

    fn channel(&self) -> Option<Channel> {
        channel_from_pb(self.channel)
    }

    fn collect_time(&self) -> Option<i64> {
        self.collect_time.as_ref().and_then(micros)
    }

    fn answers(&self, questions: &[QuestionDef]) -> Result<Answers, Violations> {
        answers_from_pb(questions, &self.answers)
    }
}

fn channel_from_pb(value: i32) -> Option<Channel> {
    match pb::Channel::try_from(value).ok()? {
        pb::Channel::Unspecified => None,
        pb::Channel::Online => Some(Channel::Online),
        pb::Channel::Paper => Some(Channel::Paper),
        pb::Channel::Phone => Some(Channel::Phone),
        pb::Channel::Kiosk => Some(Channel::Kiosk),
    }
}

fn channel_to_pb(channel: Option<Channel>) -> pb::Channel {
    match channel {
        None => pb::Channel::Unspecified,
        Some(Channel::Online) => pb::Channel::Online,
        Some(Channel::Paper) => pb::Channel::Paper,
        Some(Channel::Phone) => pb::Channel::Phone,
        Some(Channel::Kiosk) => pb::Channel::Kiosk,
    }
}

pub fn response_to_pb(r: &ResponseRecord) -> pb::Response {
    let answers: Answers = serde_json::from_str(&r.answers).unwrap_or_default();
    pb::Response {
        name: response_name(&r.round_id, &r.response_id),
        response_id: r.response_id.clone(),
        leaf_unit: code_name(r.leaf_code),
        channel: channel_to_pb(Channel::parse(&r.channel)) as i32,
        collect_time: Some(timestamp(r.collect_time)),
        answers: answers_to_pb(&answers),
        valid: r.valid != 0,
        satisfaction_score: r.score,
        invalidation: r.invalid_time.map(|t| pb::Invalidation {
            actor: r.invalid_actor.clone().unwrap_or_default(),
            time: Some(timestamp(t)),
            reason: r.invalid_reason.clone().unwrap_or_default(),
        }),
        receive_time: Some(timestamp(r.receive_time)),
    }
}

/// A written batch's result per response, in the batch's order; a refusal carries its code,
/// message and fields.
pub fn submit_results_to_pb(outcome: BatchOutcome) -> Vec<pb::SubmitResult> {
    outcome
        .into_iter()
        .map(|(response_id, outcome)| {
            let mut result = pb::SubmitResult {
                response_id,
                ..Default::default()
            };
            match outcome {
                Outcome::Accepted => result.outcome = pb::SubmitOutcome::Accepted as i32,
                Outcome::Duplicate => result.outcome = pb::SubmitOutcome::Duplicate as i32,
                Outcome::Rejected(e) => {
                    result.outcome = pb::SubmitOutcome::Rejected as i32;
                    result.code = e.code() as i32;
                    result.message = e.to_string();
                    if let SurveyError::Invalid(v)
                    | SurveyError::AlreadyExists { violations: v, .. } = e
                    {
                        result.field_violations = v
                            .iter()
                            .map(|f| pb::FieldViolation {
                                field: f.field.clone(),
                                description: f.description.clone(),
                            })
                            .collect();
                    }
                }
            }
            result
        })
        .collect()
}

pub fn results_to_pb(r: RoundResults) -> pb::GetRoundResultsResponse {
    pb::GetRoundResultsResponse {
        division: code_name(r.division),
        valid_responses: r.valid_responses,
        scored_responses: r.scored_responses,
        satisfaction_index: r.satisfaction_index,
        questions: r
            .questions
            .into_iter()
            .map(|q| pb::QuestionResults {
                question_id: q.question_id,
                answered: q.answered,
                counts: q
                    .counts
                    .into_iter()
                    .map(|c| pb::AnswerCount {
                        answer: c.answer,
                        responses: c.responses,
                    })
                    .collect(),
                mean: q.mean,
            })
            .collect(),
        dimensions: r
            .dimensions
            .into_iter()
            .map(|d| pb::DimensionResults {
                dimension: service_to_pb(d.dimension) as i32,
                answers: d.answers,
                satisfaction_index: d.satisfaction_index,
            })
            .collect(),
    }
}

pub fn coverage_to_pb(c: RoundCoverage) -> pb::GetRoundCoverageResponse {
    pb::GetRoundCoverageResponse {
        division: code_name(c.division),
        covered_leaf_units: c.covered_leaf_units,
        leaf_units: c.leaf_units,
        coverage: c.coverage,
        short_leaf_units: c
            .short_leaf_units
            .into_iter()
            .map(|u| pb::ShortLeafUnit {
                leaf_unit: code_name(u.leaf_unit),
                valid_responses: u.valid_responses,
            })
            .collect(),
        next_page_token: c.next_page_token,
    }
}

/// A round's facts in messages of `batch_size` leaf units; the first message carries the
/// round's minimum of valid responses, and a round without leaf units still sends one.
pub fn facts_to_pb(
    facts: RoundFacts,
    batch_size: usize,
) -> impl Stream<Item = Result<pb::StreamRoundFactsResponse, Status>> + Send + 'static {
    let RoundFacts {
        min_valid_responses: min,
        units,
        totals,
    } = facts;
    async_stream::try_stream! {
        let mut batch = Vec::with_capacity(batch_size);
        let mut first = true;
        for ((unit, a), t) in units.iter().zip(&totals) {
            batch.push(pb::RoundUnitFacts {
                code: *unit as u64,
                province: a.province as u64,
                prefecture: a.prefecture.unwrap_or_default() as u64,
                county: a.county.unwrap_or_default() as u64,
                township: a.township.unwrap_or_default() as u64,
                valid_responses: t.valid,
                scored_responses: t.scored,
                score_sum: t.score_sum,
            });
            if batch.len() == batch_size {
                let facts = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                yield pb::StreamRoundFactsResponse { facts, min_valid_responses: if std::mem::take(&mut first) { min } else { 0 } };
            }
        }
        if !batch.is_empty() || first {
            yield pb::StreamRoundFactsResponse { facts: batch, min_valid_responses: if first { min } else { 0 } };
        }
    }
}
