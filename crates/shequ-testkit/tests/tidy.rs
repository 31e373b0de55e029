//! House rules checked over the whole workspace: every Rust file opens with a `//!` line saying
//! what it is for, every crate is described in ARCHITECTURE.md, no source file grows past 500
//! lines, a service's `service/` room names no protobuf type, and its SQL lives under `store/`.
//! The last three hold exception lists that may only shrink, each entry with its reason.

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') && name != "node_modules" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_comment() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    assert!(files.len() > 10, "found only {files:?}");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "files without a leading `//!` line: {offenders:?}"
    );
}

#[test]
fn every_crate_is_in_the_architecture_map() {
    let root = workspace_root();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let missing: Vec<String> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !architecture.contains(&format!("### `{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "crates without a `### `name`` heading in ARCHITECTURE.md: {missing:?}"
    );
}

/// The most lines a source file may hold before it wants splitting by resource or workflow.
const MAX_LINES: usize = 500;

/// Source files longer than [`MAX_LINES`], each with the reason it still is. The list may only
/// shrink: an entry whose file has come under the limit fails the test until it is removed.
const LONG_FILES: &[(&str, &str)] = &[
    (
        "crates/shequ-bench/src/common.rs",
        "set-up every benchmark shares; to split by scenario",
    ),
    (
        "crates/shequ-bench/src/survey.rs",
        "the survey's benchmark scenarios; to split by scenario",
    ),
    (
        "crates/shequ-cli/src/commands/registry.rs",
        "divisions and facilities subcommands; to split by resource",
    ),
    (
        "crates/shequ-cli/src/commands/survey.rs",
        "questionnaire, round and response subcommands; to split by resource",
    ),
    (
        "crates/shequ-cli/src/demo.rs",
        "the demo's story, told in order",
    ),
    (
        "crates/shequ-cli/src/input.rs",
        "facility and response file formats; to split by format",
    ),
    (
        "crates/shequ-monitoring/src/html.rs",
        "464 lines of code; the rest is its unit tests",
    ),
    (
        "crates/shequ-platform/src/auth/policy.rs",
        "the rules table of every method: data, not logic",
    ),
    (
        "crates/shequ-platform/src/database.rs",
        "482 lines of code; the rest is its unit tests",
    ),
    (
        "crates/shequ-platform/src/wire.rs",
        "462 lines of code; the rest is its unit tests",
    ),
    (
        "crates/shequ-proto/src/codec.rs",
        "457 lines of code; the rest is its unit tests",
    ),
    (
        "tests/src/suite.rs",
        "every resource the robustness and authorization tables call on",
    ),
];

/// Files of a service outside its `grpc/` room (and the `lib.rs` that wires the generated
/// servers) that still name protobuf types; the list may only shrink.
const PROTOBUF_OUTSIDE_GRPC: &[(&str, &str)] = &[(
    "crates/shequ-registry/src/service/cache.rs",
    "caches facilities in wire form, converted once by grpc/convert.rs when cached, so a \
     GetFacility hit costs no conversion (the opening hours' JSON, the services) per read",
)];

/// Files of a service outside its `store/` that still hold SQL; the list may only shrink.
const SQL_OUTSIDE_STORE: &[(&str, &str)] = &[];

/// The Rust files below `dir` (none when it does not exist), relative to `root`, sorted.
fn sources(root: &Path, dir: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let dir = root.join(dir);
    if dir.is_dir() {
        rust_files(&dir, &mut files);
    }
    let mut out: Vec<(String, String)> = files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f.strip_prefix(root).unwrap().display().to_string(), text)
        })
        .collect();
    out.sort();
    out
}

/// The crates with a `src/service/` room: the services.
fn service_crates(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| root.join("crates").join(name).join("src/service").is_dir())
        .collect();
    names.sort();
    names
}

/// Library and binary sources longer than [`MAX_LINES`] (tests are tables and stories, and are
/// not counted).
fn long_files(root: &Path) -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| format!("crates/{}/src", e.unwrap().file_name().to_string_lossy()))
        .collect();
    dirs.push("tests/src".into());
    dirs.iter()
        .flat_map(|d| sources(root, d))
        .filter(|(_, text)| text.lines().count() > MAX_LINES)
        .map(|(path, _)| path)
        .collect()
}

/// Files of a service outside `grpc/` and `lib.rs` that name a protobuf message or enum: a
/// `pb::` path or a versioned package of `shequ_proto` (its `names` and `convert` helpers speak
/// domain types and may be used anywhere).
fn protobuf_outside_grpc(root: &Path) -> Vec<String> {
    service_crates(root)
        .iter()
        .flat_map(|c| {
            let src = format!("crates/{c}/src");
            let grpc = format!("{src}/grpc");
            let lib = format!("{src}/lib.rs");
            sources(root, &src)
                .into_iter()
                .filter(move |(path, _)| !path.starts_with(&grpc) && *path != lib)
        })
        .filter(|(_, text)| {
            text.contains("pb::")
                || text
                    .split("shequ_proto::")
                    .skip(1)
                    .any(|rest| rest.split("::").nth(1).is_some_and(|p| p.starts_with("v1")))
        })
        .map(|(path, _)| path)
        .collect()
}

/// Whether `text` holds a string literal that opens with an SQL statement.
fn holds_sql(text: &str) -> bool {
    const STATEMENTS: [&str; 9] = [
        "SELECT ",
        "INSERT INTO",
        "UPDATE ",
        "DELETE FROM",
        "CREATE TABLE",
        "CREATE INDEX",
        "ALTER TABLE",
        "DROP TABLE",
        "WITH ",
    ];
    text.split('"').skip(1).step_by(2).any(|literal| {
        let literal = literal.trim_start_matches('#').trim_start();
        STATEMENTS.iter().any(|s| literal.starts_with(s))
    })
}

/// Files of a service, outside its `store/`, holding SQL.
fn sql_outside_store(root: &Path) -> Vec<String> {
    service_crates(root)
        .iter()
        .flat_map(|c| sources(root, &format!("crates/{c}/src")))
        .filter(|(path, text)| !path.contains("/store/") && holds_sql(text))
        .map(|(path, _)| path)
        .collect()
}

/// What `found` has beyond `allowed`, and the entries of `allowed` no longer found.
fn against(found: &[String], allowed: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
    let new = found
        .iter()
        .filter(|f| !allowed.iter().any(|(a, _)| a == f))
        .cloned()
        .collect();
    let stale = allowed
        .iter()
        .filter(|(a, _)| !found.iter().any(|f| f == a))
        .map(|(a, _)| (*a).to_owned())
        .collect();
    (new, stale)
}

fn check(rule: &str, found: &[String], allowed: &[(&str, &str)]) {
    let (new, stale) = against(found, allowed);
    assert!(
        new.is_empty(),
        "{rule}: {new:?} (split the file or move the code to its room; a listed exception \
         needs its reason)"
    );
    assert!(
        stale.is_empty(),
        "{rule}: these files keep the rule now, take them off the list: {stale:?}"
    );
}

#[test]
fn no_source_file_outgrows_the_limit_unless_listed() {
    check(
        &format!("files over {MAX_LINES} lines"),
        &long_files(&workspace_root()),
        LONG_FILES,
    );
}

#[test]
fn only_grpc_rooms_name_protobuf_types_unless_listed() {
    check(
        "protobuf types outside grpc/",
        &protobuf_outside_grpc(&workspace_root()),
        PROTOBUF_OUTSIDE_GRPC,
    );
}

#[test]
fn sql_lives_under_store_unless_listed() {
    check(
        "SQL outside store/",
        &sql_outside_store(&workspace_root()),
        SQL_OUTSIDE_STORE,
    );
}

/// The checks themselves, on a tree made for them: each flags what breaks its rule, passes
/// what keeps it, and a listed exception that keeps the rule is reported stale.
#[test]
fn the_checks_find_what_breaks_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "crates/shequ-x/src/service/uses_pb.rs",
        "//! x\nuse shequ_proto::x::v1 as pb;\nfn f(_: pb::Thing) {}\n",
    );
    write(
        "crates/shequ-x/src/service/queries.rs",
        "//! x\nconst Q: &str = \"SELECT id FROM x_things WHERE id = $1\";\n",
    );
    write(
        "crates/shequ-x/src/service/clean.rs",
        "//! x\nuse shequ_proto::names::x_name;\nfn selected() -> &'static str { \"selected items\" }\n",
    );
    write(
        "crates/shequ-x/src/model.rs",
        "//! x\nuse shequ_proto::x::v1::Thing;\n",
    );
    write(
        "crates/shequ-x/src/grpc/convert.rs",
        "//! x\nuse shequ_proto::x::v1 as pb;\nfn f(_: pb::Thing) {}\n",
    );
    write(
        "crates/shequ-x/src/lib.rs",
        "//! x\nuse shequ_proto::x::v1::thing_server::ThingServer;\n",
    );
    write(
        "crates/shequ-x/src/store/things.rs",
        "//! x\nconst Q: &str = r#\"INSERT INTO x_things (id) VALUES ($1)\"#;\n",
    );
    write(
        "crates/shequ-x/src/grpc.rs",
        &format!("//! x\n{}", "fn f() {}\n".repeat(MAX_LINES)),
    );
    write("crates/shequ-lib/src/lib.rs", "//! no service room\n");
    write("tests/src/lib.rs", "//! x\n");

    assert_eq!(
        protobuf_outside_grpc(root),
        [
            "crates/shequ-x/src/model.rs",
            "crates/shequ-x/src/service/uses_pb.rs"
        ]
    );
    assert_eq!(
        sql_outside_store(root),
        ["crates/shequ-x/src/service/queries.rs"]
    );
    assert_eq!(long_files(root), ["crates/shequ-x/src/grpc.rs"]);
    let (new, stale) = against(
        &protobuf_outside_grpc(root),
        &[("crates/shequ-x/src/service/clean.rs", "was converting")],
    );
    assert_eq!(
        new,
        [
            "crates/shequ-x/src/model.rs",
            "crates/shequ-x/src/service/uses_pb.rs"
        ]
    );
    assert_eq!(stale, ["crates/shequ-x/src/service/clean.rs"]);
}
