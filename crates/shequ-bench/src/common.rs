//! Shared pieces: the backends, a registry with data, figures and their formatting, facility
//! creation over gRPC.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use futures::StreamExt as _;
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_testkit::{Registry, TestDatabase, TestService, fixtures};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Largest message a benchmark client accepts (facts batches, import responses).
pub const MAX_MESSAGE: usize = 64 << 20;
/// Chunk size of the import stream, as the test kit uses.
pub const IMPORT_CHUNK: usize = 64 * 1024;
/// Vintage every benchmark imports.
pub const VINTAGE: &str = "2023";
/// Actor header value of benchmark writes.
pub const ACTOR: &str = "shequ-bench";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Which database(s) a benchmark runs on; each run gets a fresh database.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Backend to run on; `both` runs SQLite first, then PostgreSQL, each on a fresh database.
    #[arg(long, value_enum, default_value_t = BackendChoice::Sqlite)]
    pub backend: BackendChoice,
    /// PostgreSQL admin URL: a fresh database is created from it per run and dropped afterwards.
    #[arg(
        long,
        env = "SHEQU_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_admin_url: String,
}

impl BackendArgs {
    pub fn backends(&self) -> Vec<Backend> {
        match self.backend {
            BackendChoice::Sqlite => vec![Backend::Sqlite],
            BackendChoice::Postgres => vec![Backend::Postgres],
            BackendChoice::Both => vec![Backend::Sqlite, Backend::Postgres],
        }
    }

    /// A registry on loopback with a fresh database of `backend`, serving and ready.
    pub async fn start(&self, backend: Backend) -> anyhow::Result<TestService<Registry>> {
        let database = match backend {
            Backend::Sqlite => TestDatabase::fresh_sqlite()?,
            Backend::Postgres => TestDatabase::fresh_postgres(&self.postgres_admin_url)
                .await
                .with_context(|| {
                    format!("cannot create a database from {}", self.postgres_admin_url)
                })?,
        };
        let registry = TestService::registry_on(database).await?;
        wait_ready(&registry).await?;
        Ok(registry)
    }
}

/// Waits for the registry's `readiness` health entry to report SERVING, following the Watch
/// stream rather than polling.
async fn wait_ready(registry: &TestService<Registry>) -> anyhow::Result<()> {
    let mut health = HealthClient::new(registry.channel().await?);
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
    bail!("the registry stopped before it became ready")
}

/// `n` separate HTTP/2 connections to the registry.
pub async fn channels(registry: &TestService<Registry>, n: usize) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::with_capacity(n.max(1));
    for _ in 0..n.max(1) {
        out.push(
            Endpoint::from_shared(registry.endpoint())?
                .tcp_nodelay(true)
                // Room for an error's trailers: a refused import lists up to 100 violations,
                // more than h2's default 16 KiB header list.
                .http2_max_header_list_size(1 << 20)
                .connect()
                .await?,
        );
    }
    Ok(out)
}

pub fn division_client(channel: Channel) -> DivisionServiceClient<Channel> {
    DivisionServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

pub fn facility_client(channel: Channel) -> FacilityServiceClient<Channel> {
    FacilityServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

/// Where the division data comes from.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Directory with provinces.csv.gz, cities.csv.gz, areas.csv.gz, streets.csv.gz and
    /// villages.csv.gz (plain .csv also accepted); without it, the Hebei slice of the test kit.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// The five files, read into memory before any clock starts.
pub struct DivisionData {
    pub label: String,
    pub files: Vec<(pb::DivisionFile, Vec<u8>)>,
}

const FILES: [(pb::DivisionFile, &str); 5] = [
    (pb::DivisionFile::Provinces, "provinces"),
    (pb::DivisionFile::Cities, "cities"),
    (pb::DivisionFile::Areas, "areas"),
    (pb::DivisionFile::Streets, "streets"),
    (pb::DivisionFile::Villages, "villages"),
];

impl DivisionData {
    pub fn load(args: &DataArgs) -> anyhow::Result<Self> {
        Ok(match &args.data {
            Some(dir) => Self::from_dir(dir)?,
            None => Self {
                label: "Hebei slice (shequ_testkit::fixtures::HEBEI)".to_owned(),
                files: fixtures::HEBEI
                    .iter()
                    .map(|(f, bytes)| (*f, bytes.to_vec()))
                    .collect(),
            },
        })
    }

    pub fn from_dir(dir: &Path) -> anyhow::Result<Self> {
        let mut files = Vec::with_capacity(5);
        for (file, stem) in FILES {
            let gz = dir.join(format!("{stem}.csv.gz"));
            let path = if gz.exists() {
                gz
            } else {
                dir.join(format!("{stem}.csv"))
            };
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            files.push((file, bytes));
        }
        Ok(Self {
            label: dir.display().to_string(),
            files,
        })
    }

    pub fn bytes(&self) -> usize {
        self.files.iter().map(|(_, b)| b.len()).sum()
    }

    /// The import stream: every file in 64 KiB chunks, the vintage on the first message.
    pub fn requests(&self) -> Vec<pb::ImportDivisionsRequest> {
        let mut out = Vec::new();
        for (file, bytes) in &self.files {
            for part in bytes.chunks(IMPORT_CHUNK) {
                out.push(pb::ImportDivisionsRequest {
                    vintage: if out.is_empty() {
                        VINTAGE.to_owned()
                    } else {
                        String::new()
                    },
                    file: *file as i32,
                    data: part.to_vec(),
                    ..Default::default()
                });
            }
        }
        out
    }
}

/// One timed import and what the registry reported.
pub struct ImportRun {
    pub elapsed: Duration,
    pub response: pb::ImportDivisionsResponse,
}

impl ImportRun {
    pub fn rows(&self) -> i64 {
        self.response.files.iter().map(|f| f.rows).sum()
    }

    pub fn leaf_units(&self) -> i64 {
        self.response
            .files
            .iter()
            .filter(|f| f.file == pb::DivisionFile::Villages as i32)
            .map(|f| f.rows)
            .sum()
    }
}

/// Streams `data` to ImportDivisions and times it from the first message to the response.
pub async fn import(channel: Channel, data: &DivisionData) -> anyhow::Result<ImportRun> {
    let requests = data.requests();
    let mut client = division_client(channel);
    let mut request = tonic::Request::new(tokio_stream::iter(requests));
    request
        .metadata_mut()
        .insert(shequ_registry::grpc::ACTOR_HEADER, ACTOR.parse()?);
    let started = Instant::now();
    let response = client.import_divisions(request).await?.into_inner();
    Ok(ImportRun {
        elapsed: started.elapsed(),
        response,
    })
}

/// The provinces, by code, as `divisions/{code}` names with their display names.
pub async fn provinces(channel: Channel) -> anyhow::Result<Vec<(String, String)>> {
    let mut client = division_client(channel);
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_divisions(pb::ListDivisionsRequest {
                parent: String::new(),
                page_size: 1000,
                page_token: token,
                show_retired: false,
            })
            .await?
            .into_inner();
        out.extend(page.divisions.into_iter().map(|d| (d.name, d.display_name)));
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        token = page.next_page_token;
    }
}

/// Every leaf unit's name, read from the facts stream province by province (untimed).
pub async fn leaf_units(channel: Channel) -> anyhow::Result<Vec<String>> {
    let mut client = facility_client(channel.clone());
    let mut out = Vec::new();
    for (province, _) in provinces(channel).await? {
        let mut stream = client
            .stream_leaf_unit_facts(pb::StreamLeafUnitFactsRequest { parent: province })
            .await?
            .into_inner();
        while let Some(batch) = stream.message().await? {
            out.extend(
                batch
                    .facts
                    .iter()
                    .map(|f| format!("divisions/{:012}", f.code)),
            );
        }
    }
    Ok(out)
}

/// A small, fast, seedable generator (SplitMix64); good enough to pick ids and leaf units.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Latency figures of many calls.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    pub calls: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

impl Latencies {
    pub fn of(mut durations: Vec<Duration>) -> Self {
        if durations.is_empty() {
            return Self::default();
        }
        durations.sort_unstable();
        let at = |q: f64| {
            let i = ((durations.len() as f64 * q).ceil() as usize).clamp(1, durations.len()) - 1;
            durations[i]
        };
        Self {
            calls: durations.len(),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: durations[durations.len() - 1],
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "p50 {} ms, p99 {} ms, p99.9 {} ms, max {} ms",
            ms(self.p50),
            ms(self.p99),
            ms(self.p999),
            ms(self.max)
        )
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.2}")
    } else {
        format!("{s:.1}")
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn rate(n: u64, d: Duration) -> String {
    let s = d.as_secs_f64();
    if s <= 0.0 {
        return "-".to_owned();
    }
    thousands((n as f64 / s).round() as u64)
}

pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// How facilities are created.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// CreateFacility calls in flight while creating.
    #[arg(long, default_value_t = 32)]
    pub create_concurrency: usize,
    /// Stop creating after this many seconds even if fewer facilities exist; the report gives
    /// the number actually created.
    #[arg(long, default_value_t = 600)]
    pub create_budget_secs: u64,
}

/// What creation achieved.
pub struct Created {
    /// `facilities/{id}` of every created facility.
    pub names: Vec<String>,
    pub elapsed: Duration,
    pub latencies: Latencies,
    pub retries: u64,
    pub failures: u64,
    pub budget_hit: bool,
}

/// Creates up to `target` valid, in-service facilities (the test kit's template) through
/// CreateFacility, `concurrency` calls in flight spread over `channels`, each with a request id
/// so a call cut by a connection recycle is retried safely. Leaf units are a shuffled cycle over
/// all of them, so every leaf unit gets one before any gets two.
pub async fn create_facilities(
    channels: &[Channel],
    leaf_units: &[String],
    target: u64,
    args: &CreateArgs,
) -> anyhow::Result<Created> {
    if target == 0 || leaf_units.is_empty() {
        return Ok(Created {
            names: Vec::new(),
            elapsed: Duration::ZERO,
            latencies: Latencies::default(),
            retries: 0,
            failures: 0,
            budget_hit: false,
        });
    }
    let mut shuffled = leaf_units.to_vec();
    Rng::new(0x5eed).shuffle(&mut shuffled);
    let leaf_units = Arc::new(shuffled);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let budget = Duration::from_secs(args.create_budget_secs);
    let started = Instant::now();
    let step = (target / 10).max(1);
    let run = format!("{:x}", std::process::id());
    let mut workers = Vec::with_capacity(args.create_concurrency.max(1));
    for w in 0..args.create_concurrency.max(1) {
        let mut client = facility_client(channels[w % channels.len()].clone());
        let leaf_units = leaf_units.clone();
        let next = next.clone();
        let done = done.clone();
        let run = run.clone();
        workers.push(tokio::spawn(async move {
            let mut names = Vec::new();
            let mut durations = Vec::new();
            let (mut retries, mut failures, mut budget_hit) = (0u64, 0u64, false);
            loop {
                if started.elapsed() >= budget {
                    budget_hit = true;
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= target {
                    break;
                }
                let leaf = &leaf_units[(i % leaf_units.len() as u64) as usize];
                let body = pb::CreateFacilityRequest {
                    facility: Some(fixtures::facility(leaf)),
                    request_id: format!("bench-{run}-{i}"),
                    reason: "benchmark".to_owned(),
                };
                let mut attempt = 0;
                loop {
                    let mut request = tonic::Request::new(body.clone());
                    request.metadata_mut().insert(
                        shequ_registry::grpc::ACTOR_HEADER,
                        tonic::metadata::MetadataValue::from_static(ACTOR),
                    );
                    let call = Instant::now();
                    match client.create_facility(request).await {
                        Ok(r) => {
                            durations.push(call.elapsed());
                            if let Some(f) = r.into_inner().facility {
                                names.push(f.name);
                            }
                            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                            if n.is_multiple_of(step) {
                                eprintln!(
                                    "  … {} facilities created in {} s",
                                    thousands(n),
                                    secs(started.elapsed())
                                );
                            }
                            break;
                        }
                        Err(status) if attempt < 3 && retriable(&status) => {
                            attempt += 1;
                            retries += 1;
                        }
                        Err(status) => {
                            failures += 1;
                            if failures <= 3 {
                                eprintln!("  CreateFacility failed: {status}");
                            }
                            break;
                        }
                    }
                }
            }
            (names, durations, retries, failures, budget_hit)
        }));
    }
    let mut names = Vec::new();
    let mut durations = Vec::new();
    let (mut retries, mut failures, mut budget_hit) = (0, 0, false);
    for worker in workers {
        let (n, d, r, f, b) = worker.await?;
        names.extend(n);
        durations.extend(d);
        retries += r;
        failures += f;
        budget_hit |= b;
    }
    Ok(Created {
        names,
        elapsed: started.elapsed(),
        latencies: Latencies::of(durations),
        retries,
        failures,
        budget_hit,
    })
}

/// Failures a retry with the same request id may cure: the connection went away under the call.
fn retriable(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
    )
}

pub fn print_created(backend: Backend, target: u64, created: &Created, args: &CreateArgs) {
    let n = created.names.len() as u64;
    println!(
        "create {:<8}  {} facilities in {} s ({} creates/s), {} in flight; {}",
        backend.name(),
        thousands(n),
        secs(created.elapsed),
        rate(n, created.elapsed),
        args.create_concurrency,
        created.latencies.describe()
    );
    println!(
        "create {:<8}  requested {}, created {}{}; retries {}, failures {}",
        backend.name(),
        thousands(target),
        thousands(n),
        if created.budget_hit {
            format!(
                " (stopped by the {} s creation budget)",
                args.create_budget_secs
            )
        } else {
            String::new()
        },
        created.retries,
        created.failures
    );
}

/// Consumes a stream of facts, returning (leaf units, in-service facilities).
pub async fn drain_facts(
    mut client: FacilityServiceClient<Channel>,
    parent: String,
) -> anyhow::Result<(u64, u64)> {
    let stream = client
        .stream_leaf_unit_facts(pb::StreamLeafUnitFactsRequest { parent })
        .await?
        .into_inner();
    let mut units = 0u64;
    let mut facilities = 0u64;
    let mut stream = stream;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        units += batch.facts.len() as u64;
        facilities += batch
            .facts
            .iter()
            .map(|f| f.in_service_facilities as u64)
            .sum::<u64>();
    }
    Ok((units, facilities))
}
