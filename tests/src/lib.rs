//! Support for the system tests: locating the service binaries that `cargo test --workspace`
//! builds, and starting them as separate processes configured only through the environment.

use std::path::PathBuf;

/// The service binaries, by the name of their executable.
pub const SERVICES: [&str; 3] = ["shequ-registry", "shequ-survey", "shequ-monitoring"];

/// Path of a workspace binary (`shequ-registry`, `shequ`, ...) built beside the running test.
///
/// `cargo test --workspace` builds every package's binaries before it runs any test; a test of
/// this package alone needs them built first, which the panic message says.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    // target/<profile>/deps/<test>-<hash>: the binaries sit in target/<profile>.
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test executable lives in target/<profile>/deps");
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, or build the binaries \
         first with `cargo build --bins`",
        path.display()
    );
    path
}
