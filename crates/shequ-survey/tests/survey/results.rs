//! Results, coverage, the facts stream and the CSV export on the sample subtree, against
//! expectations computed by hand.

use shequ_proto::common::v1 as common;
use shequ_proto::survey::v1 as pb;
use shequ_proto::survey::v1::answer::Value;
use shequ_testkit::fixtures::{self, SAMPLE};
use shequ_testkit::{Survey, TestDatabase, TestService, survey_config};
use tokio_stream::StreamExt;
use tonic::Code;

use crate::{
    OUTSIDE, REGION, REGION_LEAF_UNITS, UNIT_A, UNIT_B, UNIT_C, answer, assert_violation,
    open_round, rating, response, results, submit, with_survey,
};

/// A survey whose exports come in small chunks.
async fn env_with_small_chunks() -> crate::Env {
    let registry = TestService::registry().await.unwrap();
    fixtures::import(&mut registry.divisions().await.unwrap(), &SAMPLE, "2023")
        .await
        .unwrap();
    let database = TestDatabase::fresh().await.unwrap();
    let mut cfg = survey_config(database.url(), &registry.endpoint()).unwrap();
    cfg.survey.export_chunk_bytes = 1024;
    cfg.survey.facts_batch_size = 50;
    let survey = TestService::<Survey>::start_with(cfg, database)
        .await
        .unwrap();
    with_survey(registry, survey).await
}

/// A1: overall 5, elderly 4, health 1 (not counted), services elderly+health, 12 visits → 87.5.
/// A2: overall 3, not visited → 50. B1: overall 1, elderly 2, 3 visits → 12.5.
/// C1: overall 4 → 75, later invalidated.
async fn submit_sample(env: &mut crate::Env, round: &str) {
    let mut a1 = response("a1", UNIT_A, 5);
    a1.answers.extend([
        rating("q_elderly", 4),
        rating("q_health", 1),
        answer(
            "q_services",
            Value::OptionIds(pb::OptionIds {
                ids: vec!["elderly".into(), "health".into()],
            }),
        ),
        answer("q_visits", Value::Number(12.0)),
        answer("q_comment", Value::Text("电话 139 1234 5678".into())),
    ]);
    let mut a2 = response("a2", UNIT_A, 3);
    a2.answers[1] = answer("q_visited", Value::Yes(false));
    a2.channel = pb::Channel::Kiosk as i32;
    let mut b1 = response("b1", UNIT_B, 1);
    b1.answers.extend([
        rating("q_elderly", 2),
        answer("q_visits", Value::Number(3.0)),
    ]);
    let c1 = response("c1", UNIT_C, 4);
    for r in [a1, a2, b1, c1] {
        submit(env, round, r).await.unwrap();
    }
}

#[tokio::test]
async fn results_and_coverage_sum_up_the_hierarchy() {
    let mut env = env_with_small_chunks().await;
    let round = open_round(&mut env, REGION, 2).await;
    submit_sample(&mut env, &round).await;

    let region = results(&mut env, &round, "").await;
    assert_eq!(region.division, "divisions/110101000000");
    assert_eq!((region.valid_responses, region.scored_responses), (4, 4));
    assert_eq!(region.satisfaction_index, Some(56.25));

    env.responses
        .invalidate_response(pb::InvalidateResponseRequest {
            name: format!("{round}/responses/c1"),
            reason: "collected outside the unit".into(),
        })
        .await
        .unwrap();

    let region = results(&mut env, &round, REGION).await;
    assert_eq!((region.valid_responses, region.scored_responses), (3, 3));
    assert_eq!(region.satisfaction_index, Some(50.0));
    let counts = |q: &pb::QuestionResults| -> Vec<(String, i64)> {
        q.counts
            .iter()
            .map(|c| (c.answer.clone(), c.responses))
            .collect()
    };
    let by_id = |id: &str| {
        region
            .questions
            .iter()
            .find(|q| q.question_id == id)
            .unwrap()
            .clone()
    };
    assert_eq!(region.questions.len(), 8);
    let overall = by_id("q_overall");
    assert_eq!(overall.answered, 3);
    assert_eq!(
        counts(&overall),
        [("1", 1), ("2", 0), ("3", 1), ("4", 0), ("5", 1)].map(|(a, n)| (a.to_owned(), n))
    );
    let visited = by_id("q_visited");
    assert_eq!(
        counts(&visited),
        [("yes".to_owned(), 2), ("no".to_owned(), 1)]
    );
    let services = by_id("q_services");
    assert_eq!(services.answered, 1);
    assert_eq!(
        counts(&services),
        [("elderly", 1), ("health", 1), ("childcare", 0)].map(|(a, n)| (a.to_owned(), n))
    );
    assert_eq!(by_id("q_channel").answered, 0);
    let visits = by_id("q_visits");
    assert_eq!((visits.answered, visits.mean), (2, Some(7.5)));
    assert_eq!(
        (by_id("q_comment").answered, by_id("q_comment").mean),
        (1, None)
    );
    assert_eq!(
        region
            .dimensions
            .iter()
            .map(|d| (d.dimension, d.answers, d.satisfaction_index))
            .collect::<Vec<_>>(),
        [
            (common::ServiceKind::ElderlyCare as i32, 2, Some(50.0)),
            (common::ServiceKind::Health as i32, 1, Some(0.0)),
        ]
    );

    let township = results(&mut env, &round, "divisions/110101001").await;
    assert_eq!(
        (township.valid_responses, township.satisfaction_index),
        (3, Some(50.0))
    );
    let unit = results(&mut env, &round, UNIT_A).await;
    assert_eq!(
        (unit.valid_responses, unit.satisfaction_index),
        (2, Some(68.75))
    );
    let empty = results(&mut env, &round, "divisions/110101002").await;
    assert_eq!((empty.valid_responses, empty.satisfaction_index), (0, None));
    for outside in [OUTSIDE, "divisions/429004", "divisions/11"] {
        let err = env
            .rounds
            .get_round_results(pb::GetRoundResultsRequest {
                round: round.clone(),
                division: outside.into(),
            })
            .await
            .unwrap_err();
        assert_violation(&err, Code::InvalidArgument, "division");
    }

    // Coverage: only A reached the minimum of 2.
    let coverage = |division: &str, page_token: &str| pb::GetRoundCoverageRequest {
        round: round.clone(),
        division: division.into(),
        page_size: 100,
        page_token: page_token.into(),
    };
    let first = env
        .rounds
        .get_round_coverage(coverage("", ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (first.covered_leaf_units, first.leaf_units),
        (1, REGION_LEAF_UNITS)
    );
    assert!((first.coverage - 1.0 / 169.0).abs() < 1e-12);
    assert_eq!(first.short_leaf_units.len(), 100);
    assert_eq!(first.short_leaf_units[0].leaf_unit, UNIT_B);
    assert_eq!(first.short_leaf_units[0].valid_responses, 1);
    let second = env
        .rounds
        .get_round_coverage(coverage("", &first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.short_leaf_units.len(), 68);
    assert!(second.next_page_token.is_empty());
    assert!(second.short_leaf_units[0].leaf_unit > first.short_leaf_units[99].leaf_unit);
    let township = env
        .rounds
        .get_round_coverage(coverage("divisions/110101001", ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((township.covered_leaf_units, township.leaf_units), (1, 10));
    assert_eq!(township.short_leaf_units.len(), 9);
    let err = env
        .rounds
        .get_round_coverage(coverage("divisions/110101002", &first.next_page_token))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "page_token");

    // Facts: every leaf unit of the region, with or without responses, in batches of 50.
    let mut stream = env
        .rounds
        .stream_round_facts(pb::StreamRoundFactsRequest {
            round: round.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut facts = Vec::new();
    let mut batches = 0;
    let mut minimum = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        if batches == 0 {
            minimum = batch.min_valid_responses;
        }
        batches += 1;
        facts.extend(batch.facts);
    }
    assert_eq!(
        (facts.len() as i64, batches, minimum),
        (REGION_LEAF_UNITS, 4, 2)
    );
    assert!(facts.windows(2).all(|w| w[0].code < w[1].code));
    let a = facts.iter().find(|f| f.code == 110_101_001_001).unwrap();
    assert_eq!(
        (a.province, a.prefecture, a.county, a.township),
        (
            110_000_000_000,
            110_100_000_000,
            110_101_000_000,
            110_101_001_000
        )
    );
    assert_eq!(
        (a.valid_responses, a.scored_responses, a.score_sum),
        (2, 2, 137.5)
    );
    let c = facts.iter().find(|f| f.code == 110_101_002_001).unwrap();
    assert_eq!(
        (c.valid_responses, c.scored_responses, c.score_sum),
        (0, 0, 0.0)
    );
    assert_eq!(facts.iter().map(|f| f.valid_responses).sum::<i64>(), 3);

    // Export: every response, invalid ones marked, free text masked.
    let csv = export(&mut env, &round).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "response_id,leaf_unit,channel,collect_time,valid,q_overall,q_elderly,q_health,q_channel,q_services,q_visited,q_visits,q_comment"
    );
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[1],
        "a1,divisions/110101001001,online,2025-06-15T15:06:40Z,true,5,4,1,,elderly;health,yes,12,电话 *************"
    );
    assert_eq!(
        lines[2],
        "a2,divisions/110101001001,kiosk,2025-06-15T15:06:40Z,true,3,,,,,no,,"
    );
    assert!(lines[4].starts_with("c1,divisions/110101002001,online,2025-06-15T15:06:40Z,false,4,"));
}

async fn export(env: &mut crate::Env, round: &str) -> String {
    let mut stream = env
        .rounds
        .export_responses(pb::ExportResponsesRequest {
            round: round.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut data = Vec::new();
    while let Some(chunk) = stream.next().await {
        data.extend(chunk.unwrap().data);
    }
    String::from_utf8(data).unwrap()
}

#[tokio::test]
async fn large_exports_come_in_bounded_chunks() {
    let mut env = env_with_small_chunks().await;
    let round = open_round(&mut env, REGION, 1).await;
    let responses: Vec<pb::Response> = (0..1200)
        .map(|i| response(&format!("r{i:05}"), UNIT_A, 1 + i % 5))
        .collect();
    let mut client = env.survey.responses().await.unwrap();
    let requests: Vec<pb::BulkSubmitResponsesRequest> = responses
        .chunks(400)
        .map(|c| pb::BulkSubmitResponsesRequest {
            parent: round.clone(),
            responses: c.to_vec(),
        })
        .collect();
    let mut acks = client
        .bulk_submit_responses(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    while let Some(ack) = acks.next().await {
        assert!(
            ack.unwrap()
                .results
                .iter()
                .all(|r| r.outcome == pb::SubmitOutcome::Accepted as i32)
        );
    }
    let unit = results(&mut env, &round, UNIT_A).await;
    assert_eq!(
        (unit.valid_responses, unit.satisfaction_index),
        (1200, Some(50.0))
    );

    let mut stream = env
        .rounds
        .export_responses(pb::ExportResponsesRequest {
            round: round.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut chunks = 0;
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap().data;
        assert!(chunk.len() < 2048, "chunk of {} bytes", chunk.len());
        chunks += 1;
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(chunks > 10);
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids.len(), 1200);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

/// A round with an empty region covers the whole country: leaf units of every province are
/// accepted, and results, coverage and facts are for the country or any division in it.
#[tokio::test]
async fn a_national_round_covers_the_whole_country() {
    let mut env = crate::env().await;
    let round = open_round(&mut env, "", 1).await;
    let got = env
        .rounds
        .get_round(pb::GetRoundRequest {
            name: round.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(got.region, "", "a national round has no region");
    submit(&mut env, &round, response("a1", UNIT_A, 5))
        .await
        .unwrap();
    submit(&mut env, &round, response("o1", OUTSIDE, 1))
        .await
        .unwrap();
    submit(&mut env, &round, response("o2", OUTSIDE, 2))
        .await
        .unwrap();
    let country = results(&mut env, &round, "").await;
    assert_eq!(country.division, "");
    assert_eq!(country.valid_responses, 3);
    assert_eq!(country.scored_responses, 3);
    // Overall 5, 1, 2 → 100, 0, 25.
    assert_eq!(country.satisfaction_index, Some(125.0 / 3.0));
    let beijing = results(&mut env, &round, REGION).await;
    assert_eq!(beijing.valid_responses, 1);
    assert_eq!(beijing.satisfaction_index, Some(100.0));
    let hubei = results(&mut env, &round, "divisions/42").await;
    assert_eq!(hubei.division, "divisions/420000000000");
    assert_eq!(hubei.valid_responses, 2);
    let unit = results(&mut env, &round, OUTSIDE).await;
    assert_eq!(unit.valid_responses, 2);
    let overall = unit
        .questions
        .iter()
        .find(|q| q.question_id == "q_overall")
        .unwrap();
    let counts: Vec<i64> = overall.counts.iter().map(|c| c.responses).collect();
    assert_eq!(counts, vec![1, 1, 0, 0, 0]);
    // Coverage of the country: every leaf unit of the sample, two of them covered.
    let mut facts = 0i64;
    let mut valid = 0i64;
    let mut stream = env
        .rounds
        .stream_round_facts(pb::StreamRoundFactsRequest {
            round: round.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    while let Some(batch) = stream.next().await {
        for f in batch.unwrap().facts {
            facts += 1;
            valid += f.valid_responses;
        }
    }
    assert_eq!(valid, 3);
    assert!(
        facts > REGION_LEAF_UNITS,
        "{facts} leaf units in the country"
    );
    let coverage = env
        .rounds
        .get_round_coverage(pb::GetRoundCoverageRequest {
            round: round.clone(),
            division: String::new(),
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(coverage.division, "");
    assert_eq!(coverage.leaf_units, facts);
    assert_eq!(coverage.covered_leaf_units, 2);
    let short_listed = coverage.short_leaf_units.len() as i64;
    assert!(short_listed == (facts - 2).min(1000));
    assert!(
        coverage
            .short_leaf_units
            .iter()
            .all(|u| u.leaf_unit != UNIT_A && u.leaf_unit != OUTSIDE)
    );
    // Invalidating one of Hubei's responses takes it out of every level.
    env.responses
        .invalidate_response(pb::InvalidateResponseRequest {
            name: format!("{round}/responses/o1"),
            reason: "重复提交".into(),
        })
        .await
        .unwrap();
    assert_eq!(results(&mut env, &round, "").await.valid_responses, 2);
    assert_eq!(
        results(&mut env, &round, "divisions/42")
            .await
            .satisfaction_index,
        Some(25.0)
    );
}

/// Two survey instances on one database fold the same round while both take batches and answer
/// reads: every response is counted exactly once, whichever replica folded it, and each read
/// already sees every batch acknowledged before it.
#[tokio::test]
async fn two_replicas_fold_one_round_exactly_once() {
    let mut env = crate::env().await;
    let round = open_round(&mut env, REGION, 30).await;
    let replica = TestService::<Survey>::start_with(
        survey_config(env.survey.database.url(), &env.registry.endpoint()).unwrap(),
        env.survey.database.alias(),
    )
    .await
    .unwrap();
    let mut clients = [
        (env.responses.clone(), env.rounds.clone()),
        (
            replica.responses().await.unwrap(),
            replica.rounds().await.unwrap(),
        ),
    ];
    // 40 responses for A, 29 for B and 31 for C (minimum 30: A and C covered), a rating of
    // 1 + i % 5 each, in batches of 10 alternating between the replicas, each followed by a
    // read on the other replica.
    let units = [(UNIT_A, 40), (UNIT_B, 29), (UNIT_C, 31)];
    let all: Vec<pb::Response> = units
        .iter()
        .flat_map(|(unit, n)| {
            (0..*n).map(move |i| response(&format!("{}-{i}", &unit[10..]), unit, 1 + i % 5))
        })
        .collect();
    let mut sent = 0i64;
    for (b, chunk) in all.chunks(10).enumerate() {
        let (writer, _) = &mut clients[b % 2];
        let mut acks = writer
            .bulk_submit_responses(tokio_stream::iter([pb::BulkSubmitResponsesRequest {
                parent: round.clone(),
                responses: chunk.to_vec(),
            }]))
            .await
            .unwrap()
            .into_inner();
        let ack = acks.next().await.unwrap().unwrap();
        assert!(
            ack.results
                .iter()
                .all(|r| r.outcome == pb::SubmitOutcome::Accepted as i32),
            "{ack:?}"
        );
        sent += chunk.len() as i64;
        let (_, reader) = &mut clients[(b + 1) % 2];
        let seen = reader
            .get_round_results(pb::GetRoundResultsRequest {
                round: round.clone(),
                division: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(seen.valid_responses, sent, "after batch {b}");
    }
    // Score of rating r is 25 (r - 1); per unit the ratings cycle 1..5, so ratings 1 to 5 are
    // given 8 + 6 + 7, 8 + 6 + 6, 8 + 6 + 6, 8 + 6 + 6 and 8 + 5 + 6 times.
    let expected_sum = |n: i32| (0..n).map(|i| f64::from(i % 5) * 25.0).sum::<f64>();
    for (_, reader) in &mut clients {
        let region = reader
            .get_round_results(pb::GetRoundResultsRequest {
                round: round.clone(),
                division: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(region.valid_responses, 100);
        let total: f64 = units.iter().map(|(_, n)| expected_sum(*n)).sum();
        assert_eq!(region.satisfaction_index, Some(total / 100.0));
        let overall = &region.questions[0];
        assert_eq!(
            overall
                .counts
                .iter()
                .map(|c| c.responses)
                .collect::<Vec<_>>(),
            vec![21, 20, 20, 20, 19]
        );
        for (unit, n) in units {
            let leaf = reader
                .get_round_results(pb::GetRoundResultsRequest {
                    round: round.clone(),
                    division: unit.into(),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(leaf.valid_responses, i64::from(n), "{unit}");
            assert_eq!(
                leaf.satisfaction_index,
                Some(expected_sum(n) / f64::from(n)),
                "{unit}"
            );
        }
        let coverage = first_coverage_page(reader, &round, "").await;
        assert_eq!(coverage.covered_leaf_units, 2);
        let township = first_coverage_page(reader, &round, "divisions/110101001").await;
        assert_eq!(township.covered_leaf_units, 1);
    }
    replica.stop().await.unwrap();
}

/// Migration 4 drops the tallies and pending deltas of the earlier encoding and marks every
/// round with responses; the next process rebuilds them from the stored responses, so results
/// and coverage come back exactly as they were.
#[tokio::test]
async fn tallies_dropped_by_migration_4_are_rebuilt_from_the_responses() {
    use sea_orm::ConnectionTrait as _;
    let mut env = crate::env().await;
    let round = open_round(&mut env, REGION, 1).await;
    submit_sample(&mut env, &round).await;
    let region = results(&mut env, &round, "").await;
    let leaf = results(&mut env, &round, UNIT_A).await;
    assert_eq!(region.valid_responses, 4);

    let migration = shequ_survey::store::migrations::MIGRATIONS
        .iter()
        .find(|m| m.version == 4)
        .unwrap();
    let db = sea_orm::Database::connect(env.survey.database.url())
        .await
        .unwrap();
    let sql = if env.survey.database.is_postgres() {
        migration.postgres
    } else {
        migration.sqlite
    };
    db.execute_unprepared(sql).await.unwrap();
    assert_eq!(scalar(&db, "SELECT count(*) FROM survey_tallies").await, 0);
    db.close().await.unwrap();

    let replica = TestService::<Survey>::start_with(
        survey_config(env.survey.database.url(), &env.registry.endpoint()).unwrap(),
        env.survey.database.alias(),
    )
    .await
    .unwrap();
    let mut rounds = replica.rounds().await.unwrap();
    let again = |division: &str| pb::GetRoundResultsRequest {
        round: round.clone(),
        division: division.into(),
    };
    let rebuilt = rounds
        .get_round_results(again(""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rebuilt, region);
    let rebuilt_leaf = rounds
        .get_round_results(again(UNIT_A))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rebuilt_leaf, leaf);
    let coverage = first_coverage_page(&mut rounds, &round, "").await;
    assert_eq!(coverage.covered_leaf_units, 3);
    replica.stop().await.unwrap();
}

/// A single-value query straight against the survey's database.
async fn scalar(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait as _;
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql,
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index::<i64>(0)
    .unwrap()
}

/// The first coverage page (of one short unit) of `division` ("": the region), through `rounds`.
async fn first_coverage_page(
    rounds: &mut pb::round_service_client::RoundServiceClient<tonic::transport::Channel>,
    round: &str,
    division: &str,
) -> pb::GetRoundCoverageResponse {
    rounds
        .get_round_coverage(pb::GetRoundCoverageRequest {
            round: round.into(),
            division: division.into(),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// The results of a round's whole region, through `rounds`.
async fn region_of(
    rounds: &mut pb::round_service_client::RoundServiceClient<tonic::transport::Channel>,
    round: &str,
) -> pb::GetRoundResultsResponse {
    rounds
        .get_round_results(pb::GetRoundResultsRequest {
            round: round.into(),
            division: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// A replica that holds a round's live tallies while another replica folds twice (so the
/// deltas it had not yet read are deleted) notices, loads the tallies again and still counts
/// every response once; a replica started afterwards loads stored tallies plus pending deltas
/// and answers exactly as the one that took the responses.
#[tokio::test]
async fn a_replica_left_behind_by_the_fold_loads_its_tallies_again() {
    let mut env = crate::env().await;
    let round = open_round(&mut env, REGION, 2).await;
    let config = survey_config(env.survey.database.url(), &env.registry.endpoint()).unwrap();
    let alias = env.survey.database.alias();
    let start_replica = || async {
        TestService::<Survey>::start_with(config.clone(), alias.alias())
            .await
            .unwrap()
    };
    let behind = start_replica().await;
    let mut behind_rounds = behind.rounds().await.unwrap();
    assert_eq!(
        region_of(&mut behind_rounds, &round).await.valid_responses,
        0
    );

    // Three responses, each folded at once (a leaf unit's results fold first): the fold's
    // deletions pass the position of the replica that has not looked since.
    for (i, unit) in [UNIT_A, UNIT_B, UNIT_A].into_iter().enumerate() {
        submit(&mut env, &round, response(&format!("r{i}"), unit, 5))
            .await
            .unwrap();
        results(&mut env, &round, unit).await;
    }
    let db = sea_orm::Database::connect(env.survey.database.url())
        .await
        .unwrap();
    assert!(scalar(&db, "SELECT max(deleted_seq) FROM survey_tally_positions").await > 0);
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM survey_tally_deltas d JOIN survey_tally_positions p ON p.round_id = d.round_id WHERE d.seq <= p.deleted_seq").await,
        0,
        "deltas up to the deletion horizon are gone"
    );

    let expected = results(&mut env, &round, "").await;
    assert_eq!(expected.valid_responses, 3);
    assert_eq!(region_of(&mut behind_rounds, &round).await, expected);

    // One more response left unfolded for a replica that starts now.
    submit(&mut env, &round, response("r3", UNIT_C, 1))
        .await
        .unwrap();
    let fresh = start_replica().await;
    let mut fresh_rounds = fresh.rounds().await.unwrap();
    let expected = results(&mut env, &round, "").await;
    assert_eq!(expected.valid_responses, 4);
    for rounds in [&mut fresh_rounds, &mut behind_rounds] {
        assert_eq!(region_of(rounds, &round).await, expected);
        let township = rounds
            .get_round_results(pb::GetRoundResultsRequest {
                round: round.clone(),
                division: "divisions/110101001".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(township.valid_responses, 3);
        let coverage = first_coverage_page(rounds, &round, "").await;
        // UNIT_A has two responses (the minimum); UNIT_B and UNIT_C one each.
        assert_eq!(coverage.covered_leaf_units, 1);
    }
    db.close().await.unwrap();
    fresh.stop().await.unwrap();
    behind.stop().await.unwrap();
}
