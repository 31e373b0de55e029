//! A source service lost during an evaluation: UNAVAILABLE, and nothing stored.

use crate::*;

async fn evaluation_count(env: &mut Env, plan: &str) -> usize {
    env.evaluations
        .list_evaluations(pb::ListEvaluationsRequest {
            parent: plan.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .evaluations
        .len()
}

#[tokio::test]
async fn a_lost_survey_service_fails_the_evaluation_and_stores_nothing() {
    let mut env = env().await;
    let round = answered_round(&env).await;
    let plan = national(&mut env).await;
    evaluate(&mut env, &plan, "2025-06-30", &round).await;
    // The registry still answers, so the evaluation fails half-way, after the registry's facts.
    let survey = std::mem::replace(
        &mut env.survey,
        TestService::survey(&env.registry.endpoint()).await.unwrap(),
    );
    survey.stop().await.unwrap();
    let err = env
        .evaluations
        .evaluate_plan(pb::EvaluatePlanRequest {
            plan: plan.clone(),
            evaluation_date: "2025-06-30".into(),
            survey_round: round,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("survey"), "{err:?}");
    assert_eq!(evaluation_count(&mut env, &plan).await, 1);
}

#[tokio::test]
async fn a_lost_registry_fails_the_evaluation_and_stores_nothing() {
    let mut env = env().await;
    let plan = national(&mut env).await;
    let registry = std::mem::replace(&mut env.registry, TestService::registry().await.unwrap());
    registry.stop().await.unwrap();
    let err = env
        .evaluations
        .evaluate_plan(pb::EvaluatePlanRequest {
            plan: plan.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(evaluation_count(&mut env, &plan).await, 0);
}
