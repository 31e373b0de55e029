//! Wire messages to the survey's own types and back, with the field paths of every refusal.

use shequ_domain::{DivisionCode, TextRule, Violations};

use crate::model::{questions_from_pb, questions_to_pb};
use crate::service::questionnaires::{MAX_TITLE_CHARS, Questionnaire, QuestionnaireDraft};
use shequ_proto::names::parse_optional_division_name;
use shequ_proto::survey::v1 as pb;

use crate::error::SurveyError;
use crate::names::{
    division_name, micros, parse_questionnaire_name, questionnaire_name, round_name, timestamp,
};
use crate::service::rounds::{CLOSED, DRAFT, MAX_DISPLAY_NAME_CHARS, NewRound, OPEN};
use crate::store::rows::RoundRecord;

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
