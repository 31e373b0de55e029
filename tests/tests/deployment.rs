//! The services as the production manifests run them: three processes configured only through
//! the environment `deploy/kustomize` gives them, authenticating every call with the key set and
//! service tokens the pods get from their Secrets, migrated by `migrate` as the Job does, on
//! PostgreSQL reached through a proxy the test cuts and restores, and stopped with SIGTERM.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost_types::Timestamp;
use shequ_proto::monitoring::v1::evaluation_service_client::EvaluationServiceClient;
use shequ_proto::monitoring::v1::plan_service_client::PlanServiceClient;
use shequ_proto::monitoring::v1::{EvaluatePlanRequest, ListPlansRequest, LoadNationalPlanRequest};
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_proto::registry::v1::{ListDivisionsRequest, StreamLeafUnitFactsRequest};
use shequ_proto::survey::v1 as survey;
use shequ_proto::survey::v1::GetQuestionnaireRequest;
use shequ_proto::survey::v1::questionnaire_service_client::QuestionnaireServiceClient;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use shequ_testkit::fixtures;
use shequ_testkit::proxy::TcpProxy;
use shequ_testkit::{AuthWorld, TestDatabase, TestIssuer, with_token};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const POSTGRES: &str = "127.0.0.1:5432";
/// Longest any single step may take before the test gives up.
const STEP: Duration = Duration::from_secs(60);
/// The `divisions` claim of a principal acting in the whole country.
const NATIONAL: &str = "000000000000";
/// Where the production overlay mounts the issuer's key set and the service tokens.
const JWKS_MOUNT: &str = "/etc/shequ/jwks/";
const TOKEN_MOUNT: &str = "/etc/shequ/token/";

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kustomize")
}

/// `KEY=VALUE` lines of a kustomize env file.
fn env_file(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{}: not KEY=VALUE: {l}", path.display()));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// The environment the production overlay gives `service`'s pods (its ConfigMap), with the
/// addresses and files that only exist in a cluster replaced by this test's: the listen address
/// (same shape, an ephemeral loopback port), the other services' Service names, the database URL
/// the Secret holds, and the mounted key set, issuer and service token. What the pods' Secrets
/// hold are files of `mounts`: the issuer's key set (Secret `shequ-auth-jwks`) and the survey and
/// monitoring services' own tokens (`shequ-<service>-token`: role `service`, national scope,
/// signed by the same issuer). The collector endpoint is left out: no collector runs here.
fn manifest_env(
    service: &str,
    database_url: &str,
    endpoints: &BTreeMap<&str, String>,
    mounts: &AuthWorld,
) -> BTreeMap<String, String> {
    let production = deploy_dir().join("overlays/production");
    let mut env = env_file(&deploy_dir().join(format!("base/{service}/config.env")));
    env.extend(env_file(&production.join("postgres.env")));
    env.extend(env_file(&production.join("auth.env")));
    if service != "registry" {
        env.extend(env_file(&production.join("client.env")));
    }
    assert!(
        !env.contains_key("SHEQU__AUTH__ALLOW_OFF_WITH_POSTGRES"),
        "production never forces development mode"
    );
    assert_eq!(
        env.get("SHEQU__AUTH__MODE").map(String::as_str),
        Some("jwt"),
        "production authenticates every call of {service}"
    );
    assert_eq!(
        env.get("SHEQU__AUTH__AUDIENCE").map(String::as_str),
        Some(TestIssuer::AUDIENCE),
        "the tokens' audience"
    );
    // The issuer the overlay names is the operator's; here it is the test issuer.
    let issuer = env
        .get_mut("SHEQU__AUTH__ISSUER")
        .expect("the overlay names the issuer");
    assert!(!issuer.is_empty());
    *issuer = TestIssuer::ISSUER.to_owned();
    let jwks = env
        .get_mut("SHEQU__AUTH__JWKS_FILE")
        .expect("the overlay names the key set");
    assert!(jwks.starts_with(JWKS_MOUNT), "{jwks} is on the JWKS mount");
    *jwks = mounts.issuer.jwks_path().display().to_string();
    match env.get_mut("SHEQU__CLIENT__TOKEN_FILE") {
        Some(token) => {
            assert!(
                token.starts_with(TOKEN_MOUNT),
                "{token} is on the token mount"
            );
            *token = mounts
                .service_token_file(&format!("shequ-{service}"))
                .unwrap()
                .display()
                .to_string();
        }
        None => assert_eq!(service, "registry", "{service} calls others with a token"),
    }
    assert_eq!(
        env.get("SHEQU__DATABASE__MIGRATE_ON_START")
            .map(String::as_str),
        Some("false"),
        "production leaves migrations to the Job"
    );
    let listen = env
        .get_mut("SHEQU__SERVER__LISTEN")
        .expect("the manifest sets the listen address");
    assert!(listen.starts_with("0.0.0.0:"), "{listen}");
    *listen = "127.0.0.1:0".to_owned();
    for (key, value) in env.iter_mut() {
        if let Some(other) = key
            .strip_prefix("SHEQU__")
            .and_then(|k| k.strip_suffix("_ENDPOINT"))
            .and_then(|k| k.rsplit("__").next())
        {
            let other = other.to_ascii_lowercase();
            assert!(
                value.starts_with(&format!("http://shequ-{other}:")),
                "{key}={value}"
            );
            *value = endpoints
                .get(other.as_str())
                .unwrap_or_else(|| panic!("{other} must start before {service}"))
                .clone();
        }
    }
    assert!(env.remove("OTEL_EXPORTER_OTLP_ENDPOINT").is_some());
    // From the Secret named in the Deployment's env.
    env.insert("SHEQU__DATABASE__URL".to_owned(), database_url.to_owned());
    env
}

/// A service process and what it has written to stderr.
struct Process {
    name: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    logged: Arc<Notify>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl Process {
    fn spawn(binary: &str, args: &[&str], env: &BTreeMap<String, String>) -> Self {
        let mut child = Command::new(shequ_system_tests::binary(binary))
            .args(args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let logged = Arc::new(Notify::new());
        let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
        let (sink, notify, name) = (log.clone(), logged.clone(), binary.to_owned());
        let reader = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[{name}] {line}");
                sink.lock().unwrap().push(line);
                notify.notify_waiters();
            }
            notify.notify_waiters();
        });
        Self {
            name: binary.to_owned(),
            child,
            log,
            logged,
            reader: Some(reader),
        }
    }

    fn find(&self, needle: &str) -> Option<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains(needle))
            .cloned()
    }

    /// Waits for a stderr line containing `needle`.
    async fn wait_for_log(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let notified = self.logged.notified();
            if let Some(line) = self.find(needle) {
                return line;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before logging {needle:?}", self.name);
            }
            if tokio::time::timeout_at(deadline.into(), notified)
                .await
                .is_err()
            {
                panic!("{} did not log {needle:?} within {STEP:?}", self.name);
            }
        }
    }

    /// The address from the `serving gRPC` line (JSON logs: `"listen":"127.0.0.1:PORT"`).
    async fn serving_addr(&mut self) -> SocketAddr {
        let line = self.wait_for_log("serving gRPC").await;
        let start = line
            .find("\"listen\":\"")
            .expect("the line names the address")
            + 10;
        let end = start + line[start..].find('"').expect("a closing quote");
        line[start..end].parse().expect("a socket address")
    }

    fn terminate(&self) {
        let pid = self.child.id().expect("still running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    /// Waits for the process to exit; returns how long it took.
    async fn exit(mut self, within: Duration) -> (std::process::ExitStatus, Duration, Self) {
        let started = Instant::now();
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} still running after {within:?}", self.name))
            .expect("wait works");
        let took = started.elapsed();
        // Everything it wrote before exiting.
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(STEP, reader).await;
        }
        (status, took, self)
    }
}

async fn connect(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"))
}

/// Waits until the `readiness` health entry reports `wanted`, over a connection of its own
/// that is closed afterwards (an open Watch would hold a draining server).
async fn wait_readiness(addr: SocketAddr, wanted: ServingStatus) {
    let mut health = HealthClient::new(connect(addr).await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "readiness".into(),
        })
        .await
        .expect("Watch answers")
        .into_inner();
    let reached = tokio::time::timeout(STEP, async {
        while let Some(update) = watch.next().await {
            match update {
                Ok(r) if r.status == wanted as i32 => return true,
                Ok(_) => {}
                Err(status) => panic!("readiness watch on {addr} failed: {status}"),
            }
        }
        false
    })
    .await;
    assert_eq!(
        reached,
        Ok(true),
        "readiness of {addr} never became {wanted:?}"
    );
}

/// `message` with `authorization: Bearer <token>`, or without credentials for `None`.
fn request<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    match token {
        Some(token) => with_token(message, token),
        None => tonic::Request::new(message),
    }
}

/// One call per service that needs the database, made with `token`. Ok(()) on an answer from
/// the database (NOT_FOUND included), else the status code.
async fn call_each(
    registry: SocketAddr,
    survey: SocketAddr,
    monitoring: SocketAddr,
    token: Option<&str>,
) -> [Code; 3] {
    let divisions = DivisionServiceClient::new(connect(registry).await)
        .list_divisions(request(
            ListDivisionsRequest {
                parent: "divisions/130000000000".into(),
                page_size: 5,
                ..Default::default()
            },
            token,
        ))
        .await
        .map(|_| Code::Ok)
        .unwrap_or_else(|s| s.code());
    let questionnaire = QuestionnaireServiceClient::new(connect(survey).await)
        .get_questionnaire(request(
            GetQuestionnaireRequest {
                name: "questionnaires/0194f1b0c0de7000a000000000000000".into(),
                version: 0,
            },
            token,
        ))
        .await
        .map(|_| Code::Ok)
        .unwrap_or_else(|s| s.code());
    let plans = PlanServiceClient::new(connect(monitoring).await)
        .list_plans(request(
            ListPlansRequest {
                page_size: 10,
                ..Default::default()
            },
            token,
        ))
        .await
        .map(|_| Code::Ok)
        .unwrap_or_else(|s| s.code());
    [divisions, questionnaire, plans]
}

/// Calls that make the survey and monitoring services call the others with their service
/// tokens: a round over 长安区 (the survey service looks the region up in the registry and loads
/// its leaf units), then the national plan evaluated with that round (the monitor streams the
/// registry's facts and the round's). Returns the evaluation's name.
async fn calls_between_services(
    survey: SocketAddr,
    monitoring: SocketAddr,
    official: &str,
) -> String {
    let token = Some(official);
    let mut questionnaires = QuestionnaireServiceClient::new(connect(survey).await);
    let questionnaire = questionnaires
        .create_questionnaire(request(
            survey::CreateQuestionnaireRequest {
                questionnaire: Some(survey::Questionnaire {
                    title: "社区服务满意度".into(),
                    questions: vec![survey::Question {
                        id: "q_overall".into(),
                        text: "总体满意度".into(),
                        r#type: survey::QuestionType::Satisfaction as i32,
                        required: true,
                        counts_towards_satisfaction: true,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            token,
        ))
        .await
        .expect("a questionnaire is created")
        .into_inner()
        .questionnaire
        .expect("the questionnaire");
    questionnaires
        .publish_questionnaire(request(
            survey::PublishQuestionnaireRequest {
                name: questionnaire.name.clone(),
            },
            token,
        ))
        .await
        .expect("the questionnaire is published");
    let mut rounds = RoundServiceClient::new(connect(survey).await);
    let round = rounds
        .create_round(request(
            survey::CreateRoundRequest {
                round: Some(survey::Round {
                    display_name: "2025 年度满意度调查".into(),
                    questionnaire: questionnaire.name,
                    questionnaire_version: 1,
                    region: "divisions/130102000000".into(),
                    start_time: Some(Timestamp {
                        seconds: 1_735_689_600,
                        nanos: 0,
                    }),
                    end_time: Some(Timestamp {
                        seconds: 1_767_225_600,
                        nanos: 0,
                    }),
                    min_valid_responses: 1,
                    ..Default::default()
                }),
            },
            token,
        ))
        .await
        .expect("the survey service checks the round's region with the registry")
        .into_inner()
        .round
        .expect("the round")
        .name;
    rounds
        .open_round(request(
            survey::OpenRoundRequest {
                name: round.clone(),
            },
            token,
        ))
        .await
        .expect("the survey service loads the round's region from the registry");

    let plan = PlanServiceClient::new(connect(monitoring).await)
        .load_national_plan(request(LoadNationalPlanRequest {}, token))
        .await
        .expect("the national plan loads")
        .into_inner()
        .plan
        .expect("the plan")
        .name;
    let evaluation = EvaluationServiceClient::new(connect(monitoring).await)
        .evaluate_plan(request(
            EvaluatePlanRequest {
                plan: plan.clone(),
                evaluation_date: "2023-12-31".into(),
                survey_round: round.clone(),
            },
            token,
        ))
        .await
        .unwrap_or_else(|s| {
            panic!("the monitor reads the registry's and the survey's facts for {plan}: {s:?}")
        })
        .into_inner()
        .evaluation
        .expect("the evaluation");
    assert_eq!(evaluation.survey_round, round);
    evaluation.name
}

/// PostgreSQL's admin URL, or None (after saying so loudly) when none is reachable outside CI.
async fn postgres_admin() -> Option<String> {
    let admin = std::env::var(shequ_testkit::POSTGRES_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| ADMIN_URL.to_owned());
    if tokio::net::TcpStream::connect(POSTGRES).await.is_ok() {
        return Some(admin);
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but no PostgreSQL answers on {POSTGRES}");
    }
    eprintln!(
        "\n*** SKIPPED deployment test: no PostgreSQL on {POSTGRES} (CI would fail here) ***\n"
    );
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn manifests_environment_runs_the_services_through_database_loss_and_sigterm() {
    let Some(admin) = postgres_admin().await else {
        return;
    };
    let mounts = AuthWorld::new().unwrap();
    let official = mounts.issuer.token(
        "operator",
        &["registry.editor", "survey.collector", "plan.officer"],
        &[NATIONAL],
    );
    let token = Some(official.as_str());
    let proxy = TcpProxy::start(POSTGRES.parse().unwrap()).await.unwrap();
    let mut databases = BTreeMap::new();
    for service in ["registry", "survey", "monitoring"] {
        let db = TestDatabase::fresh_postgres(&admin).await.unwrap();
        // The Secret's URL, with the database behind the proxy.
        let url = db.url().replacen(POSTGRES, &proxy.addr.to_string(), 1);
        assert_ne!(url, db.url(), "the admin URL must name {POSTGRES}");
        databases.insert(service, (db, url));
    }

    // The migration Job: `migrate` with the Job's environment, once per service.
    for (service, (_, url)) in &databases {
        let env = BTreeMap::from([
            ("SHEQU__TELEMETRY__LOG_FORMAT".to_owned(), "json".to_owned()),
            ("SHEQU__DATABASE__URL".to_owned(), url.clone()),
        ]);
        let (status, _, _) = Process::spawn(&format!("shequ-{service}"), &["migrate"], &env)
            .exit(STEP)
            .await;
        assert!(status.success(), "shequ-{service} migrate: {status}");
    }

    // The Deployments, started in dependency order, each told where the previous ones listen.
    let mut endpoints = BTreeMap::new();
    let mut processes = BTreeMap::new();
    let mut addrs = BTreeMap::new();
    for service in ["registry", "survey", "monitoring"] {
        let env = manifest_env(service, &databases[service].1, &endpoints, &mounts);
        let mut process = Process::spawn(&format!("shequ-{service}"), &["serve"], &env);
        let addr = process.serving_addr().await;
        wait_readiness(addr, ServingStatus::Serving).await;
        endpoints.insert(service, format!("http://{addr}"));
        addrs.insert(service, addr);
        processes.insert(service, process);
    }
    let (registry, survey, monitoring) = (addrs["registry"], addrs["survey"], addrs["monitoring"]);

    assert_eq!(
        call_each(registry, survey, monitoring, None).await,
        [Code::Unauthenticated; 3],
        "every service refuses a call without a token"
    );
    let imported = DivisionServiceClient::new(connect(registry).await)
        .import_divisions(with_token(
            tokio_stream::iter(fixtures::import_requests(
                &fixtures::HEBEI,
                "2023",
                64 * 1024,
            )),
            &official,
        ))
        .await
        .expect("the registry imports Hebei")
        .into_inner();
    assert!(imported.inserted > 0, "{imported:?}");
    assert_eq!(
        call_each(registry, survey, monitoring, token).await,
        [Code::Ok, Code::NotFound, Code::Ok],
        "every service answers from its database"
    );
    let evaluation = calls_between_services(survey, monitoring, &official).await;
    eprintln!("survey and monitoring called the others with their tokens: {evaluation}");

    // The database goes away: every service turns NOT_SERVING and answers UNAVAILABLE.
    proxy.cut();
    for addr in [registry, survey, monitoring] {
        wait_readiness(addr, ServingStatus::NotServing).await;
    }
    assert_eq!(
        call_each(registry, survey, monitoring, token).await,
        [Code::Unavailable; 3],
        "calls without a database are UNAVAILABLE, never INTERNAL"
    );

    // It comes back: ready again, and the same calls succeed.
    proxy.restore();
    for addr in [registry, survey, monitoring] {
        wait_readiness(addr, ServingStatus::Serving).await;
    }
    assert_eq!(
        call_each(registry, survey, monitoring, token).await,
        [Code::Ok, Code::NotFound, Code::Ok]
    );

    // SIGTERM while the whole-province facts stream is in flight. The client's small HTTP/2
    // windows keep the registry waiting to send most of it until after the signal.
    let facts_channel = Endpoint::from_shared(format!("http://{registry}"))
        .unwrap()
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .connect()
        .await
        .unwrap();
    let mut facts = FacilityServiceClient::new(facts_channel)
        .stream_leaf_unit_facts(with_token(
            StreamLeafUnitFactsRequest {
                parent: String::new(),
            },
            &official,
        ))
        .await
        .expect("the facts stream starts")
        .into_inner();
    let first = facts
        .next()
        .await
        .expect("a first message")
        .expect("a first batch");
    let mut units = first.facts.len();
    assert!(units > 0);

    let registry_process = processes.remove("registry").unwrap();
    registry_process.terminate();
    let grace = Duration::from_secs(
        manifest_env("registry", "", &BTreeMap::new(), &mounts)["SHEQU__SERVER__SHUTDOWN_GRACE_SECS"]
            .parse()
            .unwrap(),
    );
    // Shutdown has begun once readiness says so; the stream is still open.
    wait_readiness_or_closed(registry).await;
    while let Some(message) = facts.next().await {
        units += message
            .expect("the stream finishes after SIGTERM")
            .facts
            .len();
    }
    assert_eq!(units, 54_145, "every leaf unit of Hebei arrives");

    let (status, took, registry_process) = registry_process.exit(grace).await;
    assert!(status.success(), "registry exit: {status}");
    assert!(
        registry_process.find("all calls drained").is_some(),
        "the registry drained rather than cut calls"
    );
    assert!(registry_process.find("cutting remaining calls").is_none());
    eprintln!("registry exited {took:?} after the stream ended (grace {grace:?})");

    for (service, process) in processes {
        process.terminate();
        let (status, _, process) = process.exit(grace + Duration::from_secs(5)).await;
        assert!(status.success(), "{service} exit: {status}");
        assert!(process.find("all calls drained").is_some(), "{service}");
    }
    drop(databases);
}

/// After SIGTERM the registry reports NOT_SERVING to connections it already has, and refuses new
/// ones; either shows that shutdown has begun.
async fn wait_readiness_or_closed(addr: SocketAddr) {
    let Ok(channel) = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
    else {
        return;
    };
    let mut health = HealthClient::new(channel);
    let Ok(watch) = health
        .watch(HealthCheckRequest {
            service: "readiness".into(),
        })
        .await
    else {
        return;
    };
    let mut watch = watch.into_inner();
    let ended = tokio::time::timeout(STEP, async {
        while let Some(Ok(update)) = watch.next().await {
            if update.status == ServingStatus::NotServing as i32 {
                return;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the registry never began shutting down");
}

/// The dev overlay's environment: each service on SQLite in its data directory (the volume),
/// migrating on start, ready, in development mode (calls need no token), and stopping cleanly on
/// SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_environment_serves_each_service_on_its_sqlite_volume() {
    let volume = tempfile::tempdir().unwrap();
    let mut endpoints: BTreeMap<&str, String> = BTreeMap::new();
    let mut processes = Vec::new();
    let mut addrs = Vec::new();
    for service in ["registry", "survey", "monitoring"] {
        let mut env = env_file(&deploy_dir().join(format!("base/{service}/config.env")));
        let dev = env_file(&deploy_dir().join("overlays/dev/sqlite.env"));
        assert_eq!(
            dev.get("SHEQU__DATABASE__DATA_DIR").map(String::as_str),
            Some("/var/lib/shequ"),
            "the dev overlay keeps the files on the volume"
        );
        env.extend(dev);
        assert!(
            !env.keys()
                .any(|k| k.starts_with("SHEQU__AUTH__") || k.starts_with("SHEQU__CLIENT__")),
            "the dev overlay stays in development mode"
        );
        // The volume's mount point, here a temporary directory.
        env.insert(
            "SHEQU__DATABASE__DATA_DIR".to_owned(),
            volume.path().display().to_string(),
        );
        env.insert("SHEQU__SERVER__LISTEN".to_owned(), "127.0.0.1:0".to_owned());
        assert!(env.remove("OTEL_EXPORTER_OTLP_ENDPOINT").is_some());
        for (key, value) in env.iter_mut() {
            if let Some(other) = key
                .strip_prefix("SHEQU__")
                .and_then(|k| k.strip_suffix("_ENDPOINT"))
                .and_then(|k| k.rsplit("__").next())
            {
                *value = endpoints[other.to_ascii_lowercase().as_str()].clone();
            }
        }
        let mut process = Process::spawn(&format!("shequ-{service}"), &["serve"], &env);
        let addr = process.serving_addr().await;
        wait_readiness(addr, ServingStatus::Serving).await;
        assert!(
            volume.path().join(format!("{service}.sqlite")).exists(),
            "{service} keeps its file on the volume"
        );
        endpoints.insert(service, format!("http://{addr}"));
        addrs.push(addr);
        processes.push(process);
    }
    assert_eq!(
        call_each(addrs[0], addrs[1], addrs[2], None).await,
        // Nothing imported yet: the registry does not know Hebei either.
        [Code::NotFound, Code::NotFound, Code::Ok],
        "development mode answers calls without a token"
    );
    for process in processes.into_iter().rev() {
        process.terminate();
        let (status, _, process) = process.exit(STEP).await;
        assert!(status.success(), "{}: {status}", process.name);
        assert!(
            process.find("all calls drained").is_some(),
            "{}",
            process.name
        );
    }
}
