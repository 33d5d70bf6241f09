//! `poetry.lock`, lock-version 1.x (Poetry < 1.3, hashes in
//! `[metadata.files]`) and 2.x (hashes in `files` per package).
//!
//! Scope: Poetry 2 writes `groups = ["main", "dev"]` per package (`main`
//! means runtime); Poetry < 1.5 wrote `category = "main"` or `"dev"`; in
//! between the file does not say. `optional = true` (an extra) is
//! [`Scope::Optional`] unless a group or category says runtime or dev.
//! `[package.source]` of type `git` is [`Source::Git`]; `directory`, `file`
//! and `url` are [`Source::Path`]; `legacy` (a private index) stays a registry.
//!
//! The graph: each package depends on the names of its
//! `[package.dependencies]`. The lockfile does not say what the project
//! itself asks for, so the root is the `pyproject.toml` beside it: PEP 621
//! `[project]` dependencies and optional dependencies, PEP 735
//! `[dependency-groups]`, and Poetry's own `[tool.poetry]` dependencies,
//! dev-dependencies and groups (`python` is no package). Names compare
//! after PEP 503 normalisation.

use crate::graph::ByName;
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
    /// Name to constraint (a string, a table, or a list of tables).
    #[serde(default)]
    dependencies: toml::Table,
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
    let mut graph = ByName::default();
    if let Some(manifest) = input.manifest {
        project(manifest, &mut graph);
    }
    for entry in &lock.package {
        let node = graph.package(key(&entry.name), &entry.name, &entry.version);
        for name in entry.dependencies.keys() {
            graph.depends(node, key(name));
        }
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
    let mut parsed = out.finish();
    parsed.graph = graph.finish();
    Ok(parsed)
}

/// The table a value is, if it is one.
fn table(value: Option<&toml::Value>) -> Option<&toml::Table> {
    value.and_then(toml::Value::as_table)
}

/// How the graph knows a name: PEP 503 normalised.
fn key(name: &str) -> String {
    Ecosystem::PyPI.normalize_name(name)
}

/// Adds the project of a `pyproject.toml` as the graph's root, depending on
/// every package it names.
fn project(manifest: &str, graph: &mut ByName) {
    let Ok(manifest) = manifest.parse::<toml::Table>() else {
        return;
    };
    let pep621 = table(manifest.get("project"));
    let poetry = table(table(manifest.get("tool")).and_then(|t| t.get("poetry")));
    let name = pep621
        .or(poetry)
        .and_then(|t| t.get("name"))
        .and_then(toml::Value::as_str)
        .unwrap_or("(project)");
    let root = graph.project(name);
    // PEP 508 strings: `requests[socks]>=2; python_version < "3.8"`.
    let mut requirements: Vec<&toml::Value> = Vec::new();
    if let Some(project) = pep621 {
        requirements.extend(
            project
                .get("dependencies")
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten(),
        );
        let extras = table(project.get("optional-dependencies"))
            .into_iter()
            .flat_map(|t| t.values());
        requirements.extend(extras.filter_map(toml::Value::as_array).flatten());
    }
    let groups = table(manifest.get("dependency-groups"))
        .into_iter()
        .flat_map(|t| t.values());
    requirements.extend(groups.filter_map(toml::Value::as_array).flatten());
    for requirement in requirements.iter().filter_map(|r| r.as_str()) {
        let name: String = requirement
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        if !name.is_empty() {
            graph.depends(root, key(&name));
        }
    }
    // Poetry's tables: name = constraint.
    let Some(poetry) = poetry else { return };
    let mut tables = vec![table(poetry.get("dependencies")), table(poetry.get("dev-dependencies"))];
    let poetry_groups = table(poetry.get("group")).into_iter().flat_map(|t| t.values());
    tables.extend(poetry_groups.map(|group| table(table(Some(group)).and_then(|g| g.get("dependencies")))));
    for name in tables.into_iter().flatten().flat_map(|t| t.keys()) {
        if name != "python" {
            graph.depends(root, key(name));
        }
    }
}
