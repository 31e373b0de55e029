//! `shequ divisions …` and `shequ facilities …`: the facility registry's client subcommands.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use shequ_proto::common::v1 as common;
use shequ_proto::registry::v1 as pb;

use futures::StreamExt as _;
use futures::stream::FuturesOrdered;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use tonic_types::StatusExt as _;

use crate::client::{CallExt as _, CliError, Clients, Conn, with_actor};
use crate::input::{self, division_name};
use crate::output::{Cell, Format, Rows};
use crate::progress;

#[derive(Debug, Clone, Subcommand)]
pub enum DivisionsCommand {
    /// Import the five statistical CSV files (plain or gzipped) from a directory; all or nothing.
    Import(ImportArgs),
    /// One division by code (`13`, `130100000000` or `divisions/13`).
    Get { code: String },
    /// The children of a division; the provinces without a code.
    Children {
        code: Option<String>,
        /// Include retired divisions.
        #[arg(long)]
        retired: bool,
    },
    /// Divisions whose name contains the text.
    Search {
        query: String,
        /// Only under this division.
        #[arg(long, value_name = "CODE")]
        parent: Option<String>,
        /// Only this level: province, prefecture, county, township or village.
        #[arg(long)]
        level: Option<Level>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Level {
    Province,
    Prefecture,
    County,
    Township,
    Village,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Directory holding provinces.csv, cities.csv, areas.csv, streets.csv and villages.csv
    /// (each may end in .gz).
    pub dir: PathBuf,
    /// The data vintage, e.g. `2023` or `china-division-2.7.0`.
    #[arg(long)]
    pub vintage: String,
    /// Validate and count without storing anything.
    #[arg(long)]
    pub validate_only: bool,
    /// Mark stored divisions this import lacks, under its provinces, as retired.
    #[arg(long)]
    pub retire_missing: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum FacilitiesCommand {
    /// Create facilities from a TOML (`[[facility]]`), JSON or CSV file, in BatchCreateFacilities
    /// calls of 500 records (each batch all or nothing), a few in flight.
    Create { file: PathBuf },
    /// Update facilities from a file whose records carry `name` (and optionally `etag`); only
    /// the fields a record sets are changed.
    Update { file: PathBuf },
    /// Facilities under a division.
    List {
        /// `divisions/{code}` or a code, at any level.
        parent: String,
        /// Only this status, e.g. `in_service`.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// One facility.
    Show { name: String },
    /// A facility's revisions: who changed what, when and why.
    History { name: String },
    /// Soft-delete a facility: it leaves listings and indicators and keeps its history.
    Delete {
        name: String,
        /// Why, kept in the history.
        #[arg(long)]
        reason: String,
        /// Only if the facility is still at this etag.
        #[arg(long)]
        etag: Option<String>,
    },
    /// Restore a soft-deleted facility.
    Undelete {
        name: String,
        /// Why, kept in the history.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// Creations per BatchCreateFacilities call.
pub const BATCH_SIZE: usize = 500;
/// BatchCreateFacilities calls in flight at once: the registry checks the next batch while one
/// commits.
pub const BATCHES_IN_FLIGHT: usize = 3;

/// What a run of batches created, in request order, and the first refusal with the index of the
/// first request of the refused batch. Batches already in flight when one is refused still finish;
/// none is started after it.
#[derive(Debug, Default)]
pub struct Batched {
    pub facilities: Vec<pb::Facility>,
    pub refused: Option<(usize, tonic::Status)>,
}

/// Sends `requests` as BatchCreateFacilities calls of `BATCH_SIZE`, `in_flight` at once, each with
/// the actor header; `done` is told how many facilities each finished batch created.
pub async fn create_in_batches(
    client: &FacilityServiceClient<Conn>,
    requests: Vec<pb::CreateFacilityRequest>,
    actor: &str,
    in_flight: usize,
    mut done: impl FnMut(u64),
) -> Batched {
    // Batches are cut as they are sent, each holding only its own requests.
    let mut requests = requests.into_iter();
    let mut next_batch = 0;
    let mut pending = FuturesOrdered::new();
    let mut out = Batched::default();
    loop {
        while out.refused.is_none() && pending.len() < in_flight.max(1) {
            let batch: Vec<_> = requests.by_ref().take(BATCH_SIZE).collect();
            if batch.is_empty() {
                break;
            }
            let k = next_batch;
            next_batch += 1;
            let mut client = client.clone();
            let request = with_actor(
                pb::BatchCreateFacilitiesRequest {
                    parent: String::new(),
                    requests: batch,
                },
                actor,
            );
            pending.push_back(async move {
                (
                    k,
                    client
                        .batch_create_facilities(request)
                        .await
                        .map(|r| r.into_inner().facilities),
                )
            });
        }
        let Some((k, result)) = pending.next().await else {
            return out;
        };
        match result {
            Ok(facilities) => {
                done(facilities.len() as u64);
                out.facilities.extend(facilities);
            }
            Err(status) => {
                out.refused.get_or_insert((k * BATCH_SIZE, status));
            }
        }
    }
}

/// Files of an import, in order, under the names the registry's data directory uses.
const FILES: [(pb::DivisionFile, &str); 5] = [
    (pb::DivisionFile::Provinces, "provinces"),
    (pb::DivisionFile::Cities, "cities"),
    (pb::DivisionFile::Areas, "areas"),
    (pb::DivisionFile::Streets, "streets"),
    (pb::DivisionFile::Villages, "villages"),
];
const CHUNK_BYTES: usize = 64 * 1024;

pub async fn divisions(
    clients: &Clients,
    format: Format,
    command: DivisionsCommand,
) -> anyhow::Result<()> {
    match command {
        DivisionsCommand::Import(args) => import(clients, format, &args).await,
        DivisionsCommand::Get { code } => {
            let division = clients
                .divisions()
                .await?
                .get_division(pb::GetDivisionRequest {
                    name: division_name(&code),
                })
                .await
                .call("GetDivision")?
                .division
                .unwrap_or_default();
            let mut rows = division_rows();
            rows.push(division_row(&division));
            rows.single = true;
            rows.print(format)
        }
        DivisionsCommand::Children { code, retired } => {
            let mut client = clients.divisions().await?;
            let mut rows = division_rows();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_divisions(pb::ListDivisionsRequest {
                        parent: code.as_deref().map(division_name).unwrap_or_default(),
                        page_size: 1000,
                        page_token,
                        show_retired: retired,
                    })
                    .await
                    .call("ListDivisions")?;
                rows.rows.extend(page.divisions.iter().map(division_row));
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            rows.print(format)
        }
        DivisionsCommand::Search {
            query,
            parent,
            level,
            limit,
        } => {
            let mut client = clients.divisions().await?;
            let mut rows = division_rows();
            let mut page_token = String::new();
            while rows.rows.len() < limit {
                let page = client
                    .search_divisions(pb::SearchDivisionsRequest {
                        query: query.clone(),
                        parent: parent.as_deref().map(division_name).unwrap_or_default(),
                        level: level.map_or(0, |l| level_pb(l) as i32),
                        page_size: i32::try_from(limit.min(1000)).unwrap_or(1000),
                        page_token,
                    })
                    .await
                    .call("SearchDivisions")?;
                rows.rows.extend(page.divisions.iter().map(division_row));
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            rows.rows.truncate(limit);
            rows.print(format)
        }
    }
}

fn level_pb(level: Level) -> common::DivisionLevel {
    match level {
        Level::Province => common::DivisionLevel::Province,
        Level::Prefecture => common::DivisionLevel::Prefecture,
        Level::County => common::DivisionLevel::County,
        Level::Township => common::DivisionLevel::Township,
        Level::Village => common::DivisionLevel::Village,
    }
}

fn level_word(level: i32) -> &'static str {
    match common::DivisionLevel::try_from(level) {
        Ok(common::DivisionLevel::Province) => "province",
        Ok(common::DivisionLevel::Prefecture) => "prefecture",
        Ok(common::DivisionLevel::County) => "county",
        Ok(common::DivisionLevel::Township) => "township",
        Ok(common::DivisionLevel::Village) => "village",
        _ => "",
    }
}

fn kind_word(kind: i32) -> &'static str {
    match common::LeafUnitKind::try_from(kind) {
        Ok(common::LeafUnitKind::Community) => "community",
        Ok(common::LeafUnitKind::Village) => "village",
        _ => "",
    }
}

fn division_rows() -> Rows {
    Rows::new(&[
        "code",
        "name",
        "level",
        "parent",
        "leaf_unit_kind",
        "vintage",
        "retired",
    ])
}

fn division_row(d: &pb::Division) -> Vec<Cell> {
    vec![
        d.code.clone().into(),
        d.display_name.clone().into(),
        level_word(d.level).into(),
        d.parent.trim_start_matches("divisions/").into(),
        kind_word(d.leaf_unit_kind).into(),
        d.vintage.clone().into(),
        d.retired.into(),
    ]
}

/// Finds `name.csv` or `name.csv.gz` in `dir`.
fn division_file(dir: &Path, name: &str) -> Result<PathBuf, CliError> {
    for candidate in [format!("{name}.csv.gz"), format!("{name}.csv")] {
        let path = dir.join(candidate);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(CliError::input(format!(
        "{}: no {name}.csv or {name}.csv.gz",
        dir.display()
    )))
}

async fn import(clients: &Clients, format: Format, args: &ImportArgs) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for (file, name) in FILES {
        let path = division_file(&args.dir, name)?;
        let data = std::fs::read(&path)
            .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
        files.push((file, data));
    }
    let total: usize = files.iter().map(|(_, d)| d.len()).sum();
    let mut requests = Vec::new();
    for (file, data) in &files {
        for part in data.chunks(CHUNK_BYTES) {
            let first = requests.is_empty();
            requests.push(pb::ImportDivisionsRequest {
                vintage: if first {
                    args.vintage.clone()
                } else {
                    String::new()
                },
                file: *file as i32,
                data: part.to_vec(),
                validate_only: first && args.validate_only,
                retire_missing: first && args.retire_missing,
            });
        }
    }
    eprintln!(
        "importing {} from {} ({} KiB)",
        args.vintage,
        args.dir.display(),
        total / 1024
    );
    let bar = progress::bytes(total as u64);
    let sent = bar.clone();
    let stream = tokio_stream::iter(requests.into_iter().inspect(move |r| {
        sent.inc(r.data.len() as u64);
    }));
    let mut client = clients.divisions().await?;
    let outcome = client
        .import_divisions(clients.request(stream))
        .await
        .call("ImportDivisions");
    bar.finish_and_clear();
    let imported = outcome?;
    let mut rows = Rows::new(&["file", "rows"]);
    for (file, name) in FILES {
        let n = imported
            .files
            .iter()
            .find(|f| f.file == file as i32)
            .map_or(0, |f| f.rows);
        rows.push(vec![name.into(), n.into()]);
    }
    for (name, n) in [
        ("inserted", imported.inserted),
        ("updated", imported.updated),
        ("unchanged", imported.unchanged),
        ("retired", imported.retired),
        ("merged", imported.merged),
    ] {
        rows.push(vec![name.into(), n.into()]);
    }
    if imported.validate_only {
        eprintln!("validated only: nothing was stored");
    }
    rows.print(format)
}

pub async fn facilities(
    clients: &Clients,
    format: Format,
    command: FacilitiesCommand,
) -> anyhow::Result<()> {
    match command {
        FacilitiesCommand::Create { file } => create_facilities(clients, format, &file).await,
        FacilitiesCommand::Delete { name, reason, etag } => {
            let facility = clients
                .facilities()
                .await?
                .delete_facility(clients.request(pb::DeleteFacilityRequest {
                    name: facility_name(&name),
                    etag: etag.unwrap_or_default(),
                    reason,
                }))
                .await
                .call("DeleteFacility")?
                .facility
                .unwrap_or_default();
            eprintln!("deleted {}", facility.name);
            facility_record(&facility).print(format)
        }
        FacilitiesCommand::Undelete { name, reason } => {
            let facility = clients
                .facilities()
                .await?
                .undelete_facility(clients.request(pb::UndeleteFacilityRequest {
                    name: facility_name(&name),
                    reason,
                }))
                .await
                .call("UndeleteFacility")?
                .facility
                .unwrap_or_default();
            eprintln!("restored {}", facility.name);
            facility_record(&facility).print(format)
        }
        FacilitiesCommand::Update { file } => update_facilities(clients, format, &file).await,
        FacilitiesCommand::List {
            parent,
            status,
            limit,
        } => {
            let statuses = match status {
                Some(s) => {
                    let status = shequ_domain::FacilityStatus::parse(&s).ok_or_else(|| {
                        CliError::input(format!("--status: unknown status `{s}`"))
                    })?;
                    vec![shequ_proto::convert::status_to_pb(status) as i32]
                }
                None => Vec::new(),
            };
            let mut client = clients.facilities().await?;
            let mut rows = facility_rows();
            let mut page_token = String::new();
            while rows.rows.len() < limit {
                let page = client
                    .list_facilities(pb::ListFacilitiesRequest {
                        parent: division_name(&parent),
                        page_size: i32::try_from(limit.min(1000)).unwrap_or(1000),
                        page_token,
                        statuses: statuses.clone(),
                        ..Default::default()
                    })
                    .await
                    .call("ListFacilities")?;
                rows.rows.extend(page.facilities.iter().map(facility_row));
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            rows.rows.truncate(limit);
            rows.print(format)
        }
        FacilitiesCommand::Show { name } => {
            let facility = clients
                .facilities()
                .await?
                .get_facility(pb::GetFacilityRequest {
                    name: facility_name(&name),
                    show_deleted: true,
                })
                .await
                .call("GetFacility")?
                .facility
                .unwrap_or_default();
            facility_record(&facility).print(format)
        }
        FacilitiesCommand::History { name } => {
            let mut client = clients.facilities().await?;
            let mut rows = Rows::new(&[
                "revision",
                "time",
                "change",
                "actor",
                "status",
                "changed_fields",
                "reason",
            ]);
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_facility_revisions(pb::ListFacilityRevisionsRequest {
                        name: facility_name(&name),
                        page_size: 1000,
                        page_token,
                    })
                    .await
                    .call("ListFacilityRevisions")?;
                for r in &page.revisions {
                    rows.push(vec![
                        r.revision.into(),
                        r.time.as_ref().map(format_time).unwrap_or_default().into(),
                        change_word(r.kind).into(),
                        r.actor.clone().into(),
                        r.snapshot
                            .as_ref()
                            .map_or("", |s| status_word(s.status))
                            .into(),
                        r.changed_fields.join(";").into(),
                        r.reason.clone().into(),
                    ]);
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            rows.print(format)
        }
    }
}

fn facility_name(name: &str) -> String {
    if name.starts_with("facilities/") {
        name.to_owned()
    } else {
        format!("facilities/{name}")
    }
}

/// Creates the file's facilities in batches; a refused batch is reported with the places of the
/// records it names, after the facilities created so far are printed.
async fn create_facilities(clients: &Clients, format: Format, file: &Path) -> anyhow::Result<()> {
    let records = checked_records(file, false)?;
    let places: Vec<String> = records.iter().map(|(place, ..)| place.clone()).collect();
    let requests: Vec<pb::CreateFacilityRequest> = records
        .into_iter()
        .map(|(_, facility, _, reason)| pb::CreateFacilityRequest {
            facility: Some(facility),
            request_id: uuid::Uuid::new_v4().to_string(),
            reason,
        })
        .collect();
    let client = clients.facilities().await?;
    let bar = progress::bar(requests.len() as u64, "facilities");
    let tick = bar.clone();
    let batched = create_in_batches(
        &client,
        requests,
        &clients.endpoints().actor,
        BATCHES_IN_FLIGHT,
        move |n| tick.inc(n),
    )
    .await;
    bar.finish_and_clear();
    let mut rows = facility_rows();
    rows.rows
        .extend(batched.facilities.iter().map(facility_row));
    eprintln!("created {} facilities", rows.rows.len());
    // What was written is printed even when a batch was refused, so a script knows what exists.
    rows.print(format)?;
    match batched.refused {
        None => Ok(()),
        Some((first, status)) => Err(batch_refusal(&places, first, &status).into()),
    }
}

/// A refused batch as an error naming the records: `requests[i]` in the status becomes the place
/// of record `first + i` in the file.
fn batch_refusal(places: &[String], first: usize, status: &tonic::Status) -> CliError {
    let last = (first + BATCH_SIZE).min(places.len()).saturating_sub(1);
    let generic = CliError::status(
        "BatchCreateFacilities",
        &tonic::Status::new(status.code(), ""),
    );
    let place_of = |field: &str| -> Option<(String, String)> {
        let rest = field.strip_prefix("requests[")?;
        let (index, rest) = rest.split_once(']')?;
        let i: usize = index.parse().ok()?;
        let place = places.get(first + i)?.clone();
        Some((place, rest.trim_start_matches('.').to_owned()))
    };
    let mut message = format!(
        "BatchCreateFacilities failed for the batch {} to {}, which created nothing: {} ({})",
        places.get(first).map_or("", String::as_str),
        places.get(last).map_or("", String::as_str),
        status.message(),
        crate::client::code_name(status.code())
    );
    if let Some(bad) = status.get_details_bad_request() {
        for v in bad.field_violations {
            match place_of(&v.field) {
                Some((place, field)) => {
                    message.push_str(&format!("\n  {place}, field `{field}`: {}", v.description))
                }
                None => message.push_str(&format!("\n  field `{}`: {}", v.field, v.description)),
            }
        }
    }
    CliError::new(generic.code, message)
}

/// A checked record: its place in the file, the facility, the fields it sets, and the reason.
type Checked = (String, pb::Facility, Vec<String>, String);

/// The file's records, each checked (a name only to update) before anything is sent: place,
/// facility, the fields it sets, and the reason.
fn checked_records(file: &Path, update: bool) -> Result<Vec<Checked>, CliError> {
    let records = input::read_facilities(file)?;
    // Check every record before sending any, so a bad file changes nothing.
    let mut checked = Vec::new();
    for (i, located) in records.iter().enumerate() {
        let place = input::place(file, located.line, i);
        let (facility, mask) = input::facility_from_record(&located.record)
            .map_err(|e| CliError::input(format!("{place}, {e}")))?;
        match (update, facility.name.is_empty()) {
            (true, true) => {
                return Err(CliError::input(format!(
                    "{place}, field `name`: required to update"
                )));
            }
            (false, false) => {
                return Err(CliError::input(format!(
                    "{place}, field `name`: assigned by the registry; leave it out to create"
                )));
            }
            _ => {}
        }
        checked.push((
            place,
            facility,
            mask,
            located.record.reason.clone().unwrap_or_default(),
        ));
    }
    Ok(checked)
}

/// Updates the file's facilities, one UpdateFacility call per record.
async fn update_facilities(clients: &Clients, format: Format, file: &Path) -> anyhow::Result<()> {
    let requests = checked_records(file, true)?;
    let mut client = clients.facilities().await?;
    let mut rows = facility_rows();
    let bar = progress::bar(requests.len() as u64, "facilities");
    for (place, facility, mask, reason) in requests {
        let outcome = client
            .update_facility(clients.request(pb::UpdateFacilityRequest {
                facility: Some(facility),
                update_mask: Some(prost_types::FieldMask { paths: mask }),
                reason,
            }))
            .await
            .call("UpdateFacility")
            .map(|r| r.facility);
        match outcome {
            Ok(facility) => rows.push(facility_row(&facility.unwrap_or_default())),
            Err(e) => {
                bar.finish_and_clear();
                // What was written so far is still printed, so a script knows what exists.
                rows.print(format)?;
                return Err(CliError::new(e.code, format!("{place}: {e}")).into());
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    eprintln!("updated {} facilities", rows.rows.len());
    rows.print(format)
}

fn facility_rows() -> Rows {
    Rows::new(&[
        "name",
        "display_name",
        "leaf_unit",
        "status",
        "total_floor_area_m2",
        "activity_area_m2",
        "min_daily_open_minutes",
        "revision",
        "etag",
    ])
}

fn facility_row(f: &pb::Facility) -> Vec<Cell> {
    vec![
        f.name.clone().into(),
        f.display_name.clone().into(),
        f.leaf_unit.trim_start_matches("divisions/").into(),
        status_word(f.status).into(),
        f.total_floor_area_m2.into(),
        f.activity_area_m2.into(),
        f.min_daily_open_minutes.into(),
        f.revision.into(),
        f.etag.clone().into(),
    ]
}

fn facility_record(f: &pb::Facility) -> Rows {
    let services = |list: &[i32]| {
        list.iter()
            .filter_map(|s| common::ServiceKind::try_from(*s).ok())
            .filter_map(shequ_proto::convert::service_from_pb)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(";")
    };
    let staff = f.staff.unwrap_or_default();
    let operator = f.operator.clone().unwrap_or_default();
    Rows::record(vec![
        ("name", f.name.clone().into()),
        ("display_name", f.display_name.clone().into()),
        (
            "leaf_unit",
            f.leaf_unit.trim_start_matches("divisions/").into(),
        ),
        ("leaf_unit_kind", kind_word(f.leaf_unit_kind).into()),
        ("address", f.address.clone().into()),
        (
            "latitude",
            Cell::opt_float(f.location.as_ref().map(|l| l.latitude)),
        ),
        (
            "longitude",
            Cell::opt_float(f.location.as_ref().map(|l| l.longitude)),
        ),
        ("status", status_word(f.status).into()),
        ("total_floor_area_m2", f.total_floor_area_m2.into()),
        ("activity_area_m2", f.activity_area_m2.into()),
        ("activity_area_share", f.activity_area_share.into()),
        ("opening_hours", opening_hours_text(&f.opening_hours).into()),
        ("min_daily_open_minutes", f.min_daily_open_minutes.into()),
        ("services", services(&f.services).into()),
        (
            "online_24h_services",
            services(&f.online_24h_services).into(),
        ),
        ("self_service_terminals", f.self_service_terminals.into()),
        ("community_workers", staff.community_workers.into()),
        ("social_workers", staff.social_workers.into()),
        ("operator_name", operator.display_name.into()),
        ("operator_uscc", operator.uscc.into()),
        ("contact_telephone", f.contact_telephone.clone().into()),
        ("revision", f.revision.into()),
        ("etag", f.etag.clone().into()),
        (
            "create_time",
            f.create_time
                .as_ref()
                .map(format_time)
                .unwrap_or_default()
                .into(),
        ),
        (
            "update_time",
            f.update_time
                .as_ref()
                .map(format_time)
                .unwrap_or_default()
                .into(),
        ),
        (
            "delete_time",
            f.delete_time
                .as_ref()
                .map(format_time)
                .unwrap_or_default()
                .into(),
        ),
    ])
}

/// Opening hours in the form the input files use: `mon 08:00-18:00; tue 08:00-18:00`.
fn opening_hours_text(hours: &[pb::OpeningInterval]) -> String {
    const DAYS: [&str; 8] = ["", "mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    hours
        .iter()
        .map(|h| {
            format!(
                "{} {:02}:{:02}-{:02}:{:02}",
                DAYS.get(h.day as usize).copied().unwrap_or(""),
                h.open_minute / 60,
                h.open_minute % 60,
                h.close_minute / 60,
                h.close_minute % 60
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn status_word(status: i32) -> &'static str {
    pb::FacilityStatus::try_from(status)
        .ok()
        .and_then(shequ_proto::convert::status_from_pb)
        .map_or("unspecified", shequ_domain::FacilityStatus::as_str)
}

fn change_word(kind: i32) -> &'static str {
    match pb::ChangeKind::try_from(kind) {
        Ok(pb::ChangeKind::Created) => "created",
        Ok(pb::ChangeKind::Updated) => "updated",
        Ok(pb::ChangeKind::Deleted) => "deleted",
        Ok(pb::ChangeKind::Undeleted) => "undeleted",
        _ => "unspecified",
    }
}

/// RFC 3339 in UTC, to the millisecond.
pub fn format_time(t: &prost_types::Timestamp) -> String {
    chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}
