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
//!
//! Each entry's `dependencies` (`"name"`, `"name version"` or `"name version
//! (source)"` when the name alone is ambiguous) give the dependency graph; its
//! roots are the packages without a source (the workspace's own crates).

use crate::graph::GraphBuilder;
use crate::parsers::collect::{Collector, error};
use crate::parsers::textutil;
use crate::parsers::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use std::collections::HashMap;
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
    #[serde(default)]
    dependencies: Vec<String>,
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
    let mut graph = GraphBuilder::default();
    let mut by_name: HashMap<&str, Vec<(&str, usize)>> = HashMap::new();
    for entry in lock.root.iter().chain(&lock.package) {
        let node = graph.node(&entry.name, &entry.version);
        by_name.entry(&entry.name).or_default().push((&entry.version, node));
        if entry.source.is_none() {
            graph.root(node);
        }
    }
    for entry in lock.root.iter().chain(&lock.package) {
        let from = graph.node(&entry.name, &entry.version);
        for dependency in &entry.dependencies {
            let mut parts = dependency.split_whitespace();
            let Some(candidates) = parts.next().and_then(|name| by_name.get(name)) else {
                continue;
            };
            let target = match parts.next() {
                Some(version) => candidates.iter().find(|(v, _)| *v == version),
                None if candidates.len() == 1 => candidates.first(),
                None => None,
            };
            if let Some(&(_, to)) = target {
                graph.edge(from, to);
            }
        }
    }
    for entry in lock.root.iter().chain(&lock.package) {
        let source = match entry.source.as_deref() {
            None => Source::Workspace,
            Some(s) if s.starts_with("git+") => Source::Git,
            Some(s) if s.starts_with("path+") => Source::Path,
            Some(_) => Source::Registry,
        };
        out.add(&entry.name, &entry.version, Scope::Unspecified, source);
    }
    let mut parsed = out.finish();
    parsed.graph = graph.finish();
    Ok(parsed)
}
