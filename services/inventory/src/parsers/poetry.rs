//! `poetry.lock`, lock-version 1.x (Poetry < 1.3, hashes in
//! `[metadata.files]`) and 2.x (hashes in `files` per package).
//!
//! Scope: Poetry 2 writes `groups = ["main", "dev"]` per package (`main`
//! means runtime); Poetry < 1.5 wrote `category = "main"` or `"dev"`; in
//! between the file does not say. `optional = true` (an extra) is
//! [`Scope::Optional`] unless a group or category says runtime or dev.
//! `[package.source]` of type `git` is [`Source::Git`]; `directory`, `file`
//! and `url` are [`Source::Path`]; `legacy` (a private index) stays a registry.

use crate::parsers::collect::{Collector, error};
use crate::parsers::textutil;
use crate::parsers::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "poetry.lock";

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Entry>,
    metadata: Option<toml::Table>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    version: String,
    category: Option<String>,
    #[serde(default)]
    optional: bool,
    groups: Option<Vec<String>>,
    source: Option<PackageSource>,
}

#[derive(Deserialize)]
struct PackageSource {
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let lock: Lock = textutil::toml(FORMAT, input.contents)?;
    if lock.metadata.is_none() && lock.package.is_empty() {
        return Err(error(FORMAT, "no [[package]] or [metadata] table"));
    }
    let mut out = Collector::new(Ecosystem::PyPI, input.rel_path);
    for entry in &lock.package {
        let scope = match (&entry.groups, entry.category.as_deref()) {
            (Some(groups), _) if groups.iter().any(|g| g == "main") => Scope::Runtime,
            (Some(groups), _) if !groups.is_empty() => Scope::Development,
            (_, Some("dev")) => Scope::Development,
            (_, Some("main")) if entry.optional => Scope::Optional,
            (_, Some("main")) => Scope::Runtime,
            _ if entry.optional => Scope::Optional,
            _ => Scope::Unspecified,
        };
        let source = match entry.source.as_ref().and_then(|s| s.kind.as_deref()) {
            Some("git") => Source::Git,
            Some("directory" | "file" | "url") => Source::Path,
            _ => Source::Registry,
        };
        out.add(&entry.name, &entry.version, scope, source);
    }
    Ok(out.finish())
}
