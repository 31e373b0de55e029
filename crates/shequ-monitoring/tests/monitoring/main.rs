//! Plan monitoring over real gRPC on loopback, next to a test registry holding the sample
//! divisions and a test survey service, on SQLite and (with `SHEQU_TEST_DATABASE_URL`) on
//! PostgreSQL.

mod auth;
mod evaluations;
mod failures;
mod fuzz;
mod local_plans;
mod plans;
mod ratios;
mod records;
mod report_html;
mod reported;
mod schedule;
mod server;
mod targets;
mod values;

use std::collections::HashMap;

use prost_types::Timestamp;
use shequ_monitoring::MonitoringConfig;
use shequ_platform::status::field_violations;
use shequ_proto::monitoring::v1 as pb;
use shequ_proto::monitoring::v1::evaluation_service_client::EvaluationServiceClient;
use shequ_proto::monitoring::v1::indicator_service_client::IndicatorServiceClient;
use shequ_proto::monitoring::v1::plan_service_client::PlanServiceClient;
use shequ_proto::registry::v1 as registry;
use shequ_proto::survey::v1 as survey;
use shequ_testkit::fixtures::{self, SAMPLE};
use shequ_testkit::{Monitoring, Registry, Survey, TestDatabase, TestService, monitoring_config};
use tonic::transport::Channel;
use tonic::{Code, Status};

/// 前门街道: three communities, no villages.
pub const QIANMEN: &str = "divisions/110101011";
pub const QIANMEN_1: &str = "divisions/110101011001";
pub const QIANMEN_6: &str = "divisions/110101011006";
pub const QIANMEN_10: &str = "divisions/110101011010";
/// 杜湖街道: five communities (…001-…005) and five villages (…200-…204).
pub const DUHU: &str = "divisions/429004004";
pub const DUHU_COMMUNITY: &str = "divisions/429004004001";
pub const DUHU_VILLAGE_A: &str = "divisions/429004004200";
pub const DUHU_VILLAGE_B: &str = "divisions/429004004201";
pub const DUHU_VILLAGE_EMPTY: &str = "divisions/429004004202";
/// 东城区 (communities only) and 仙桃市.
pub const DONGCHENG: &str = "divisions/110101";
pub const XIANTAO: &str = "divisions/429004";

/// A registry with the sample, a survey service and a monitor, with clients.
pub struct Env {
    pub registry: TestService<Registry>,
    pub survey: TestService<Survey>,
    pub monitor: TestService<Monitoring>,
    pub indicators: IndicatorServiceClient<Channel>,
    pub plans: PlanServiceClient<Channel>,
    pub evaluations: EvaluationServiceClient<Channel>,
}

pub async fn env() -> Env {
    env_with(|_| {}).await
}

/// `env()` with the monitor's configuration changed by `configure`.
pub async fn env_with(configure: impl FnOnce(&mut MonitoringConfig)) -> Env {
    let registry = TestService::registry().await.unwrap();
    fixtures::import(&mut registry.divisions().await.unwrap(), &SAMPLE, "2023")
        .await
        .unwrap();
    let survey = TestService::survey(&registry.endpoint()).await.unwrap();
    let database = TestDatabase::fresh().await.unwrap();
    let mut cfg =
        monitoring_config(database.url(), &registry.endpoint(), &survey.endpoint()).unwrap();
    configure(&mut cfg);
    let monitor = TestService::<Monitoring>::start_with(cfg, database)
        .await
        .unwrap();
    Env {
        indicators: monitor.indicators().await.unwrap(),
        plans: monitor.plans().await.unwrap(),
        evaluations: monitor.evaluations().await.unwrap(),
        registry,
        survey,
        monitor,
    }
}

/// A facility in `unit`: the testkit's compliant one, or one with 200 of 500 m² for activities,
/// open 6 hours a day and nothing online.
pub async fn facility(env: &Env, unit: &str, compliant: bool) {
    let mut f = fixtures::facility(unit);
    if !compliant {
        f.activity_area_m2 = 200.0;
        for i in &mut f.opening_hours {
            i.close_minute = i.open_minute + 360;
        }
        f.online_24h_services.clear();
    }
    env.registry
        .facilities()
        .await
        .unwrap()
        .create_facility(registry::CreateFacilityRequest {
            facility: Some(f),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// The facilities most tests evaluate: 前门 …001 compliant, …006 not, …010 none; 杜湖 one
/// community and two villages, all compliant.
pub async fn standard_facilities(env: &Env) {
    facility(env, QIANMEN_1, true).await;
    facility(env, QIANMEN_6, false).await;
    facility(env, DUHU_COMMUNITY, true).await;
    facility(env, DUHU_VILLAGE_A, true).await;
    facility(env, DUHU_VILLAGE_B, true).await;
}

fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

/// An open round over 前门 with a minimum of 2 valid responses, answered: …001 twice (5 and 3),
/// …006 once (4), …010 not at all. Its name.
pub async fn answered_round(env: &Env) -> String {
    answered_round_on(&env.survey).await
}

/// [`answered_round`] on any survey service.
pub async fn answered_round_on(survey: &TestService<Survey>) -> String {
    let mut questionnaires = survey.questionnaires().await.unwrap();
    let q = questionnaires
        .create_questionnaire(survey::CreateQuestionnaireRequest {
            questionnaire: Some(survey::Questionnaire {
                title: "满意度".into(),
                questions: vec![survey::Question {
                    id: "q_overall".into(),
                    text: "总体满意度".into(),
                    r#type: survey::QuestionType::Satisfaction as i32,
                    required: true,
                    counts_towards_satisfaction: true,
                    ..Default::default()
                }],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .questionnaire
        .unwrap();
    questionnaires
        .publish_questionnaire(survey::PublishQuestionnaireRequest {
            name: q.name.clone(),
        })
        .await
        .unwrap();
    let mut rounds = survey.rounds().await.unwrap();
    let round = rounds
        .create_round(survey::CreateRoundRequest {
            round: Some(survey::Round {
                display_name: "2025".into(),
                questionnaire: q.name,
                questionnaire_version: 1,
                region: QIANMEN.into(),
                start_time: ts(1_735_689_600),
                end_time: ts(1_767_225_600),
                min_valid_responses: 2,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    rounds
        .open_round(survey::OpenRoundRequest {
            name: round.name.clone(),
        })
        .await
        .unwrap();
    let mut responses = survey.responses().await.unwrap();
    for (id, unit, rating) in [
        ("r1", QIANMEN_1, 5),
        ("r2", QIANMEN_1, 3),
        ("r3", QIANMEN_6, 4),
    ] {
        responses
            .submit_response(survey::SubmitResponseRequest {
                parent: round.name.clone(),
                response: Some(survey::Response {
                    response_id: id.into(),
                    leaf_unit: unit.into(),
                    channel: survey::Channel::Online as i32,
                    collect_time: ts(1_750_000_000),
                    answers: vec![survey::Answer {
                        question_id: "q_overall".into(),
                        value: Some(survey::answer::Value::Rating(rating)),
                    }],
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
    }
    round.name
}

pub async fn national(env: &mut Env) -> String {
    env.plans
        .load_national_plan(pb::LoadNationalPlanRequest {})
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap()
        .name
}

/// Creates `plan`; the stored plan, or the refusal.
pub async fn create_plan(env: &mut Env, plan: pb::Plan) -> Result<pb::Plan, Status> {
    env.plans
        .create_plan(pb::CreatePlanRequest { plan: Some(plan) })
        .await
        .map(|r| r.into_inner().plan.unwrap())
}

/// The names of every stored plan (one page).
pub async fn plan_names(env: &mut Env) -> Vec<String> {
    env.plans
        .list_plans(pb::ListPlansRequest::default())
        .await
        .unwrap()
        .into_inner()
        .plans
        .into_iter()
        .map(|p| p.name)
        .collect()
}

pub async fn evaluate(env: &mut Env, plan: &str, date: &str, round: &str) -> pb::Evaluation {
    env.evaluations
        .evaluate_plan(pb::EvaluatePlanRequest {
            plan: plan.into(),
            evaluation_date: date.into(),
            survey_round: round.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap()
}

/// One division's results by indicator code.
pub async fn division(
    env: &mut Env,
    evaluation: &str,
    division: &str,
) -> HashMap<String, pb::IndicatorResult> {
    env.evaluations
        .get_division_result(pb::GetDivisionResultRequest {
            evaluation: evaluation.into(),
            division: division.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .results
        .into_iter()
        .map(|r| (r.indicator.trim_start_matches("indicators/").to_owned(), r))
        .collect()
}

pub fn status(r: &pb::IndicatorResult) -> pb::IndicatorStatus {
    pb::IndicatorStatus::try_from(r.status).unwrap()
}

pub fn approx(a: Option<f64>, b: f64) {
    let a = a.unwrap_or_else(|| panic!("expected {b}, got no data"));
    assert!((a - b).abs() < 1e-9, "expected {b}, got {a}");
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
