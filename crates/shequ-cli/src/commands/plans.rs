//! `shequ plans …`: the plan monitor's plans, their alignment and their target revisions.

use std::path::PathBuf;

use clap::Subcommand;
use shequ_proto::monitoring::v1 as pb;

use crate::client::{CallExt as _, CliError, Clients};
use crate::input::{self, division_name};
use crate::output::{Cell, Format, Rows};

#[derive(Debug, Clone, Subcommand)]
pub enum PlansCommand {
    /// Load the built-in national plan, or a plan file (TOML).
    Load {
        /// The plan file; leave out with `--national`.
        file: Option<PathBuf>,
        /// The national plan of the 14th Five-Year Plan (`plans/national-14th-fyp`).
        #[arg(long, conflicts_with = "file")]
        national: bool,
    },
    /// A plan and its targets.
    Show { name: String },
    /// Every plan.
    List,
    /// Targets of a plan less ambitious than the nearest ancestor's plan with the same indicator.
    Alignment { name: String },
    /// Revise one target from a date on (a mid-term review), with the reason.
    Revise {
        /// `plans/{id}`.
        name: String,
        /// The indicator's code, e.g. `rural_facility_coverage`.
        #[arg(long)]
        indicator: String,
        /// A division below the plan's scope, for its target; the plan's own when left out.
        #[arg(long)]
        division: Option<String>,
        /// `YYYY-MM-DD`: in force from this date.
        #[arg(long)]
        date: String,
        /// The new target value.
        #[arg(long)]
        target: f64,
        /// The new target year; the revised target's when left out.
        #[arg(long)]
        year: Option<i32>,
        /// Why the target changed.
        #[arg(long)]
        reason: String,
    },
    /// A plan's target revisions, in the order recorded.
    Revisions { name: String },
}

pub async fn plans(clients: &Clients, format: Format, command: PlansCommand) -> anyhow::Result<()> {
    let mut client = clients.plans().await?;
    let plan = match command {
        PlansCommand::Load { file, national } => match (file, national) {
            (None, true) => client
                .load_national_plan(clients.request(pb::LoadNationalPlanRequest {}))
                .await
                .call("LoadNationalPlan")?
                .plan
                .unwrap_or_default(),
            (Some(file), false) => {
                let content = input::read_text(&file)?;
                client
                    .load_plan_file(clients.request(pb::LoadPlanFileRequest { content }))
                    .await
                    .call(&format!("LoadPlanFile {}", file.display()))?
                    .plan
                    .unwrap_or_default()
            }
            _ => {
                return Err(CliError::new(
                    crate::client::ExitCode::Usage,
                    "give a plan file or --national",
                )
                .into());
            }
        },
        PlansCommand::Show { name } => client
            .get_plan(pb::GetPlanRequest { name })
            .await
            .call("GetPlan")?
            .plan
            .unwrap_or_default(),
        PlansCommand::List => {
            let mut rows = Rows::new(&[
                "name",
                "display_name",
                "level",
                "scope",
                "parent",
                "start_year",
                "end_year",
                "survey_round",
                "targets",
            ]);
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_plans(pb::ListPlansRequest {
                        page_size: 1000,
                        page_token,
                    })
                    .await
                    .call("ListPlans")?;
                for p in &page.plans {
                    rows.push(vec![
                        p.name.clone().into(),
                        p.display_name.clone().into(),
                        level_word(p.level).into(),
                        p.scope.clone().into(),
                        p.parent.clone().into(),
                        p.start_year.into(),
                        p.end_year.into(),
                        p.survey_round.clone().into(),
                        i64::try_from(p.targets.len()).unwrap_or(0).into(),
                    ]);
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            return rows.print(format);
        }
        PlansCommand::Revise {
            name,
            indicator,
            division,
            date,
            target,
            year,
            reason,
        } => {
            let revision = client
                .revise_target(clients.request(pb::ReviseTargetRequest {
                    plan: name,
                    revision: Some(pb::TargetRevision {
                        indicator: format!(
                            "indicators/{}",
                            indicator.trim_start_matches("indicators/")
                        ),
                        division: division.as_deref().map(division_name).unwrap_or_default(),
                        effective_date: date,
                        target_value: target,
                        target_year: year.unwrap_or(0),
                        reason,
                        ..Default::default()
                    }),
                }))
                .await
                .call("ReviseTarget")?
                .revision
                .unwrap_or_default();
            return revision_rows(std::slice::from_ref(&revision)).print(format);
        }
        PlansCommand::Revisions { name } => {
            let mut revisions = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_target_revisions(pb::ListTargetRevisionsRequest {
                        plan: name.clone(),
                        page_size: 1000,
                        page_token,
                    })
                    .await
                    .call("ListTargetRevisions")?;
                revisions.extend(page.revisions);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            return revision_rows(&revisions).print(format);
        }
        PlansCommand::Alignment { name } => {
            let alignment = client
                .check_plan_alignment(pb::CheckPlanAlignmentRequest { name })
                .await
                .call("CheckPlanAlignment")?;
            let mut rows = Rows::new(&[
                "indicator",
                "division",
                "target_value",
                "parent_plan",
                "parent_target_division",
                "parent_target_value",
            ]);
            for m in &alignment.misalignments {
                rows.push(vec![
                    m.indicator.clone().into(),
                    m.division.trim_start_matches("divisions/").into(),
                    Cell::opt_float(m.target.as_ref().map(|t| t.target_value)),
                    m.parent_plan.clone().into(),
                    m.parent_target_division
                        .trim_start_matches("divisions/")
                        .into(),
                    Cell::opt_float(m.parent_target.as_ref().map(|t| t.target_value)),
                ]);
            }
            eprintln!(
                "{} targets less ambitious than their ancestors' plans",
                alignment.misalignments.len(),
            );
            return rows.print(format);
        }
    };
    plan_rows(&plan).print(format)
}

fn level_word(level: i32) -> &'static str {
    match pb::PlanLevel::try_from(level) {
        Ok(pb::PlanLevel::National) => "national",
        Ok(pb::PlanLevel::Provincial) => "provincial",
        Ok(pb::PlanLevel::Prefectural) => "prefectural",
        Ok(pb::PlanLevel::County) => "county",
        Ok(pb::PlanLevel::Township) => "township",
        _ => "unspecified",
    }
}

/// A plan as one row per target, then one per target override below it (naming its division).
fn plan_rows(plan: &pb::Plan) -> Rows {
    let mut rows = Rows::new(&[
        "plan",
        "display_name",
        "indicator",
        "division",
        "baseline_value",
        "baseline_year",
        "target_value",
        "target_year",
        "milestones",
        "method",
    ]);
    let milestones = |m: &[pb::Milestone]| -> Cell {
        m.iter()
            .map(|m| format!("{}:{}", m.year, m.value))
            .collect::<Vec<_>>()
            .join(";")
            .into()
    };
    let baseline = |has: bool, value: f64, year: i32| -> [Cell; 2] {
        if has {
            [value.into(), year.into()]
        } else {
            [Cell::Empty, Cell::Empty]
        }
    };
    for t in &plan.targets {
        let indicator = t.indicator.trim_start_matches("indicators/");
        let method = method_word(t);
        let [bv, by] = baseline(t.has_baseline, t.baseline_value, t.baseline_year);
        rows.push(vec![
            plan.name.clone().into(),
            plan.display_name.clone().into(),
            indicator.into(),
            Cell::Empty,
            bv,
            by,
            t.target_value.into(),
            t.target_year.into(),
            milestones(&t.milestones),
            method.clone().into(),
        ]);
        for o in &t.overrides {
            let [bv, by] = baseline(o.has_baseline, o.baseline_value, o.baseline_year);
            rows.push(vec![
                plan.name.clone().into(),
                plan.display_name.clone().into(),
                indicator.into(),
                o.division.trim_start_matches("divisions/").into(),
                bv,
                by,
                o.target_value.into(),
                o.target_year.into(),
                milestones(&o.milestones),
                method.clone().into(),
            ]);
        }
    }
    rows
}

/// Target revisions, one row each.
fn revision_rows(revisions: &[pb::TargetRevision]) -> Rows {
    let mut rows = Rows::new(&[
        "revision",
        "indicator",
        "division",
        "effective_date",
        "target_value",
        "target_year",
        "reason",
        "actor",
    ]);
    for r in revisions {
        rows.push(vec![
            r.name.clone().into(),
            r.indicator.trim_start_matches("indicators/").into(),
            r.division.trim_start_matches("divisions/").into(),
            r.effective_date.clone().into(),
            r.target_value.into(),
            r.target_year.into(),
            r.reason.clone().into(),
            r.actor.clone().into(),
        ]);
    }
    rows
}

/// A target's status method, with the growth-rate thresholds.
fn method_word(t: &pb::Target) -> String {
    match pb::StatusMethod::try_from(t.method) {
        Ok(pb::StatusMethod::GrowthRate) => format!(
            "growth_rate {}/{}",
            t.on_track_ratio.unwrap_or(0.95),
            t.lagging_ratio.unwrap_or(0.6)
        ),
        _ => "linear".to_owned(),
    }
}
