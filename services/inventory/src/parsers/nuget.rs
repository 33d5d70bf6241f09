//! NuGet `packages.lock.json`: the resolved packages of every target
//! framework (and runtime identifier), reported once each.
//!
//! `Direct`, `Transitive` and `CentralTransitive` entries are registry
//! packages at their `resolved` version; `Project` entries (other projects of
//! the solution) are [`Source::Workspace`]. The lockfile does not tell build
//! or test-only packages apart, so every scope is [`Scope::Unspecified`].
//! Names keep the lockfile's spelling; NuGet ids are case-insensitive, so
//! matching folds case (and merges one id spelled two ways here).
//!
//! The graph: the project (one root node) depends on its `Direct` and
//! `Project` entries; each entry's `dependencies` name entries of the same
//! target framework.

use super::collect::{Collector, error, json_object, text};
use super::{ParseInput, Parsed};
use crate::graph::GraphBuilder;
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
    #[serde(default)]
    dependencies: BTreeMap<String, serde_json::Value>,
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
    let mut parsed = out.finish();
    parsed.graph = graph(&lock);
    Ok(parsed)
}

/// The dependency graph of the lockfile's target frameworks.
fn graph(lock: &Lock) -> Option<crate::DependencyGraph> {
    let mut graph = GraphBuilder::default();
    let project = graph.node("(project)", "");
    graph.root(project);
    let version = |entry: &Entry| entry.resolved.as_deref().map(str::trim).unwrap_or("").to_string();
    for packages in lock.dependencies.values() {
        // NuGet ids are case-insensitive.
        let by_id: BTreeMap<String, (&String, &Entry)> = packages
            .iter()
            .map(|(name, entry)| (name.to_ascii_lowercase(), (name, entry)))
            .collect();
        for (name, entry) in packages {
            let from = graph.node(name, &version(entry));
            let kind = entry.kind.as_deref().unwrap_or("");
            if kind.eq_ignore_ascii_case("direct") || kind.eq_ignore_ascii_case("project") {
                graph.edge(project, from);
            }
            for dependency in entry.dependencies.keys() {
                if let Some((to_name, to)) = by_id.get(&dependency.to_ascii_lowercase()) {
                    let to = graph.node(to_name, &version(to));
                    graph.edge(from, to);
                }
            }
        }
    }
    graph.finish()
}
