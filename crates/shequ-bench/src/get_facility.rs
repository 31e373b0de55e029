//! `get-facility`: closed-loop GetFacility against the empty-RPC baseline on the same server.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::common::{
    BackendArgs, CreateArgs, DataArgs, DivisionData, Latencies, Rng, channels, create_facilities,
    facility_client, import, leaf_units, ms, print_created, rate, secs, thousands, verdict,
};

const TARGET_RATIO: f64 = 0.7;
const TARGET_P99: Duration = Duration::from_millis(5);

pub struct Options {
    pub data: DataArgs,
    pub backend: BackendArgs,
    pub facilities: u64,
    pub create: CreateArgs,
    pub callers: usize,
    pub channels: usize,
    pub seconds: u64,
    pub warmup_seconds: u64,
}

/// One caller of a closed loop: makes its next call when the previous one has returned.
trait Caller: Send + 'static {
    fn call(&mut self) -> impl Future<Output = Result<(), tonic::Status>> + Send;
}

/// The empty RPC: `grpc.health.v1.Health/Check` for the server as a whole (service "").
struct HealthCaller(HealthClient<Channel>);

impl Caller for HealthCaller {
    async fn call(&mut self) -> Result<(), tonic::Status> {
        self.0
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|_| ())
    }
}

/// GetFacility of a uniformly random existing facility.
struct GetCaller {
    client: FacilityServiceClient<Channel>,
    names: Arc<Vec<String>>,
    rng: Rng,
}

impl Caller for GetCaller {
    async fn call(&mut self) -> Result<(), tonic::Status> {
        let name = self.names[self.rng.below(self.names.len())].clone();
        let response = self
            .client
            .get_facility(pb::GetFacilityRequest {
                name,
                show_deleted: false,
            })
            .await?;
        match response.into_inner().facility {
            Some(_) => Ok(()),
            None => Err(tonic::Status::internal("response without a facility")),
        }
    }
}

struct LoadResult {
    measured: Duration,
    errors: u64,
    latencies: Latencies,
}

impl LoadResult {
    fn throughput(&self) -> f64 {
        self.latencies.calls as f64 / self.measured.as_secs_f64()
    }
}

/// Runs every caller in its own task for `warmup + measured`, keeping the durations of calls
/// that started after the warm-up.
async fn closed_loop<C: Caller>(
    callers: Vec<C>,
    warmup: Duration,
    measured: Duration,
) -> anyhow::Result<LoadResult> {
    let start = Instant::now();
    let warm_end = start + warmup;
    let end = warm_end + measured;
    let tasks: Vec<_> = callers
        .into_iter()
        .map(|mut caller| {
            tokio::spawn(async move {
                let mut durations = Vec::with_capacity(1 << 16);
                let mut errors = 0u64;
                loop {
                    let t = Instant::now();
                    if t >= end {
                        break;
                    }
                    let result = caller.call().await;
                    let d = t.elapsed();
                    if t >= warm_end {
                        match result {
                            Ok(()) => durations.push(d),
                            Err(status) => {
                                errors += 1;
                                if errors <= 3 {
                                    eprintln!("  call failed: {status}");
                                }
                            }
                        }
                    }
                }
                (durations, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (d, e) = task.await?;
        all.extend(d);
        errors += e;
    }
    Ok(LoadResult {
        measured,
        errors,
        latencies: Latencies::of(all),
    })
}

fn print_load(label: &str, backend: &str, callers: usize, channels: usize, r: &LoadResult) {
    println!(
        "{label:<16} {backend:<8}  {} calls in {} s = {} calls/s ({} callers, {} connection{}); {}; errors {}",
        thousands(r.latencies.calls as u64),
        secs(r.measured),
        thousands(r.throughput().round() as u64),
        callers,
        channels,
        if channels == 1 { "" } else { "s" },
        r.latencies.describe(),
        r.errors
    );
}

pub async fn run(opts: Options) -> anyhow::Result<()> {
    let data = DivisionData::load(&opts.data)?;
    println!("data: {}", data.label);
    let warmup = Duration::from_secs(opts.warmup_seconds);
    let measured = Duration::from_secs(opts.seconds.max(1));
    for backend in opts.backend.backends() {
        let name = backend.name();
        let registry = opts.backend.start(backend).await?;
        let setup = channels(&registry, opts.channels).await?;
        let imported = import(setup[0].clone(), &data).await?;
        println!(
            "{:<16} {name:<8}  {} rows in {} s",
            "import",
            thousands(imported.rows() as u64),
            secs(imported.elapsed)
        );
        let listed = Instant::now();
        let leaves = leaf_units(setup[0].clone()).await?;
        println!(
            "{:<16} {name:<8}  {} leaf units read from the facts stream in {} s",
            "leaf units",
            thousands(leaves.len() as u64),
            secs(listed.elapsed())
        );
        let created = create_facilities(&setup, &leaves, opts.facilities, &opts.create).await?;
        print_created(backend, opts.facilities, &created, &opts.create);
        drop(setup);
        if created.names.is_empty() {
            anyhow::bail!("no facility was created; nothing to get");
        }
        let names = Arc::new(created.names);

        // Fresh connections for the load, so no connection reaches its maximum age mid-phase.
        let load = channels(&registry, opts.channels).await?;
        let n = opts.callers.max(1);
        let health = |load: &[Channel]| -> Vec<HealthCaller> {
            (0..n)
                .map(|i| HealthCaller(HealthClient::new(load[i % load.len()].clone())))
                .collect()
        };
        let before = closed_loop(health(&load), warmup, measured).await?;
        print_load("empty RPC before", name, n, load.len(), &before);
        let gets: Vec<GetCaller> = (0..n)
            .map(|i| GetCaller {
                client: facility_client(load[i % load.len()].clone()),
                names: names.clone(),
                rng: Rng::new(0x6765_7466_6163 ^ (i as u64).wrapping_mul(0x9e37_79b9)),
            })
            .collect();
        let get = closed_loop(gets, warmup, measured).await?;
        print_load("GetFacility", name, n, load.len(), &get);
        let after = closed_loop(health(&load), warmup, measured).await?;
        print_load("empty RPC after", name, n, load.len(), &after);

        let baseline = (before.throughput() + after.throughput()) / 2.0;
        let ratio = get.throughput() / baseline;
        println!(
            "{:<16} {name:<8}  GetFacility / empty RPC throughput = {} / {} = {:.2} (target >= {TARGET_RATIO}: {}); GetFacility p99 {} ms (target <= {} ms: {}); over {} facilities",
            "result",
            rate(get.latencies.calls as u64, get.measured),
            thousands(baseline.round() as u64),
            ratio,
            verdict(ratio >= TARGET_RATIO),
            ms(get.latencies.p99),
            TARGET_P99.as_millis(),
            verdict(get.latencies.p99 <= TARGET_P99),
            thousands(names.len() as u64)
        );
        drop(load);
        registry.stop().await?;
    }
    Ok(())
}
