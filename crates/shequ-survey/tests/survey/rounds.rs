//! Rounds: what a round must name, and its lifecycle draft → open → closed.

use shequ_proto::survey::v1 as pb;
use tonic::Code;

use crate::{REGION, UNIT_A, assert_violation, env, published, response, round, submit, ts};

type Mutation = (fn(&mut pb::Round), &'static str);

#[tokio::test]
async fn a_round_is_refused_field_by_field() {
    let mut env = env().await;
    let questionnaire = published(&mut env).await;
    let cases: Vec<Mutation> = vec![
        (|r| r.display_name = " ".into(), "round.display_name"),
        (
            |r| r.questionnaire = "questionnaire/1".into(),
            "round.questionnaire",
        ),
        (
            |r| r.questionnaire_version = 0,
            "round.questionnaire_version",
        ),
        (|r| r.region = "110101".into(), "round.region"),
        (|r| r.region = "divisions/11010".into(), "round.region"),
        (|r| r.start_time = None, "round.start_time"),
        (|r| r.end_time = None, "round.end_time"),
        (|r| r.end_time = r.start_time, "round.end_time"),
        (|r| r.end_time = ts(crate::START - 1), "round.end_time"),
        (|r| r.min_valid_responses = 0, "round.min_valid_responses"),
    ];
    for (spoil, field) in cases {
        let mut r = round(&questionnaire, REGION, 1);
        spoil(&mut r);
        let err = env
            .rounds
            .create_round(pb::CreateRoundRequest { round: Some(r) })
            .await
            .unwrap_err();
        assert_violation(&err, Code::InvalidArgument, field);
    }
    // References to what does not exist are NOT_FOUND, with the field.
    let mut r = round(&questionnaire, REGION, 1);
    r.questionnaire_version = 2;
    let err = env
        .rounds
        .create_round(pb::CreateRoundRequest { round: Some(r) })
        .await
        .unwrap_err();
    assert_violation(&err, Code::NotFound, "round.questionnaire_version");
    let r = round("questionnaires/missing", REGION, 1);
    let err = env
        .rounds
        .create_round(pb::CreateRoundRequest { round: Some(r) })
        .await
        .unwrap_err();
    assert_violation(&err, Code::NotFound, "round.questionnaire_version");
    let r = round(&questionnaire, "divisions/110199", 1);
    let err = env
        .rounds
        .create_round(pb::CreateRoundRequest { round: Some(r) })
        .await
        .unwrap_err();
    assert_violation(&err, Code::NotFound, "round.region");
}

/// A round's name follows the contract's rule for text (shequ.common.v1): stored trimmed and
/// returned as stored, its limit counted after trimming, white space alone refused.
#[tokio::test]
async fn a_round_name_is_stored_trimmed() {
    let mut env = env().await;
    let questionnaire = published(&mut env).await;
    let mut r = round(&questionnaire, REGION, 1);
    r.display_name = format!("\u{3000}{} ", "轮".repeat(200));
    let created = env
        .rounds
        .create_round(pb::CreateRoundRequest { round: Some(r) })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(created.display_name, "轮".repeat(200));
    let read = env
        .rounds
        .get_round(pb::GetRoundRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(read.display_name, created.display_name);
    for name in [
        "\u{3000}\u{3000}".to_owned(),
        format!(" {} ", "轮".repeat(201)),
    ] {
        let mut r = round(&questionnaire, REGION, 1);
        r.display_name = name;
        let err = env
            .rounds
            .create_round(pb::CreateRoundRequest { round: Some(r) })
            .await
            .unwrap_err();
        assert_violation(&err, Code::InvalidArgument, "round.display_name");
    }
}

#[tokio::test]
async fn rounds_accept_responses_only_while_open_and_closed_is_final() {
    let mut env = env().await;
    let questionnaire = published(&mut env).await;
    let created = env
        .rounds
        .create_round(pb::CreateRoundRequest {
            round: Some(round(&questionnaire, REGION, 3)),
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(created.state, pb::RoundState::Draft as i32);
    assert_eq!(created.region, "divisions/110101000000");
    assert_eq!(created.min_valid_responses, 3);
    let name = created.name.clone();

    let err = submit(&mut env, &name, response("r1", UNIT_A, 5))
        .await
        .unwrap_err();
    assert_violation(&err, Code::FailedPrecondition, "parent");
    let err = env
        .rounds
        .close_round(pb::CloseRoundRequest { name: name.clone() })
        .await
        .unwrap_err();
    assert_violation(&err, Code::FailedPrecondition, "name");

    let opened = env
        .rounds
        .open_round(pb::OpenRoundRequest { name: name.clone() })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(opened.state, pb::RoundState::Open as i32);
    let err = env
        .rounds
        .open_round(pb::OpenRoundRequest { name: name.clone() })
        .await
        .unwrap_err();
    assert_violation(&err, Code::FailedPrecondition, "name");
    submit(&mut env, &name, response("r1", UNIT_A, 5))
        .await
        .unwrap();

    let closed = env
        .rounds
        .close_round(pb::CloseRoundRequest { name: name.clone() })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(closed.state, pb::RoundState::Closed as i32);
    let err = submit(&mut env, &name, response("r2", UNIT_A, 5))
        .await
        .unwrap_err();
    assert_violation(&err, Code::FailedPrecondition, "parent");
    for err in [
        env.rounds
            .open_round(pb::OpenRoundRequest { name: name.clone() })
            .await
            .unwrap_err(),
        env.rounds
            .close_round(pb::CloseRoundRequest { name: name.clone() })
            .await
            .unwrap_err(),
    ] {
        assert_violation(&err, Code::FailedPrecondition, "name");
    }
    let got = env
        .rounds
        .get_round(pb::GetRoundRequest { name: name.clone() })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(got.state, pb::RoundState::Closed as i32);
    assert_eq!(crate::results(&mut env, &name, "").await.valid_responses, 1);

    let err = env
        .rounds
        .get_round(pb::GetRoundRequest {
            name: "rounds/missing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = env
        .rounds
        .get_round(pb::GetRoundRequest {
            name: "rounds/A B".into(),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "name");
}
