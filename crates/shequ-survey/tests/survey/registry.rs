//! The registry is the only source of where leaf units lie; when it cannot be reached, responses
//! for units not yet known are UNAVAILABLE, never INVALID_ARGUMENT.

use shequ_proto::survey::v1 as pb;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::{OUTSIDE, REGION, UNIT_A, UNIT_B, env, open_round, published, response, round, submit};

#[tokio::test]
async fn an_unreachable_registry_is_unavailable_not_invalid() {
    let mut env = env().await;
    let round_name = open_round(&mut env, REGION, 1).await;
    let questionnaire = published(&mut env).await;
    submit(&mut env, &round_name, response("before", UNIT_A, 4))
        .await
        .unwrap();

    let crate::Env {
        registry, survey, ..
    } = env;
    registry.stop().await.unwrap();
    let mut env = crate::Env {
        questionnaires: survey.questionnaires().await.unwrap(),
        rounds: survey.rounds().await.unwrap(),
        responses: survey.responses().await.unwrap(),
        registry: shequ_testkit::TestRegistry::start().await.unwrap(),
        survey,
    };

    // Units of the loaded region are known without the registry.
    submit(&mut env, &round_name, response("known", UNIT_B, 4))
        .await
        .unwrap();
    // A unit outside the loaded map would need the registry.
    for unit in [OUTSIDE, "divisions/110101001999"] {
        let err = submit(&mut env, &round_name, response("unknown", unit, 4))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    }
    let mut stream = env
        .responses
        .bulk_submit_responses(tokio_stream::iter(vec![pb::BulkSubmitResponsesRequest {
            parent: round_name.clone(),
            responses: vec![response("ok", UNIT_A, 3), response("later", OUTSIDE, 3)],
        }]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stream.next().await.unwrap().unwrap_err().code(),
        Code::Unavailable
    );
    // Nothing of the failed batch was written.
    assert_eq!(
        crate::results(&mut env, &round_name, "")
            .await
            .valid_responses,
        2
    );

    // A round's region cannot be checked either.
    let err = env
        .rounds
        .create_round(pb::CreateRoundRequest {
            round: Some(round(&questionnaire, REGION, 1)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}
