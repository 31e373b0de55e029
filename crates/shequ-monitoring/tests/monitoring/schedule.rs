//! The schedule: replicas sharing a database run one scheduled evaluation at a time.

use shequ_monitoring::{Monitoring, SERVICE};
use shequ_platform::Database;
use shequ_testkit::monitoring_config;

use crate::*;

async fn replica(env: &Env, schedule: &str) -> Monitoring {
    let mut cfg = monitoring_config(
        env.monitor.database.url(),
        &env.registry.endpoint(),
        &env.survey.endpoint(),
    )
    .unwrap();
    cfg.monitoring.schedule = schedule.into();
    cfg.monitoring.schedule_plan = "plans/national-14th-fyp".into();
    let db = Database::open(
        &cfg.database,
        SERVICE,
        shequ_monitoring::store::migrations::MIGRATIONS,
    )
    .await
    .unwrap();
    Monitoring::new(db, &cfg).unwrap()
}

#[tokio::test]
async fn replicas_run_one_scheduled_evaluation_at_a_time() {
    let mut env = env().await;
    let plan = national(&mut env).await;
    let replicas = [
        replica(&env, "monthly").await,
        replica(&env, "monthly").await,
        replica(&env, "monthly").await,
    ];
    let runs = futures::future::join_all(replicas.iter().map(|r| r.run_schedule_once())).await;
    let made: Vec<_> = runs.into_iter().filter_map(Result::unwrap).collect();
    assert_eq!(made.len(), 1, "one replica evaluates: {made:?}");
    assert_eq!(made[0].trigger_kind, "schedule");
    // Not due again this month, whoever looks.
    for r in &replicas {
        assert!(r.run_schedule_once().await.unwrap().is_none());
    }
    let listed = env
        .evaluations
        .list_evaluations(pb::ListEvaluationsRequest {
            parent: plan,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .evaluations;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].trigger, pb::EvaluationTrigger::Schedule as i32);
}

#[tokio::test]
async fn a_held_lease_keeps_other_replicas_out_until_it_expires() {
    let mut env = env().await;
    // Answered once the server has migrated, so the replicas find the schema current.
    national(&mut env).await;
    let a = replica(&env, "1s").await;
    let b = replica(&env, "1s").await;
    let now = shequ_platform::sql::now_micros();
    assert!(a.try_lease("schedule", now, 60_000_000).await.unwrap());
    assert!(!b.try_lease("schedule", now, 60_000_000).await.unwrap());
    assert!(b.run_schedule_once().await.unwrap().is_none());
    // Expired: another replica takes over.
    assert!(
        b.try_lease("schedule", now + 61_000_000, 60_000_000)
            .await
            .unwrap()
    );
    a.release_lease("schedule").await.unwrap();
    assert!(
        !a.try_lease("schedule", now + 62_000_000, 60_000_000)
            .await
            .unwrap()
    );
}
