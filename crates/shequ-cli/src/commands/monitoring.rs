//! `shequ evaluate`, `shequ report` and `shequ evaluations …`: the plan monitor's evaluation
//! subcommands (its plans are in `plans`).

use std::path::{Path, PathBuf};

use crate::client::Conn;
use clap::{Args, Subcommand};
use shequ_proto::monitoring::v1 as pb;
use shequ_proto::monitoring::v1::evaluation_service_client::EvaluationServiceClient;

use crate::client::{CallExt as _, CliError, Clients};
use crate::commands::registry::format_time;
use crate::input::division_name;
use crate::output::{Cell, Format, Rows};

#[derive(Debug, Clone, Subcommand)]
pub enum EvaluationsCommand {
    /// The indicators that moved between two evaluations of one plan (`CompareEvaluations`):
    /// the division first, then its children by code; unchanged values are left out.
    Compare {
        /// `plans/{id}/evaluations/{id}`: the earlier one.
        base: String,
        /// `plans/{id}/evaluations/{id}` of the same plan: the later one.
        other: String,
        /// The division compared; the plan's scope when left out.
        #[arg(long)]
        division: Option<String>,
    },
    /// What one division's figure stands on (`ListResultRecords`): the leaf units it counted,
    /// with their parts, or the reported values it added up.
    Records {
        /// `plans/{id}/evaluations/{id}`.
        evaluation: String,
        /// The indicator's code, e.g. `rural_facility_coverage`.
        #[arg(long)]
        indicator: String,
        /// The division; the plan's scope when left out.
        #[arg(long)]
        division: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct EvaluateArgs {
    /// `plans/{id}`.
    pub plan: String,
    /// `YYYY-MM-DD`; today (UTC) when left out.
    #[arg(long)]
    pub date: Option<String>,
    /// `rounds/{id}`: the survey round to read instead of the plan's.
    #[arg(long)]
    pub round: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// `plans/{id}/evaluations/{id}`, or `plans/{id}` for its latest evaluation.
    pub evaluation: String,
    /// The division reported on; the plan's scope when left out.
    #[arg(long)]
    pub division: Option<String>,
    /// Worst regions one level down listed per indicator.
    #[arg(long, default_value_t = 3)]
    pub worst: i32,
    /// With `-o html`: the file to write; default `shequ-report-{evaluation}.html` here.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

pub async fn evaluate(clients: &Clients, format: Format, args: EvaluateArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let evaluation = clients
        .evaluations()
        .await?
        .evaluate_plan(clients.request(pb::EvaluatePlanRequest {
            plan: args.plan,
            evaluation_date: args.date.unwrap_or_default(),
            survey_round: args.round.unwrap_or_default(),
        }))
        .await
        .call("EvaluatePlan")?
        .evaluation
        .unwrap_or_default();
    eprintln!(
        "evaluated {} divisions in {:.1} s",
        evaluation.divisions,
        started.elapsed().as_secs_f64()
    );
    evaluation_record(&evaluation).print(format)
}

pub fn evaluation_record(e: &pb::Evaluation) -> Rows {
    Rows::record(vec![
        ("name", e.name.clone().into()),
        ("evaluation_date", e.evaluation_date.clone().into()),
        (
            "create_time",
            e.create_time
                .as_ref()
                .map(format_time)
                .unwrap_or_default()
                .into(),
        ),
        ("registry_vintage", e.registry_vintage.clone().into()),
        (
            "registry_change_cursor",
            e.registry_change_cursor.clone().into(),
        ),
        ("survey_round", e.survey_round.clone().into()),
        ("divisions", e.divisions.into()),
        ("leaf_units", e.leaf_units.into()),
        ("actor", e.actor.clone().into()),
    ])
}

/// `plans/{id}/evaluations/{id}` as given, or the newest evaluation of `plans/{id}`.
async fn resolve_evaluation(
    client: &mut EvaluationServiceClient<Conn>,
    name: &str,
) -> anyhow::Result<String> {
    if name.contains("/evaluations/") {
        return Ok(name.to_owned());
    }
    let page = client
        .list_evaluations(pb::ListEvaluationsRequest {
            parent: name.to_owned(),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .call("ListEvaluations")?;
    page.evaluations
        .into_iter()
        .next()
        .map(|e| e.name)
        .ok_or_else(|| {
            CliError::new(
                crate::client::ExitCode::NotFound,
                format!("{name} has no evaluation yet; run `shequ evaluate {name}`"),
            )
            .into()
        })
}

/// Renders a report through `RenderReport`; `-o table` is the server's text.
pub async fn report(clients: &Clients, format: Format, args: ReportArgs) -> anyhow::Result<()> {
    let mut client = clients.evaluations().await?;
    let evaluation = resolve_evaluation(&mut client, &args.evaluation).await?;
    let wire = match format {
        Format::Table => pb::ReportFormat::Text,
        Format::Csv => pb::ReportFormat::Csv,
        Format::Json => pb::ReportFormat::Json,
        Format::Html => pb::ReportFormat::Html,
    };
    let rendered = client
        .render_report(pb::RenderReportRequest {
            evaluation: evaluation.clone(),
            division: args
                .division
                .as_deref()
                .map(division_name)
                .unwrap_or_default(),
            format: wire as i32,
            worst_regions: args.worst,
        })
        .await
        .call("RenderReport")?;
    if format == Format::Html {
        let path = args
            .out
            .unwrap_or_else(|| PathBuf::from(html_file_name(&evaluation)));
        write_html(&path, &rendered.content)?;
        println!("{}", path.display());
        return Ok(());
    }
    print!("{}", rendered.content);
    if !rendered.content.ends_with('\n') {
        println!();
    }
    Ok(())
}

/// `shequ-report-{plan}-{evaluation}.html`.
pub fn html_file_name(evaluation: &str) -> String {
    let id = evaluation
        .trim_start_matches("plans/")
        .replace("/evaluations/", "-");
    format!("shequ-report-{id}.html")
}

/// Writes the HTML file whole (to a temporary name first, so a reader never sees half).
pub fn write_html(path: &Path, content: &str) -> Result<(), CliError> {
    let tmp = path.with_extension("html.part");
    std::fs::write(&tmp, content)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            CliError::new(
                crate::client::ExitCode::Failure,
                format!("cannot write {}: {e}", path.display()),
            )
        })
}

pub async fn evaluations(
    clients: &Clients,
    format: Format,
    command: EvaluationsCommand,
) -> anyhow::Result<()> {
    let (base, other, division) = match command {
        EvaluationsCommand::Compare {
            base,
            other,
            division,
        } => (base, other, division),
        EvaluationsCommand::Records {
            evaluation,
            indicator,
            division,
        } => return records(clients, format, evaluation, indicator, division).await,
    };
    let compared = clients
        .evaluations()
        .await?
        .compare_evaluations(pb::CompareEvaluationsRequest {
            base,
            other,
            division: division.as_deref().map(division_name).unwrap_or_default(),
        })
        .await
        .call("CompareEvaluations")?;
    let mut rows = Rows::new(&[
        "division",
        "indicator",
        "base_value",
        "other_value",
        "delta",
        "base_status",
        "other_status",
    ]);
    for c in &compared.changes {
        rows.push(vec![
            c.division.trim_start_matches("divisions/").into(),
            c.indicator.trim_start_matches("indicators/").into(),
            Cell::opt_float(c.base_value),
            Cell::opt_float(c.other_value),
            Cell::opt_float(c.delta),
            indicator_status_word(c.base_status).into(),
            indicator_status_word(c.other_status).into(),
        ]);
    }
    eprintln!("{} indicator values changed", compared.changes.len());
    rows.print(format)
}

/// Every record behind one division's figure, page after page.
async fn records(
    clients: &Clients,
    format: Format,
    evaluation: String,
    indicator: String,
    division: Option<String>,
) -> anyhow::Result<()> {
    let mut client = clients.evaluations().await?;
    let mut rows = Rows::new(&[
        "division",
        "level",
        "indicator",
        "value",
        "numerator",
        "denominator",
        "as_of",
        "periods",
    ]);
    let mut page_token = String::new();
    loop {
        let page = client
            .list_result_records(pb::ListResultRecordsRequest {
                evaluation: evaluation.clone(),
                division: division.as_deref().map(division_name).unwrap_or_default(),
                indicator: format!("indicators/{}", indicator.trim_start_matches("indicators/")),
                page_size: 1000,
                page_token,
            })
            .await
            .call("ListResultRecords")?;
        for r in &page.records {
            rows.push(vec![
                r.division.trim_start_matches("divisions/").into(),
                i64::from(r.level).into(),
                r.indicator.trim_start_matches("indicators/").into(),
                Cell::opt_float(r.value),
                Cell::opt_float(r.numerator),
                Cell::opt_float(r.denominator),
                r.as_of.as_ref().map(format_time).unwrap_or_default().into(),
                r.periods.join(";").into(),
            ]);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    rows.print(format)
}

fn indicator_status_word(status: i32) -> &'static str {
    match pb::IndicatorStatus::try_from(status) {
        Ok(pb::IndicatorStatus::Achieved) => "achieved",
        Ok(pb::IndicatorStatus::OnTrack) => "on_track",
        Ok(pb::IndicatorStatus::Lagging) => "lagging",
        Ok(pb::IndicatorStatus::OffTrack) => "off_track",
        Ok(pb::IndicatorStatus::NoData) => "no_data",
        Ok(pb::IndicatorStatus::NoTarget) => "no_target",
        Ok(pb::IndicatorStatus::Undetermined) => "undetermined",
        Ok(pb::IndicatorStatus::Unspecified) | Err(_) => "unspecified",
    }
}
