//! The registry is the only source of where leaf units lie; when it cannot be reached, responses
//! for units not yet known are UNAVAILABLE, never INVALID_ARGUMENT.

use shequ_proto::registry::v1 as registry_pb;
use shequ_proto::survey::v1 as pb;
use shequ_testkit::fixtures::SAMPLE;
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

/// A leaf unit the registry gains after the round opened (and its region was loaded) is accepted
/// without a restart, and counted in coverage and the facts stream from then on.
#[tokio::test]
async fn a_leaf_unit_imported_after_opening_is_seen_without_a_restart() {
    use std::io::Read;

    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let coverage = |division: &str| pb::GetRoundCoverageRequest {
        round: round.clone(),
        division: division.into(),
        page_size: 1000,
        page_token: String::new(),
    };
    let before = env
        .rounds
        .get_round_coverage(coverage(""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(before.leaf_units, crate::REGION_LEAF_UNITS);
    // Re-import the sample with one more community in township 110101001.
    const NEW: &str = "divisions/110101001999";
    let mut requests = Vec::new();
    for (file, bytes) in SAMPLE {
        let mut data = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut data)
            .unwrap();
        if file == registry_pb::DivisionFile::Villages {
            data.extend_from_slice(
                "110101001999,\"新建社区居委会\",110101001,11,1101,110101\n".as_bytes(),
            );
        }
        requests.push(registry_pb::ImportDivisionsRequest {
            vintage: if requests.is_empty() {
                "2024".into()
            } else {
                String::new()
            },
            file: file as i32,
            data,
            ..Default::default()
        });
    }
    env.registry
        .divisions()
        .await
        .unwrap()
        .import_divisions(tokio_stream::iter(requests))
        .await
        .unwrap();
    submit(&mut env, &round, response("new", NEW, 4))
        .await
        .unwrap();
    let after = env
        .rounds
        .get_round_coverage(coverage(""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.leaf_units, crate::REGION_LEAF_UNITS + 1);
    assert_eq!(after.covered_leaf_units, 1);
    assert!(after.short_leaf_units.iter().all(|u| u.leaf_unit != NEW));
    let unit = crate::results(&mut env, &round, NEW).await;
    assert_eq!(unit.valid_responses, 1);
    let township = crate::results(&mut env, &round, "divisions/110101001").await;
    assert_eq!(township.valid_responses, 1);
}
