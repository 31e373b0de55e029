//! `shequ questionnaires …`, `shequ rounds …` and `shequ responses …`: the survey service's
//! client subcommands, including the bulk submission of responses over one stream.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use futures::StreamExt as _;
use serde::Deserialize;
use shequ_domain::ServiceKind;
use shequ_proto::survey::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use shequ_proto::survey::v1::round_service_client::RoundServiceClient;

use crate::client::{CallExt as _, CliError, Clients, Conn, ExitCode};
use crate::commands::registry::format_time;
use crate::input::{self, FileKind, division_name};
use crate::output::{Cell, Format, Rows};
use crate::progress;

#[derive(Debug, Clone, Subcommand)]
pub enum QuestionnairesCommand {
    /// Create a questionnaire from a TOML or JSON file (`title` and `[[questions]]`).
    Create {
        file: PathBuf,
        /// Publish it as version 1 straight away.
        #[arg(long)]
        publish: bool,
    },
    /// Freeze the draft as the next version.
    Publish { name: String },
    /// The draft, or a published version, question by question.
    Show {
        name: String,
        #[arg(long, default_value_t = 0)]
        version: i32,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum RoundsCommand {
    /// Create a round (draft) of a published questionnaire version over a region.
    Create {
        #[arg(long)]
        display_name: String,
        /// `questionnaires/{id}`.
        #[arg(long)]
        questionnaire: String,
        #[arg(long, default_value_t = 1)]
        version: i32,
        /// The division surveyed, e.g. `13`.
        #[arg(long)]
        region: String,
        /// Start of the collection window (RFC 3339 or a date).
        #[arg(long)]
        start: String,
        /// End of the collection window, exclusive.
        #[arg(long)]
        end: String,
        /// Valid responses a leaf unit needs to count as covered.
        #[arg(long, default_value_t = 1)]
        min_valid_responses: i32,
        /// Open it straight away.
        #[arg(long)]
        open: bool,
    },
    Show {
        name: String,
    },
    Open {
        name: String,
    },
    Close {
        name: String,
    },
    /// Results of the valid responses in a division of the round's region.
    Results {
        name: String,
        #[arg(long)]
        division: Option<String>,
    },
    /// Leaf units covered, and those still short of the round's minimum.
    Coverage {
        name: String,
        #[arg(long)]
        division: Option<String>,
        /// Short leaf units listed at most.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Every response of the round as CSV (the survey service's `ExportResponses` stream),
    /// written as it arrives.
    Export {
        /// `rounds/{id}`.
        name: String,
        /// The file to write, or `-` for stdout.
        #[arg(long, default_value = "-", value_name = "FILE")]
        out: String,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum ResponsesCommand {
    /// Submit responses from CSV or JSON lines over one `BulkSubmitResponses` stream. Every
    /// record is checked first; a bad record stops the command before anything is sent.
    Submit {
        /// `rounds/{id}`.
        round: String,
        file: PathBuf,
        /// Responses per batch (the service takes at most 1000).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Invalidate a response: it stays stored but no longer counts; who, when and why are kept.
    Invalidate {
        /// `rounds/{id}/responses/{id}`.
        name: String,
        /// Why (required by the service).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionnaireFile {
    title: String,
    #[serde(default)]
    questions: Vec<QuestionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionFile {
    id: String,
    text: String,
    /// satisfaction, single_choice, multiple_choice, yes_no, number or free_text.
    r#type: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    counts_towards_satisfaction: bool,
    dimension: Option<String>,
    #[serde(default)]
    options: Vec<OptionFile>,
    min_value: Option<f64>,
    max_value: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionFile {
    id: String,
    text: String,
}

const TYPES: [(&str, pb::QuestionType); 6] = [
    ("satisfaction", pb::QuestionType::Satisfaction),
    ("single_choice", pb::QuestionType::SingleChoice),
    ("multiple_choice", pb::QuestionType::MultipleChoice),
    ("yes_no", pb::QuestionType::YesNo),
    ("number", pb::QuestionType::Number),
    ("free_text", pb::QuestionType::FreeText),
];

fn type_word(t: i32) -> &'static str {
    TYPES
        .iter()
        .find(|(_, ty)| *ty as i32 == t)
        .map_or("unspecified", |(w, _)| w)
}

fn read_questionnaire(path: &Path) -> Result<pb::Questionnaire, CliError> {
    let text = input::read_text(path)?;
    let file: QuestionnaireFile = match FileKind::of(path)? {
        FileKind::Toml => toml::from_str(&text)
            .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?,
        FileKind::Json => serde_json::from_str(&text)
            .map_err(|e| CliError::input(format!("{}: line {}: {e}", path.display(), e.line())))?,
        _ => {
            return Err(CliError::input(format!(
                "{}: questionnaires are read from .toml or .json files",
                path.display()
            )));
        }
    };
    let mut questions = Vec::new();
    for (i, q) in file.questions.into_iter().enumerate() {
        let field = |f: &str, e: String| {
            CliError::input(format!(
                "{}: field `questions[{i}].{f}`: {e}",
                path.display()
            ))
        };
        let ty = TYPES
            .iter()
            .find(|(w, _)| *w == q.r#type)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                field(
                    "type",
                    format!(
                        "unknown type `{}`; expected one of {}",
                        q.r#type,
                        TYPES.map(|(w, _)| w).join(", ")
                    ),
                )
            })?;
        let dimension = match &q.dimension {
            Some(d) => ServiceKind::parse(d)
                .map(|k| shequ_proto::convert::service_to_pb(k) as i32)
                .ok_or_else(|| field("dimension", format!("unknown service `{d}`")))?,
            None => 0,
        };
        questions.push(pb::Question {
            id: q.id,
            text: q.text,
            r#type: ty as i32,
            required: q.required,
            counts_towards_satisfaction: q.counts_towards_satisfaction,
            dimension,
            options: q
                .options
                .into_iter()
                .map(|o| pb::QuestionOption {
                    id: o.id,
                    text: o.text,
                })
                .collect(),
            min_value: q.min_value.unwrap_or_default(),
            max_value: q.max_value.unwrap_or_default(),
        });
    }
    Ok(pb::Questionnaire {
        title: file.title,
        questions,
        ..Default::default()
    })
}

fn questionnaire_rows(q: &pb::Questionnaire) -> Rows {
    let mut rows = Rows::new(&[
        "questionnaire",
        "version",
        "latest_version",
        "title",
        "question",
        "type",
        "required",
        "text",
        "options",
    ]);
    for question in &q.questions {
        rows.push(vec![
            q.name.clone().into(),
            q.version.into(),
            q.latest_version.into(),
            q.title.clone().into(),
            question.id.clone().into(),
            type_word(question.r#type).into(),
            question.required.into(),
            question.text.clone().into(),
            question
                .options
                .iter()
                .map(|o| o.id.as_str())
                .collect::<Vec<_>>()
                .join(";")
                .into(),
        ]);
    }
    rows
}

pub async fn questionnaires(
    clients: &Clients,
    format: Format,
    command: QuestionnairesCommand,
) -> anyhow::Result<()> {
    let mut client = clients.questionnaires().await?;
    let questionnaire = match command {
        QuestionnairesCommand::Create { file, publish } => {
            let questionnaire = read_questionnaire(&file)?;
            let created = client
                .create_questionnaire(clients.request(pb::CreateQuestionnaireRequest {
                    questionnaire: Some(questionnaire),
                }))
                .await
                .call("CreateQuestionnaire")?
                .questionnaire
                .unwrap_or_default();
            eprintln!("created {}", created.name);
            if publish {
                let published = client
                    .publish_questionnaire(clients.request(pb::PublishQuestionnaireRequest {
                        name: created.name.clone(),
                    }))
                    .await
                    .call("PublishQuestionnaire")?
                    .questionnaire
                    .unwrap_or_default();
                eprintln!("published {} version {}", published.name, published.version);
                published
            } else {
                created
            }
        }
        QuestionnairesCommand::Publish { name } => {
            let published = client
                .publish_questionnaire(clients.request(pb::PublishQuestionnaireRequest { name }))
                .await
                .call("PublishQuestionnaire")?
                .questionnaire
                .unwrap_or_default();
            eprintln!("published {} version {}", published.name, published.version);
            published
        }
        QuestionnairesCommand::Show { name, version } => client
            .get_questionnaire(pb::GetQuestionnaireRequest { name, version })
            .await
            .call("GetQuestionnaire")?
            .questionnaire
            .unwrap_or_default(),
    };
    questionnaire_rows(&questionnaire).print(format)
}

fn state_word(state: i32) -> &'static str {
    match pb::RoundState::try_from(state) {
        Ok(pb::RoundState::Draft) => "draft",
        Ok(pb::RoundState::Open) => "open",
        Ok(pb::RoundState::Closed) => "closed",
        _ => "unspecified",
    }
}

fn round_record(r: &pb::Round) -> Rows {
    let time = |t: &Option<prost_types::Timestamp>| t.as_ref().map(format_time).unwrap_or_default();
    Rows::record(vec![
        ("name", r.name.clone().into()),
        ("display_name", r.display_name.clone().into()),
        ("questionnaire", r.questionnaire.clone().into()),
        ("questionnaire_version", r.questionnaire_version.into()),
        ("region", r.region.clone().into()),
        ("start_time", time(&r.start_time).into()),
        ("end_time", time(&r.end_time).into()),
        ("min_valid_responses", r.min_valid_responses.into()),
        ("state", state_word(r.state).into()),
    ])
}

pub async fn rounds(
    clients: &Clients,
    format: Format,
    command: RoundsCommand,
) -> anyhow::Result<()> {
    let mut client = clients.rounds().await?;
    let round = match command {
        RoundsCommand::Create {
            display_name,
            questionnaire,
            version,
            region,
            start,
            end,
            min_valid_responses,
            open,
        } => {
            let start =
                input::parse_time(&start).map_err(|e| CliError::input(format!("--start: {e}")))?;
            let end =
                input::parse_time(&end).map_err(|e| CliError::input(format!("--end: {e}")))?;
            let created = client
                .create_round(clients.request(pb::CreateRoundRequest {
                    round: Some(pb::Round {
                        display_name,
                        questionnaire,
                        questionnaire_version: version,
                        region: division_name(&region),
                        start_time: Some(start),
                        end_time: Some(end),
                        min_valid_responses,
                        ..Default::default()
                    }),
                }))
                .await
                .call("CreateRound")?
                .round
                .unwrap_or_default();
            eprintln!("created {}", created.name);
            if open {
                client
                    .open_round(clients.request(pb::OpenRoundRequest {
                        name: created.name.clone(),
                    }))
                    .await
                    .call("OpenRound")?
                    .round
                    .unwrap_or_default()
            } else {
                created
            }
        }
        RoundsCommand::Show { name } => client
            .get_round(pb::GetRoundRequest { name })
            .await
            .call("GetRound")?
            .round
            .unwrap_or_default(),
        RoundsCommand::Open { name } => client
            .open_round(clients.request(pb::OpenRoundRequest { name }))
            .await
            .call("OpenRound")?
            .round
            .unwrap_or_default(),
        RoundsCommand::Close { name } => client
            .close_round(clients.request(pb::CloseRoundRequest { name }))
            .await
            .call("CloseRound")?
            .round
            .unwrap_or_default(),
        RoundsCommand::Results { name, division } => {
            let results = client
                .get_round_results(pb::GetRoundResultsRequest {
                    round: name,
                    division: division.as_deref().map(division_name).unwrap_or_default(),
                })
                .await
                .call("GetRoundResults")?;
            return results_rows(&results).print(format);
        }
        RoundsCommand::Export { name, out } => return export(&mut client, &name, &out).await,
        RoundsCommand::Coverage {
            name,
            division,
            limit,
        } => {
            let coverage = client
                .get_round_coverage(pb::GetRoundCoverageRequest {
                    round: name,
                    division: division.as_deref().map(division_name).unwrap_or_default(),
                    page_size: i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000),
                    page_token: String::new(),
                })
                .await
                .call("GetRoundCoverage")?;
            eprintln!(
                "{}: {} of {} leaf units covered ({:.1}%)",
                coverage.division,
                coverage.covered_leaf_units,
                coverage.leaf_units,
                coverage.coverage * 100.0
            );
            let mut rows = Rows::new(&[
                "division",
                "covered_leaf_units",
                "leaf_units",
                "coverage",
                "short_leaf_unit",
                "valid_responses",
            ]);
            let head = |rows: &mut Rows, unit: Cell, n: Cell| {
                rows.push(vec![
                    coverage.division.clone().into(),
                    coverage.covered_leaf_units.into(),
                    coverage.leaf_units.into(),
                    coverage.coverage.into(),
                    unit,
                    n,
                ]);
            };
            if coverage.short_leaf_units.is_empty() {
                head(&mut rows, Cell::Empty, Cell::Empty);
            }
            for short in coverage.short_leaf_units.iter().take(limit) {
                head(
                    &mut rows,
                    short.leaf_unit.trim_start_matches("divisions/").into(),
                    short.valid_responses.into(),
                );
            }
            return rows.print(format);
        }
    };
    round_record(&round).print(format)
}

fn results_rows(r: &pb::GetRoundResultsResponse) -> Rows {
    let mut rows = Rows::new(&["division", "measure", "answer", "value"]);
    let division = || Cell::from(r.division.clone());
    rows.push(vec![
        division(),
        "valid_responses".into(),
        Cell::Empty,
        r.valid_responses.into(),
    ]);
    rows.push(vec![
        division(),
        "scored_responses".into(),
        Cell::Empty,
        r.scored_responses.into(),
    ]);
    rows.push(vec![
        division(),
        "satisfaction_index".into(),
        Cell::Empty,
        Cell::opt_float(r.satisfaction_index),
    ]);
    for d in &r.dimensions {
        let name = shequ_proto::common::v1::ServiceKind::try_from(d.dimension)
            .ok()
            .and_then(shequ_proto::convert::service_from_pb)
            .map_or("unspecified", ServiceKind::as_str);
        rows.push(vec![
            division(),
            format!("satisfaction_index.{name}").into(),
            Cell::Empty,
            Cell::opt_float(d.satisfaction_index),
        ]);
    }
    for q in &r.questions {
        rows.push(vec![
            division(),
            format!("{}.answered", q.question_id).into(),
            Cell::Empty,
            q.answered.into(),
        ]);
        if let Some(mean) = q.mean {
            rows.push(vec![
                division(),
                format!("{}.mean", q.question_id).into(),
                Cell::Empty,
                mean.into(),
            ]);
        }
        for c in &q.counts {
            rows.push(vec![
                division(),
                q.question_id.clone().into(),
                c.answer.clone().into(),
                c.responses.into(),
            ]);
        }
    }
    rows
}

/// How a bulk submission ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Submitted {
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

/// Streams `responses` to `round` in batches with a progress bar. A response rejected by the
/// service is reported on stderr through `describe` (given its index) with its fields.
pub async fn submit_stream(
    clients: &Clients,
    round: &str,
    responses: Vec<pb::Response>,
    batch: usize,
    describe: &(dyn Fn(usize) -> String + Sync),
) -> anyhow::Result<Submitted> {
    let total = responses.len();
    let bar = progress::bar(total as u64, "responses");
    let (tx, rx) = mpsc::channel::<pb::BulkSubmitResponsesRequest>(2);
    let parent = round.to_owned();
    let batch = batch.clamp(1, 1000);
    let producer = tokio::spawn(async move {
        let mut responses = responses.into_iter().peekable();
        while responses.peek().is_some() {
            let chunk: Vec<pb::Response> = responses.by_ref().take(batch).collect();
            let message = pb::BulkSubmitResponsesRequest {
                parent: parent.clone(),
                responses: chunk,
            };
            if tx.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut client = clients.responses().await?;
    let mut results = client
        .bulk_submit_responses(clients.request(ReceiverStream::new(rx)))
        .await
        .call("BulkSubmitResponses")?;
    let mut done = Submitted::default();
    let mut index = 0usize;
    while let Some(message) = results.next().await {
        let message = match message {
            Ok(m) => m,
            Err(status) => {
                bar.finish_and_clear();
                producer.abort();
                return Err(CliError::status(
                    &format!(
                        "BulkSubmitResponses (after {} of {total} responses were answered)",
                        index
                    ),
                    &status,
                )
                .into());
            }
        };
        for r in message.results {
            match pb::SubmitOutcome::try_from(r.outcome) {
                Ok(pb::SubmitOutcome::Accepted) => done.accepted += 1,
                Ok(pb::SubmitOutcome::Duplicate) => done.duplicates += 1,
                _ => {
                    done.rejected += 1;
                    let fields: Vec<String> = r
                        .field_violations
                        .iter()
                        .map(|v| format!("field `{}`: {}", v.field, v.description))
                        .collect();
                    bar.suspend(|| {
                        eprintln!(
                            "{}: response `{}` rejected: {}{}{}",
                            describe(index),
                            r.response_id,
                            r.message,
                            if fields.is_empty() { "" } else { "; " },
                            fields.join("; ")
                        );
                    });
                }
            }
            index += 1;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    producer.await?;
    Ok(done)
}

pub async fn responses(
    clients: &Clients,
    format: Format,
    command: ResponsesCommand,
) -> anyhow::Result<()> {
    let (round, file, batch) = match command {
        ResponsesCommand::Submit { round, file, batch } => (round, file, batch),
        ResponsesCommand::Invalidate { name, reason } => {
            let response = clients
                .responses()
                .await?
                .invalidate_response(
                    clients.request(pb::InvalidateResponseRequest { name, reason }),
                )
                .await
                .call("InvalidateResponse")?
                .response
                .unwrap_or_default();
            eprintln!("invalidated {}", response.name);
            let invalidation = response.invalidation.clone().unwrap_or_default();
            return Rows::record(vec![
                ("name", response.name.clone().into()),
                (
                    "leaf_unit",
                    response.leaf_unit.trim_start_matches("divisions/").into(),
                ),
                ("valid", response.valid.into()),
                ("invalidated_by", invalidation.actor.into()),
                (
                    "invalidated_at",
                    invalidation
                        .time
                        .as_ref()
                        .map(format_time)
                        .unwrap_or_default()
                        .into(),
                ),
                ("reason", invalidation.reason.into()),
            ])
            .print(format);
        }
    };
    let records = input::read_responses(&file)?;
    // The round's questionnaire version types the answers.
    let round_info = clients
        .rounds()
        .await?
        .get_round(pb::GetRoundRequest {
            name: round.clone(),
        })
        .await
        .call("GetRound")?
        .round
        .unwrap_or_default();
    let questionnaire = clients
        .questionnaires()
        .await?
        .get_questionnaire(pb::GetQuestionnaireRequest {
            name: round_info.questionnaire.clone(),
            version: round_info.questionnaire_version,
        })
        .await
        .call("GetQuestionnaire")?
        .questionnaire
        .unwrap_or_default();
    let types: BTreeMap<String, pb::QuestionType> = questionnaire
        .questions
        .iter()
        .map(|q| {
            (
                q.id.clone(),
                pb::QuestionType::try_from(q.r#type).unwrap_or_default(),
            )
        })
        .collect();
    let mut responses = Vec::with_capacity(records.len());
    let mut lines = Vec::with_capacity(records.len());
    for (i, located) in records.iter().enumerate() {
        let response = input::response_from_record(&located.record, &types).map_err(|e| {
            CliError::input(format!("{}, {e}", input::place(&file, located.line, i)))
        })?;
        responses.push(response);
        lines.push(located.line);
    }
    eprintln!(
        "submitting {} responses to {round} ({})",
        responses.len(),
        round_info.display_name
    );
    let started = std::time::Instant::now();
    let describe = |i: usize| input::place(&file, lines.get(i).copied().unwrap_or(0), i);
    let done = submit_stream(clients, &round, responses, batch, &describe).await?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{} accepted, {} duplicates, {} rejected in {secs:.1} s",
        done.accepted, done.duplicates, done.rejected
    );
    Rows::record(vec![
        ("round", round.into()),
        (
            "accepted",
            i64::try_from(done.accepted).unwrap_or(i64::MAX).into(),
        ),
        (
            "duplicates",
            i64::try_from(done.duplicates).unwrap_or(i64::MAX).into(),
        ),
        (
            "rejected",
            i64::try_from(done.rejected).unwrap_or(i64::MAX).into(),
        ),
    ])
    .print(format)?;
    if done.rejected > 0 {
        return Err(CliError::new(
            ExitCode::Partial,
            format!(
                "{} responses were rejected; the others were stored",
                done.rejected
            ),
        )
        .into());
    }
    Ok(())
}

/// Streams the round's CSV export to `out` (`-`: stdout) as it arrives. A file is written beside
/// its final name and renamed when the stream ends, so a failed export leaves no partial file.
async fn export(
    client: &mut RoundServiceClient<Conn>,
    round: &str,
    out: &str,
) -> anyhow::Result<()> {
    use std::io::Write as _;

    let mut stream = client
        .export_responses(pb::ExportResponsesRequest {
            round: round.to_owned(),
        })
        .await
        .call("ExportResponses")?;
    let mut bytes = 0u64;
    if out == "-" {
        let stdout = std::io::stdout();
        let mut w = stdout.lock();
        while let Some(chunk) = stream
            .message()
            .await
            .map_err(|s| CliError::status("ExportResponses", &s))?
        {
            w.write_all(&chunk.data)?;
            bytes += chunk.data.len() as u64;
        }
        w.flush()?;
    } else {
        let path = Path::new(out);
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
            CliError::input(format!("--out: cannot write in {}: {e}", dir.display()))
        })?;
        while let Some(chunk) = stream
            .message()
            .await
            .map_err(|s| CliError::status("ExportResponses", &s))?
        {
            file.write_all(&chunk.data)?;
            bytes += chunk.data.len() as u64;
        }
        file.persist(path)
            .map_err(|e| CliError::input(format!("--out: cannot write {out}: {e}")))?;
        eprintln!("wrote {out}");
    }
    eprintln!("exported {round}: {bytes} bytes of CSV");
    Ok(())
}
