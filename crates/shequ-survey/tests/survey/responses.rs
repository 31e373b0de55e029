//! Single responses: every rule with its field, exactly-once by response id, masking of identity
//! numbers and invalidation.

use shequ_proto::survey::v1 as pb;
use shequ_proto::survey::v1::answer::Value;
use tonic::{Code, Request};

use crate::{
    COLLECTED, END, OUTSIDE, REGION, START, UNIT_A, UNIT_B, answer, assert_violation, env,
    open_round, rating, response, results, submit, ts,
};

type Mutation = (fn(&mut pb::Response), &'static str);

#[tokio::test]
async fn every_response_rule_names_its_field() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let cases: Vec<Mutation> = vec![
        (|r| r.response_id.clear(), "response.response_id"),
        (|r| r.response_id = "a/b".into(), "response.response_id"),
        (|r| r.response_id = "x".repeat(65), "response.response_id"),
        (
            |r| r.leaf_unit = "110101001001".into(),
            "response.leaf_unit",
        ),
        // Not in the registry, not a leaf unit, outside the region.
        (
            |r| r.leaf_unit = "divisions/110101001999".into(),
            "response.leaf_unit",
        ),
        (
            |r| r.leaf_unit = "divisions/110101001".into(),
            "response.leaf_unit",
        ),
        (|r| r.leaf_unit = OUTSIDE.into(), "response.leaf_unit"),
        (|r| r.channel = 0, "response.channel"),
        (|r| r.channel = 9, "response.channel"),
        (|r| r.collect_time = None, "response.collect_time"),
        (|r| r.collect_time = ts(START - 1), "response.collect_time"),
        (|r| r.collect_time = ts(END), "response.collect_time"),
        (
            |r| r.answers[0].question_id = "q_unknown".into(),
            "response.answers[0].question_id",
        ),
        (
            |r| r.answers.push(rating("q_overall", 3)),
            "response.answers[2].question_id",
        ),
        (
            |r| r.answers[0] = rating("q_overall", 6),
            "response.answers[0].rating",
        ),
        (
            |r| r.answers[0] = rating("q_overall", 0),
            "response.answers[0].rating",
        ),
        (
            |r| r.answers[0] = answer("q_overall", Value::Text("5".into())),
            "response.answers[0].value",
        ),
        (
            |r| r.answers[1] = answer("q_visited", Value::Rating(1)),
            "response.answers[1].value",
        ),
        (|r| r.answers[1].value = None, "response.answers[1].value"),
        (
            |r| {
                r.answers
                    .push(answer("q_channel", Value::OptionId("post".into())))
            },
            "response.answers[2].option_id",
        ),
        (
            |r| {
                r.answers.push(answer(
                    "q_services",
                    Value::OptionIds(pb::OptionIds { ids: vec![] }),
                ))
            },
            "response.answers[2].option_ids",
        ),
        (
            |r| {
                r.answers.push(answer(
                    "q_services",
                    Value::OptionIds(pb::OptionIds {
                        ids: vec!["health".into(), "dance".into()],
                    }),
                ))
            },
            "response.answers[2].option_ids.ids[1]",
        ),
        (
            |r| {
                r.answers.push(answer(
                    "q_services",
                    Value::OptionIds(pb::OptionIds {
                        ids: vec!["health".into(), "health".into()],
                    }),
                ))
            },
            "response.answers[2].option_ids.ids[1]",
        ),
        (
            |r| r.answers.push(answer("q_visits", Value::Number(366.0))),
            "response.answers[2].number",
        ),
        (
            |r| r.answers.push(answer("q_visits", Value::Number(-1.0))),
            "response.answers[2].number",
        ),
        (
            |r| r.answers.push(answer("q_visits", Value::Number(f64::NAN))),
            "response.answers[2].number",
        ),
        (
            |r| {
                r.answers
                    .push(answer("q_comment", Value::Text("很".repeat(2001))))
            },
            "response.answers[2].text",
        ),
        (
            |r| {
                r.answers.remove(1);
            },
            "response.answers",
        ),
        (|r| r.answers.clear(), "response.answers"),
    ];
    for (i, (spoil, field)) in cases.into_iter().enumerate() {
        let mut r = response(&format!("bad-{i}"), UNIT_A, 4);
        spoil(&mut r);
        let err = submit(&mut env, &round, r).await.unwrap_err();
        assert_violation(&err, Code::InvalidArgument, field);
    }
    let err = env
        .responses
        .submit_response(pb::SubmitResponseRequest {
            parent: round.clone(),
            response: None,
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "response");
    let err = submit(&mut env, "rounds/missing", response("x", UNIT_A, 4))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Nothing of the above was stored.
    assert_eq!(results(&mut env, &round, "").await.valid_responses, 0);

    // Every answer type, late arrival of an early collection, both window edges.
    let mut full = response("full", UNIT_A, 5);
    full.collect_time = ts(START);
    full.channel = pb::Channel::Paper as i32;
    full.answers.extend([
        rating("q_elderly", 4),
        rating("q_health", 1),
        answer("q_channel", Value::OptionId("counter".into())),
        answer(
            "q_services",
            Value::OptionIds(pb::OptionIds {
                ids: vec!["elderly".into(), "health".into()],
            }),
        ),
        answer("q_visits", Value::Number(365.0)),
        answer("q_comment", Value::Text("很好".into())),
    ]);
    let stored = submit(&mut env, &round, full.clone()).await.unwrap();
    assert!(!stored.duplicate);
    let stored = stored.response.unwrap();
    assert_eq!(stored.name, format!("{round}/responses/full"));
    assert_eq!(stored.answers, full.answers);
    assert!(stored.valid);
    assert_eq!(stored.satisfaction_score, Some(87.5));
    let mut last = response("last", UNIT_A, 1);
    last.collect_time = Some(prost_types::Timestamp {
        seconds: END - 1,
        nanos: 999_999_000,
    });
    submit(&mut env, &round, last).await.unwrap();
}

#[tokio::test]
async fn the_same_response_id_is_stored_once() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let first = submit(&mut env, &round, response("r-1", UNIT_A, 4))
        .await
        .unwrap();
    assert!(!first.duplicate);
    let again = submit(&mut env, &round, response("r-1", UNIT_A, 4))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.response, first.response);

    let err = submit(&mut env, &round, response("r-1", UNIT_B, 4))
        .await
        .unwrap_err();
    assert_violation(&err, Code::AlreadyExists, "response.response_id");
    let err = submit(&mut env, &round, response("r-1", UNIT_A, 5))
        .await
        .unwrap_err();
    assert_violation(&err, Code::AlreadyExists, "response.response_id");

    let r = results(&mut env, &round, "").await;
    assert_eq!((r.valid_responses, r.satisfaction_index), (1, Some(75.0)));
}

#[tokio::test]
async fn identity_and_mobile_numbers_are_masked_before_storage() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let mut r = response("masked", UNIT_A, 3);
    r.answers.push(answer(
        "q_comment",
        Value::Text(
            "请联系13812345678，身份证11010119900307123X，旧证110101900307123，门牌 12 号".into(),
        ),
    ));
    let stored = submit(&mut env, &round, r.clone())
        .await
        .unwrap()
        .response
        .unwrap();
    let text = match &stored.answers[2].value {
        Some(Value::Text(t)) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        text,
        "请联系***********，身份证******************，旧证***************，门牌 12 号"
    );
    let got = env
        .responses
        .get_response(pb::GetResponseRequest {
            name: stored.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert_eq!(got.answers, stored.answers);
    // The retry of the same body is still recognised.
    assert!(submit(&mut env, &round, r).await.unwrap().duplicate);
}

#[tokio::test]
async fn an_invalidated_response_stays_stored_but_leaves_the_results() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    submit(&mut env, &round, response("keep", UNIT_A, 5))
        .await
        .unwrap();
    let gone = submit(&mut env, &round, response("drop", UNIT_A, 1))
        .await
        .unwrap()
        .response
        .unwrap();
    let before = results(&mut env, &round, UNIT_A).await;
    assert_eq!(
        (before.valid_responses, before.satisfaction_index),
        (2, Some(50.0))
    );

    let err = env
        .responses
        .invalidate_response(pb::InvalidateResponseRequest {
            name: gone.name.clone(),
            reason: " ".into(),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "reason");
    let mut request = Request::new(pb::InvalidateResponseRequest {
        name: gone.name.clone(),
        reason: "同一住户重复作答".into(),
    });
    request
        .metadata_mut()
        .insert("x-shequ-actor", "official-110101".parse().unwrap());
    let invalid = env
        .responses
        .invalidate_response(request)
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert!(!invalid.valid);
    let record = invalid.invalidation.unwrap();
    assert_eq!(record.actor, "official-110101");
    assert_eq!(record.reason, "同一住户重复作答");
    assert!(record.time.unwrap().seconds > COLLECTED);
    assert_eq!(invalid.answers, gone.answers);

    let after = results(&mut env, &round, UNIT_A).await;
    assert_eq!(
        (after.valid_responses, after.satisfaction_index),
        (1, Some(100.0))
    );
    let overall = &after.questions[0];
    assert_eq!(
        overall
            .counts
            .iter()
            .map(|c| c.responses)
            .collect::<Vec<_>>(),
        [0, 0, 0, 0, 1]
    );

    let err = env
        .responses
        .invalidate_response(pb::InvalidateResponseRequest {
            name: gone.name.clone(),
            reason: "again".into(),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::FailedPrecondition, "name");
    // Resubmitting it does not bring it back.
    assert!(
        submit(&mut env, &round, response("drop", UNIT_A, 1))
            .await
            .unwrap()
            .duplicate
    );
    assert_eq!(results(&mut env, &round, UNIT_A).await.valid_responses, 1);

    let err = env
        .responses
        .invalidate_response(pb::InvalidateResponseRequest {
            name: format!("{round}/responses/missing"),
            reason: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = env
        .responses
        .get_response(pb::GetResponseRequest {
            name: "rounds/x/answers/y".into(),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "name");
}

#[tokio::test]
async fn responses_follow_the_rounds_version_not_the_draft() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let round_pb = env
        .rounds
        .get_round(pb::GetRoundRequest {
            name: round.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    // The draft drops the comment question; version 1 still has it.
    let mut edited = crate::questionnaire();
    edited.name = round_pb.questionnaire.clone();
    edited.questions.truncate(6);
    env.questionnaires
        .update_questionnaire(pb::UpdateQuestionnaireRequest {
            questionnaire: Some(edited),
        })
        .await
        .unwrap();
    env.questionnaires
        .publish_questionnaire(pb::PublishQuestionnaireRequest {
            name: round_pb.questionnaire,
        })
        .await
        .unwrap();
    let mut r = response("v1", UNIT_A, 4);
    r.answers
        .push(answer("q_comment", Value::Text("ok".into())));
    submit(&mut env, &round, r).await.unwrap();
}

/// Numbers typed with a Chinese input method (full-width digits, `＋`, `Ｘ`, the ideographic
/// space) are masked like ASCII ones; the body hash stays over the answers as sent.
#[tokio::test]
async fn full_width_numbers_are_masked_and_the_hash_covers_what_was_sent() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let sent = "电话＋８６　１３８　１２３４　５６７８，身份证１１０１０１１９９００３０７１２３Ｘ，\
                订单号１２３４５６７８９０１";
    let mut r = response("wide", UNIT_A, 4);
    r.answers
        .push(answer("q_comment", Value::Text(sent.into())));
    let stored = submit(&mut env, &round, r.clone())
        .await
        .unwrap()
        .response
        .unwrap();
    let masked =
        "电话＋８６　*************，身份证******************，订单号１２３４５６７８９０１";
    let text = |response: &pb::Response| match &response.answers[2].value {
        Some(Value::Text(t)) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(text(&stored), masked);
    let got = env
        .responses
        .get_response(pb::GetResponseRequest {
            name: stored.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert_eq!(text(&got), masked);
    // The retry of the same body is recognised; the masked text is another body.
    assert!(submit(&mut env, &round, r.clone()).await.unwrap().duplicate);
    r.answers[2] = answer("q_comment", Value::Text(masked.into()));
    let err = submit(&mut env, &round, r).await.unwrap_err();
    assert_violation(&err, Code::AlreadyExists, "response.response_id");
}
