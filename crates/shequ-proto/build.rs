//! Compiles the contracts in `proto/` with protox (no `protoc` needed) and generates the
//! prost messages and tonic clients and servers (over the crate's own codec), plus the descriptor
//! set served by reflection.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        "shequ/common/v1/common.proto",
        "shequ/audit/v1/audit.proto",
        "shequ/registry/v1/division.proto",
        "shequ/registry/v1/facility.proto",
        "shequ/survey/v1/questionnaire.proto",
        "shequ/survey/v1/round.proto",
        "shequ/survey/v1/response.proto",
        "shequ/monitoring/v1/indicator.proto",
        "shequ/monitoring/v1/plan.proto",
        "shequ/monitoring/v1/evaluation.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let fds = protox::compile(files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("shequ_descriptor.bin"), fds.encode_to_vec())?;
    // Type names let the codec find a message in the descriptor set (`codec.rs`).
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::codec::WireCodec")
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
