//! The `shequ` binary against services started in-process by the test kit (and against
//! `shequ up`): output formats, exit codes, stderr messages and bad input.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use shequ_testkit::{AuthWorld, Registry, TestService};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

const SHEQU: &str = env!("CARGO_BIN_EXE_shequ");

/// How one run of `shequ` ended.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(SHEQU);
    c.args(args)
        .env_remove("SHEQU_REGISTRY")
        .env_remove("SHEQU_SURVEY")
        .env_remove("SHEQU_MONITORING")
        .env_remove("SHEQU_ACTOR")
        .env_remove("SHEQU_TOKEN")
        .env_remove("SHEQU_TOKEN_FILE")
        .env_remove("SHEQU_CA_FILE")
        .stdin(Stdio::null());
    c
}

async fn shequ(args: &[&str]) -> Run {
    let out = command(args).output().await.expect("shequ runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/divisions/sample")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

async fn registry_with_sample() -> (TestService<Registry>, String) {
    let registry = TestService::registry().await.unwrap();
    let endpoint = registry.endpoint();
    let run = shequ(&[
        "divisions",
        "import",
        sample_dir().to_str().unwrap(),
        "--vintage",
        "2023",
        "--registry",
        &endpoint,
        "-o",
        "csv",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("file,rows\n"), "{run:?}");
    assert!(run.stdout.contains("villages,936\n"), "{run:?}");
    (registry, endpoint)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn divisions_print_as_table_json_and_csv() {
    let (_registry, endpoint) = registry_with_sample().await;

    let run = shequ(&[
        "divisions",
        "get",
        "110101001001",
        "--registry",
        &endpoint,
        "-o",
        "json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["code"], "110101001001");
    assert_eq!(json["name"], "多福巷社区居委会");
    assert_eq!(json["level"], "village");
    assert_eq!(json["leaf_unit_kind"], "community");

    // The endpoint from the environment instead of a flag.
    let out = command(&["divisions", "children", "110101001", "-o", "csv"])
        .env("SHEQU_REGISTRY", &endpoint)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("code,name,level,parent,leaf_unit_kind,vintage,retired")
    );
    assert!(
        lines.all(|l| l.contains(",village,110101001000,community,2023,false")),
        "{csv}"
    );

    let run = shequ(&["divisions", "search", "东华门", "--registry", &endpoint]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let mut lines = run.stdout.lines();
    assert!(lines.next().unwrap().starts_with("code "));
    assert!(lines.next().unwrap().starts_with("----"));
    assert!(run.stdout.contains("东华门街道"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_tell_not_found_from_unreachable() {
    let (_registry, endpoint) = registry_with_sample().await;
    let run = shequ(&["divisions", "get", "990000000000", "--registry", &endpoint]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("GetDivision failed"), "{run:?}");
    assert!(run.stderr.contains("NOT_FOUND"), "{run:?}");

    // Nothing listens on the discard port.
    let run = shequ(&["divisions", "get", "11", "--registry", "http://127.0.0.1:9"]).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert!(
        run.stderr.contains("cannot connect to the registry"),
        "{run:?}"
    );

    let run = shequ(&["divisions", "frobnicate"]).await;
    assert_eq!(run.code, 2, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_name_the_line_and_field_and_send_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // No service runs: a bad file must be refused before any connection.
    let missing = dir.path().join("missing.csv").display().to_string();
    let run = shequ(&[
        "facilities",
        "create",
        &missing,
        "--registry",
        "http://127.0.0.1:9",
    ])
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("cannot read"), "{run:?}");
    assert!(run.stderr.contains("missing.csv"), "{run:?}");

    let file = write(
        dir.path(),
        "facilities.csv",
        "display_name,leaf_unit,status,total_floor_area_m2,activity_area_m2\n\
         甲社区党群服务中心,110101001001,in_service,500,300\n\
         乙社区党群服务中心,110101001002,in_service,five hundred,300\n",
    );
    let run = shequ(&[
        "facilities",
        "create",
        &file,
        "--registry",
        "http://127.0.0.1:9",
    ])
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("line 3, field `total_floor_area_m2`"),
        "{run:?}"
    );

    let file = write(
        dir.path(),
        "responses.csv",
        "response_id,leaf_unit,collect_time\nr1,110101001001,2025-05-01\n",
    );
    let run = shequ(&[
        "responses",
        "submit",
        "rounds/x",
        &file,
        "--survey",
        "http://127.0.0.1:9",
    ])
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("field `channel`: missing column"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facilities_are_created_updated_and_their_history_shown() {
    let (_registry, endpoint) = registry_with_sample().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "facilities.csv",
        "display_name,leaf_unit,status,total_floor_area_m2,activity_area_m2,opening_hours,services,online_24h_services,community_workers\n\
         多福巷社区党群服务中心,110101001001,in_service,500,320,mon-sun 08:00-18:00,elderly_care;health,government_services,6\n\
         银闸社区党群服务中心,110101001002,planned,300,200,,,,\n",
    );
    let run = shequ(&[
        "facilities",
        "create",
        &file,
        "--registry",
        &endpoint,
        "-o",
        "json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let created: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(created.as_array().unwrap().len(), 2);
    assert_eq!(created[0]["status"], "in_service");
    assert_eq!(created[0]["min_daily_open_minutes"], 600);
    let name = created[0]["name"].as_str().unwrap().to_owned();
    assert!(run.stderr.contains("created 2 facilities"), "{run:?}");

    let update = write(
        dir.path(),
        "update.toml",
        &format!(
            "[[facility]]\nname = \"{name}\"\nstatus = \"suspended\"\nreason = \"roof repair\"\n"
        ),
    );
    let run = shequ(&[
        "facilities",
        "update",
        &update,
        "--registry",
        &endpoint,
        "--actor",
        "civil-affairs/li",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("suspended"), "{run:?}");

    let run = shequ(&[
        "facilities",
        "show",
        &name,
        "--registry",
        &endpoint,
        "-o",
        "json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(shown["status"], "suspended");
    assert_eq!(shown["services"], "elderly_care;health");
    assert_eq!(shown["community_workers"], 6);

    let run = shequ(&[
        "facilities",
        "history",
        &name,
        "--registry",
        &endpoint,
        "-o",
        "csv",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{run:?}");
    assert!(
        lines[2].contains(",updated,civil-affairs/li,suspended,status,roof repair"),
        "{run:?}"
    );

    let run = shequ(&[
        "facilities",
        "list",
        "110101",
        "--registry",
        &endpoint,
        "--status",
        "planned",
        "-o",
        "csv",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 2, "{run:?}");

    // The registry refuses an activity area larger than the floor area, naming the field.
    let bad = write(
        dir.path(),
        "bad.json",
        r#"[{"display_name": "东四社区服务站", "leaf_unit": "110101001003", "status": "in_service",
             "total_floor_area_m2": 100, "activity_area_m2": 150}]"#,
    );
    let run = shequ(&["facilities", "create", &bad, "--registry", &endpoint]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("INVALID_ARGUMENT"), "{run:?}");
    assert!(run.stderr.contains("activity_area_m2"), "{run:?}");

    // A stale etag is a conflict.
    let stale = write(
        dir.path(),
        "stale.toml",
        &format!("[[facility]]\nname = \"{name}\"\netag = \"stale\"\naddress = \"x\"\n"),
    );
    let run = shequ(&["facilities", "update", &stale, "--registry", &endpoint]).await;
    assert_eq!(run.code, 5, "{run:?}");
}

const QUESTIONNAIRE: &str = r#"
title = "满意度调查"

[[questions]]
id = "overall"
text = "总体满意度"
type = "satisfaction"
required = true
counts_towards_satisfaction = true

[[questions]]
id = "heard"
text = "从哪里了解"
type = "single_choice"
options = [{ id = "notice", text = "公告栏" }, { id = "wechat", text = "微信" }]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_is_collected_evaluated_and_reported() {
    let (registry, endpoint) = registry_with_sample().await;
    let survey = TestService::survey(&endpoint).await.unwrap();
    let monitoring = TestService::monitoring(&endpoint, &survey.endpoint())
        .await
        .unwrap();
    let (s, m) = (survey.endpoint(), monitoring.endpoint());
    let flags = |args: &[&str]| {
        let mut v: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        v.extend([
            "--registry".into(),
            endpoint.clone(),
            "--survey".into(),
            s.clone(),
            "--monitoring".into(),
            m.clone(),
        ]);
        v
    };
    let run_with = |args: Vec<String>| async move {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        shequ(&refs).await
    };
    let dir = tempfile::tempdir().unwrap();
    let q = write(dir.path(), "q.toml", QUESTIONNAIRE);
    let run = run_with(flags(&[
        "questionnaires",
        "create",
        &q,
        "--publish",
        "-o",
        "csv",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let questionnaire = run
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    assert!(questionnaire.starts_with("questionnaires/"), "{run:?}");

    let run = run_with(flags(&[
        "rounds",
        "create",
        "--display-name",
        "东城区试点",
        "--questionnaire",
        &questionnaire,
        "--region",
        "110101",
        "--start",
        "2025-04-01",
        "--end",
        "2025-07-01",
        "--min-valid-responses",
        "2",
        "--open",
        "-o",
        "json",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let round: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(round["state"], "open");
    let round = round["name"].as_str().unwrap().to_owned();

    // Line 4 is outside the window: the service rejects it and stores the others.
    let responses = write(
        dir.path(),
        "responses.csv",
        "response_id,leaf_unit,channel,collect_time,overall,heard\n\
         r1,110101001001,online,2025-05-01T10:00:00+08:00,5,wechat\n\
         r2,110101001001,paper,2025-05-02,4,notice\n\
         r3,110101001002,phone,2026-01-01,3,\n",
    );
    let run = run_with(flags(&[
        "responses",
        "submit",
        &round,
        &responses,
        "-o",
        "json",
    ]))
    .await;
    assert_eq!(run.code, 7, "{run:?}");
    let submitted: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(submitted["accepted"], 2);
    assert_eq!(submitted["rejected"], 1);
    assert!(
        run.stderr
            .contains("responses.csv: line 4: response `r3` rejected"),
        "{run:?}"
    );

    // Resending is a no-op.
    let again = write(
        dir.path(),
        "again.jsonl",
        "{\"response_id\": \"r1\", \"leaf_unit\": \"110101001001\", \"channel\": \"online\", \"collect_time\": \"2025-05-01T10:00:00+08:00\", \"answers\": {\"overall\": 5, \"heard\": \"wechat\"}}\n",
    );
    let run = run_with(flags(&["responses", "submit", &round, &again, "-o", "csv"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(",0,1,0"), "{run:?}");

    let run = run_with(flags(&["rounds", "results", &round, "-o", "json"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    let results: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let index = results
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["measure"] == "satisfaction_index")
        .unwrap();
    assert_eq!(index["value"], 87.5);

    let run = run_with(flags(&[
        "rounds",
        "coverage",
        &round,
        "--division",
        "110101001",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("1 of"), "{run:?}");

    let run = run_with(flags(&["plans", "load", "--national", "-o", "csv"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("plans/national-14th-fyp"), "{run:?}");
    assert!(run.stdout.contains("rural_facility_coverage"), "{run:?}");

    // A mid-term revision from 2025 on, after the evaluation below, and the history.
    let run = run_with(flags(&[
        "plans",
        "revise",
        "plans/national-14th-fyp",
        "--indicator",
        "rural_facility_coverage",
        "--date",
        "2025-01-01",
        "--target",
        "0.85",
        "--reason",
        "中期评估",
        "-o",
        "csv",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("plans/national-14th-fyp/revisions/1,rural_facility_coverage,,2025-01-01,0.85,2025,中期评估"),
        "{run:?}"
    );
    let run = run_with(flags(&[
        "plans",
        "revisions",
        "plans/national-14th-fyp",
        "-o",
        "csv",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 2, "{run:?}");

    let run = run_with(flags(&[
        "evaluate",
        "plans/national-14th-fyp",
        "--date",
        "2024-06-30",
        "--round",
        &round,
        "-o",
        "json",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let evaluation: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(evaluation["leaf_units"], 936);
    let evaluation = evaluation["name"].as_str().unwrap().to_owned();

    // What 东华门街道's coverage stands on: its communities, one row each.
    let run = run_with(flags(&[
        "evaluations",
        "records",
        &evaluation,
        "--indicator",
        "urban_facility_coverage",
        "--division",
        "110101001",
        "-o",
        "csv",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("division,level,indicator,value,numerator,denominator"));
    assert!(lines.len() > 2, "{run:?}");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("110101001") && l.contains(",5,urban_facility_coverage,")),
        "{run:?}"
    );

    // The report of the plan's latest evaluation, by plan name.
    let run = run_with(flags(&[
        "report",
        "plans/national-14th-fyp",
        "--division",
        "110101",
        "-o",
        "csv",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("division,indicator,"), "{run:?}");
    assert!(run.stdout.contains("satisfaction_index"), "{run:?}");
    // What lies behind each figure: its parts, the data's time and the reported periods.
    let header = run.stdout.lines().next().unwrap_or_default();
    assert!(
        header.ends_with(
            ",numerator,denominator,as_of,periods,method,growth_ratio,status_note,target_division"
        ),
        "{run:?}"
    );
    let run = run_with(flags(&["report", &evaluation])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("indicator"), "{run:?}");
    assert!(
        run.stdout.contains("parts") && run.stdout.contains("as of"),
        "{run:?}"
    );

    // HTML: a file whose path is printed, or (while the monitor refuses the format) a clear
    // error and no file.
    let out = dir.path().join("report.html");
    let run = run_with(flags(&[
        "report",
        &evaluation,
        "-o",
        "html",
        "--out",
        out.to_str().unwrap(),
    ]))
    .await;
    match run.code {
        0 => {
            assert_eq!(run.stdout.trim(), out.display().to_string());
            let html = std::fs::read_to_string(&out).unwrap();
            assert!(html.to_ascii_lowercase().contains("<html"), "{html}");
        }
        3 => {
            assert!(run.stderr.contains("RenderReport failed"), "{run:?}");
            assert!(!out.exists());
        }
        _ => panic!("unexpected exit: {run:?}"),
    }

    let run = run_with(flags(&["evaluate", "plans/nope"])).await;
    assert_eq!(run.code, 4, "{run:?}");

    // The round's responses as CSV, on stdout and into a file.
    let run = run_with(flags(&["rounds", "export", &round])).await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("response_id,"), "{run:?}");
    assert_eq!(
        lines.len(),
        3,
        "a header and the two stored responses: {run:?}"
    );
    assert!(lines[1..].iter().any(|l| l.starts_with("r1,")), "{run:?}");
    assert!(lines[1..].iter().any(|l| l.starts_with("r2,")), "{run:?}");
    let exported = dir.path().join("export.csv");
    let run = run_with(flags(&[
        "rounds",
        "export",
        &round,
        "--out",
        exported.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap(),
        lines.join("\n") + "\n"
    );
    let missing_round = dir.path().join("missing.csv");
    let run = run_with(flags(&[
        "rounds",
        "export",
        "rounds/0190a0a0-0000-7000-8000-000000000000",
        "--out",
        missing_round.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(!missing_round.exists());

    // Invalidating r2 (score 4) leaves r1 (score 5): the index moves from 87.5 to 100.
    let r2 = format!("{round}/responses/r2");
    let run = run_with(flags(&[
        "responses",
        "invalidate",
        &r2,
        "--reason",
        "duplicate household",
        "--actor",
        "survey-office/wang",
        "-o",
        "json",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let invalidated: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(invalidated["name"], r2.as_str());
    assert_eq!(invalidated["valid"], false);
    assert_eq!(invalidated["reason"], "duplicate household");
    assert_eq!(invalidated["invalidated_by"], "survey-office/wang");
    let run = run_with(flags(&["responses", "invalidate", &r2])).await;
    assert_eq!(run.code, 2, "--reason is required: {run:?}");

    let run = run_with(flags(&[
        "evaluate",
        "plans/national-14th-fyp",
        "--date",
        "2024-06-30",
        "--round",
        &round,
        "-o",
        "json",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let later: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let later = later["name"].as_str().unwrap().to_owned();
    let run = run_with(flags(&[
        "evaluations",
        "compare",
        &evaluation,
        &later,
        "--division",
        "110101",
        "-o",
        "json",
    ]))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let changes: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let index = changes
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["division"] == "110101000000" && c["indicator"] == "satisfaction_index")
        .unwrap_or_else(|| panic!("no satisfaction_index change: {run:?}"));
    assert_eq!(index["base_value"], 87.5);
    assert_eq!(index["other_value"], 100.0);
    assert_eq!(index["delta"], 12.5);
    let run = run_with(flags(&[
        "evaluations",
        "compare",
        &evaluation,
        "plans/nope/evaluations/x",
    ]))
    .await;
    assert_ne!(run.code, 0, "{run:?}");

    monitoring.stop().await.unwrap();
    survey.stop().await.unwrap();
    registry.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_the_three_services_and_stops_on_interrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(&[
        "up",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--registry-listen",
        "127.0.0.1:0",
        "--survey-listen",
        "127.0.0.1:0",
        "--monitoring-listen",
        "127.0.0.1:0",
    ])
    .stderr(Stdio::piped())
    .stdout(Stdio::null())
    .kill_on_drop(true)
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut exports = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(rest) = line.strip_prefix("clients: export ") {
            exports = Some(rest.to_owned());
            break;
        }
    }
    let exports = exports.expect("shequ up prints the endpoints");
    let endpoint = |var: &str| {
        exports
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{var}=")))
            .unwrap()
            .to_owned()
    };
    let (registry, monitoring) = (endpoint("SHEQU_REGISTRY"), endpoint("SHEQU_MONITORING"));

    let run = shequ(&[
        "divisions",
        "import",
        sample_dir().to_str().unwrap(),
        "--vintage",
        "2023",
        "--registry",
        &registry,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    // The monitor reaches the registry it was started with.
    let run = shequ(&["plans", "load", "--national", "--monitoring", &monitoring]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = shequ(&[
        "evaluate",
        "plans/national-14th-fyp",
        "--monitoring",
        &monitoring,
        "-o",
        "json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("\"leaf_units\": 936"), "{run:?}");
    for file in ["registry.sqlite", "survey.sqlite", "monitoring.sqlite"] {
        assert!(dir.path().join(file).exists(), "{file}");
    }

    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        rest.push_str(&line);
        rest.push('\n');
    }
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?} {rest}");
    assert!(rest.contains("shequ up: stopped"), "{rest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facilities_are_created_in_batches_and_deleted_and_restored() {
    let (_registry, endpoint) = registry_with_sample().await;
    let dir = tempfile::tempdir().unwrap();
    let header = "display_name,leaf_unit,status,total_floor_area_m2,activity_area_m2\n";
    let mut text = header.to_owned();
    for i in 0..1001 {
        text.push_str(&format!("第{i}服务站,110101001001,in_service,500,320\n"));
    }
    let file = write(dir.path(), "many.csv", &text);
    let run = shequ(&[
        "facilities",
        "create",
        &file,
        "--registry",
        &endpoint,
        "-o",
        "csv",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("created 1001 facilities"), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1002, "{}", run.stderr);
    // In file order, across the three batches.
    assert!(lines[1].contains(",第0服务站,"), "{}", lines[1]);
    assert!(lines[501].contains(",第500服务站,"), "{}", lines[501]);
    assert!(lines[1001].contains(",第1000服务站,"), "{}", lines[1001]);

    // Record 600 (line 602) names a township: its batch is refused and the place is named.
    let mut text = header.to_owned();
    for i in 0..700 {
        let leaf = if i == 600 {
            "110101001"
        } else {
            "110101001002"
        };
        text.push_str(&format!("第{i}站,{leaf},planned,100,50\n"));
    }
    let file = write(dir.path(), "refused.csv", &text);
    let run = shequ(&[
        "facilities",
        "create",
        &file,
        "--registry",
        &endpoint,
        "-o",
        "csv",
    ])
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("refused.csv: line 602, field `facility.leaf_unit`"),
        "{}",
        run.stderr
    );
    // The first batch was stored and is printed; nothing of the refused one.
    let printed = run.stdout.lines().count() - 1;
    assert_eq!(printed, 500, "{}", run.stderr);
    let listed = shequ(&[
        "facilities",
        "list",
        "110101001002",
        "--registry",
        &endpoint,
        "-o",
        "csv",
    ])
    .await;
    assert_eq!(listed.stdout.lines().count() - 1, 500, "{listed:?}");

    let name = lines[1].split(',').next().unwrap().to_owned();
    let run = shequ(&[
        "facilities",
        "delete",
        &name,
        "--reason",
        "building demolished",
        "--registry",
        &endpoint,
        "--actor",
        "civil-affairs/li",
        "-o",
        "json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let deleted: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(!deleted["delete_time"].as_str().unwrap().is_empty());
    // Deleting it again: it is gone.
    let run = shequ(&[
        "facilities",
        "delete",
        &name,
        "--reason",
        "again",
        "--registry",
        &endpoint,
    ])
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    let run = shequ(&["facilities", "delete", &name, "--registry", &endpoint]).await;
    assert_eq!(run.code, 2, "--reason is required: {run:?}");
    let run = shequ(&[
        "facilities",
        "undelete",
        &name,
        "--reason",
        "rebuilt",
        "--registry",
        &endpoint,
        "-o",
        "json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let restored: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(restored["delete_time"], "");
    let run = shequ(&["facilities", "undelete", &name, "--registry", &endpoint]).await;
    assert_eq!(run.code, 5, "not deleted: {run:?}");
    let run = shequ(&[
        "facilities",
        "history",
        &name,
        "--registry",
        &endpoint,
        "-o",
        "csv",
    ])
    .await;
    let history: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(history.len(), 4, "{run:?}");
    assert!(history[2].contains(",deleted,civil-affairs/li,"), "{run:?}");
    assert!(history[2].ends_with(",building demolished"), "{run:?}");
    assert!(history[3].contains(",undeleted,"), "{run:?}");
    assert!(history[3].ends_with(",rebuilt"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_sent_on_every_call_and_refusals_exit_8() {
    let auth = AuthWorld::new().unwrap();
    let issuer = &auth.issuer;
    let registry = auth.registry().await.unwrap();
    let endpoint = registry.endpoint();
    let admin = auth.registry_editor();
    let street = issuer.token("street-official", &["registry.editor"], &["110101001000"]);
    let dir = tempfile::tempdir().unwrap();

    // No token: UNAUTHENTICATED, exit 8.
    let run = shequ(&["divisions", "get", "11", "--registry", &endpoint]).await;
    assert_eq!(run.code, 8, "{run:?}");
    assert!(run.stderr.contains("UNAUTHENTICATED"), "{run:?}");
    let run = shequ(&[
        "divisions",
        "get",
        "11",
        "--registry",
        &endpoint,
        "--token",
        "not.a.jwt",
    ])
    .await;
    assert_eq!(run.code, 8, "{run:?}");

    // The import stream carries the token from the flag.
    let run = shequ(&[
        "divisions",
        "import",
        sample_dir().to_str().unwrap(),
        "--vintage",
        "2023",
        "--registry",
        &endpoint,
        "--token",
        &admin,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");

    // From SHEQU_TOKEN, and from a token file named by flag or SHEQU_TOKEN_FILE.
    let out = command(&[
        "divisions",
        "get",
        "11",
        "--registry",
        &endpoint,
        "-o",
        "csv",
    ])
    .env("SHEQU_TOKEN", &street)
    .output()
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(8),
        "11 lies above the street's scope"
    );
    let out = command(&[
        "divisions",
        "get",
        "110101001",
        "--registry",
        &endpoint,
        "-o",
        "csv",
    ])
    .env("SHEQU_TOKEN", &street)
    .output()
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let token_file = write(dir.path(), "token", &format!("{street}\n"));
    let run = shequ(&[
        "divisions",
        "get",
        "110101001",
        "--registry",
        &endpoint,
        "--token-file",
        &token_file,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");

    // Writes are recorded under the token's subject; a write outside the scope is refused.
    let facilities = write(
        dir.path(),
        "facilities.csv",
        "display_name,leaf_unit,status,total_floor_area_m2,activity_area_m2\n\
         甲社区党群服务中心,110101001001,in_service,500,300\n",
    );
    let out = command(&[
        "facilities",
        "create",
        &facilities,
        "--registry",
        &endpoint,
        "-o",
        "csv",
    ])
    .env("SHEQU_TOKEN_FILE", &token_file)
    .output()
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let name = stdout
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let run = shequ(&[
        "facilities",
        "history",
        &name,
        "--registry",
        &endpoint,
        "--token",
        &street,
        "-o",
        "csv",
    ])
    .await;
    assert!(run.stdout.contains(",created,street-official,"), "{run:?}");
    let outside = write(
        dir.path(),
        "outside.csv",
        "display_name,leaf_unit,status,total_floor_area_m2,activity_area_m2\n\
         乙社区党群服务中心,110101002001,in_service,500,300\n",
    );
    let run = shequ(&[
        "facilities",
        "create",
        &outside,
        "--registry",
        &endpoint,
        "--token",
        &street,
    ])
    .await;
    assert_eq!(run.code, 8, "{run:?}");
    assert!(run.stderr.contains("PERMISSION_DENIED"), "{run:?}");

    // Bad credential flags are usage errors, before any call.
    let run = shequ(&[
        "divisions",
        "get",
        "11",
        "--registry",
        &endpoint,
        "--token",
        &admin,
        "--token-file",
        &token_file,
    ])
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    let empty = write(dir.path(), "empty", "\n");
    let run = shequ(&[
        "divisions",
        "get",
        "11",
        "--registry",
        &endpoint,
        "--token-file",
        &empty,
    ])
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("holds no token"), "{run:?}");
    let run = shequ(&[
        "divisions",
        "get",
        "11",
        "--registry",
        "https://127.0.0.1:9",
    ])
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--ca-file"), "{run:?}");
    let run = shequ(&[
        "divisions",
        "get",
        "11",
        "--registry",
        "https://127.0.0.1:9",
        "--ca-file",
        &dir.path().join("no-ca.pem").display().to_string(),
    ])
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("cannot read"), "{run:?}");
}
