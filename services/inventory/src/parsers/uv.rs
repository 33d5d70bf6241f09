//! `uv.lock` (lock `version = 1`, any `revision`).
//!
//! `source = { registry = … }` is a registry package; `git = …` is
//! [`Source::Git`]; `editable`/`virtual` (the project and its workspace
//! members) are [`Source::Workspace`]; `path`/`directory`/`url` are
//! [`Source::Path`].
//!
//! Scope comes from the graph: starting at the workspace members,
//! packages reached through `dependencies` are runtime, through
//! `optional-dependencies` (extras) optional, and only through
//! `dev-dependencies` (dependency groups) development. Dependencies name
//! their target by `name` (plus `version`/`source` when several versions of
//! a name are locked, as with forked resolutions). The same edges, of every
//! kind, make the dependency graph, rooted at the workspace members.

use crate::graph::GraphBuilder;
use crate::parsers::collect::{Collector, error};
use crate::parsers::textutil;
use crate::parsers::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "uv.lock";

#[derive(Deserialize)]
struct Lock {
    version: Option<i64>,
    #[serde(default)]
    package: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    source: toml::Table,
    #[serde(default)]
    dependencies: Vec<Dep>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<Dep>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Vec<Dep>>,
}

#[derive(Deserialize)]
struct Dep {
    name: String,
    version: Option<String>,
    #[serde(default)]
    extra: Vec<String>,
}

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let lock: Lock = textutil::toml(FORMAT, input.contents)?;
    match lock.version {
        Some(1) => {}
        Some(v) => return Err(error(FORMAT, format!("unsupported lock version {v}"))),
        None => return Err(error(FORMAT, "no lock version")),
    }
    let sources: Vec<Source> = lock.package.iter().map(source_of).collect();
    let scopes = scopes(&lock.package, &sources);
    let mut out = Collector::new(Ecosystem::PyPI, input.rel_path);
    for ((entry, source), scope) in lock.package.iter().zip(&sources).zip(&scopes) {
        out.add(&entry.name, &entry.version, *scope, *source);
    }
    let mut parsed = out.finish();
    parsed.graph = graph(&lock.package, &sources);
    Ok(parsed)
}

/// The packages a dependency names: every locked version of the name, or
/// the one it pins.
struct Targets<'a> {
    packages: &'a [Entry],
    by_name: HashMap<String, Vec<usize>>,
}

impl<'a> Targets<'a> {
    fn new(packages: &'a [Entry]) -> Self {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in packages.iter().enumerate() {
            by_name
                .entry(Ecosystem::PyPI.normalize_name(&p.name))
                .or_default()
                .push(i);
        }
        Self { packages, by_name }
    }

    fn of(&self, dep: &Dep) -> Vec<usize> {
        let all = self
            .by_name
            .get(&Ecosystem::PyPI.normalize_name(&dep.name))
            .cloned()
            .unwrap_or_default();
        match &dep.version {
            Some(v) => all
                .into_iter()
                .filter(|&i| self.packages.get(i).is_some_and(|p| &p.version == v))
                .collect(),
            None => all,
        }
    }
}

/// The dependency graph: every kind of dependency is an edge.
fn graph(packages: &[Entry], sources: &[Source]) -> Option<crate::DependencyGraph> {
    let targets = Targets::new(packages);
    let mut graph = GraphBuilder::default();
    let nodes: Vec<usize> = packages.iter().map(|p| graph.node(&p.name, &p.version)).collect();
    for (i, p) in packages.iter().enumerate() {
        if sources.get(i) == Some(&Source::Workspace) {
            graph.root(nodes[i]);
        }
        let deps = p
            .dependencies
            .iter()
            .chain(p.optional_dependencies.values().flatten())
            .chain(p.dev_dependencies.values().flatten());
        for dep in deps {
            for t in targets.of(dep) {
                graph.edge(nodes[i], nodes[t]);
            }
        }
    }
    graph.finish()
}

fn source_of(entry: &Entry) -> Source {
    let has = |k: &str| entry.source.contains_key(k);
    if has("registry") {
        Source::Registry
    } else if has("git") {
        Source::Git
    } else if has("editable") || has("virtual") {
        Source::Workspace
    } else if has("path") || has("directory") || has("url") {
        Source::Path
    } else {
        Source::Registry
    }
}

fn scopes(packages: &[Entry], sources: &[Source]) -> Vec<Scope> {
    let resolver = Targets::new(packages);
    let targets = |dep: &Dep| resolver.of(dep);
    // A dependency on `pkg[extra]` also needs the extra's dependencies.
    let expand = |dep: &Dep| -> Vec<usize> {
        let direct = targets(dep);
        let mut all = direct.clone();
        for &t in &direct {
            let Some(p) = packages.get(t) else { continue };
            for extra in &dep.extra {
                for d in p.optional_dependencies.get(extra).into_iter().flatten() {
                    all.extend(targets(d));
                }
            }
        }
        all
    };
    let mut scopes = vec![Scope::Unspecified; packages.len()];
    let mut visited = vec![false; packages.len()];
    let roots: Vec<usize> = (0..packages.len())
        .filter(|&i| sources.get(i) == Some(&Source::Workspace))
        .collect();
    for &r in &roots {
        if let Some(s) = scopes.get_mut(r) {
            *s = Scope::Runtime;
        }
    }
    for scope in [Scope::Runtime, Scope::Optional, Scope::Development] {
        let mut queue: VecDeque<usize> = VecDeque::new();
        for &r in &roots {
            let Some(root) = packages.get(r) else { continue };
            let deps: Vec<&Dep> = match scope {
                Scope::Runtime => root.dependencies.iter().collect(),
                Scope::Optional => root.optional_dependencies.values().flatten().collect(),
                _ => root.dev_dependencies.values().flatten().collect(),
            };
            queue.extend(deps.into_iter().flat_map(&expand));
        }
        while let Some(i) = queue.pop_front() {
            match visited.get_mut(i) {
                Some(seen) if !*seen => *seen = true,
                _ => continue,
            }
            if let (Some(s), Some(Source::Workspace)) = (scopes.get_mut(i), sources.get(i)) {
                // Workspace members stay runtime; their own deps are walked as roots.
                *s = Scope::Runtime;
                continue;
            }
            if let Some(s) = scopes.get_mut(i) {
                *s = scope;
            }
            if let Some(p) = packages.get(i) {
                queue.extend(p.dependencies.iter().flat_map(&expand));
            }
        }
    }
    scopes
}
