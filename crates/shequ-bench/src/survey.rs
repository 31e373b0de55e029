//! `survey-ingest` and `survey-results`: bulk ingest of 10-question responses over
//! `BulkSubmitResponses` (counted when acknowledged, i.e. after the batch commits), the service's
//! peak memory, a raw `COPY` of the same rows as the PostgreSQL baseline, and then
//! `GetRoundResults` / `GetRoundCoverage` of the round's region.
//!
//! The registry runs on a fresh SQLite database with the division data; the survey service runs
//! on a fresh database of the chosen backend. Client, registry and survey share one process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use futures::StreamExt as _;
use prost_types::Timestamp;
use sea_orm::ConnectionTrait as _;
use shequ_proto::common::v1 as common;
use shequ_proto::survey::v1 as pb;
use shequ_proto::survey::v1::questionnaire_service_client::QuestionnaireServiceClient;
use shequ_proto::survey::v1::response_service_client::ResponseServiceClient;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use shequ_testkit::{Survey, TestDatabase, TestService, survey_config};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::common::{
    Backend, BackendArgs, DataArgs, DivisionData, MAX_MESSAGE, channels, facility_client, import,
    leaf_units, provinces, rate, secs, thousands, verdict,
};
use shequ_proto::registry::v1 as registry_pb;

/// 2025-01-01T00:00:00Z and 2026-01-01T00:00:00Z: the round's collection window.
const START: i64 = 1_735_689_600;
const END: i64 = 1_767_225_600;

const TARGET_PG: f64 = 100_000.0;
const TARGET_PG_RATIO: f64 = 0.6;
const TARGET_SQLITE: f64 = 50_000.0;
const TARGET_RESULTS: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Responses to submit (at most; see --ingest-secs).
    #[arg(long, default_value_t = 200_000)]
    pub responses: u64,
    /// Stop submitting new batches after this many seconds; the report gives the count.
    #[arg(long, default_value_t = 180)]
    pub ingest_secs: u64,
    /// Responses per BulkSubmitResponses message (the service allows at most 1000).
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// BulkSubmitResponses streams open at once, each on its own HTTP/2 connection.
    #[arg(long, default_value_t = 4)]
    pub streams: usize,
    /// Skip the PostgreSQL COPY baseline.
    #[arg(long)]
    pub no_copy: bool,
    /// Also time GetRoundResults / GetRoundCoverage of the region after the ingest.
    #[arg(long)]
    pub results: bool,
    /// Repetitions of each results / coverage call.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Every 10 s of the ingest, also time one GetRoundResults of the region: it waits for the
    /// fold of everything acknowledged so far, so it shows how far the fold lags the ingest.
    #[arg(long)]
    pub probe_results: bool,
    /// Survey the whole country (a round with an empty region) instead of the first province.
    #[arg(long)]
    pub national: bool,
    /// Run this `shequ-survey` binary as a child process (memory is then the service's own, from
    /// its `/proc/<pid>/status`) instead of serving the survey inside the benchmark process.
    #[arg(long, value_name = "PATH")]
    pub survey_binary: Option<std::path::PathBuf>,
}

/// The survey service measured: inside this process, or a child process of its own.
enum Service {
    InProcess(TestService<Survey>),
    Child {
        child: tokio::process::Child,
        database: TestDatabase,
        endpoint: String,
    },
}

impl Service {
    fn endpoint(&self) -> String {
        match self {
            Service::InProcess(s) => s.endpoint(),
            Service::Child { endpoint, .. } => endpoint.clone(),
        }
    }

    fn database_url(&self) -> &str {
        match self {
            Service::InProcess(s) => s.database.url(),
            Service::Child { database, .. } => database.url(),
        }
    }

    /// The process whose memory is reported: the child, or this one (`self`).
    fn proc_name(&self) -> String {
        match self {
            Service::Child { child, .. } => child
                .id()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "self".into()),
            Service::InProcess(_) => "self".into(),
        }
    }

    async fn stop(self) -> anyhow::Result<()> {
        match self {
            Service::InProcess(s) => s.stop().await,
            Service::Child {
                mut child,
                database,
                ..
            } => {
                if let Some(pid) = child.id() {
                    std::process::Command::new("kill")
                        .args(["-TERM", &pid.to_string()])
                        .status()?;
                }
                let status = child.wait().await?;
                drop(database);
                anyhow::ensure!(status.success(), "shequ-survey exited with {status}");
                Ok(())
            }
        }
    }
}

/// The region's leaf units, the region and the open round's clients.
struct Setup {
    survey: Service,
    round: String,
    region: (String, String),
    leaves: Arc<Vec<String>>,
}

pub async fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let data = DivisionData::load(&args.data)?;
    println!("data: {}", data.label);
    for backend in args.backend.backends() {
        let name = backend.name();
        // The registry always runs on SQLite; only the survey database is the backend measured.
        let registry_args = BackendArgs {
            backend: crate::common::BackendChoice::Sqlite,
            postgres_admin_url: args.backend.postgres_admin_url.clone(),
        };
        let registry = registry_args.start(Backend::Sqlite).await?;
        let ch = channels(&registry, 1).await?.remove(0);
        let imported = import(ch.clone(), &data).await?;
        println!(
            "import (registry, sqlite)  {} rows in {} s",
            thousands(imported.rows() as u64),
            secs(imported.elapsed)
        );
        let setup = setup(args, backend, &registry.endpoint(), ch).await?;
        println!(
            "survey {name:<8}  round {} over {} {} ({} leaf units); 10 questions (8 satisfaction counting, 1 single choice, 1 free text)",
            setup.round,
            setup.region.0,
            setup.region.1,
            thousands(setup.leaves.len() as u64)
        );
        let ingest = ingest(args, &setup).await?;
        let r = ingest.accepted as f64 / ingest.elapsed.as_secs_f64();
        println!(
            "ingest {name:<8}  {} responses acknowledged in {} s = {} responses/s ({} streams x batches of {}); rejected {}, duplicates {}{}",
            thousands(ingest.accepted),
            secs(ingest.elapsed),
            rate(ingest.accepted, ingest.elapsed),
            args.streams,
            args.batch,
            ingest.rejected,
            ingest.duplicates,
            if ingest.budget_hit {
                format!(" (stopped by the {} s budget)", args.ingest_secs)
            } else {
                String::new()
            }
        );
        println!(
            "memory {name:<8}  VmHWM {} MiB before the ingest, {} MiB after (+{} MiB); VmRSS {} MiB after; process = {}, responses generated lazily (at most {} batches in flight per stream)",
            ingest.hwm_before >> 10,
            ingest.hwm_after >> 10,
            (ingest.hwm_after.saturating_sub(ingest.hwm_before)) >> 10,
            ingest.rss_after >> 10,
            if args.survey_binary.is_some() {
                "the survey service alone (child process)"
            } else {
                "client + registry + survey"
            },
            QUEUE + 1
        );
        println!(
            "memory {name:<8}  VmRSS trend (s: responses, MiB): {}",
            ingest
                .trend
                .iter()
                .map(|(t, n, rss)| format!("{t}: {}, {}", thousands(*n), rss >> 10))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        if args.probe_results {
            println!(
                "fold   {name:<8}  GetRoundResults during the ingest (s: responses acknowledged before the call, call s): {}",
                ingest
                    .probes
                    .iter()
                    .map(|(t, n, d)| format!("{t}: {}, {}", thousands(*n), secs(*d)))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        match backend {
            Backend::Sqlite => println!(
                "target {name:<8}  >= {} responses/s: {}",
                thousands(TARGET_SQLITE as u64),
                verdict(r >= TARGET_SQLITE)
            ),
            Backend::Postgres => {
                let copy = if args.no_copy {
                    None
                } else {
                    Some(copy_baseline(&setup).await?)
                };
                match copy {
                    Some((rows, elapsed)) => {
                        let c = rows as f64 / elapsed.as_secs_f64();
                        println!(
                            "copy   {name:<8}  the same {} rows by COPY FROM STDIN (text) into a scratch table LIKE survey_responses INCLUDING ALL: {} s = {} rows/s",
                            thousands(rows),
                            secs(elapsed),
                            rate(rows, elapsed)
                        );
                        println!(
                            "target {name:<8}  >= {} responses/s: {}; ratio to COPY {:.2} (>= {TARGET_PG_RATIO}): {}",
                            thousands(TARGET_PG as u64),
                            verdict(r >= TARGET_PG),
                            r / c,
                            verdict(r / c >= TARGET_PG_RATIO)
                        );
                    }
                    None => println!(
                        "target {name:<8}  >= {} responses/s: {}",
                        thousands(TARGET_PG as u64),
                        verdict(r >= TARGET_PG)
                    ),
                }
            }
        }
        if args.results {
            results(args, &setup, ingest.accepted, name).await?;
        }
        setup.survey.stop().await?;
        registry.stop().await?;
    }
    Ok(())
}

async fn wait_ready(channel: Channel) -> anyhow::Result<()> {
    let mut health = HealthClient::new(channel);
    let mut updates = health
        .watch(tonic_health::pb::HealthCheckRequest {
            service: "readiness".to_owned(),
        })
        .await?
        .into_inner();
    while let Some(update) = updates.message().await? {
        if update.status == ServingStatus::Serving as i32 {
            return Ok(());
        }
    }
    bail!("the survey service stopped before it became ready")
}

async fn connect(endpoint: String) -> anyhow::Result<Channel> {
    for _ in 0..600 {
        match Endpoint::from_shared(endpoint.clone())?
            .tcp_nodelay(true)
            .http2_max_header_list_size(1 << 20)
            .connect()
            .await
        {
            Ok(c) => return Ok(c),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    bail!("cannot connect to {endpoint}")
}

fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

fn questionnaire() -> pb::Questionnaire {
    use pb::QuestionType as T;
    let dims = [
        common::ServiceKind::ElderlyCare,
        common::ServiceKind::Health,
    ];
    let mut questions = Vec::new();
    for i in 0..8 {
        questions.push(pb::Question {
            id: format!("s{i}"),
            text: format!("满意度 {i}"),
            r#type: T::Satisfaction as i32,
            required: i == 0,
            counts_towards_satisfaction: true,
            dimension: dims.get(i).map_or(0, |d| *d as i32),
            ..Default::default()
        });
    }
    questions.push(pb::Question {
        id: "choice".into(),
        text: "获知渠道".into(),
        r#type: T::SingleChoice as i32,
        options: ["online", "counter", "phone"]
            .iter()
            .map(|id| pb::QuestionOption {
                id: (*id).into(),
                text: format!("选项 {id}"),
            })
            .collect(),
        ..Default::default()
    });
    questions.push(pb::Question {
        id: "comment".into(),
        text: "意见和建议".into(),
        r#type: T::FreeText as i32,
        ..Default::default()
    });
    pb::Questionnaire {
        title: "基准测试满意度调查".into(),
        questions,
        ..Default::default()
    }
}

async fn setup(
    ingest: &IngestArgs,
    backend: Backend,
    registry_endpoint: &str,
    registry_channel: Channel,
) -> anyhow::Result<Setup> {
    let args = &ingest.backend;
    // The region: the whole country (an empty region), or the first province of the data (Hebei
    // for the slice); responses go to the region's leaf units.
    let (region, leaves) = if ingest.national {
        (
            (String::new(), "全国".to_owned()),
            leaf_units(registry_channel).await?,
        )
    } else {
        let region = provinces(registry_channel.clone())
            .await?
            .into_iter()
            .next()
            .context("no province")?;
        let mut leaves = Vec::new();
        let mut stream = facility_client(registry_channel)
            .stream_leaf_unit_facts(registry_pb::StreamLeafUnitFactsRequest {
                parent: region.0.clone(),
            })
            .await?
            .into_inner();
        while let Some(batch) = stream.message().await? {
            leaves.extend(
                batch
                    .facts
                    .iter()
                    .map(|f| format!("divisions/{:012}", f.code)),
            );
        }
        (region, leaves)
    };
    let database = match backend {
        Backend::Sqlite => TestDatabase::fresh_sqlite()?,
        Backend::Postgres => TestDatabase::fresh_postgres(&args.postgres_admin_url).await?,
    };
    let survey = match &ingest.survey_binary {
        None => {
            let cfg = survey_config(database.url(), registry_endpoint)?;
            Service::InProcess(TestService::<Survey>::start_with(cfg, database).await?)
        }
        Some(binary) => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let child = tokio::process::Command::new(binary)
                .args([
                    "serve",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--database-url",
                    database.url(),
                ])
                .env("SHEQU__SURVEY__REGISTRY_ENDPOINT", registry_endpoint)
                .env("SHEQU__SURVEY__REGISTRY_TIMEOUT_MS", "60000")
                // The benchmark measures the write path, not authentication: development mode,
                // which PostgreSQL otherwise refuses.
                .env("SHEQU__AUTH__ALLOW_OFF_WITH_POSTGRES", "true")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {}", binary.display()))?;
            Service::Child {
                child,
                database,
                endpoint: format!("http://127.0.0.1:{port}"),
            }
        }
    };
    let channel = connect(survey.endpoint()).await?;
    wait_ready(channel.clone()).await?;
    let mut questionnaires = QuestionnaireServiceClient::new(channel.clone());
    let q = questionnaires
        .create_questionnaire(pb::CreateQuestionnaireRequest {
            questionnaire: Some(questionnaire()),
        })
        .await?
        .into_inner()
        .questionnaire
        .context("no questionnaire")?;
    questionnaires
        .publish_questionnaire(pb::PublishQuestionnaireRequest {
            name: q.name.clone(),
        })
        .await?;
    let mut rounds = RoundServiceClient::new(channel);
    let round = rounds
        .create_round(pb::CreateRoundRequest {
            round: Some(pb::Round {
                display_name: "基准测试".into(),
                questionnaire: q.name,
                questionnaire_version: 1,
                region: region.0.clone(),
                start_time: ts(START),
                end_time: ts(END),
                min_valid_responses: 30,
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .round
        .context("no round")?;
    rounds
        .open_round(pb::OpenRoundRequest {
            name: round.name.clone(),
        })
        .await?;
    // A large region may still be loading in the background: UNAVAILABLE until it is ready.
    let started = Instant::now();
    loop {
        match rounds
            .get_round_coverage(pb::GetRoundCoverageRequest {
                round: round.name.clone(),
                division: String::new(),
                page_size: 1,
                page_token: String::new(),
            })
            .await
        {
            Ok(_) => break,
            Err(s)
                if s.code() == tonic::Code::Unavailable
                    && started.elapsed() < Duration::from_secs(900) => {}
            Err(s) => bail!("waiting for the round's region: {s}"),
        }
    }
    println!(
        "region   round's region ready {} s after the round opened ({} leaf units)",
        secs(started.elapsed()),
        thousands(leaves.len() as u64)
    );
    Ok(Setup {
        survey,
        round: round.name,
        region,
        leaves: Arc::new(leaves),
    })
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Response number `i`: deterministic, so a run can be repeated; 10 answers.
fn response(i: u64, leaves: &[String]) -> pb::Response {
    let h = mix(i);
    let mut answers = Vec::with_capacity(10);
    for q in 0..8u64 {
        answers.push(pb::Answer {
            question_id: format!("s{q}"),
            value: Some(pb::answer::Value::Rating(1 + ((h >> (q * 3)) % 5) as i32)),
        });
    }
    answers.push(pb::Answer {
        question_id: "choice".into(),
        value: Some(pb::answer::Value::OptionId(
            ["online", "counter", "phone"][((h >> 30) % 3) as usize].into(),
        )),
    });
    answers.push(pb::Answer {
        question_id: "comment".into(),
        value: Some(pb::answer::Value::Text(format!(
            "第 {i} 位居民：社区服务总体不错，希望延长办事大厅的开放时间。"
        ))),
    });
    pb::Response {
        response_id: format!("r{i:010}"),
        leaf_unit: leaves[(h >> 34) as usize % leaves.len()].clone(),
        channel: 1 + ((h >> 40) % 4) as i32,
        collect_time: ts(START + ((h >> 44) % (END - START) as u64) as i64),
        answers,
        ..Default::default()
    }
}

/// Batches queued ahead of the one being sent, per stream.
const QUEUE: usize = 2;

struct Ingest {
    accepted: u64,
    duplicates: u64,
    rejected: u64,
    elapsed: Duration,
    budget_hit: bool,
    hwm_before: u64,
    hwm_after: u64,
    rss_after: u64,
    trend: Vec<(u64, u64, u64)>,
    /// (seconds into the ingest, responses acknowledged before the call, call duration).
    probes: Vec<(u64, u64, Duration)>,
}

/// `VmHWM` and `VmRSS` of process `proc` (a pid, or `self`), KiB.
fn memory(proc: &str) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{proc}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

async fn ingest(args: &IngestArgs, setup: &Setup) -> anyhow::Result<Ingest> {
    let proc = setup.survey.proc_name();
    let (hwm_before, _) = memory(&proc);
    let next_batch = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let batches = args.responses.div_ceil(args.batch as u64);
    let budget = Duration::from_secs(args.ingest_secs);
    let batch = args.batch as u64;
    let total = args.responses;
    let started = Instant::now();
    let trend = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sampler = {
        let acked = acked.clone();
        let trend = trend.clone();
        let proc = proc.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                let sample = (
                    started.elapsed().as_secs(),
                    acked.load(Ordering::Relaxed),
                    memory(&proc).1,
                );
                trend.lock().unwrap().push(sample);
            }
        })
    };
    let probes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let prober = if args.probe_results {
        let acked = acked.clone();
        let probes = probes.clone();
        let mut rounds = RoundServiceClient::new(connect(setup.survey.endpoint()).await?);
        let request = pb::GetRoundResultsRequest {
            round: setup.round.clone(),
            division: setup.region.0.clone(),
        };
        Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let at = started.elapsed().as_secs();
                let before = acked.load(Ordering::Relaxed);
                let t = Instant::now();
                if rounds.get_round_results(request.clone()).await.is_err() {
                    break;
                }
                probes.lock().unwrap().push((at, before, t.elapsed()));
            }
        }))
    } else {
        None
    };
    let mut tasks = Vec::new();
    for _ in 0..args.streams.max(1) {
        let channel = connect(setup.survey.endpoint()).await?;
        let mut client = ResponseServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        let (tx, rx) = mpsc::channel::<pb::BulkSubmitResponsesRequest>(QUEUE);
        let leaves = setup.leaves.clone();
        let parent = setup.round.clone();
        let next_batch = next_batch.clone();
        let producer = tokio::spawn(async move {
            let mut budget_hit = false;
            loop {
                if started.elapsed() >= budget {
                    budget_hit = true;
                    break;
                }
                let b = next_batch.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    break;
                }
                let responses = (b * batch..((b + 1) * batch).min(total))
                    .map(|i| response(i, &leaves))
                    .collect();
                let message = pb::BulkSubmitResponsesRequest {
                    parent: parent.clone(),
                    responses,
                };
                if tx.send(message).await.is_err() {
                    break;
                }
            }
            budget_hit
        });
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            let mut request = tonic::Request::new(ReceiverStream::new(rx));
            request.metadata_mut().insert(
                "x-shequ-actor",
                tonic::metadata::MetadataValue::from_static(crate::common::ACTOR),
            );
            let mut results = client.bulk_submit_responses(request).await?.into_inner();
            let (mut ok, mut dup, mut rej) = (0u64, 0u64, 0u64);
            while let Some(message) = results.next().await {
                let message = message?;
                acked.fetch_add(message.results.len() as u64, Ordering::Relaxed);
                for r in message.results {
                    match pb::SubmitOutcome::try_from(r.outcome) {
                        Ok(pb::SubmitOutcome::Accepted) => ok += 1,
                        Ok(pb::SubmitOutcome::Duplicate) => dup += 1,
                        _ => {
                            rej += 1;
                            if rej <= 3 {
                                eprintln!("  rejected {}: {}", r.response_id, r.message);
                            }
                        }
                    }
                }
            }
            let budget_hit = producer.await?;
            anyhow::Ok((ok, dup, rej, budget_hit))
        }));
    }
    let (mut accepted, mut duplicates, mut rejected, mut budget_hit) = (0, 0, 0, false);
    for t in tasks {
        let (a, d, r, b) = t.await??;
        accepted += a;
        duplicates += d;
        rejected += r;
        budget_hit |= b;
    }
    let elapsed = started.elapsed();
    sampler.abort();
    if let Some(p) = prober {
        p.abort();
    }
    let probes = std::mem::take(&mut *probes.lock().unwrap());
    let (hwm_after, rss_after) = memory(&proc);
    let mut trend = std::mem::take(&mut *trend.lock().unwrap());
    trend.push((
        elapsed.as_secs(),
        accepted + duplicates + rejected,
        rss_after,
    ));
    Ok(Ingest {
        accepted,
        duplicates,
        rejected,
        elapsed,
        budget_hit,
        hwm_before,
        hwm_after,
        rss_after,
        trend,
        probes,
    })
}

/// Copies the stored rows out (untimed), then times `COPY FROM STDIN` of the same bytes into a
/// scratch table `LIKE survey_responses INCLUDING ALL` (its primary key, the unique index).
async fn copy_baseline(setup: &Setup) -> anyhow::Result<(u64, Duration)> {
    use sea_orm::sqlx::postgres::PgPoolCopyExt as _;
    let db = sea_orm::Database::connect(setup.survey.database_url()).await?;
    let pool = db.get_postgres_connection_pool();
    let file = std::env::temp_dir().join(format!("shequ-bench-copy-{}.txt", std::process::id()));
    {
        let mut out = tokio::io::BufWriter::new(tokio::fs::File::create(&file).await?);
        let mut stream = pool.copy_out_raw("COPY survey_responses TO STDOUT").await?;
        while let Some(chunk) = stream.next().await {
            tokio::io::AsyncWriteExt::write_all(&mut out, &chunk?).await?;
        }
        tokio::io::AsyncWriteExt::flush(&mut out).await?;
    }
    db.execute_unprepared("CREATE TABLE bench_copy (LIKE survey_responses INCLUDING ALL)")
        .await?;
    let bytes = tokio::fs::metadata(&file).await?.len();
    let started = Instant::now();
    let mut copy = pool.copy_in_raw("COPY bench_copy FROM STDIN").await?;
    let source = tokio::fs::File::open(&file).await?;
    copy.read_from(tokio::io::BufReader::with_capacity(1 << 20, source))
        .await?;
    let rows = copy.finish().await?;
    let elapsed = started.elapsed();
    println!(
        "copy               {} bytes of COPY text ({} bytes/row)",
        thousands(bytes),
        thousands(bytes / rows.max(1))
    );
    let _ = tokio::fs::remove_file(&file).await;
    db.execute_unprepared("DROP TABLE bench_copy").await?;
    db.close().await?;
    Ok((rows, elapsed))
}

async fn results(
    args: &IngestArgs,
    setup: &Setup,
    responses: u64,
    name: &str,
) -> anyhow::Result<()> {
    let channel = connect(setup.survey.endpoint()).await?;
    let mut rounds = RoundServiceClient::new(channel).max_decoding_message_size(MAX_MESSAGE);
    for i in 0..args.repeat.max(1) {
        let started = Instant::now();
        let r = rounds
            .get_round_results(pb::GetRoundResultsRequest {
                round: setup.round.clone(),
                division: setup.region.0.clone(),
            })
            .await?
            .into_inner();
        let t = started.elapsed();
        println!(
            "results  {name:<8} #{} {} {}: {} s; valid {}, scored {}, index {:.2}, {} questions; target <= {} s: {}",
            i + 1,
            setup.region.0,
            setup.region.1,
            secs(t),
            thousands(r.valid_responses as u64),
            thousands(r.scored_responses as u64),
            r.satisfaction_index.unwrap_or(f64::NAN),
            r.questions.len(),
            TARGET_RESULTS.as_secs(),
            verdict(t <= TARGET_RESULTS)
        );
    }
    for i in 0..args.repeat.max(1) {
        let started = Instant::now();
        let (mut pages, mut short) = (0u64, 0u64);
        let mut token = String::new();
        let mut last;
        let mut first_page = Duration::ZERO;
        loop {
            last = rounds
                .get_round_coverage(pb::GetRoundCoverageRequest {
                    round: setup.round.clone(),
                    division: setup.region.0.clone(),
                    page_size: 1000,
                    page_token: token,
                })
                .await?
                .into_inner();
            pages += 1;
            if pages == 1 {
                first_page = started.elapsed();
            }
            short += last.short_leaf_units.len() as u64;
            if last.next_page_token.is_empty() {
                break;
            }
            token = std::mem::take(&mut last.next_page_token);
        }
        let t = started.elapsed();
        println!(
            "coverage {name:<8} #{} {}: first page {} s (target <= {} s: {}); {} s for {} page(s) of 1000; covered {} of {} leaf units ({:.3}), {} short; all pages <= {} s: {}",
            i + 1,
            setup.region.0,
            secs(first_page),
            TARGET_RESULTS.as_secs(),
            verdict(first_page <= TARGET_RESULTS),
            secs(t),
            pages,
            thousands(last.covered_leaf_units as u64),
            thousands(last.leaf_units as u64),
            last.coverage,
            thousands(short),
            TARGET_RESULTS.as_secs(),
            verdict(t <= TARGET_RESULTS)
        );
    }
    println!(
        "results  {name:<8} after {} responses over {} leaf units (spec: whole country, 10 million)",
        thousands(responses),
        thousands(setup.leaves.len() as u64)
    );
    Ok(())
}

/// A national round (empty region) with responses already ingested and folded, held by a survey
/// service on the backend measured: the survey data another benchmark starts from.
pub(crate) struct HeldRound {
    setup: Setup,
    /// Responses acknowledged.
    pub(crate) accepted: u64,
    /// Time the ingest took.
    pub(crate) elapsed: Duration,
}

impl HeldRound {
    pub(crate) fn endpoint(&self) -> String {
        self.setup.survey.endpoint()
    }

    pub(crate) fn round(&self) -> &str {
        &self.setup.round
    }

    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.setup.survey.stop().await
    }
}

/// Opens a national round in a survey service on `backend` against the registry at
/// `registry_endpoint`, submits `responses` responses spread over every leaf unit, and reads the
/// country's results once so that everything acknowledged is folded before the caller measures.
pub(crate) async fn national_round(
    data: &DataArgs,
    backends: &BackendArgs,
    backend: Backend,
    responses: u64,
    registry_endpoint: &str,
    registry_channel: Channel,
) -> anyhow::Result<HeldRound> {
    let args = IngestArgs {
        data: data.clone(),
        backend: backends.clone(),
        responses,
        ingest_secs: u64::MAX / 4,
        batch: 1000,
        streams: 4,
        no_copy: true,
        results: false,
        repeat: 1,
        national: true,
        survey_binary: None,
        probe_results: false,
    };
    let setup = setup(&args, backend, registry_endpoint, registry_channel).await?;
    let ingest = ingest(&args, &setup).await?;
    anyhow::ensure!(
        ingest.rejected == 0,
        "{} responses were rejected",
        ingest.rejected
    );
    RoundServiceClient::new(connect(setup.survey.endpoint()).await?)
        .get_round_results(pb::GetRoundResultsRequest {
            round: setup.round.clone(),
            division: String::new(),
        })
        .await?;
    Ok(HeldRound {
        setup,
        accepted: ingest.accepted,
        elapsed: ingest.elapsed,
    })
}
