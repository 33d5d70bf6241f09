//! `conan.lock`: Conan 1 graph locks (`version` 0.1 to 0.4) and Conan 2
//! lockfiles (`version` 0.5).
//!
//! Conan 1: every node of `graph_lock.nodes` with a `ref`
//! (`zlib/1.2.11@user/channel#revision`, or a `pref` with `:package_id#prev`
//! in the oldest versions) is a package; the consumer node (`0`, with a
//! `path` to the scanned conanfile) is not, and other nodes with a `path`
//! are editable packages ([`Source::Path`]). Nodes reached only
//! through `build_requires` (or in the `build` context) are Development.
//!
//! Conan 2: `requires` are [`Scope::Unspecified`] (host packages, including
//! `test_requires`), `build_requires` and `python_requires` are
//! Development; entries look like `zlib/1.2.13#revision%timestamp`.
//!
//! Names and versions are taken as written; `@user/channel`, revisions and
//! timestamps are dropped.

use super::collect::{Collector, error, json_object, text};
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "conan.lock";

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    graph_lock: Option<GraphLock>,
    #[serde(default)]
    requires: Option<Vec<String>>,
    #[serde(default)]
    build_requires: Option<Vec<String>>,
    #[serde(default)]
    python_requires: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct GraphLock {
    #[serde(default)]
    nodes: BTreeMap<String, Node>,
}

#[derive(Debug, Deserialize)]
struct Node {
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    pref: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    build_requires: Vec<String>,
}

/// Parses a `conan.lock` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let lock: Lock = json_object(FORMAT, text(input))?;
    let mut out = Collector::new(Ecosystem::ConanCenter, input.rel_path);

    if let Some(graph) = &lock.graph_lock {
        // A node is build-only if some node build-requires it and no node requires it.
        let required: BTreeSet<&str> = graph
            .nodes
            .values()
            .flat_map(|n| n.requires.iter().map(String::as_str))
            .collect();
        let build_required: BTreeSet<&str> = graph
            .nodes
            .values()
            .flat_map(|n| n.build_requires.iter().map(String::as_str))
            .collect();
        for (id, node) in &graph.nodes {
            // The consumer (node 0, the scanned conanfile) has a `path`; other
            // nodes with a `path` are editable packages.
            if node.path.is_some() && (id == "0" || node.reference.as_deref().is_none_or(|r| !r.contains('/'))) {
                continue;
            }
            let source = if node.path.is_some() {
                Source::Path
            } else {
                Source::Registry
            };
            let Some(reference) = node.reference.as_deref().or(node.pref.as_deref()) else {
                continue;
            };
            let Some((name, version)) = split_reference(reference) else {
                return Err(error(FORMAT, format!("node {id}: malformed reference {reference:?}")));
            };
            let build_only = node.context.as_deref() == Some("build")
                || (build_required.contains(id.as_str()) && !required.contains(id.as_str()));
            out.add(
                name,
                version,
                if build_only {
                    Scope::Development
                } else {
                    Scope::Unspecified
                },
                source,
            );
        }
    }

    let lists = [
        (&lock.requires, Scope::Unspecified),
        (&lock.build_requires, Scope::Development),
        (&lock.python_requires, Scope::Development),
    ];
    for (list, scope) in lists {
        for reference in list.iter().flatten() {
            let (name, version) = split_reference(reference)
                .ok_or_else(|| error(FORMAT, format!("malformed reference {reference:?}")))?;
            out.add(name, version, scope, Source::Registry);
        }
    }
    Ok(out.finish())
}

/// Splits `name/version[@user[/channel]][#rev][%timestamp][:package_id...]`.
fn split_reference(reference: &str) -> Option<(&str, &str)> {
    let end = reference.find(['@', '#', '%', ':']).unwrap_or(reference.len());
    let (name, version) = reference.get(..end)?.split_once('/')?;
    let (name, version) = (name.trim(), version.trim());
    if name.is_empty() || version.is_empty() || version.contains('/') {
        return None;
    }
    Some((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(
            split_reference("zlib/1.2.13#97d5730b529b4224045fe7090592d4c1%1692672717.68"),
            Some(("zlib", "1.2.13"))
        );
        assert_eq!(
            split_reference("openssl/1.1.1k@conan/stable#rev"),
            Some(("openssl", "1.1.1k"))
        );
        assert_eq!(split_reference("zlib/1.2.11#r:pkgid#prev"), Some(("zlib", "1.2.11")));
        assert_eq!(split_reference("zlib"), None);
        assert_eq!(split_reference("zlib/"), None);
        assert_eq!(split_reference("a/b/c"), None);
    }
}
