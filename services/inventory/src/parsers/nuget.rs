//! NuGet `packages.lock.json`: the resolved packages of every target
//! framework (and runtime identifier), reported once each.
//!
//! `Direct`, `Transitive` and `CentralTransitive` entries are registry
//! packages at their `resolved` version; `Project` entries (other projects of
//! the solution) are [`Source::Workspace`]. The lockfile does not tell build
//! or test-only packages apart, so every scope is [`Scope::Unspecified`].
//! Names keep the lockfile's spelling; NuGet ids are case-insensitive, so
//! matching folds case (and merges one id spelled two ways here).

use super::collect::{Collector, error, json_object, text};
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use std::collections::BTreeMap;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "packages.lock.json";

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    dependencies: BTreeMap<String, BTreeMap<String, Entry>>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    resolved: Option<String>,
    #[serde(default)]
    requested: Option<String>,
}

/// Parses a NuGet `packages.lock.json` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let lock: Lock = json_object(FORMAT, text(input))?;
    let mut out = Collector::new(Ecosystem::NuGet, input.rel_path);
    for packages in lock.dependencies.values() {
        for (name, entry) in packages {
            if name.trim().is_empty() {
                return Err(error(FORMAT, "package with an empty name"));
            }
            let source = if entry.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("project")) {
                Source::Workspace
            } else {
                Source::Registry
            };
            match (
                entry.resolved.as_deref().map(str::trim).filter(|v| !v.is_empty()),
                entry.requested.as_deref(),
            ) {
                (Some(version), _) => out.add(name, version, Scope::Unspecified, source),
                (None, Some(requested)) if source == Source::Registry => {
                    out.add_unresolved(name, requested, Scope::Unspecified, source)
                }
                (None, _) => out.add(name, "", Scope::Unspecified, source),
            }
        }
    }
    Ok(out.finish())
}
