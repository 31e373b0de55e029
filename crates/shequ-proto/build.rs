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
    std::fs::write(out.join("shequ_methods.rs"), method_names(&fds))?;
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

/// `methods.rs`: a module per package and service holding the service's name (`SERVICE`) and
/// each method's full path (`CREATE_FACILITY` = `/shequ.registry.v1.FacilityService/CreateFacility`),
/// as gRPC, the auth layer and the audit trail name them.
fn method_names(fds: &prost_types::FileDescriptorSet) -> String {
    use std::collections::BTreeMap;
    let mut packages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &fds.file {
        let package = file.package();
        // `shequ.registry.v1` -> `registry`
        let area = package
            .strip_prefix("shequ.")
            .and_then(|p| p.split('.').next())
            .unwrap_or(package)
            .to_owned();
        for service in &file.service {
            let full = format!("{package}.{}", service.name());
            let mut text = format!(
                "    /// `{full}`\n    pub mod {} {{\n        pub const SERVICE: &str = \"{full}\";\n",
                snake(service.name())
            );
            for method in &service.method {
                text.push_str(&format!(
                    "        pub const {}: &str = \"/{full}/{}\";\n",
                    snake(method.name()).to_uppercase(),
                    method.name()
                ));
            }
            text.push_str("    }\n");
            packages.entry(area.clone()).or_default().push(text);
        }
    }
    let mut out = String::new();
    for (area, services) in packages {
        out.push_str(&format!("pub mod {area} {{\n"));
        for s in services {
            out.push_str(&s);
        }
        out.push_str("}\n");
    }
    out
}

/// `FacilityService` -> `facility_service`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
