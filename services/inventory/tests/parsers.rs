//! Each parser against realistic fixtures, with the exact package lists.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use std::path::PathBuf;
use zerotrace_inventory::parsers::{ParseInput, parse};
use zerotrace_inventory::{FileType, Package, Scope, Source};

fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn parse_fixture(rel: &str) -> Result<Vec<Package>, String> {
    let path = fixture_path(rel);
    let contents = std::fs::read_to_string(&path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let mut file_type = FileType::detect(name);
    if file_type == FileType::Other && name.ends_with(".txt") {
        file_type = FileType::PipRequirements;
    }
    let parsed = parse(file_type, &ParseInput::new(&contents, &path, rel)).map_err(|e| e.0)?;
    assert_eq!(parsed.errors, Vec::<String>::new(), "{rel}");
    Ok(parsed.packages)
}

fn describe(p: &Package) -> String {
    let scope = match p.scope {
        Scope::Unspecified => "unspecified",
        Scope::Runtime => "runtime",
        Scope::Development => "dev",
        Scope::Optional => "optional",
    };
    let source = match p.source {
        Source::Registry => "registry",
        Source::Git => "git",
        Source::Path => "path",
        Source::Workspace => "workspace",
    };
    let mut s = format!("{}@{} {scope} {source}", p.name, p.version);
    if let Some(r) = &p.requirement {
        s.push_str(&format!(" req={r}"));
    }
    s
}

#[track_caller]
fn check(rel: &str, ecosystem: &str, expected: &[&str]) {
    let packages = parse_fixture(rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    for p in &packages {
        assert_eq!(p.ecosystem.osv_name(), ecosystem, "{rel}");
        assert_eq!(p.path, rel);
    }
    let mut got: Vec<String> = packages.iter().map(describe).collect();
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{rel}");
}

#[test]
fn cargo_v1_with_metadata_checksums() {
    check(
        "cargo/v1/Cargo.lock",
        "crates.io",
        &[
            "bitflags@1.2.1 unspecified registry",
            "libc@0.2.66 unspecified registry",
            "myapp@0.1.0 unspecified workspace",
            "rand@0.7.2 unspecified git",
            "smallvec@0.6.10 unspecified registry",
            "smallvec@1.0.0 unspecified registry",
        ],
    );
}

#[test]
fn cargo_v1_with_root_table() {
    check(
        "cargo/v1-root/Cargo.lock",
        "crates.io",
        &[
            "legacy-tool@0.3.0 unspecified workspace",
            "log@0.3.9 unspecified registry",
            "log@0.4.8 unspecified registry",
        ],
    );
}

#[test]
fn cargo_v2_workspace() {
    check(
        "cargo/v2/Cargo.lock",
        "crates.io",
        &[
            "anyhow@1.0.38 unspecified registry",
            "cli@0.2.0 unspecified workspace",
            "core@0.2.0 unspecified workspace",
            "serde@1.0.123 unspecified registry",
        ],
    );
}

#[test]
fn cargo_v3_alternate_registry_and_git() {
    check(
        "cargo/v3/Cargo.lock",
        "crates.io",
        &[
            "cfg-if@1.0.0 unspecified registry",
            "internal-proto@0.4.1 unspecified registry",
            "openssl@0.10.55 unspecified git",
            "service@1.2.0 unspecified workspace",
            "tokio@0.2.25 unspecified registry",
            "tokio@1.29.1 unspecified registry",
        ],
    );
}

#[test]
fn cargo_v4_sparse_registry() {
    check(
        "cargo/v4/Cargo.lock",
        "crates.io",
        &[
            "aho-corasick@1.1.3 unspecified registry",
            "memchr@2.7.4 unspecified registry",
            "regex-lite-helper@0.1.0 unspecified git",
            "xtask@0.0.0 unspecified workspace",
        ],
    );
}

#[test]
fn cargo_rejects_unknown_versions_and_garbage() {
    let path = fixture_path("cargo/v4/Cargo.lock");
    let input = |contents| ParseInput::new(contents, &path, "Cargo.lock");
    assert!(parse(FileType::CargoLock, &input("version = 9\n")).is_err());
    let err = parse(FileType::CargoLock, &input("[[package]]\nname = \"x\"\nversion = ")).unwrap_err();
    assert!(!err.0.contains('\n') && err.0.starts_with("Cargo.lock: line "), "{err}");
}

#[test]
fn npm_v1_nested_aliases_git_and_file() {
    check(
        "npm/v1/package-lock.json",
        "npm",
        &[
            "@babel/code-frame@7.10.4 dev registry",
            "@babel/highlight@7.10.4 dev registry",
            "debug@2.6.9 runtime registry",
            "express@4.17.1 runtime registry",
            "fsevents@1.2.13 dev registry",
            "left-pad@5ac1a6d5e4b3c5f3e7e2d7bd1a9c3b2e5f4a6b7c runtime git req=git+https://github.com/stevemao/left-pad.git#5ac1a6d5e4b3c5f3e7e2d7bd1a9c3b2e5f4a6b7c",
            "local-utils@ runtime path req=file:packages/local-utils",
            "ms@2.0.0 runtime registry",
            "ms@2.1.2 runtime registry",
            "nan@2.14.1 dev registry",
            "qs@6.7.0 runtime registry",
            "string-width@4.2.3 runtime registry",
            "uglify-js@3.13.5 optional registry",
        ],
    );
}

#[test]
fn npm_v2_prefers_packages_over_legacy_tree() {
    check(
        "npm/v2/package-lock.json",
        "npm",
        &[
            "axios@0.21.1 runtime registry",
            "bufferutil@4.0.3 optional registry",
            "follow-redirects@1.14.0 runtime registry",
            "jest-cli@27.0.6 dev registry",
            "jest@27.0.6 dev registry",
            "node-gyp-build@4.2.3 optional registry",
            "string-width@4.2.3 runtime registry",
        ],
    );
}

#[test]
fn npm_aliases_tarballs_outside_paths_and_unpinned_git() {
    check(
        "npm/v3-sources/package-lock.json",
        "npm",
        &[
            // The alias is reported as the package it installs.
            "chalk@2.4.2 runtime registry",
            // Registries serve tarballs at URLs of any shape.
            "left-pad@1.3.0 runtime registry",
            "@acme/gh-pkg@1.0.0 runtime registry",
            // A branch is no commit: no version at all, the spec says where from.
            "branchy@ runtime git req=git+ssh://git@github.com/acme/branchy.git#main",
            "shared-lib@ runtime path req=../shared-lib",
            "tiny-tarball@ runtime path req=https://downloads.example.com/tiny-tarball-2.0.0.tgz",
        ],
    );
}

#[test]
fn npm_v3_workspaces_links_git_and_file() {
    check(
        "npm/v3-workspaces/package-lock.json",
        "npm",
        &[
            "@monorepo/ui@0.2.0 runtime workspace",
            "@monorepo/utils@0.1.0 runtime workspace",
            "@types/react@18.2.21 dev registry",
            "is-even@3a6e9f8c2b1d4e5f6a7b8c9d0e1f2a3b4c5d6e7f runtime git req=git+ssh://git@github.com/i-voted-for-trump/is-even.git#3a6e9f8c2b1d4e5f6a7b8c9d0e1f2a3b4c5d6e7f",
            "lodash@3.10.1 runtime registry",
            "lodash@4.17.21 runtime registry",
            "loose-envify@1.4.0 runtime registry",
            "react@18.2.0 runtime registry",
            "typescript@5.2.2 dev registry",
            "vendored-lib@ runtime path req=file:vendor/vendored-lib-0.1.0.tgz",
        ],
    );
}

#[test]
fn yarn_classic() {
    check(
        "yarn/classic/yarn.lock",
        "npm",
        &[
            "@babel/code-frame@7.12.13 unspecified registry",
            "@types/node@14.14.31 unspecified registry",
            "ansi-regex@5.0.0 unspecified registry",
            "debug@2.6.9 unspecified registry",
            "debug@4.3.1 unspecified registry",
            "is-promise@7ba0ea5f4f5f9e1c7a24f0c6d7a2f19e2d4d3e2a unspecified git req=git+https://github.com/then/is-promise.git#7ba0ea5f4f5f9e1c7a24f0c6d7a2f19e2d4d3e2a",
            "left-pad@5ac1a6d5e4b3c5f3e7e2d7bd1a9c3b2e5f4a6b7c unspecified git req=https://codeload.github.com/stevemao/left-pad/tar.gz/5ac1a6d5e4b3c5f3e7e2d7bd1a9c3b2e5f4a6b7c",
            "local-pkg@ unspecified path req=file:./vendor/local-pkg",
            "ms@2.0.0 unspecified registry",
            "ms@2.1.2 unspecified registry",
            "string-width@4.2.3 unspecified registry",
        ],
    );
}

#[test]
fn yarn_berry_patches_workspaces_and_aliases() {
    check(
        "yarn/berry/yarn.lock",
        "npm",
        &[
            "@babel/code-frame@7.22.13 unspecified registry",
            "@my-org/shared@ unspecified workspace req=workspace:packages/shared",
            "chalk@2.4.2 unspecified registry",
            "react-fork@0a1b2c3d4e5f60718293a4b5c6d7e8f901234567 unspecified git req=https://github.com/my-org/react.git#commit=0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
            "resolve@1.22.8 unspecified registry",
            "string-width@4.2.3 unspecified registry",
            "tiny-local@ unspecified path req=file:./vendor/tiny-local",
            "typescript@5.2.2 unspecified registry",
        ],
    );
}

#[test]
fn yarn_classic_rejects_garbage() {
    let path = fixture_path("yarn/classic/yarn.lock");
    let input = ParseInput::new("# yarn lockfile v1\n\nnot an entry\n", &path, "yarn.lock");
    assert_eq!(
        parse(FileType::YarnLock, &input).unwrap_err().0,
        "yarn.lock: line 3: expected an entry like `name@range:`"
    );
}

#[test]
fn pnpm_v5_dev_flags_peers_and_git() {
    check(
        "pnpm/v5/pnpm-lock.yaml",
        "npm",
        &[
            "@babel/core@7.20.5 dev registry",
            "debug@4.3.4 runtime registry",
            "eslint@8.30.0 dev registry",
            "fsevents@2.3.2 optional registry",
            "js-tokens@4.0.0 runtime registry",
            "loose-envify@1.4.0 runtime registry",
            "ms@2.1.2 runtime registry",
            "react-dom@18.2.0 runtime registry",
            "react@18.2.0 runtime registry",
            "scheduler@0.23.0 runtime registry",
            "tiny-git@8c2b1d4e5f60718293a4b5c6d7e8f90123456789 runtime git req=https://codeload.github.com/user/tiny-git/tar.gz/8c2b1d4e5f60718293a4b5c6d7e8f90123456789",
        ],
    );
}

#[test]
fn pnpm_v6_importers_and_directories() {
    check(
        "pnpm/v6/pnpm-lock.yaml",
        "npm",
        &[
            "@next/env@13.5.4 runtime registry",
            "@types/node@20.8.0 dev registry",
            "local-helper@ runtime path req=file:vendor/local-helper",
            "next@13.5.4 runtime registry",
            "react-dom@18.2.0 runtime registry",
            "react@18.2.0 runtime registry",
            "tinypool@0.7.0 dev registry",
            "vitest@0.34.6 dev registry",
        ],
    );
}

#[test]
fn pnpm_v9_scopes_from_the_graph() {
    check(
        "pnpm/v9/pnpm-lock.yaml",
        "npm",
        &[
            "@vitejs/plugin-react@4.2.0 dev registry",
            "ansi-regex@5.0.1 runtime registry",
            "esbuild@0.19.7 dev registry",
            "express@4.18.2 runtime registry",
            "fsevents@2.3.3 optional registry",
            "string-width@4.2.3 runtime registry",
            "strip-ansi@6.0.1 runtime registry",
            "tiny-fork@4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c runtime git req=https://codeload.github.com/someone/tiny-fork/tar.gz/4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c",
            "typescript@5.3.2 dev registry",
            "vite@5.0.2 dev registry",
        ],
    );
}

#[test]
fn bun_text_lockfile() {
    check(
        "bun/bun.lock",
        "npm",
        &[
            "@hono/node-server@1.13.7 unspecified registry",
            "@types/bun@1.1.14 unspecified registry",
            "@types/node@20.12.14 unspecified registry",
            "bun-types@1.1.37 unspecified registry",
            "hono@4.6.12 unspecified registry",
            "left-pad@5ac1a6d unspecified git req=github:stevemao/left-pad#5ac1a6d",
            "my-lib@0.4.0 unspecified workspace",
            "undici-types@5.26.5 unspecified registry",
            "undici-types@5.28.4 unspecified registry",
            "zod@3.23.8 unspecified registry",
        ],
    );
}

#[test]
fn requirements_with_includes_constraints_and_references() {
    check(
        "requirements/requirements.txt",
        "PyPI",
        &[
            "celery@5.3.4 unspecified registry",
            "certifi@2023.7.22 unspecified registry",
            "Django@4.2.7 unspecified registry",
            "Flask@ unspecified registry req=>=2.0,<3",
            "httpx@ unspecified git req=git+https://github.com/encode/httpx.git@0.25.1#egg=httpx",
            "internal_tools@ unspecified path req=./libs/internal_tools",
            "Jinja2@3.1.2 unspecified registry",
            "MarkupSafe@2.1.3 unspecified registry",
            "numpy@1.26.2 unspecified registry",
            "Pillow@10.1.0 unspecified path",
            "pyyaml@6.0.1 unspecified registry",
            "requests@2.31.0 unspecified registry",
            "torch@ unspecified path req=https://download.pytorch.org/whl/cpu/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl",
            "typing_extensions@ unspecified registry req=*",
            "urllib3@1.26.18 unspecified registry",
            "zope.interface@6.1 unspecified registry",
        ],
    );
}

#[test]
fn requirements_missing_include_is_an_error_naming_it() {
    let err = parse_fixture("requirements/missing-include.txt").unwrap_err();
    assert!(err.contains("does-not-exist.txt") && err.contains("line 2"), "{err}");
}

#[test]
fn poetry_v1_categories_and_sources() {
    check(
        "poetry/v1/poetry.lock",
        "PyPI",
        &[
            "certifi@2021.10.8 runtime registry",
            "Flask-Cors@3.0.10 runtime registry",
            "internal-sdk@1.4.0 runtime git",
            "mypy@0.910 dev registry",
            "psycopg2-binary@2.9.1 optional registry",
            "shared-models@0.1.0 runtime path",
        ],
    );
}

#[test]
fn poetry_v2_groups() {
    check(
        "poetry/v2/poetry.lock",
        "PyPI",
        &[
            "anyio@4.8.0 runtime registry",
            "idna@3.10 runtime registry",
            "private-utils@2.0.0 runtime registry",
            "pytest@8.3.4 dev registry",
            "sniffio@1.3.1 runtime registry",
            "uvloop@0.21.0 runtime registry",
            "vendored@0.9.0 runtime path",
        ],
    );
}

#[test]
fn pipfile_lock_sections() {
    check(
        "pipfile/Pipfile.lock",
        "PyPI",
        &[
            "certifi@2023.7.22 runtime registry",
            "Django@4.2.7 runtime registry",
            "local-package@ runtime path req=./packages/local-package",
            "my-toolkit@ runtime git req=https://github.com/acme/my-toolkit.git@5d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e",
            "pytest@7.4.3 dev registry",
            "typing-extensions@4.8.0 runtime registry",
        ],
    );
}

#[test]
fn pdm_lock_groups() {
    check(
        "pdm/pdm.lock",
        "PyPI",
        &[
            "click@8.1.7 runtime registry",
            "colorama@0.4.6 runtime registry",
            "Pygments@2.17.2 dev registry",
            "pytest@7.4.3 dev registry",
            "sdk-client@0.7.0 runtime git",
            "workspace-lib@0.1.0 runtime path",
        ],
    );
}

#[test]
fn uv_lock_graph_scopes() {
    check(
        "uv/uv.lock",
        "PyPI",
        &[
            "acme-api@0.1.0 runtime workspace",
            "acme-core@0.1.0 runtime workspace",
            "fastapi@0.115.6 runtime registry",
            "iniconfig@2.0.0 dev registry",
            "psycopg-binary@3.2.3 optional registry",
            "psycopg@3.2.3 optional registry",
            "pydantic@2.10.3 runtime registry",
            "pytest@8.3.4 dev registry",
            "starlette@0.41.3 runtime registry",
            "tomli-fork@2.2.1 runtime git",
            "typing-extensions@4.12.2 runtime registry",
            "vendored-wheel@1.0.0 unspecified path",
        ],
    );
}
