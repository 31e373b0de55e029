//! Survey collection over real gRPC on loopback, next to a test registry holding the sample
//! divisions, on SQLite and (with `SHEQU_TEST_DATABASE_URL`) on PostgreSQL.

mod auth;
mod bulk;
mod fuzz;
mod listing;
mod questionnaires;
mod registry;
mod responses;
mod results;
mod rounds;
mod server;

use prost_types::Timestamp;
use shequ_platform::status::field_violations;
use shequ_proto::common::v1 as common;
use shequ_proto::survey::v1 as pb;
use shequ_proto::survey::v1::questionnaire_service_client::QuestionnaireServiceClient;
use shequ_proto::survey::v1::response_service_client::ResponseServiceClient;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use shequ_testkit::fixtures::{self, SAMPLE};
use shequ_testkit::{Registry, Survey, TestService};
use tonic::transport::Channel;
use tonic::{Code, Status};

/// The region most tests survey: 东城区, 169 leaf units.
pub const REGION: &str = "divisions/110101";
pub const REGION_LEAF_UNITS: i64 = 169;
/// Two communities of township 110101001 and one of 110101002.
pub const UNIT_A: &str = "divisions/110101001001";
pub const UNIT_B: &str = "divisions/110101001002";
pub const UNIT_C: &str = "divisions/110101002001";
/// A leaf unit of the sample outside the region (仙桃市).
pub const OUTSIDE: &str = "divisions/429004001001";

/// 2025-01-01T00:00:00Z and 2026-01-01T00:00:00Z: the collection window.
pub const START: i64 = 1_735_689_600;
pub const END: i64 = 1_767_225_600;
/// Mid-June 2025.
pub const COLLECTED: i64 = 1_750_000_000;

/// A registry with the sample imported, a survey service pointed at it, and clients.
pub struct Env {
    pub registry: TestService<Registry>,
    pub survey: TestService<Survey>,
    pub questionnaires: QuestionnaireServiceClient<Channel>,
    pub rounds: RoundServiceClient<Channel>,
    pub responses: ResponseServiceClient<Channel>,
}

pub async fn env() -> Env {
    let registry = TestService::registry().await.unwrap();
    fixtures::import(&mut registry.divisions().await.unwrap(), &SAMPLE, "2023")
        .await
        .unwrap();
    let survey = TestService::survey(&registry.endpoint()).await.unwrap();
    with_survey(registry, survey).await
}

pub async fn with_survey(registry: TestService<Registry>, survey: TestService<Survey>) -> Env {
    Env {
        questionnaires: survey.questionnaires().await.unwrap(),
        rounds: survey.rounds().await.unwrap(),
        responses: survey.responses().await.unwrap(),
        registry,
        survey,
    }
}

pub fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

fn question(id: &str, kind: pb::QuestionType) -> pb::Question {
    pb::Question {
        id: id.into(),
        text: format!("问题 {id}"),
        r#type: kind as i32,
        ..Default::default()
    }
}

fn options(ids: &[&str]) -> Vec<pb::QuestionOption> {
    ids.iter()
        .map(|id| pb::QuestionOption {
            id: (*id).into(),
            text: format!("选项 {id}"),
        })
        .collect()
}

/// The questionnaire most tests use: every question type.
pub fn questions() -> Vec<pb::Question> {
    use pb::QuestionType as T;
    let mut overall = question("q_overall", T::Satisfaction);
    overall.required = true;
    overall.counts_towards_satisfaction = true;
    let mut elderly = question("q_elderly", T::Satisfaction);
    elderly.counts_towards_satisfaction = true;
    elderly.dimension = common::ServiceKind::ElderlyCare as i32;
    let mut health = question("q_health", T::Satisfaction);
    health.dimension = common::ServiceKind::Health as i32;
    let mut channel = question("q_channel", T::SingleChoice);
    channel.options = options(&["online", "counter"]);
    let mut services = question("q_services", T::MultipleChoice);
    services.options = options(&["elderly", "health", "childcare"]);
    let mut visited = question("q_visited", T::YesNo);
    visited.required = true;
    let mut visits = question("q_visits", T::Number);
    visits.min_value = 0.0;
    visits.max_value = 365.0;
    let comment = question("q_comment", T::FreeText);
    vec![
        overall, elderly, health, channel, services, visited, visits, comment,
    ]
}

pub fn questionnaire() -> pb::Questionnaire {
    pb::Questionnaire {
        title: "2025 社区服务满意度调查".into(),
        questions: questions(),
        ..Default::default()
    }
}

/// Creates and publishes the standard questionnaire: its name.
pub async fn published(env: &mut Env) -> String {
    let q = env
        .questionnaires
        .create_questionnaire(pb::CreateQuestionnaireRequest {
            questionnaire: Some(questionnaire()),
        })
        .await
        .unwrap()
        .into_inner()
        .questionnaire
        .unwrap();
    env.questionnaires
        .publish_questionnaire(pb::PublishQuestionnaireRequest {
            name: q.name.clone(),
        })
        .await
        .unwrap();
    q.name
}

pub fn round(questionnaire: &str, region: &str, min: i32) -> pb::Round {
    pb::Round {
        display_name: "2025 年度满意度调查".into(),
        questionnaire: questionnaire.into(),
        questionnaire_version: 1,
        region: region.into(),
        start_time: ts(START),
        end_time: ts(END),
        min_valid_responses: min,
        ..Default::default()
    }
}

/// A published questionnaire and an open round over `region`: the round's name.
pub async fn open_round(env: &mut Env, region: &str, min: i32) -> String {
    let questionnaire = published(env).await;
    let created = env
        .rounds
        .create_round(pb::CreateRoundRequest {
            round: Some(round(&questionnaire, region, min)),
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    env.rounds
        .open_round(pb::OpenRoundRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap();
    created.name
}

pub fn rating(question: &str, value: i32) -> pb::Answer {
    pb::Answer {
        question_id: question.into(),
        value: Some(pb::answer::Value::Rating(value)),
    }
}

pub fn answer(question: &str, value: pb::answer::Value) -> pb::Answer {
    pb::Answer {
        question_id: question.into(),
        value: Some(value),
    }
}

/// A valid response: overall satisfaction `overall`, visited yes.
pub fn response(id: &str, unit: &str, overall: i32) -> pb::Response {
    pb::Response {
        response_id: id.into(),
        leaf_unit: unit.into(),
        channel: pb::Channel::Online as i32,
        collect_time: ts(COLLECTED),
        answers: vec![
            rating("q_overall", overall),
            answer("q_visited", pb::answer::Value::Yes(true)),
        ],
        ..Default::default()
    }
}

pub async fn submit(
    env: &mut Env,
    round: &str,
    response: pb::Response,
) -> Result<pb::SubmitResponseResponse, Status> {
    env.responses
        .submit_response(pb::SubmitResponseRequest {
            parent: round.into(),
            response: Some(response),
        })
        .await
        .map(|r| r.into_inner())
}

pub async fn results(env: &mut Env, round: &str, division: &str) -> pb::GetRoundResultsResponse {
    env.rounds
        .get_round_results(pb::GetRoundResultsRequest {
            round: round.into(),
            division: division.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Asserts a status code and that `field` is among its field violations.
pub fn assert_violation(status: &Status, code: Code, field: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let fields: Vec<String> = field_violations(status)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert!(
        fields.iter().any(|f| f == field),
        "expected a violation of `{field}`, got {fields:?} ({status:?})"
    );
}
