//! `shequ demo`: a registry started in-process on a temporary SQLite database, then driven over
//! gRPC exactly as an outside client would: import Hebei, register facilities, read the facts back
//! and report the plan's registry indicators, and show one facility's history.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context as _;
use futures::StreamExt as _;
use shequ_domain::LeafUnitKind;
use shequ_platform::Shutdown;
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_registry::RegistryConfig;
use shequ_registry::grpc::ACTOR_HEADER;
use tokio::net::TcpListener;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use crate::generate::{FacilityGenerator, LeafUnit, kind_of};
use crate::report::{self, Align, thousands};
use crate::slice;

/// Who the demo's writes are recorded as, in the `x-shequ-actor` header.
pub const ACTOR: &str = "shequ-demo";
/// Printed under the targets table.
const MONITOR_NOTE: &str = "\
A plain comparison of today's values with the 2025 targets. The plan monitor service
(baselines, expected trajectories, and on-track / lagging / off-track statuses for every
region) is planned and not part of this demo.
";
/// Printed last.
const NEXT_STEPS: &str = "\
Next

  cargo run --release --bin shequ-registry -- serve
      run the registry on 127.0.0.1:50051 with a SQLite file under ~/.local/share/shequ
      (or $XDG_DATA_HOME/shequ); set SHEQU__DATABASE__URL=postgres://... for PostgreSQL
  cargo test --workspace --locked
      run the tests; with SHEQU_TEST_DATABASE_URL=postgres://... they run on PostgreSQL
  README.md
      configuration, health and reflection, and generating clients from proto/
";
/// The server chooses how many leaf units go in one facts message; accept what its own default
/// limit (`server.max_message_bytes`, 16 MiB) allows rather than tonic's 4 MiB.
const MAX_MESSAGE_BYTES: usize = 16 << 20;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Seed of the facility generator.
    pub seed: u64,
    /// CreateFacility calls in flight at once.
    pub in_flight: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: crate::generate::DEMO_SEED,
            in_flight: 32,
        }
    }
}

/// Runs the demo: progress on stderr, the report on stdout. The registry is stopped (and its
/// temporary database removed) before this returns, whether the demo succeeded or not.
pub async fn run(options: &DemoOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("shequ-demo-")
        .tempdir()
        .context("cannot create a temporary directory for the demo database")?;
    let database_url = format!("sqlite://{}", dir.path().join("registry.sqlite").display());
    let cfg = RegistryConfig::load(
        None,
        &[
            ("server.listen", "127.0.0.1:0".to_owned()),
            ("database.url", database_url),
            ("server.shutdown_grace_secs", "5".to_owned()),
        ],
    )?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on a loopback port")?;
    let addr = listener.local_addr()?;
    let shutdown = Shutdown::new();
    let server = tokio::spawn(shequ_registry::serve(cfg, listener, shutdown.clone()));
    eprintln!(
        "registry serving on {addr}, database in {}",
        dir.path().display()
    );

    // On Ctrl-C, stop the registry and remove the temporary database before exiting.
    let outcome = tokio::select! {
        outcome = session(addr, options) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    shutdown.trigger();
    let stopped = server.await.context("the registry task panicked")?;
    match (outcome, stopped) {
        (_, Err(e)) => return Err(e.context("the registry stopped with an error")),
        (Err(e), Ok(())) => return Err(e),
        (Ok(()), Ok(())) => {}
    }
    eprintln!(
        "registry stopped; demo finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Everything the demo does as a gRPC client.
async fn session(addr: SocketAddr, options: &DemoOptions) -> anyhow::Result<()> {
    // The listener is bound before the server task starts, so connecting cannot race it.
    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await
        .context("cannot connect to the registry")?;
    let mut divisions =
        DivisionServiceClient::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES);
    let mut facilities =
        FacilityServiceClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES);

    import(&mut divisions).await?;
    let province = divisions
        .get_division(pb::GetDivisionRequest {
            name: slice::PROVINCE.to_owned(),
        })
        .await?
        .into_inner()
        .division
        .context("GetDivision returned no division")?;
    let prefectures = prefecture_names(&mut divisions).await?;

    let (before, _, _) = read_facts(&mut facilities, slice::PROVINCE).await?;
    let subject = register(&mut facilities, &before, options).await?;

    let (facts, cursor, vintage) = read_facts(&mut facilities, slice::PROVINCE).await?;
    let report = report::build(&facts, &prefectures);
    println!();
    println!(
        "{} ({}): registry indicators by prefecture, from StreamLeafUnitFacts",
        province.display_name, province.name
    );
    println!("data vintage {vintage}, change cursor {cursor}; in-service facilities only");
    println!();
    print!(
        "{}",
        report::render_prefectures(&report, &format!("{} total", province.display_name))
    );
    println!();
    println!(
        "{} against the national 2025 targets",
        province.display_name
    );
    println!();
    print!(
        "{}",
        report::render_targets(&report::national_targets(&report.total))
    );
    println!();
    print!("{MONITOR_NOTE}");

    if let Some(subject) = subject {
        history(&mut facilities, subject).await?;
    }

    println!();
    print!("{NEXT_STEPS}");
    Ok(())
}

/// A request carrying the demo's actor header.
fn with_actor<T>(message: T, actor: &'static str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert(ACTOR_HEADER, MetadataValue::from_static(actor));
    request
}

async fn import(divisions: &mut DivisionServiceClient<Channel>) -> anyhow::Result<()> {
    let started = Instant::now();
    eprintln!(
        "importing the Hebei division slice ({} KiB gzipped, vintage {})",
        slice::compressed_bytes() / 1024,
        slice::VINTAGE
    );
    let requests = tokio_stream::iter(slice::import_requests());
    let imported = divisions
        .import_divisions(with_actor(requests, ACTOR))
        .await
        .context("ImportDivisions failed")?
        .into_inner();
    let rows = |file: pb::DivisionFile| {
        imported
            .files
            .iter()
            .find(|f| f.file == file as i32)
            .map_or(0, |f| u64::try_from(f.rows).unwrap_or(0))
    };
    eprintln!(
        "imported {} divisions in {:.1} s: {} province, {} prefectures, {} counties, {} townships, {} leaf units",
        thousands(
            u64::try_from(imported.inserted + imported.updated + imported.unchanged).unwrap_or(0)
        ),
        started.elapsed().as_secs_f64(),
        rows(pb::DivisionFile::Provinces),
        rows(pb::DivisionFile::Cities),
        thousands(rows(pb::DivisionFile::Areas)),
        thousands(rows(pb::DivisionFile::Streets)),
        thousands(rows(pb::DivisionFile::Villages)),
    );
    Ok(())
}

/// Names of Hebei's prefectures by 12-digit code, from ListDivisions.
async fn prefecture_names(
    divisions: &mut DivisionServiceClient<Channel>,
) -> anyhow::Result<HashMap<u64, String>> {
    let mut names = HashMap::new();
    let mut page_token = String::new();
    loop {
        let page = divisions
            .list_divisions(pb::ListDivisionsRequest {
                parent: slice::PROVINCE.to_owned(),
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await?
            .into_inner();
        for d in page.divisions {
            names.insert(d.code.parse()?, d.display_name);
        }
        if page.next_page_token.is_empty() {
            return Ok(names);
        }
        page_token = page.next_page_token;
    }
}

/// Every leaf unit's facts under `parent`, with the snapshot's change cursor and data vintage.
async fn read_facts(
    facilities: &mut FacilityServiceClient<Channel>,
    parent: &str,
) -> anyhow::Result<(Vec<pb::LeafUnitFacts>, String, String)> {
    let mut stream = facilities
        .stream_leaf_unit_facts(pb::StreamLeafUnitFactsRequest {
            parent: parent.to_owned(),
        })
        .await
        .context("StreamLeafUnitFacts failed")?
        .into_inner();
    let (mut facts, mut cursor, mut vintage) = (Vec::new(), String::new(), String::new());
    while let Some(batch) = stream.message().await? {
        if !batch.change_cursor.is_empty() {
            cursor = batch.change_cursor;
            vintage = batch.vintage;
        }
        facts.extend(batch.facts);
    }
    Ok((facts, cursor, vintage))
}

/// The facility whose history the demo shows.
#[derive(Debug)]
struct Subject {
    facility: pb::Facility,
    leaf_unit_name: String,
}

/// Registers generated facilities for the leaf units in `units`, many calls in flight at once.
/// Returns the first in-service community facility, for the history example.
async fn register(
    facilities: &mut FacilityServiceClient<Channel>,
    units: &[pb::LeafUnitFacts],
    options: &DemoOptions,
) -> anyhow::Result<Option<Subject>> {
    let names = slice::leaf_unit_names()?;
    let generator = FacilityGenerator::new(options.seed);
    let mut requests = Vec::new();
    let mut units_with = 0u64;
    let mut subject_request = None;
    for facts in units {
        let name = names.get(&facts.code).map_or("", String::as_str);
        let unit = LeafUnit {
            code: facts.code,
            kind: kind_of(facts),
            prefecture: facts.prefecture,
            county: facts.county,
            name,
        };
        let generated = generator.facilities_for(&unit);
        if subject_request.is_none() && unit.kind == LeafUnitKind::Community {
            subject_request = generated
                .iter()
                .find(|r| {
                    r.facility
                        .as_ref()
                        .is_some_and(|f| f.status == pb::FacilityStatus::InService as i32)
                })
                .map(|r| r.request_id.clone());
        }
        units_with += u64::from(!generated.is_empty());
        requests.extend(generated);
    }
    let total = requests.len() as u64;
    eprintln!(
        "registering {} facilities for {} of {} leaf units ({} CreateFacility calls in flight)",
        thousands(total),
        thousands(units_with),
        thousands(units.len() as u64),
        options.in_flight
    );

    let started = Instant::now();
    let interactive = std::io::stderr().is_terminal();
    let mut subject = None;
    let mut calls = futures::stream::iter(requests)
        .map(|request| {
            let mut client = facilities.clone();
            let keep = subject_request.as_deref() == Some(request.request_id.as_str());
            let request_id = request.request_id.clone();
            async move {
                let response = client
                    .create_facility(with_actor(request, ACTOR))
                    .await
                    .with_context(|| format!("CreateFacility `{request_id}` failed"))?;
                anyhow::Ok(response.into_inner().facility.filter(|_| keep))
            }
        })
        .buffer_unordered(options.in_flight.max(1));
    let mut created = 0u64;
    while let Some(result) = calls.next().await {
        if let Some(facility) = result? {
            subject = Some(facility);
        }
        created += 1;
        if interactive && created.is_multiple_of(500) {
            eprint!("\r  {} / {}", thousands(created), thousands(total));
        }
    }
    if interactive {
        eprint!("\r");
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "registered {} facilities in {secs:.1} s ({:.0} per second)",
        thousands(created),
        created as f64 / secs.max(1e-9)
    );
    Ok(subject.map(|facility| {
        let leaf_unit_name = facility
            .leaf_unit
            .strip_prefix("divisions/")
            .and_then(|code| code.parse::<u64>().ok())
            .and_then(|code| names.get(&code).cloned())
            .unwrap_or_default();
        Subject {
            facility,
            leaf_unit_name,
        }
    }))
}

/// Suspends the subject facility with a reason and prints its revisions.
async fn history(
    facilities: &mut FacilityServiceClient<Channel>,
    subject: Subject,
) -> anyhow::Result<()> {
    let Subject {
        facility,
        leaf_unit_name,
    } = subject;
    let (before, _, _) = read_facts(facilities, &facility.leaf_unit).await?;
    let reason = "roof repair after storm damage";
    let mask = prost_types::FieldMask {
        paths: vec!["status".to_owned()],
    };
    let updated = facilities
        .update_facility(with_actor(
            pb::UpdateFacilityRequest {
                facility: Some(pb::Facility {
                    name: facility.name.clone(),
                    status: pb::FacilityStatus::Suspended as i32,
                    etag: facility.etag.clone(),
                    ..Default::default()
                }),
                update_mask: Some(mask),
                reason: reason.to_owned(),
            },
            "shequ-demo/inspector",
        ))
        .await
        .context("UpdateFacility failed")?
        .into_inner()
        .facility
        .context("UpdateFacility returned no facility")?;
    let (after, _, _) = read_facts(facilities, &facility.leaf_unit).await?;
    let revisions = facilities
        .list_facility_revisions(pb::ListFacilityRevisionsRequest {
            name: facility.name.clone(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .context("ListFacilityRevisions failed")?
        .into_inner()
        .revisions;

    println!();
    println!("One facility's history");
    println!();
    println!(
        "{} {} in {} ({})",
        facility.name, facility.display_name, leaf_unit_name, facility.leaf_unit
    );
    println!(
        "UpdateFacility with update_mask `status` and etag {}: {} -> {}, now at etag {}",
        facility.etag,
        status_name(facility.status),
        status_name(updated.status),
        updated.etag
    );
    let in_service = |facts: &[pb::LeafUnitFacts]| {
        facts
            .first()
            .map_or(0, |f| f.in_service_facilities)
            .to_string()
    };
    println!(
        "in-service facilities the facts stream counts for {}: {} before, {} after",
        facility.leaf_unit,
        in_service(&before),
        in_service(&after)
    );
    println!();
    let rows: Vec<Vec<String>> = revisions
        .iter()
        .map(|r| {
            let fields = if r.kind == pb::ChangeKind::Created as i32 {
                format!("all {}", r.changed_fields.len())
            } else {
                r.changed_fields.join(", ")
            };
            vec![
                r.revision.to_string(),
                r.time.as_ref().map(format_time).unwrap_or_default(),
                change_name(r.kind).to_owned(),
                r.actor.clone(),
                r.snapshot
                    .as_ref()
                    .map_or("", |s| status_name(s.status))
                    .to_owned(),
                fields,
                r.reason.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        report::table(
            &[
                ("revision", Align::Right),
                ("time (UTC)", Align::Left),
                ("change", Align::Left),
                ("actor", Align::Left),
                ("status", Align::Left),
                ("changed fields", Align::Left),
                ("reason", Align::Left),
            ],
            &rows,
            usize::MAX,
        )
    );
    Ok(())
}

fn status_name(status: i32) -> &'static str {
    match pb::FacilityStatus::try_from(status) {
        Ok(pb::FacilityStatus::Planned) => "planned",
        Ok(pb::FacilityStatus::UnderConstruction) => "under_construction",
        Ok(pb::FacilityStatus::InService) => "in_service",
        Ok(pb::FacilityStatus::Suspended) => "suspended",
        Ok(pb::FacilityStatus::Closed) => "closed",
        Ok(pb::FacilityStatus::Unspecified) | Err(_) => "unspecified",
    }
}

fn change_name(kind: i32) -> &'static str {
    match pb::ChangeKind::try_from(kind) {
        Ok(pb::ChangeKind::Created) => "created",
        Ok(pb::ChangeKind::Updated) => "updated",
        Ok(pb::ChangeKind::Deleted) => "deleted",
        Ok(pb::ChangeKind::Undeleted) => "undeleted",
        Ok(pb::ChangeKind::Unspecified) | Err(_) => "unspecified",
    }
}

fn format_time(t: &prost_types::Timestamp) -> String {
    chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}
