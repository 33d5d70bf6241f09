//! No input makes a parser panic: arbitrary text, and every fixture truncated
//! at random points or with random bytes changed.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use proptest::prelude::*;
use std::path::PathBuf;
use zerotrace_inventory::FileType;
use zerotrace_inventory::parsers::{ParseInput, parse};

const FIXTURES: &[(FileType, &str)] = &[
    (FileType::CargoLock, "cargo/v1/Cargo.lock"),
    (FileType::CargoLock, "cargo/v1-root/Cargo.lock"),
    (FileType::CargoLock, "cargo/v2/Cargo.lock"),
    (FileType::CargoLock, "cargo/v3/Cargo.lock"),
    (FileType::CargoLock, "cargo/v4/Cargo.lock"),
    (FileType::NpmLock, "npm/v1/package-lock.json"),
    (FileType::NpmLock, "npm/v2/package-lock.json"),
    (FileType::NpmLock, "npm/v3-workspaces/package-lock.json"),
    (FileType::YarnLock, "yarn/classic/yarn.lock"),
    (FileType::YarnLock, "yarn/berry/yarn.lock"),
    (FileType::PnpmLock, "pnpm/v5/pnpm-lock.yaml"),
    (FileType::PnpmLock, "pnpm/v6/pnpm-lock.yaml"),
    (FileType::PnpmLock, "pnpm/v9/pnpm-lock.yaml"),
    (FileType::BunLock, "bun/bun.lock"),
    (FileType::PipRequirements, "requirements/requirements.txt"),
    (FileType::PoetryLock, "poetry/v1/poetry.lock"),
    (FileType::PoetryLock, "poetry/v2/poetry.lock"),
    (FileType::PipfileLock, "pipfile/Pipfile.lock"),
    (FileType::PdmLock, "pdm/pdm.lock"),
    (FileType::UvLock, "uv/uv.lock"),
];

const TYPES: &[FileType] = &[
    FileType::CargoLock,
    FileType::NpmLock,
    FileType::YarnLock,
    FileType::PnpmLock,
    FileType::BunLock,
    FileType::PipRequirements,
    FileType::PoetryLock,
    FileType::PipfileLock,
    FileType::PdmLock,
    FileType::UvLock,
];

fn fixture(rel: &str) -> (PathBuf, Vec<u8>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn run(file_type: FileType, path: &std::path::Path, contents: &str) {
    let input = ParseInput::new(contents, path, "x");
    match parse(file_type, &input) {
        Err(e) => {
            assert!(!e.0.contains('\n'), "{file_type}: multi-line error {:?}", e.0);
            assert!(!e.0.is_empty());
        }
        Ok(parsed) => {
            for e in parsed.errors {
                assert!(!e.contains('\n') && !e.is_empty(), "{file_type}: entry error {e:?}");
            }
        }
    }
}

/// Text made of the characters lockfile syntax is built from, so the
/// parsers get past their first check more often than with random Unicode.
fn lockish() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r#"([a-z@/:"'\[\]{}(),=<>~^#;.*_\\ -]|[0-9]|\n  |\n|version|resolution|packages|node_modules/|\[\[package\]\]|name = |-r |lockfileVersion){0,120}"#).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let (path, _) = fixture("requirements/requirements.txt");
        for &t in TYPES {
            run(t, &path, &text);
        }
    }

    #[test]
    fn lockfile_like_text_never_panics(text in lockish()) {
        let (path, _) = fixture("requirements/requirements.txt");
        for &t in TYPES {
            run(t, &path, &text);
        }
    }

    #[test]
    fn truncated_fixtures_never_panic(index in 0..FIXTURES.len(), cut in 0.0f64..1.0) {
        let (file_type, rel) = FIXTURES[index];
        let (path, bytes) = fixture(rel);
        let at = (bytes.len() as f64 * cut) as usize;
        let text = String::from_utf8_lossy(&bytes[..at]);
        run(file_type, &path, &text);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        index in 0..FIXTURES.len(),
        edits in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 1..8),
    ) {
        let (file_type, rel) = FIXTURES[index];
        let (path, mut bytes) = fixture(rel);
        for (at, byte) in edits {
            let i = ((bytes.len() as f64) * at) as usize;
            if i < bytes.len() {
                bytes[i] = byte;
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        run(file_type, &path, &text);
    }
}

#[test]
fn every_fixture_parses() {
    for &(file_type, rel) in FIXTURES {
        let (path, bytes) = fixture(rel);
        let text = String::from_utf8(bytes).unwrap();
        let parsed = parse(file_type, &ParseInput::new(&text, &path, rel)).unwrap();
        assert!(!parsed.packages.is_empty(), "{rel}");
        assert!(parsed.errors.is_empty(), "{rel}: {:?}", parsed.errors);
    }
}
