//! Bulk submission over a bidirectional stream: results only after commit, exactly once across a
//! broken stream and full resends.

use shequ_proto::survey::v1 as pb;
use shequ_proto::survey::v1::response_service_client::ResponseServiceClient;
use shequ_testkit::proxy::TcpProxy;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use crate::{REGION, UNIT_A, assert_violation, env, open_round, response, results};

/// Three batches of five responses for five different units of township 110101001.
fn batches(round: &str) -> Vec<pb::BulkSubmitResponsesRequest> {
    let units = [
        "divisions/110101001001",
        "divisions/110101001002",
        "divisions/110101001005",
        "divisions/110101001006",
        "divisions/110101001007",
    ];
    (0..3)
        .map(|b| pb::BulkSubmitResponsesRequest {
            parent: round.into(),
            responses: units
                .iter()
                .enumerate()
                .map(|(i, unit)| response(&format!("b{b}-r{i}"), unit, 1 + (b + i as i32) % 5))
                .collect(),
        })
        .collect()
}

fn outcomes(response: &pb::BulkSubmitResponsesResponse) -> Vec<pb::SubmitOutcome> {
    response
        .results
        .iter()
        .map(|r| pb::SubmitOutcome::try_from(r.outcome).unwrap())
        .collect()
}

async fn send_all(
    client: &mut ResponseServiceClient<Channel>,
    requests: Vec<pb::BulkSubmitResponsesRequest>,
) -> Vec<pb::BulkSubmitResponsesResponse> {
    let mut stream = client
        .bulk_submit_responses(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(message) = stream.next().await {
        out.push(message.unwrap());
    }
    out
}

#[tokio::test]
async fn a_broken_stream_keeps_what_was_acknowledged_and_a_resend_stores_nothing_twice() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let all = batches(&round);

    // Through a proxy that can be cut, send two batches one at a time and read their results.
    let proxy = TcpProxy::start(env.survey.addr).await.unwrap();
    let channel = Endpoint::from_shared(format!("http://{}", proxy.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ResponseServiceClient::new(channel);
    let (tx, rx) = mpsc::channel(4);
    let mut acks = client
        .bulk_submit_responses(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    for batch in &all[..2] {
        tx.send(batch.clone()).await.unwrap();
        let ack = acks.next().await.unwrap().unwrap();
        assert_eq!(outcomes(&ack), vec![pb::SubmitOutcome::Accepted; 5]);
    }
    // The connection breaks; the third batch is sent into the broken stream and never answered.
    proxy.cut();
    assert!(matches!(acks.next().await, Some(Err(_)) | None));
    let _ = tx.send(all[2].clone()).await;
    drop((tx, acks, client));

    let stored = results(&mut env, &round, "").await;
    assert_eq!(stored.valid_responses, 10);
    let missing = env
        .responses
        .get_response(pb::GetResponseRequest {
            name: format!("{round}/responses/b2-r0"),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // The client reconnects and resends everything: the first two batches are duplicates.
    let mut direct = env.survey.responses().await.unwrap();
    let acks = send_all(&mut direct, all.clone()).await;
    assert_eq!(acks.len(), 3);
    assert_eq!(outcomes(&acks[0]), vec![pb::SubmitOutcome::Duplicate; 5]);
    assert_eq!(outcomes(&acks[1]), vec![pb::SubmitOutcome::Duplicate; 5]);
    assert_eq!(outcomes(&acks[2]), vec![pb::SubmitOutcome::Accepted; 5]);
    let after = results(&mut env, &round, "").await;
    assert_eq!(after.valid_responses, 15);

    // A second full resend changes nothing at all.
    let acks = send_all(&mut direct, all).await;
    assert!(
        acks.iter()
            .all(|a| outcomes(a) == vec![pb::SubmitOutcome::Duplicate; 5])
    );
    let again = results(&mut env, &round, "").await;
    assert_eq!(again, after);
    let coverage = env
        .rounds
        .get_round_coverage(pb::GetRoundCoverageRequest {
            round: round.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(coverage.covered_leaf_units, 5);
}

#[tokio::test]
async fn each_response_of_a_batch_gets_its_own_result() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let mut client = env.survey.responses().await.unwrap();
    submit_one(&mut env, &round).await;

    let mut bad = response("bad", UNIT_A, 7);
    bad.channel = 0;
    let batch = pb::BulkSubmitResponsesRequest {
        parent: round.clone(),
        responses: vec![
            response("new", UNIT_A, 4),
            response("new", UNIT_A, 4),
            response("new", UNIT_A, 2),
            response("stored", UNIT_A, 5),
            response("stored", UNIT_A, 1),
            bad,
        ],
    };
    let acks = send_all(&mut client, vec![batch]).await;
    use pb::SubmitOutcome::*;
    assert_eq!(
        outcomes(&acks[0]),
        [Accepted, Duplicate, Rejected, Duplicate, Rejected, Rejected]
    );
    let results_ = &acks[0].results;
    assert_eq!(results_[2].code, Code::AlreadyExists as i32);
    assert_eq!(results_[2].field_violations[0].field, "response_id");
    assert_eq!(results_[4].code, Code::AlreadyExists as i32);
    assert_eq!(results_[5].code, Code::InvalidArgument as i32);
    let fields: Vec<&str> = results_[5]
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert!(
        fields.contains(&"channel") && fields.contains(&"answers[0].rating"),
        "{fields:?}"
    );
    assert_eq!(results(&mut env, &round, "").await.valid_responses, 2);

    // A stream may not switch rounds, and a batch may not be too large.
    let mut stream = client
        .bulk_submit_responses(tokio_stream::iter(vec![
            pb::BulkSubmitResponsesRequest {
                parent: round.clone(),
                responses: vec![],
            },
            pb::BulkSubmitResponsesRequest {
                parent: "rounds/other".into(),
                responses: vec![],
            },
        ]))
        .await
        .unwrap()
        .into_inner();
    assert!(stream.next().await.unwrap().unwrap().results.is_empty());
    assert_violation(
        &stream.next().await.unwrap().unwrap_err(),
        Code::InvalidArgument,
        "parent",
    );
    let huge = pb::BulkSubmitResponsesRequest {
        parent: round.clone(),
        responses: (0..1001)
            .map(|i| response(&format!("h{i}"), UNIT_A, 3))
            .collect(),
    };
    let mut stream = client
        .bulk_submit_responses(tokio_stream::iter(vec![huge]))
        .await
        .unwrap()
        .into_inner();
    assert_violation(
        &stream.next().await.unwrap().unwrap_err(),
        Code::InvalidArgument,
        "responses",
    );
}

async fn submit_one(env: &mut crate::Env, round: &str) {
    crate::submit(env, round, response("stored", UNIT_A, 5))
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_streams_with_the_same_responses_store_each_once() {
    let mut env = env().await;
    let round = open_round(&mut env, REGION, 1).await;
    let all = batches(&round);
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let mut client = env.survey.responses().await.unwrap();
        let requests = all.clone();
        tasks.push(tokio::spawn(async move {
            send_all(&mut client, requests).await
        }));
    }
    let mut accepted = std::collections::HashMap::<String, usize>::new();
    for task in tasks {
        for ack in task.await.unwrap() {
            for r in ack.results {
                let outcome = pb::SubmitOutcome::try_from(r.outcome).unwrap();
                assert!(
                    matches!(
                        outcome,
                        pb::SubmitOutcome::Accepted | pb::SubmitOutcome::Duplicate
                    ),
                    "{r:?}"
                );
                if outcome == pb::SubmitOutcome::Accepted {
                    *accepted.entry(r.response_id).or_default() += 1;
                }
            }
        }
    }
    assert_eq!(accepted.len(), 15);
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    let stored = results(&mut env, &round, "").await;
    assert_eq!(stored.valid_responses, 15);
    assert_eq!(
        stored.questions[0]
            .counts
            .iter()
            .map(|c| c.responses)
            .sum::<i64>(),
        15
    );
}
