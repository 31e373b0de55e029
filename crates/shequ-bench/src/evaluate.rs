//! `evaluate`: the built-in national plan evaluated over the whole country by the monitoring
//! service, which streams the registry's facts and (with `--survey-responses`) a national survey
//! round's facts over gRPC; then reads of one division's results.

use std::time::{Duration, Instant};

use crate::survey::{HeldRound, national_round};
use anyhow::Context as _;
use shequ_proto::monitoring::v1 as pb;
use shequ_proto::monitoring::v1::evaluation_service_client::EvaluationServiceClient;
use shequ_proto::monitoring::v1::plan_service_client::PlanServiceClient;
use shequ_testkit::{Monitoring, TestDatabase, TestService, monitoring_config};

use crate::common::{
    BackendArgs, CreateArgs, DataArgs, DivisionData, Latencies, channels, create_facilities,
    import, leaf_units, print_created, secs, thousands, verdict,
};

const TARGET: Duration = Duration::from_secs(5);
const READ_TARGET: Duration = Duration::from_millis(5);

pub async fn run(
    data: &DataArgs,
    backends: &BackendArgs,
    facilities: u64,
    create: &CreateArgs,
    reads: u64,
    survey_responses: u64,
) -> anyhow::Result<()> {
    let data_args = data;
    let data = DivisionData::load(data)?;
    println!("data: {}", data.label);
    for backend in backends.backends() {
        let name = backend.name();
        let registry = backends.start(backend).await?;
        let setup = channels(&registry, 1).await?;
        let imported = import(setup[0].clone(), &data).await?;
        println!(
            "{:<18} {name:<8}  {} leaf units in {} s",
            "import",
            thousands(imported.leaf_units() as u64),
            secs(imported.elapsed)
        );
        if facilities > 0 {
            let leaves = leaf_units(setup[0].clone()).await?;
            let created = create_facilities(&setup, &leaves, facilities, create).await?;
            print_created(backend, facilities, &created, create);
        }
        let database = match backend {
            crate::common::Backend::Sqlite => TestDatabase::fresh_sqlite()?,
            crate::common::Backend::Postgres => {
                TestDatabase::fresh_postgres(&backends.postgres_admin_url).await?
            }
        };
        // The survey data: a national round with responses spread over every leaf unit, held by a
        // survey service on the backend measured. Without it the survey indicators have no data.
        let survey = if survey_responses > 0 {
            let held = national_round(
                data_args,
                backends,
                backend,
                survey_responses,
                &registry.endpoint(),
                setup[0].clone(),
            )
            .await?;
            println!(
                "{:<18} {name:<8}  national round {}: {} responses acknowledged in {} s (not part of the evaluation)",
                "survey",
                held.round(),
                thousands(held.accepted),
                secs(held.elapsed)
            );
            Some(held)
        } else {
            None
        };
        let survey_endpoint = survey
            .as_ref()
            .map_or_else(|| "http://127.0.0.1:9".to_owned(), HeldRound::endpoint);
        let mut cfg = monitoring_config(database.url(), &registry.endpoint(), &survey_endpoint)?;
        cfg.monitoring.source_timeout_ms = 300_000;
        let monitor = TestService::<Monitoring>::start_with(cfg, database).await?;
        let channel = monitor.channel().await?;
        let mut plans = PlanServiceClient::new(channel.clone());
        let plan = plans
            .load_national_plan(pb::LoadNationalPlanRequest {})
            .await?
            .into_inner()
            .plan
            .context("no plan")?;
        let mut evaluations =
            EvaluationServiceClient::new(channel).max_decoding_message_size(64 << 20);
        let started = Instant::now();
        let evaluation = evaluations
            .evaluate_plan(pb::EvaluatePlanRequest {
                plan: plan.name.clone(),
                evaluation_date: "2024-06-30".into(),
                survey_round: survey
                    .as_ref()
                    .map(|s| s.round().to_owned())
                    .unwrap_or_default(),
            })
            .await?
            .into_inner()
            .evaluation
            .context("no evaluation")?;
        let took = started.elapsed();
        println!(
            "{:<18} {name:<8}  national plan: {} leaf units, {} divisions, {} in {} s; target <= {} s: {}",
            "evaluate",
            thousands(evaluation.leaf_units as u64),
            thousands(evaluation.divisions as u64),
            if survey.is_some() {
                "registry and survey facts streamed"
            } else {
                "registry facts streamed, no survey round"
            },
            secs(took),
            TARGET.as_secs(),
            verdict(took <= TARGET)
        );
        // Reads of one division's results: provinces, prefectures and counties in turn.
        let divisions: Vec<String> = [
            "11", "13", "1301", "130102", "42", "4290", "429004", "44", "4419",
        ]
        .iter()
        .map(|c| format!("divisions/{c}"))
        .collect();
        let mut durations = Vec::with_capacity(reads as usize);
        for i in 0..reads {
            let division = divisions[(i as usize) % divisions.len()].clone();
            let t = Instant::now();
            evaluations
                .get_division_result(pb::GetDivisionResultRequest {
                    evaluation: evaluation.name.clone(),
                    division,
                })
                .await?;
            durations.push(t.elapsed());
        }
        let latencies = Latencies::of(durations);
        let p99 = latencies.p99;
        println!(
            "{:<18} {name:<8}  {} reads of one division's results, one after another: {}; target p99 <= {} ms: {}",
            "read result",
            thousands(reads),
            latencies.describe(),
            READ_TARGET.as_millis(),
            verdict(p99 <= READ_TARGET)
        );
        monitor.stop().await?;
        if let Some(survey) = survey {
            survey.stop().await?;
        }
        registry.stop().await?;
    }
    Ok(())
}
