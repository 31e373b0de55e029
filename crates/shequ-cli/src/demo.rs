//! `shequ demo`: the registry, the survey service and the monitor started in-process on free
//! loopback ports with a temporary SQLite database, then driven over gRPC exactly as an outside
//! client would: import Hebei, register facilities, collect a satisfaction round, load the
//! national plan, evaluate it, and print the report (and write it as HTML).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use crate::client::{CallExt as _, Clients, Conn, Endpoints, with_actor};
use crate::commands::monitoring::{html_file_name, write_html};
use crate::commands::registry::{BATCH_SIZE, create_in_batches};
use crate::commands::survey::submit_stream;
use crate::generate::{FacilityGenerator, LeafUnit, kind_of};
use crate::report::{Align, thousands};
use crate::residents::{self, ResidentGenerator};
use crate::slice;
use crate::up::{Stack, StackSettings};
use anyhow::Context as _;
use shequ_domain::LeafUnitKind;
use shequ_platform::Shutdown;
use shequ_proto::monitoring::v1 as mpb;
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_proto::survey::v1 as spb;

/// Who the demo's writes are recorded as, in the `x-shequ-actor` header.
pub const ACTOR: &str = "shequ-demo";
/// The date the demo evaluates the plan for: the last day of the round's collection window.
pub const EVALUATION_DATE: &str = "2025-06-30";
/// Printed last.
const NEXT_STEPS: &str = "\
Next

  cargo run --release --bin shequ -- up
      the three services in one process on 127.0.0.1:50051-50053, with SQLite files under
      ~/.local/share/shequ (or $XDG_DATA_HOME/shequ); Ctrl-C stops them
  shequ divisions import data/divisions/hebei --vintage china-division-2.7.0
  shequ plans load --national && shequ evaluate plans/national-14th-fyp
  shequ report plans/national-14th-fyp --division 13 -o html
      the same steps as this demo, one command at a time, against `shequ up`
  cargo test --workspace --locked
      run the tests; with SHEQU_TEST_DATABASE_URL=postgres://... they run on PostgreSQL
  docs/usage.md, docs/clients.md
      running each service alone, configuration, and calling the services from other languages
";

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Seed of the facility and response generators.
    pub seed: u64,
    /// BatchCreateFacilities calls in flight at once.
    pub in_flight: usize,
    /// Where the HTML report is written; the system's temporary directory when `None`.
    pub report_dir: Option<PathBuf>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: crate::generate::DEMO_SEED,
            in_flight: crate::commands::registry::BATCHES_IN_FLIGHT,
            report_dir: None,
        }
    }
}

/// Runs the demo: progress on stderr, the report on stdout. The services are stopped (and the
/// temporary database removed) before this returns, whether the demo succeeded or not.
pub async fn run(options: &DemoOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("shequ-demo-")
        .tempdir()
        .context("cannot create a temporary directory for the demo database")?;
    let settings = StackSettings {
        data_dir: Some(dir.path().to_owned()),
        database_url: None,
        common: vec![("server.shutdown_grace_secs", "5".to_owned())],
    };
    let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
    let stack = Stack::start([loopback; 3], &settings, Shutdown::new()).await?;
    eprintln!(
        "registry on {}, survey on {}, monitoring on {}; SQLite files in {}",
        stack.registry,
        stack.survey,
        stack.monitoring,
        dir.path().display()
    );
    let clients = Clients::new(Endpoints::local(
        format!("http://{}", stack.registry),
        format!("http://{}", stack.survey),
        format!("http://{}", stack.monitoring),
        ACTOR,
    ));

    // On Ctrl-C, stop the services and remove the temporary database before exiting.
    let outcome = tokio::select! {
        outcome = session(&clients, options) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    let stopped = stack.stop().await;
    match (outcome, stopped) {
        (Err(e), _) => return Err(e),
        (Ok(()), Err(e)) => return Err(e.context("a service stopped with an error")),
        (Ok(()), Ok(())) => {}
    }
    eprintln!(
        "services stopped; demo finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Everything the demo does as a gRPC client.
async fn session(clients: &Clients, options: &DemoOptions) -> anyhow::Result<()> {
    let mut divisions = clients.divisions().await?;
    let mut facilities = clients.facilities().await?;

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
    // The registry and the survey service keep separate databases, so the facilities and the
    // survey round are written at the same time.
    let (subject, round) = tokio::try_join!(
        register(&mut facilities, &before, options),
        survey_round(clients, &before, options),
    )?;
    let evaluation = evaluate(clients, &round).await?;

    println!();
    println!(
        "{} ({}): the national plan evaluated for {}",
        province.display_name, province.name, evaluation.evaluation_date
    );
    // The evaluation also counts its root, the country, which is no division of the registry:
    // without it the count is the import's.
    let divisions = u64::try_from(evaluation.divisions - 1).unwrap_or(0);
    println!(
        "{} leaf units and {} divisions from the registry (vintage {}), summed up to the country, and {}",
        thousands(u64::try_from(evaluation.leaf_units).unwrap_or(0)),
        thousands(divisions),
        evaluation.registry_vintage,
        evaluation.survey_round
    );
    println!();
    print_report(clients, &evaluation.name, &prefectures).await?;
    html_report(clients, &evaluation.name, options).await;

    if let Some(subject) = subject {
        history(&mut facilities, subject).await?;
    }

    println!();
    print!("{NEXT_STEPS}");
    Ok(())
}

/// Publishes the questionnaire, opens a round over Hebei and submits the residents' responses
/// over one `BulkSubmitResponses` stream. Returns the round's name.
async fn survey_round(
    clients: &Clients,
    facts: &[pb::LeafUnitFacts],
    options: &DemoOptions,
) -> anyhow::Result<String> {
    let mut questionnaires = clients.questionnaires().await?;
    let created = questionnaires
        .create_questionnaire(clients.request(spb::CreateQuestionnaireRequest {
            questionnaire: Some(residents::questionnaire()),
        }))
        .await
        .call("CreateQuestionnaire")?
        .questionnaire
        .context("CreateQuestionnaire returned no questionnaire")?;
    let published = questionnaires
        .publish_questionnaire(clients.request(spb::PublishQuestionnaireRequest {
            name: created.name.clone(),
        }))
        .await
        .call("PublishQuestionnaire")?
        .questionnaire
        .context("PublishQuestionnaire returned no questionnaire")?;
    let mut rounds = clients.rounds().await?;
    let round = rounds
        .create_round(clients.request(spb::CreateRoundRequest {
            round: Some(spb::Round {
                display_name: "2025年河北省城乡社区服务满意度调查".to_owned(),
                questionnaire: published.name.clone(),
                questionnaire_version: published.version,
                region: slice::PROVINCE.to_owned(),
                start_time: Some(prost_types::Timestamp {
                    seconds: residents::WINDOW_START,
                    nanos: 0,
                }),
                end_time: Some(prost_types::Timestamp {
                    seconds: residents::WINDOW_END,
                    nanos: 0,
                }),
                min_valid_responses: residents::MIN_VALID_RESPONSES,
                ..Default::default()
            }),
        }))
        .await
        .call("CreateRound")?
        .round
        .context("CreateRound returned no round")?;
    rounds
        .open_round(clients.request(spb::OpenRoundRequest {
            name: round.name.clone(),
        }))
        .await
        .call("OpenRound")?;

    let generator = ResidentGenerator::new(options.seed);
    let facilities = FacilityGenerator::new(options.seed);
    let mut responses = Vec::new();
    let mut units = 0u64;
    for f in facts {
        // Whether the unit gets an in-service facility in `register`, which runs alongside.
        let unit = LeafUnit {
            code: f.code,
            kind: kind_of(f),
            prefecture: f.prefecture,
            county: f.county,
            name: "",
        };
        let in_service = facilities.facilities_for(&unit).iter().any(|r| {
            r.facility
                .as_ref()
                .is_some_and(|f| f.status == pb::FacilityStatus::InService as i32)
        });
        let drawn = generator.responses_for(f.code, f.prefecture, in_service);
        units += u64::from(!drawn.is_empty());
        responses.extend(drawn);
    }
    let total = responses.len() as u64;
    eprintln!(
        "{} `{}` open; submitting {} responses from {} leaf units over one BulkSubmitResponses stream",
        round.name,
        round.display_name,
        thousands(total),
        thousands(units)
    );
    let started = Instant::now();
    let describe = |i: usize| format!("response {}", i + 1);
    let done = submit_stream(clients, &round.name, responses, 1000, &describe).await?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{} accepted, {} duplicates, {} rejected in {secs:.1} s ({:.0} per second)",
        thousands(done.accepted),
        thousands(done.duplicates),
        thousands(done.rejected),
        total as f64 / secs.max(1e-9)
    );
    anyhow::ensure!(
        done.rejected == 0,
        "the survey service rejected {} of the demo's responses",
        done.rejected
    );
    let coverage = rounds
        .get_round_coverage(spb::GetRoundCoverageRequest {
            round: round.name.clone(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .call("GetRoundCoverage")?;
    eprintln!(
        "coverage so far: {} of {} leaf units have at least {} valid responses",
        thousands(u64::try_from(coverage.covered_leaf_units).unwrap_or(0)),
        thousands(u64::try_from(coverage.leaf_units).unwrap_or(0)),
        residents::MIN_VALID_RESPONSES
    );
    Ok(round.name)
}

/// Loads the national plan and evaluates it with the demo's round.
async fn evaluate(clients: &Clients, round: &str) -> anyhow::Result<mpb::Evaluation> {
    let plan = clients
        .plans()
        .await?
        .load_national_plan(clients.request(mpb::LoadNationalPlanRequest {}))
        .await
        .call("LoadNationalPlan")?
        .plan
        .context("LoadNationalPlan returned no plan")?;
    eprintln!(
        "loaded {} `{}` ({} targets)",
        plan.name,
        plan.display_name,
        plan.targets.len()
    );
    let started = Instant::now();
    let evaluation = clients
        .evaluations()
        .await?
        .evaluate_plan(clients.request(mpb::EvaluatePlanRequest {
            plan: plan.name.clone(),
            evaluation_date: EVALUATION_DATE.to_owned(),
            survey_round: round.to_owned(),
        }))
        .await
        .call("EvaluatePlan")?
        .evaluation
        .context("EvaluatePlan returned no evaluation")?;
    eprintln!(
        "evaluated {} in {:.1} s",
        evaluation.name,
        started.elapsed().as_secs_f64()
    );
    Ok(evaluation)
}

/// The monitor's report for Hebei (`RenderReport`, JSON), printed with region names.
async fn print_report(
    clients: &Clients,
    evaluation: &str,
    prefectures: &HashMap<u64, String>,
) -> anyhow::Result<()> {
    let rendered = clients
        .evaluations()
        .await?
        .render_report(mpb::RenderReportRequest {
            evaluation: evaluation.to_owned(),
            division: slice::PROVINCE.to_owned(),
            format: mpb::ReportFormat::Json as i32,
            worst_regions: 3,
        })
        .await
        .call("RenderReport")?;
    let doc: serde_json::Value =
        serde_json::from_str(&rendered.content).context("the JSON report does not parse")?;
    let empty = Vec::new();
    let indicators = doc["indicators"].as_array().unwrap_or(&empty);
    let rows: Vec<Vec<String>> = indicators
        .iter()
        .map(|i| {
            let unit = i["unit"].as_str().unwrap_or_default();
            let value = |v: &serde_json::Value| format_value(v.as_f64(), unit);
            let worst: Vec<String> = i["worst_regions"]
                .as_array()
                .unwrap_or(&empty)
                .iter()
                .map(|w| {
                    let code = w["division"]
                        .as_str()
                        .and_then(|d| d.strip_prefix("divisions/"))
                        .and_then(|c| c.parse::<u64>().ok());
                    let name = code
                        .and_then(|c| prefectures.get(&c).cloned())
                        .unwrap_or_else(|| w["division"].as_str().unwrap_or_default().to_owned());
                    format!("{name} {}", value(&w["value"]))
                })
                .collect();
            vec![
                i["indicator"].as_str().unwrap_or_default().to_owned(),
                value(&i["value"]),
                value(&i["expected_value"]),
                value(&i["target_value"]),
                i["status"].as_str().unwrap_or_default().to_owned(),
                worst.join(", "),
            ]
        })
        .collect();
    print!(
        "{}",
        crate::report::table(
            &[
                ("indicator", Align::Left),
                ("value", Align::Right),
                ("expected", Align::Right),
                ("target", Align::Right),
                ("status", Align::Left),
                ("worst prefectures (value)", Align::Left),
            ],
            &rows,
            usize::MAX,
        )
    );
    Ok(())
}

/// Shares as percentages, indices and counts as numbers, no data as `—`.
fn format_value(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "—".to_owned(),
        Some(v) if unit == "share" => format!("{:.1}%", v * 100.0),
        Some(v) if v.fract() == 0.0 => thousands(v.abs() as u64),
        Some(v) => format!("{v:.1}"),
    }
}

/// Asks the monitor for the HTML report and writes it; a refusal is reported on stderr and the
/// demo goes on.
async fn html_report(clients: &Clients, evaluation: &str, options: &DemoOptions) {
    let rendered = match clients.evaluations().await {
        Ok(mut client) => client
            .render_report(mpb::RenderReportRequest {
                evaluation: evaluation.to_owned(),
                division: slice::PROVINCE.to_owned(),
                format: mpb::ReportFormat::Html as i32,
                worst_regions: 3,
            })
            .await
            .call("RenderReport (HTML)"),
        Err(e) => Err(e),
    };
    match rendered {
        Ok(rendered) => {
            let dir = options
                .report_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir);
            let path = dir.join(html_file_name(evaluation).replace(".html", "-hebei.html"));
            match write_html(&path, &rendered.content) {
                Ok(()) => {
                    println!();
                    println!("HTML report: {}", path.display());
                }
                Err(e) => eprintln!("the HTML report was not written: {e}"),
            }
        }
        Err(e) => eprintln!("no HTML report: the monitor did not render it: {e}"),
    }
}

async fn import(divisions: &mut DivisionServiceClient<Conn>) -> anyhow::Result<()> {
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
    divisions: &mut DivisionServiceClient<Conn>,
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
    facilities: &mut FacilityServiceClient<Conn>,
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
    facilities: &mut FacilityServiceClient<Conn>,
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
        "registering {} facilities for {} of {} leaf units (BatchCreateFacilities of {BATCH_SIZE}, {} in flight)",
        thousands(total),
        thousands(units_with),
        thousands(units.len() as u64),
        options.in_flight
    );

    let started = Instant::now();
    let interactive = std::io::stderr().is_terminal();
    let subject_index = subject_request
        .as_deref()
        .and_then(|id| requests.iter().position(|r| r.request_id == id));
    let mut created = 0u64;
    let batched = create_in_batches(facilities, requests, ACTOR, options.in_flight, |n| {
        created += n;
        if interactive {
            eprint!("\r  {} / {}", thousands(created), thousands(total));
        }
    })
    .await;
    if interactive {
        eprint!("\r");
    }
    if let Some((first, status)) = batched.refused {
        return Err(crate::client::CliError::status(
            &format!("BatchCreateFacilities of the requests from {first}"),
            &status,
        )
        .into());
    }
    let created = batched.facilities.len() as u64;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "registered {} facilities in {secs:.1} s ({:.0} per second)",
        thousands(created),
        created as f64 / secs.max(1e-9)
    );
    let subject = subject_index.and_then(|i| batched.facilities.get(i).cloned());
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
    facilities: &mut FacilityServiceClient<Conn>,
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
        crate::report::table(
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
