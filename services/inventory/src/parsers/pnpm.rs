//! `pnpm-lock.yaml`.
//!
//! - v5 (`lockfileVersion: 5.x`): package keys `/name/1.2.3`,
//!   `/@scope/name/1.2.3_peer@2.0.0`.
//! - v6 (`lockfileVersion: '6.0'`): `/name@1.2.3(peer@2.0.0)`.
//! - v9 (`lockfileVersion: '9.0'`): `packages` keyed `name@1.2.3`, peer
//!   variants in `snapshots`, direct dependencies in `importers`.
//!
//! Keys whose version part is not a version (`github.com/u/r/sha`,
//! `name@https://codeload…`, `name@file:…`, `link:`) take `name` from the
//! entry and are [`Source::Git`] or [`Source::Path`] (also when
//! `resolution.type` is `git` or `directory`), reported as
//! [`jsorigin`](super::jsorigin) says: the git commit or no version, and the
//! spec (`repo#commit`, the tarball URL, the key's `file:` spec).
//!
//! Scope: v5/v6 write `dev: true` (dev only) or `dev: false` (production)
//! and omit it for packages needed by both, which are runtime. v9 dropped
//! the flag, so the dependency graph is walked from the importers:
//! reachable from `dependencies` is runtime, from `optionalDependencies`
//! optional, only from `devDependencies` development.
//!
//! The graph: each importer (the project `.` and its workspace packages, or
//! a v5/v6 single project's top-level dependency maps) is a root depending on
//! its `dependencies`, `devDependencies` and `optionalDependencies`
//! (`link:` points at another importer); each package depends on those of
//! its `snapshots` entry (v9) or of its own entry (v5/v6).

use crate::graph::GraphBuilder;
use crate::parsers::collect::{Collector, error};
use crate::parsers::jsorigin;
use crate::parsers::textutil::{self, Scalar};
use crate::parsers::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "pnpm-lock.yaml";

#[derive(Deserialize)]
struct Lock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<Scalar>,
    /// A v5/v6 single project's own dependencies, at the top level.
    #[serde(default)]
    dependencies: Option<BTreeMap<String, ImporterDep>>,
    #[serde(default, rename = "devDependencies")]
    dev_dependencies: Option<BTreeMap<String, ImporterDep>>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: Option<BTreeMap<String, ImporterDep>>,
    #[serde(default)]
    packages: Option<BTreeMap<String, Entry>>,
    #[serde(default)]
    snapshots: Option<BTreeMap<String, Snapshot>>,
    #[serde(default)]
    importers: Option<BTreeMap<String, Importer>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entry {
    name: Option<Scalar>,
    version: Option<Scalar>,
    dev: Option<bool>,
    optional: Option<bool>,
    resolution: Option<Resolution>,
    /// v5/v6: the package's own dependencies (v9 has them in `snapshots`).
    dependencies: Option<BTreeMap<String, Scalar>>,
    #[serde(rename = "optionalDependencies")]
    optional_dependencies: Option<BTreeMap<String, Scalar>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Resolution {
    #[serde(rename = "type")]
    kind: Option<String>,
    tarball: Option<String>,
    repo: Option<String>,
    commit: Option<String>,
    directory: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Snapshot {
    dependencies: Option<BTreeMap<String, Scalar>>,
    #[serde(rename = "optionalDependencies")]
    optional_dependencies: Option<BTreeMap<String, Scalar>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Importer {
    dependencies: Option<BTreeMap<String, ImporterDep>>,
    #[serde(rename = "devDependencies")]
    dev_dependencies: Option<BTreeMap<String, ImporterDep>>,
    #[serde(rename = "optionalDependencies")]
    optional_dependencies: Option<BTreeMap<String, ImporterDep>>,
}

/// v6+ write `{specifier, version}`, v5 importers just the version.
#[derive(Deserialize)]
#[serde(untagged)]
enum ImporterDep {
    Full { version: Scalar },
    Bare(Scalar),
}

impl ImporterDep {
    fn version(&self) -> &str {
        match self {
            ImporterDep::Full { version } | ImporterDep::Bare(version) => &version.0,
        }
    }
}

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut lock: Lock = textutil::yaml(FORMAT, input.contents)?;
    let Some(version) = lock.lockfile_version.as_ref() else {
        return Err(error(FORMAT, "no lockfileVersion"));
    };
    let major: u32 = version
        .0
        .trim()
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 3 {
        return Err(error(FORMAT, format!("unsupported lockfileVersion {}", version.0)));
    }
    let slash_keys = major < 6;
    let packages = lock.packages.take().unwrap_or_default();
    let any_dev_flag = packages.values().any(|e| e.dev.is_some());
    let graph_scopes = if major >= 9 {
        Some(v9_scopes(lock.importers.as_ref(), lock.snapshots.as_ref()))
    } else {
        None
    };

    let mut out = Collector::new(Ecosystem::Npm, input.rel_path);
    let mut graph = Graph::new(major);
    for (key, entry) in &packages {
        let Some((name, version, source)) = identify(key, entry, slash_keys) else {
            continue;
        };
        let reported = match source {
            Source::Registry | Source::Workspace => version.as_str(),
            Source::Git | Source::Path => jsorigin::version(&version, source),
        };
        graph.package(key, &name, reported);
        let scope = match &graph_scopes {
            Some(scopes) => scopes.get(key.as_str()).copied().unwrap_or(Scope::Unspecified),
            None => match entry.dev {
                Some(true) => Scope::Development,
                Some(false) if entry.optional == Some(true) => Scope::Optional,
                Some(false) => Scope::Runtime,
                None if entry.optional == Some(true) => Scope::Optional,
                None if any_dev_flag => Scope::Runtime,
                None => Scope::Unspecified,
            },
        };
        match source {
            Source::Registry | Source::Workspace => out.add(&name, &version, scope, source),
            Source::Git | Source::Path => jsorigin::add(&mut out, &name, &version, scope, source),
        }
    }
    let mut parsed = out.finish();
    parsed.graph = graph.finish(&lock, &packages);
    Ok(parsed)
}

/// Builds the dependency graph once every package key has its node.
struct Graph {
    builder: GraphBuilder,
    major: u32,
    /// The node of each `packages` key.
    nodes: HashMap<String, usize>,
}

impl Graph {
    fn new(major: u32) -> Self {
        Graph {
            builder: GraphBuilder::default(),
            major,
            nodes: HashMap::new(),
        }
    }

    /// Records the node of a `packages` key, by the name and version reported.
    fn package(&mut self, key: &str, name: &str, version: &str) {
        let node = self.builder.node(name, version);
        self.nodes.insert(key.to_string(), node);
    }

    /// The node of an importer (`.` is the project), by its path.
    fn importer(&mut self, path: &str) -> usize {
        let name = if path == "." || path.is_empty() {
            "(project)"
        } else {
            path
        };
        self.builder.node(name, "")
    }

    /// The package a dependency `name: version` resolves to.
    fn target(&self, name: &str, version: &str) -> Option<usize> {
        let get = |key: &str| self.nodes.get(key).copied();
        if self.major >= 9 {
            return get(&package_key_of(&snapshot_key(name, version)));
        }
        // v6 `/name@1.0.0(peer@1)`, v5 `/name/1.0.0_peer@1`; an alias or a
        // git dependency gives the key itself, with or without the slash.
        let separator = if self.major >= 6 { '@' } else { '/' };
        get(&format!("/{name}{separator}{version}"))
            .or_else(|| get(version))
            .or_else(|| get(&format!("/{version}")))
    }

    fn finish(mut self, lock: &Lock, packages: &BTreeMap<String, Entry>) -> Option<crate::DependencyGraph> {
        let top = (
            ".",
            [&lock.dependencies, &lock.dev_dependencies, &lock.optional_dependencies],
        );
        let importers = lock.importers.iter().flatten().map(|(path, i)| {
            (
                path.as_str(),
                [&i.dependencies, &i.dev_dependencies, &i.optional_dependencies],
            )
        });
        for (path, maps) in importers.chain(std::iter::once(top)) {
            let from = self.importer(path);
            self.builder.root(from);
            for (name, dep) in maps.into_iter().flatten().flatten() {
                let version = dep.version();
                let to = match version.strip_prefix("link:") {
                    Some(link) => Some(self.importer(&join(path, link))),
                    None => self.target(name, version),
                };
                if let Some(to) = to {
                    self.builder.edge(from, to);
                }
            }
        }
        let mut edges = Vec::new();
        match &lock.snapshots {
            Some(snapshots) if self.major >= 9 => {
                for (key, snapshot) in snapshots {
                    let from = self.nodes.get(&package_key_of(key)).copied();
                    edges.extend(from.map(|from| (from, [&snapshot.dependencies, &snapshot.optional_dependencies])));
                }
            }
            _ => {
                for (key, entry) in packages {
                    let from = self.nodes.get(key).copied();
                    edges.extend(from.map(|from| (from, [&entry.dependencies, &entry.optional_dependencies])));
                }
            }
        }
        for (from, maps) in edges {
            for (name, version) in maps.into_iter().flatten().flatten() {
                if let Some(to) = self.target(name, &version.0) {
                    self.builder.edge(from, to);
                }
            }
        }
        self.builder.finish()
    }
}

/// The importer path a `link:` from `importer` leads to: `packages/a` +
/// `../b` is `packages/b`.
fn join(importer: &str, link: &str) -> String {
    let mut parts: Vec<&str> = importer.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    for part in link.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// Strips the peer-dependency suffix of a version: `(peer@1)` (v6+) or
/// `_peer@1` (v5).
fn strip_peers(version: &str) -> &str {
    let v = version.split('(').next().unwrap_or(version);
    v.split('_').next().unwrap_or(v)
}

fn starts_with_digit(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn classify(spec: &str, resolution: Option<&Resolution>) -> Source {
    let kind = resolution.and_then(|r| r.kind.as_deref());
    let tarball = resolution.and_then(|r| r.tarball.as_deref()).unwrap_or("");
    if kind == Some("git") || resolution.is_some_and(|r| r.repo.is_some()) {
        return Source::Git;
    }
    if kind == Some("directory")
        || spec.starts_with("file:")
        || spec.starts_with("link:")
        || tarball.starts_with("file:")
    {
        return Source::Path;
    }
    if spec.starts_with("github.com/")
        || spec.starts_with("gitlab.com/")
        || spec.starts_with("bitbucket.org/")
        || spec.starts_with("git+")
        || spec.starts_with("git@")
        || spec.contains("codeload.github.com")
        || tarball.contains("codeload.github.com")
    {
        return Source::Git;
    }
    if starts_with_digit(spec) {
        Source::Registry
    } else {
        Source::Path
    }
}

/// Returns name, version and source of a `packages` key; for a git or path
/// package, the spec it was resolved to instead of a version.
fn identify(key: &str, entry: &Entry, slash_keys: bool) -> Option<(String, String, Source)> {
    let field = |s: &Option<Scalar>| s.as_ref().map(|s| s.0.clone()).filter(|s| !s.is_empty());
    let resolution = entry.resolution.as_ref();
    let (name, spec) = match key.strip_prefix('/') {
        Some(rest) if slash_keys => {
            // v5: `/name/1.2.3`, `/@scope/name/1.2.3_@types+node@14.0.0`;
            // the peer suffix starts at the first `_`.
            let cut = rest.find('_').unwrap_or(rest.len());
            let head = rest.get(..cut).unwrap_or(rest);
            let (name, version) = head.rsplit_once('/')?;
            (name.to_string(), version.to_string())
        }
        Some(rest) => {
            let (name, spec) = textutil::split_at_name(rest.split('(').next().unwrap_or(rest))?;
            (name.to_string(), spec.to_string())
        }
        None => match textutil::split_at_name(key) {
            // v9, or a non-registry key of any version.
            Some((name, spec)) if !name.contains('/') || name.starts_with('@') => (name.to_string(), spec.to_string()),
            _ => (String::new(), key.to_string()),
        },
    };
    let source = classify(&spec, resolution);
    let name = field(&entry.name).unwrap_or(name);
    if name.is_empty() {
        return None;
    }
    let version = match source {
        Source::Registry | Source::Workspace => strip_peers(&spec).to_string(),
        Source::Git => match resolution.map(|r| (&r.repo, &r.commit, &r.tarball)) {
            Some((Some(repo), Some(commit), _)) => format!("{repo}#{commit}"),
            Some((_, _, Some(tarball))) => tarball.clone(),
            _ => spec,
        },
        Source::Path => match resolution.and_then(|r| r.directory.as_ref().or(r.tarball.as_ref())) {
            Some(location) if !spec.contains(':') => location.clone(),
            _ => spec,
        },
    };
    Some((name, version, source))
}

/// Computes each v9 package key's scope by walking `snapshots` from the
/// importers' dependency lists.
fn v9_scopes(
    importers: Option<&BTreeMap<String, Importer>>,
    snapshots: Option<&BTreeMap<String, Snapshot>>,
) -> HashMap<String, Scope> {
    let mut scopes: HashMap<String, Scope> = HashMap::new();
    let Some(importers) = importers else { return scopes };
    let empty = BTreeMap::new();
    let snapshots = snapshots.unwrap_or(&empty);
    // Runtime first, so a package reached both ways keeps the stronger scope.
    for scope in [Scope::Runtime, Scope::Optional, Scope::Development] {
        let mut queue: VecDeque<String> = VecDeque::new();
        for importer in importers.values() {
            let deps = match scope {
                Scope::Runtime => importer.dependencies.as_ref(),
                Scope::Optional => importer.optional_dependencies.as_ref(),
                _ => importer.dev_dependencies.as_ref(),
            };
            for (name, dep) in deps.into_iter().flatten() {
                queue.push_back(snapshot_key(name, dep.version()));
            }
        }
        while let Some(key) = queue.pop_front() {
            let package_key = package_key_of(&key);
            if scopes.contains_key(&package_key) && scopes.contains_key(&key) {
                continue;
            }
            scopes.entry(package_key).or_insert(scope);
            scopes.insert(key.clone(), scope);
            if let Some(snapshot) = snapshots.get(&key) {
                let deps = snapshot
                    .dependencies
                    .iter()
                    .chain(snapshot.optional_dependencies.iter())
                    .flatten();
                for (name, version) in deps {
                    let next = snapshot_key(name, &version.0);
                    if !scopes.contains_key(&next) {
                        queue.push_back(next);
                    }
                }
            }
        }
    }
    scopes
}

/// A dependency `name: version` points at snapshot `name@version`, unless
/// the version is itself an alias target (`string-width@4.2.3`) or a link.
fn snapshot_key(name: &str, version: &str) -> String {
    let head = version.split('(').next().unwrap_or(version);
    let is_alias = !starts_with_digit(head)
        && textutil::split_at_name(head).is_some_and(|(n, _)| !n.is_empty() && !n.contains(':'));
    if is_alias {
        version.to_string()
    } else {
        format!("{name}@{version}")
    }
}

/// `name@1.0.0(peer@2)` → `name@1.0.0`.
fn package_key_of(snapshot_key: &str) -> String {
    snapshot_key.split('(').next().unwrap_or(snapshot_key).to_string()
}
