//! Questionnaires: drafts, publication as immutable versions, and the rules on questions.

use shequ_proto::survey::v1 as pb;
use tonic::Code;

use crate::{assert_violation, env, questionnaire};

async fn get(
    env: &mut crate::Env,
    name: &str,
    version: i32,
) -> Result<pb::Questionnaire, tonic::Status> {
    env.questionnaires
        .get_questionnaire(pb::GetQuestionnaireRequest {
            name: name.into(),
            version,
        })
        .await
        .map(|r| r.into_inner().questionnaire.unwrap())
}

#[tokio::test]
async fn publishing_freezes_the_draft_as_a_version() {
    let mut env = env().await;
    let draft = env
        .questionnaires
        .create_questionnaire(pb::CreateQuestionnaireRequest {
            questionnaire: Some(questionnaire()),
        })
        .await
        .unwrap()
        .into_inner()
        .questionnaire
        .unwrap();
    assert!(draft.name.starts_with("questionnaires/"));
    assert_eq!((draft.version, draft.latest_version), (0, 0));
    assert_eq!(draft.questions, questionnaire().questions);
    assert_eq!(
        get(&mut env, &draft.name, 1).await.unwrap_err().code(),
        Code::NotFound
    );

    let v1 = env
        .questionnaires
        .publish_questionnaire(pb::PublishQuestionnaireRequest {
            name: draft.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .questionnaire
        .unwrap();
    assert_eq!((v1.version, v1.latest_version), (1, 1));
    assert_eq!(v1.questions, draft.questions);

    // Editing the draft leaves version 1 as it was.
    let mut edited = questionnaire();
    edited.name = draft.name.clone();
    edited.title = "修订版".into();
    edited.questions.truncate(2);
    let updated = env
        .questionnaires
        .update_questionnaire(pb::UpdateQuestionnaireRequest {
            questionnaire: Some(edited),
        })
        .await
        .unwrap()
        .into_inner()
        .questionnaire
        .unwrap();
    assert_eq!(updated.questions.len(), 2);
    assert_eq!(updated.latest_version, 1);
    let still = get(&mut env, &draft.name, 1).await.unwrap();
    assert_eq!(still.title, questionnaire().title);
    assert_eq!(still.questions, questionnaire().questions);

    let v2 = env
        .questionnaires
        .publish_questionnaire(pb::PublishQuestionnaireRequest {
            name: draft.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .questionnaire
        .unwrap();
    assert_eq!(
        (v2.version, v2.title.as_str(), v2.questions.len()),
        (2, "修订版", 2)
    );
    assert_eq!(
        get(&mut env, &draft.name, 1).await.unwrap().questions.len(),
        8
    );
    assert_eq!(
        get(&mut env, &draft.name, 0).await.unwrap().latest_version,
        2
    );

    // A draft without questions cannot be published.
    let mut empty = questionnaire();
    empty.name = draft.name.clone();
    empty.questions.clear();
    env.questionnaires
        .update_questionnaire(pb::UpdateQuestionnaireRequest {
            questionnaire: Some(empty),
        })
        .await
        .unwrap();
    let err = env
        .questionnaires
        .publish_questionnaire(pb::PublishQuestionnaireRequest {
            name: draft.name.clone(),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::FailedPrecondition, "name");

    for name in ["questionnaires/nope", "questionnaires/"] {
        let err = get(&mut env, name, 0).await.unwrap_err();
        assert!(
            matches!(err.code(), Code::NotFound | Code::InvalidArgument),
            "{err:?}"
        );
    }
    assert_violation(
        &get(&mut env, "rounds/x", 0).await.unwrap_err(),
        Code::InvalidArgument,
        "name",
    );
    assert_violation(
        &get(&mut env, &draft.name, -1).await.unwrap_err(),
        Code::InvalidArgument,
        "version",
    );
}

/// A change that spoils the valid questionnaire, and the field it must be reported on.
type Mutation = (fn(&mut pb::Questionnaire), &'static str);

#[tokio::test]
async fn every_question_rule_names_its_field() {
    let mut env = env().await;
    let cases: Vec<Mutation> = vec![
        (|q| q.title.clear(), "questionnaire.title"),
        (
            |q| q.questions[1].id = "q_overall".into(),
            "questionnaire.questions[1].id",
        ),
        (
            |q| q.questions[0].id = "Q1".into(),
            "questionnaire.questions[0].id",
        ),
        (
            |q| q.questions[0].id = "q".repeat(33),
            "questionnaire.questions[0].id",
        ),
        (
            |q| q.questions[0].text.clear(),
            "questionnaire.questions[0].text",
        ),
        (
            |q| q.questions[0].r#type = 0,
            "questionnaire.questions[0].type",
        ),
        (
            |q| q.questions[0].r#type = 42,
            "questionnaire.questions[0].type",
        ),
        (
            |q| q.questions[0].dimension = 99,
            "questionnaire.questions[0].dimension",
        ),
        (
            |q| q.questions[3].options.truncate(1),
            "questionnaire.questions[3].options",
        ),
        (
            |q| q.questions[4].options[1].id = "elderly".into(),
            "questionnaire.questions[4].options[1].id",
        ),
        (
            |q| q.questions[4].options[0].id = "bad id".into(),
            "questionnaire.questions[4].options[0].id",
        ),
        (
            |q| q.questions[4].options[0].text.clear(),
            "questionnaire.questions[4].options[0].text",
        ),
        (
            |q| q.questions[5].options = q.questions[3].options.clone(),
            "questionnaire.questions[5].options",
        ),
        (
            |q| q.questions[6].min_value = 400.0,
            "questionnaire.questions[6].max_value",
        ),
        (
            |q| q.questions[6].max_value = f64::INFINITY,
            "questionnaire.questions[6].min_value",
        ),
        (
            |q| q.questions[7].max_value = 3.0,
            "questionnaire.questions[7].min_value",
        ),
        (
            |q| q.questions[5].counts_towards_satisfaction = true,
            "questionnaire.questions[5].counts_towards_satisfaction",
        ),
    ];
    for (spoil, field) in cases {
        let mut q = questionnaire();
        spoil(&mut q);
        let err = env
            .questionnaires
            .create_questionnaire(pb::CreateQuestionnaireRequest {
                questionnaire: Some(q),
            })
            .await
            .unwrap_err();
        assert_violation(&err, Code::InvalidArgument, field);
    }
    let err = env
        .questionnaires
        .create_questionnaire(pb::CreateQuestionnaireRequest {
            questionnaire: None,
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "questionnaire");
    let mut unknown = questionnaire();
    unknown.name = "questionnaires/missing".into();
    let err = env
        .questionnaires
        .update_questionnaire(pb::UpdateQuestionnaireRequest {
            questionnaire: Some(unknown),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

/// Titles and labels follow the contract's rule for text (shequ.common.v1): stored trimmed and
/// returned as stored, limits counted after trimming, white space alone refused.
#[tokio::test]
async fn titles_and_labels_are_stored_trimmed() {
    let mut env = env().await;
    let mut padded = questionnaire();
    padded.title = format!("\u{3000}{}\t", "题".repeat(200));
    padded.questions[0].text = "  总体满意度 ".into();
    padded.questions[3].options[0].text = "\u{3000}线上\u{3000}".into();
    let created = env
        .questionnaires
        .create_questionnaire(pb::CreateQuestionnaireRequest {
            questionnaire: Some(padded),
        })
        .await
        .unwrap()
        .into_inner()
        .questionnaire
        .unwrap();
    let texts = |q: &pb::Questionnaire| {
        (
            q.title.clone(),
            q.questions[0].text.clone(),
            q.questions[3].options[0].text.clone(),
        )
    };
    let expected = ("题".repeat(200), "总体满意度".to_owned(), "线上".to_owned());
    assert_eq!(texts(&created), expected);
    let published = env
        .questionnaires
        .publish_questionnaire(pb::PublishQuestionnaireRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .questionnaire
        .unwrap();
    assert_eq!(texts(&published), expected);
    assert_eq!(
        texts(&get(&mut env, &created.name, 1).await.unwrap()),
        expected
    );

    let cases: Vec<Mutation> = vec![
        (|q| q.title = " \u{3000} ".into(), "questionnaire.title"),
        (
            |q| q.title = format!(" {} ", "题".repeat(201)),
            "questionnaire.title",
        ),
        (
            |q| q.questions[0].text = "\t".into(),
            "questionnaire.questions[0].text",
        ),
        (
            |q| q.questions[3].options[1].text = " ".into(),
            "questionnaire.questions[3].options[1].text",
        ),
    ];
    for (mutate, field) in cases {
        let mut q = questionnaire();
        mutate(&mut q);
        let err = env
            .questionnaires
            .create_questionnaire(pb::CreateQuestionnaireRequest {
                questionnaire: Some(q),
            })
            .await
            .unwrap_err();
        assert_violation(&err, Code::InvalidArgument, field);
    }
}
