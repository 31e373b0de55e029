//! Listing questionnaires and rounds: pages that resume where they stopped, filters by state.

use shequ_proto::survey::v1 as pb;
use tonic::Code;

use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use tonic::transport::Channel;

use crate::{REGION, assert_violation, env, published, questionnaire, round};

#[tokio::test]
async fn questionnaires_are_listed_in_pages_and_by_state() {
    let mut env = env().await;
    let first = published(&mut env).await;
    let mut drafts = Vec::new();
    for _ in 0..2 {
        drafts.push(
            env.questionnaires
                .create_questionnaire(pb::CreateQuestionnaireRequest {
                    questionnaire: Some(questionnaire()),
                })
                .await
                .unwrap()
                .into_inner()
                .questionnaire
                .unwrap()
                .name,
        );
    }
    let second = published(&mut env).await;
    let list = |state: pb::QuestionnaireState, page_size: i32, page_token: String| {
        pb::ListQuestionnairesRequest {
            page_size,
            page_token,
            state: state as i32,
        }
    };
    // Every questionnaire, two a page, in creation order.
    let mut names = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = env
            .questionnaires
            .list_questionnaires(list(pb::QuestionnaireState::Unspecified, 2, token))
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.questionnaires.len() <= 2);
        for q in &page.questionnaires {
            assert_eq!(q.version, 0, "the draft is listed");
            assert!(!q.questions.is_empty());
        }
        names.extend(page.questionnaires.into_iter().map(|q| q.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    let mut expected = vec![
        first.clone(),
        drafts[0].clone(),
        drafts[1].clone(),
        second.clone(),
    ];
    expected.sort();
    assert_eq!(names, expected);
    // By state.
    let published_only = env
        .questionnaires
        .list_questionnaires(list(pb::QuestionnaireState::Published, 0, String::new()))
        .await
        .unwrap()
        .into_inner();
    let mut want = vec![first, second];
    want.sort();
    assert_eq!(
        published_only
            .questionnaires
            .iter()
            .map(|q| q.name.clone())
            .collect::<Vec<_>>(),
        want
    );
    assert!(
        published_only
            .questionnaires
            .iter()
            .all(|q| q.latest_version == 1)
    );
    let unpublished = env
        .questionnaires
        .list_questionnaires(list(pb::QuestionnaireState::Unpublished, 0, String::new()))
        .await
        .unwrap()
        .into_inner();
    let mut want = drafts.clone();
    want.sort();
    assert_eq!(
        unpublished
            .questionnaires
            .iter()
            .map(|q| q.name.clone())
            .collect::<Vec<_>>(),
        want
    );
    assert!(unpublished.next_page_token.is_empty());
    // A token from another query, a negative page size and an unknown state are refused.
    let page = env
        .questionnaires
        .list_questionnaires(list(pb::QuestionnaireState::Unspecified, 1, String::new()))
        .await
        .unwrap()
        .into_inner();
    let err = env
        .questionnaires
        .list_questionnaires(list(
            pb::QuestionnaireState::Published,
            1,
            page.next_page_token,
        ))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "page_token");
    let err = env
        .questionnaires
        .list_questionnaires(list(pb::QuestionnaireState::Unspecified, -1, String::new()))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "page_size");
    let err = env
        .questionnaires
        .list_questionnaires(pb::ListQuestionnairesRequest {
            state: 9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "state");
}

#[tokio::test]
async fn rounds_are_listed_in_pages_by_state_and_questionnaire() {
    let mut env = env().await;
    let q1 = published(&mut env).await;
    let q2 = published(&mut env).await;
    let mut created = Vec::new();
    for q in [&q1, &q1, &q1, &q2] {
        created.push(
            env.rounds
                .create_round(pb::CreateRoundRequest {
                    round: Some(round(q, REGION, 1)),
                })
                .await
                .unwrap()
                .into_inner()
                .round
                .unwrap()
                .name,
        );
    }
    env.rounds
        .open_round(pb::OpenRoundRequest {
            name: created[1].clone(),
        })
        .await
        .unwrap();
    env.rounds
        .open_round(pb::OpenRoundRequest {
            name: created[2].clone(),
        })
        .await
        .unwrap();
    env.rounds
        .close_round(pb::CloseRoundRequest {
            name: created[2].clone(),
        })
        .await
        .unwrap();
    let mut all = created.clone();
    all.sort();
    assert_eq!(
        round_names(&mut env.rounds, pb::RoundState::Unspecified, "", 3).await,
        all
    );
    assert_eq!(
        round_names(&mut env.rounds, pb::RoundState::Unspecified, "", 1).await,
        all
    );
    let mut drafts = vec![created[0].clone(), created[3].clone()];
    drafts.sort();
    assert_eq!(
        round_names(&mut env.rounds, pb::RoundState::Draft, "", 1).await,
        drafts
    );
    assert_eq!(
        round_names(&mut env.rounds, pb::RoundState::Open, "", 0).await,
        vec![created[1].clone()]
    );
    assert_eq!(
        round_names(&mut env.rounds, pb::RoundState::Closed, "", 0).await,
        vec![created[2].clone()]
    );
    let mut of_q1 = created[..3].to_vec();
    of_q1.sort();
    assert_eq!(
        round_names(&mut env.rounds, pb::RoundState::Unspecified, &q1, 2).await,
        of_q1
    );
    assert_eq!(
        round_names(&mut env.rounds, pb::RoundState::Draft, &q2, 0).await,
        vec![created[3].clone()]
    );
    assert!(
        round_names(&mut env.rounds, pb::RoundState::Open, &q2, 0)
            .await
            .is_empty()
    );
    let err = env
        .rounds
        .list_rounds(pb::ListRoundsRequest {
            questionnaire: "rounds/x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "questionnaire");
    let err = env
        .rounds
        .list_rounds(pb::ListRoundsRequest {
            state: 7,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "state");
}

/// Every round a listing yields, page after page, checking each page's size and states.
async fn round_names(
    rounds: &mut RoundServiceClient<Channel>,
    state: pb::RoundState,
    questionnaire: &str,
    page_size: i32,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = rounds
            .list_rounds(pb::ListRoundsRequest {
                page_size,
                page_token: token,
                state: state as i32,
                questionnaire: questionnaire.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        if page_size > 0 {
            assert!(page.rounds.len() <= page_size as usize);
        }
        for r in &page.rounds {
            if state != pb::RoundState::Unspecified {
                assert_eq!(r.state, state as i32);
            }
        }
        out.extend(page.rounds.into_iter().map(|r| r.name));
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}
