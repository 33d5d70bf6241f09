//! Compiles `proto/` with protox (no system protoc) and tonic-prost-build, and
//! keeps the encoded descriptor set for gRPC reflection.

use prost::Message;
use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "zerotrace/common/v1/common.proto",
    "zerotrace/enrichment/v1/enrichment.proto",
    "zerotrace/agent/v1/agent.proto",
    "zerotrace/api/v1/api.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());

    let fds = protox::compile(PROTOS, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("zerotrace_descriptor.bin"), fds.encode_to_vec())?;

    // The enrichment server a second time, with the look-ups answering in the
    // hand-written types of `src/encoded.rs` (written from cached encodings);
    // every other type is the one generated below.
    let enrichment = prost_types::FileDescriptorSet {
        file: fds
            .file
            .iter()
            .filter(|f| matches!(f.package(), "zerotrace.common.v1" | "zerotrace.enrichment.v1"))
            .cloned()
            .collect(),
    };
    let encoded_server = out.join("encoded_server");
    std::fs::create_dir_all(&encoded_server)?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .out_dir(&encoded_server)
        .extern_path(".zerotrace.common.v1", "crate::common::v1")
        .extern_path(".zerotrace.enrichment.v1", "crate::enrichment::v1")
        .extern_path(
            ".zerotrace.enrichment.v1.GetVulnerabilityResponse",
            "crate::encoded::GetVulnerabilityResponse",
        )
        .extern_path(
            ".zerotrace.enrichment.v1.BatchGetVulnerabilitiesResponse",
            "crate::encoded::BatchGetVulnerabilitiesResponse",
        )
        .extern_path(
            ".zerotrace.enrichment.v1.MatchPackagesResponse",
            "crate::encoded::MatchPackagesResponse",
        )
        .compile_fds(enrichment)?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
