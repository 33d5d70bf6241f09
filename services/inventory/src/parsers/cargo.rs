//! `Cargo.lock`, every format version.
//!
//! - v1 (Rust < 1.41): `[[package]]` plus checksums in `[metadata]`, and in
//!   the oldest files a `[root]` table for the root crate.
//! - v2 (no `version` key, checksums inline), v3 (`version = 3`), v4.
//!
//! `source = "registry+…"`/`"sparse+…"` is a registry crate, `"git+…"` a git
//! dependency; a package without `source` is a workspace member or a path
//! dependency (the lockfile cannot tell them apart), reported as
//! [`Source::Workspace`]. Cargo.lock does not record dev-only packages, so
//! the scope is always unspecified.

use crate::parsers::collect::{Collector, error};
use crate::parsers::textutil;
use crate::parsers::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "Cargo.lock";

#[derive(Deserialize)]
struct Lock {
    version: Option<toml::Value>,
    #[serde(default)]
    package: Vec<Entry>,
    root: Option<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    version: String,
    source: Option<String>,
}

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let lock: Lock = textutil::toml(FORMAT, input.contents)?;
    if let Some(v) = &lock.version {
        match v.as_integer() {
            Some(1..=4) => {}
            _ => return Err(error(FORMAT, format!("unsupported lockfile version {v}"))),
        }
    }
    let mut out = Collector::new(Ecosystem::CratesIo, input.rel_path);
    for entry in lock.root.iter().chain(&lock.package) {
        let source = match entry.source.as_deref() {
            None => Source::Workspace,
            Some(s) if s.starts_with("git+") => Source::Git,
            Some(s) if s.starts_with("path+") => Source::Path,
            Some(_) => Source::Registry,
        };
        out.add(&entry.name, &entry.version, Scope::Unspecified, source);
    }
    Ok(out.finish())
}
