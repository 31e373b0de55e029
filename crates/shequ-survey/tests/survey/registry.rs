//! The registry is the only source of where leaf units lie; when it cannot be reached, responses
//! for units not yet known are UNAVAILABLE, never INVALID_ARGUMENT. Units it gains after a round's
//! region loaded count without a restart, in every replica.

use shequ_proto::registry::v1 as registry_pb;
use shequ_proto::survey::v1 as pb;
use shequ_testkit::fixtures::SAMPLE;
use shequ_testkit::{Registry, Survey, TestService, survey_config};
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
        registry: TestService::registry().await.unwrap(),
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

/// A community of township 110101001 that the sample does not hold.
const NEW: &str = "divisions/110101001999";

/// Imports the sample again, as vintage 2024, with one more community in township 110101001.
async fn import_new_unit(registry: &TestService<Registry>) {
    use std::io::Read;

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
    registry
        .divisions()
        .await
        .unwrap()
        .import_divisions(tokio_stream::iter(requests))
        .await
        .unwrap();
}

/// The whole region's coverage (every short unit on one page), through `rounds`.
async fn coverage_of(
    rounds: &mut pb::round_service_client::RoundServiceClient<tonic::transport::Channel>,
    round: &str,
) -> pb::GetRoundCoverageResponse {
    rounds
        .get_round_coverage(pb::GetRoundCoverageRequest {
            round: round.into(),
            division: String::new(),
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Every leaf unit of the round's facts stream with its valid responses, through `rounds`.
async fn facts_of(
    rounds: &mut pb::round_service_client::RoundServiceClient<tonic::transport::Channel>,
    round: &str,
) -> std::collections::BTreeMap<u64, i64> {
    let mut stream = rounds
        .stream_round_facts(pb::StreamRoundFactsRequest {
            round: round.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut facts = std::collections::BTreeMap::new();
    while let Some(message) = stream.next().await {
        for f in message.unwrap().facts {
            facts.insert(f.code, f.valid_responses);
        }
    }
    facts
}

/// A leaf unit the registry gains after the round opened (and its region was loaded) is accepted
/// without a restart, and counted in coverage and the facts stream from then on.
#[tokio::test]
async fn a_leaf_unit_imported_after_opening_is_seen_without_a_restart() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let before = coverage_of(&mut env.rounds, &round).await;
    assert_eq!(before.leaf_units, crate::REGION_LEAF_UNITS);
    import_new_unit(&env.registry).await;
    submit(&mut env, &round, response("new", NEW, 4))
        .await
        .unwrap();
    let after = coverage_of(&mut env.rounds, &round).await;
    assert_eq!(after.leaf_units, crate::REGION_LEAF_UNITS + 1);
    assert_eq!(after.covered_leaf_units, 1);
    assert!(after.short_leaf_units.iter().all(|u| u.leaf_unit != NEW));
    let unit = crate::results(&mut env, &round, NEW).await;
    assert_eq!(unit.valid_responses, 1);
    let township = crate::results(&mut env, &round, "divisions/110101001").await;
    assert_eq!(township.valid_responses, 1);
    let facts = facts_of(&mut env.rounds, &round).await;
    assert_eq!(facts.len() as i64, crate::REGION_LEAF_UNITS + 1);
    assert_eq!(facts.get(&110101001999), Some(&1));
}

/// A response sent for a unit before the registry had it is refused; once the unit is imported,
/// the same response is accepted and counted without a restart (the refusal is not remembered).
#[tokio::test]
async fn a_unit_refused_before_its_import_is_accepted_after_it() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    assert_eq!(
        coverage_of(&mut env.rounds, &round).await.leaf_units,
        crate::REGION_LEAF_UNITS
    );
    let early = submit(&mut env, &round, response("early", NEW, 4))
        .await
        .unwrap_err();
    crate::assert_violation(&early, Code::InvalidArgument, "response.leaf_unit");
    import_new_unit(&env.registry).await;
    let accepted = submit(&mut env, &round, response("early", NEW, 4))
        .await
        .unwrap();
    assert!(!accepted.duplicate);
    let after = coverage_of(&mut env.rounds, &round).await;
    assert_eq!(after.leaf_units, crate::REGION_LEAF_UNITS + 1);
    assert_eq!(after.covered_leaf_units, 1);
    assert_eq!(
        crate::results(&mut env, &round, NEW).await.valid_responses,
        1
    );
    assert_eq!(
        crate::results(&mut env, &round, REGION)
            .await
            .valid_responses,
        1
    );
}

/// A replica that loaded the round's region before the registry gained a unit counts a response
/// another replica accepted for that unit: in its results, coverage and facts, without a restart.
#[tokio::test]
async fn a_replica_counts_a_unit_another_replica_accepted_after_its_import() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let replica = TestService::<Survey>::start_with(
        survey_config(env.survey.database.url(), &env.registry.endpoint()).unwrap(),
        env.survey.database.alias(),
    )
    .await
    .unwrap();
    let mut rounds = replica.rounds().await.unwrap();
    // The replica loads the round's region before the import.
    assert_eq!(
        coverage_of(&mut rounds, &round).await.leaf_units,
        crate::REGION_LEAF_UNITS
    );
    import_new_unit(&env.registry).await;
    submit(&mut env, &round, response("new", NEW, 4))
        .await
        .unwrap();

    let coverage = coverage_of(&mut rounds, &round).await;
    assert_eq!(coverage.covered_leaf_units, 1);
    assert_eq!(coverage.leaf_units, crate::REGION_LEAF_UNITS + 1);
    let unit = rounds
        .get_round_results(pb::GetRoundResultsRequest {
            round: round.clone(),
            division: NEW.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unit.valid_responses, 1);
    let facts = facts_of(&mut rounds, &round).await;
    assert_eq!(facts.len() as i64, crate::REGION_LEAF_UNITS + 1);
    assert_eq!(facts.get(&110101001999), Some(&1));
    replica.stop().await.unwrap();
}
