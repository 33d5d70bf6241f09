//! `package-lock.json`, `npm-shrinkwrap.json` and the hidden lockfile
//! `node_modules/.package-lock.json` (same format, no root entry).
//!
//! - lockfileVersion 1 (npm 5–6): a tree of nested `dependencies`, each with
//!   `version`, `dev`, `optional`, `bundled`; an aliased package has
//!   `"version": "npm:real-name@1.2.3"` and is reported as `real-name`; git,
//!   tarball and `file:` dependencies carry their URL in `version`.
//! - lockfileVersion 2 and 3 (npm 7+): a flat `packages` map keyed by install
//!   path (`node_modules/a/node_modules/b`). The name is the part after the
//!   last `node_modules/`, unless the entry has a `name` (an alias: the real
//!   package). Keys outside `node_modules` are workspace members
//!   ([`Source::Workspace`]), or [`Source::Path`] directories when outside
//!   the project (`../lib`); `"link": true` entries only point at them and
//!   are skipped. v2 also carries the v1 tree for old npm, which is ignored.
//! - Git, tarball (a dependency spec that is an `http(s)` URL; a
//!   registry's `resolved` URL has no fixed shape, so it alone decides
//!   nothing), `file:` and `link:` dependencies are reported as
//!   [`jsorigin`](super::jsorigin) says: their source and spec, never a
//!   registry version.
//!
//! `dev` and `devOptional` give [`Scope::Development`], `optional` gives
//! [`Scope::Optional`], anything else [`Scope::Runtime`].
//!
//! v2/v3 also give the dependency graph: each entry's dependencies (of every
//! kind) resolve as Node does, in the entry's own `node_modules`, then in
//! each enclosing one up to the project's; a `link` entry stands for the
//! workspace it points at. The roots are the project (key `""`) and its
//! workspaces.

use crate::graph::GraphBuilder;
use crate::parsers::collect::{Collector, error};
use crate::parsers::{ParseInput, Parsed};
use crate::parsers::{jsorigin, textutil};
use crate::{ParseError, Scope, Source};
use serde_json::{Map, Value};
use std::collections::HashSet;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "package-lock.json";

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let root: Value = textutil::json(FORMAT, input.contents)?;
    let Some(root) = root.as_object() else {
        return Err(error(FORMAT, "top level is not an object"));
    };
    let mut out = Collector::new(Ecosystem::Npm, input.rel_path);
    let mut graph = None;
    if let Some(packages) = root.get("packages").and_then(Value::as_object) {
        parse_packages(packages, &mut out);
        graph = dependency_graph(packages);
    } else if let Some(deps) = root.get("dependencies").and_then(Value::as_object) {
        parse_v1(deps, &mut out);
    } else if !root.contains_key("lockfileVersion") && !root.contains_key("name") {
        return Err(error(FORMAT, "neither packages nor dependencies found"));
    }
    let mut parsed = out.finish();
    parsed.graph = graph;
    Ok(parsed)
}

/// The kinds of dependency an entry lists.
const DEPENDENCY_MAPS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

/// The name and version an entry of a v2/v3 `packages` map stands for.
fn entry_name<'a>(key: &'a str, entry: &'a Map<String, Value>) -> (&'a str, &'a str) {
    let path_name = match key.rfind("node_modules/") {
        Some(i) => key.get(i + "node_modules/".len()..).unwrap_or(""),
        None => key.rsplit('/').next().unwrap_or(key),
    };
    let name = entry.get("name").and_then(Value::as_str).unwrap_or(path_name);
    let version = entry.get("version").and_then(Value::as_str).unwrap_or("");
    (name, version)
}

/// The install path a dependency `name` of the entry at `key` resolves to:
/// `key/node_modules/name`, else the same in each enclosing `node_modules`,
/// up to the project's; a link stands for what it points at.
fn resolve<'a>(packages: &'a Map<String, Value>, key: &str, name: &str) -> Option<&'a str> {
    let mut base = key.to_string();
    loop {
        let candidate = if base.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{base}/node_modules/{name}")
        };
        if let Some((found, entry)) = packages.get_key_value(&candidate) {
            if flag(entry.as_object()?, "link") {
                let target = entry.get("resolved").and_then(Value::as_str)?;
                return packages.get_key_value(target).map(|(k, _)| k.as_str());
            }
            return Some(found.as_str());
        }
        if base.is_empty() {
            return None;
        }
        base = match base.rfind("node_modules/") {
            Some(i) => base[..i].trim_end_matches('/').to_string(),
            None => String::new(),
        };
    }
}

/// The dependency graph of a v2/v3 `packages` map.
fn dependency_graph(packages: &Map<String, Value>) -> Option<crate::DependencyGraph> {
    let mut graph = GraphBuilder::default();
    let node = |graph: &mut GraphBuilder, key: &str, entry: &Map<String, Value>| {
        let (name, version) = entry_name(key, entry);
        let name = if key.is_empty() && name.is_empty() {
            "(project)"
        } else {
            name
        };
        graph.node(name, version)
    };
    for (key, entry) in packages {
        let Some(entry) = entry.as_object() else { continue };
        if flag(entry, "link") {
            continue;
        }
        let from = node(&mut graph, key, entry);
        let in_node_modules = key.starts_with("node_modules/") || key.contains("/node_modules/");
        if !in_node_modules {
            graph.root(from);
        }
        for map in DEPENDENCY_MAPS
            .iter()
            .filter_map(|m| entry.get(*m).and_then(Value::as_object))
        {
            for name in map.keys() {
                let Some(target) = resolve(packages, key, name) else {
                    continue;
                };
                let Some(target_entry) = packages.get(target).and_then(Value::as_object) else {
                    continue;
                };
                let to = node(&mut graph, target, target_entry);
                graph.edge(from, to);
            }
        }
    }
    graph.finish()
}

fn flag(entry: &Map<String, Value>, key: &str) -> bool {
    entry.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn scope_of(entry: &Map<String, Value>) -> Scope {
    if flag(entry, "dev") || flag(entry, "devOptional") {
        Scope::Development
    } else if flag(entry, "optional") {
        Scope::Optional
    } else {
        Scope::Runtime
    }
}

/// Returns the source a git or path spec (a v2/v3 `resolved`, a v1
/// `version`) points to, or `None` for anything else.
fn non_registry_source(spec: &str) -> Option<Source> {
    const GIT: [&str; 6] = ["git+", "git:", "github:", "gitlab:", "bitbucket:", "gist:"];
    if GIT.iter().any(|p| spec.starts_with(p)) {
        Some(Source::Git)
    } else if spec.starts_with("file:") || spec.starts_with("link:") {
        Some(Source::Path)
    } else {
        None
    }
}

fn is_url(spec: &str) -> bool {
    spec.starts_with("http://") || spec.starts_with("https://")
}

/// Returns the install names that some entry of a v2/v3 lockfile depends on
/// by a tarball URL. A registry's `resolved` is a URL too, in no fixed
/// shape (npm's own `/-/` path, GitHub Packages' `/download/`, mirrors), so
/// only the dependency spec tells a tarball dependency apart.
fn tarball_names(packages: &Map<String, Value>) -> HashSet<&str> {
    let mut names = HashSet::new();
    for entry in packages.values().filter_map(Value::as_object) {
        for map in DEPENDENCY_MAPS
            .iter()
            .filter_map(|m| entry.get(*m).and_then(Value::as_object))
        {
            for (name, spec) in map {
                if spec.as_str().is_some_and(is_url) {
                    names.insert(name.as_str());
                }
            }
        }
    }
    names
}

fn parse_packages(packages: &Map<String, Value>, out: &mut Collector<'_>) {
    let tarballs = tarball_names(packages);
    for (key, entry) in packages {
        let Some(entry) = entry.as_object() else { continue };
        if key.is_empty() || flag(entry, "link") {
            continue;
        }
        let in_node_modules = key.starts_with("node_modules/") || key.contains("/node_modules/");
        let path_name = match key.rfind("node_modules/") {
            Some(i) => key.get(i + "node_modules/".len()..).unwrap_or(""),
            None => key.rsplit('/').next().unwrap_or(key),
        };
        let (name, version) = entry_name(key, entry);
        if name.is_empty() {
            continue;
        }
        let scope = scope_of(entry);
        if !in_node_modules {
            // A directory outside the project (`file:../lib`) is a path
            // dependency; one inside it is a workspace member.
            if key.starts_with("../") || key.starts_with('/') {
                jsorigin::add(out, name, key, scope, Source::Path);
            } else {
                out.add(name, version, scope, Source::Workspace);
            }
            continue;
        }
        let resolved = entry.get("resolved").and_then(Value::as_str).unwrap_or("");
        let origin = [resolved, version]
            .into_iter()
            .find_map(|spec| non_registry_source(spec).map(|source| (spec, source)))
            .or_else(|| (is_url(resolved) && tarballs.contains(path_name)).then_some((resolved, Source::Path)));
        match origin {
            Some((spec, source)) => jsorigin::add(out, name, spec, scope, source),
            None if version.is_empty() => {}
            None => out.add(name, version, scope, Source::Registry),
        }
    }
}

fn parse_v1(deps: &Map<String, Value>, out: &mut Collector<'_>) {
    for (key, entry) in deps {
        let Some(entry) = entry.as_object() else { continue };
        let version = entry.get("version").and_then(Value::as_str).unwrap_or("");
        let scope = scope_of(entry);
        if let Some(alias) = version.strip_prefix("npm:") {
            if let Some((real, v)) = textutil::split_at_name(alias) {
                out.add(real, v, scope, Source::Registry);
            }
        } else if let Some(source) = non_registry_source(version) {
            jsorigin::add(out, key, version, scope, source);
        } else if is_url(version) {
            // v1 writes a tarball dependency's URL as its version.
            jsorigin::add(out, key, version, scope, Source::Path);
        } else if !version.is_empty() {
            out.add(key, version, scope, Source::Registry);
        }
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            parse_v1(nested, out);
        }
    }
}
