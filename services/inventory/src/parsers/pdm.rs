//! `pdm.lock`: TOML `[[package]]` tables.
//!
//! Scope: lock_version 4.x writes `groups = ["default", "dev"]` per package;
//! `default` means runtime, any other group development (the lock's own
//! group list is in `[metadata] groups`). Older files have no per-package
//! groups (unspecified). `git` packages are [`Source::Git`], `path` and
//! `url` ones [`Source::Path`].

use crate::parsers::collect::{Collector, error};
use crate::parsers::textutil;
use crate::parsers::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "pdm.lock";

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Entry>,
    metadata: Option<toml::Table>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    #[serde(default)]
    version: String,
    groups: Option<Vec<String>>,
    git: Option<String>,
    path: Option<String>,
    url: Option<String>,
}

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let lock: Lock = textutil::toml(FORMAT, input.contents)?;
    if lock.metadata.is_none() && lock.package.is_empty() {
        return Err(error(FORMAT, "no [[package]] or [metadata] table"));
    }
    let mut out = Collector::new(Ecosystem::PyPI, input.rel_path);
    for entry in &lock.package {
        let scope = match &entry.groups {
            Some(groups) if groups.iter().any(|g| g == "default") => Scope::Runtime,
            Some(groups) if !groups.is_empty() => Scope::Development,
            _ => Scope::Unspecified,
        };
        let source = if entry.git.is_some() {
            Source::Git
        } else if entry.path.is_some() || entry.url.is_some() {
            Source::Path
        } else {
            Source::Registry
        };
        out.add(&entry.name, &entry.version, scope, source);
    }
    Ok(out.finish())
}
