//! Survey fixtures the system tests share: an open one-question round and valid responses to it.

use prost_types::Timestamp;
use shequ_proto::survey::v1 as survey;
use shequ_proto::survey::v1::questionnaire_service_client::QuestionnaireServiceClient;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use tonic::transport::Channel;

/// The collection window of every round (2025) and a time inside it.
pub const START: i64 = 1_735_689_600;
pub const END: i64 = 1_767_225_600;
pub const COLLECTED: i64 = 1_750_000_000;

fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

/// A published one-question questionnaire and an open round over `region` needing `min` valid
/// responses per leaf unit: the round's name.
pub async fn open_round(channel: Channel, region: &str, min: i32) -> String {
    let mut questionnaires = QuestionnaireServiceClient::new(channel.clone());
    let q = questionnaires
        .create_questionnaire(survey::CreateQuestionnaireRequest {
            questionnaire: Some(survey::Questionnaire {
                title: "社区服务满意度".into(),
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
    let mut rounds = RoundServiceClient::new(channel);
    let round = rounds
        .create_round(survey::CreateRoundRequest {
            round: Some(survey::Round {
                display_name: "2025 年度满意度调查".into(),
                questionnaire: q.name,
                questionnaire_version: 1,
                region: region.into(),
                start_time: ts(START),
                end_time: ts(END),
                min_valid_responses: min,
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
    round.name
}

/// A valid response rating overall satisfaction `rating` (1-5: scores 0, 25, 50, 75, 100).
pub fn response(id: &str, unit: &str, rating: i32) -> survey::Response {
    survey::Response {
        response_id: id.into(),
        leaf_unit: unit.into(),
        channel: survey::Channel::Online as i32,
        collect_time: ts(COLLECTED),
        answers: vec![survey::Answer {
            question_id: "q_overall".into(),
            value: Some(survey::answer::Value::Rating(rating)),
        }],
        ..Default::default()
    }
}
