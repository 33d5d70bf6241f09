//! `composer.lock`: `packages` are Runtime, `packages-dev` Development.
//!
//! Versions: Composer writes the tag as published, often `v5.4.21`, while
//! Packagist advisories (FriendsOfPHP, GitHub, OSV) list versions without the
//! `v`, and Composer's own normalisation drops it too. So a leading `v` is
//! stripped when a digit follows it (`v5.4.21` → `5.4.21`); branch versions
//! (`dev-main`, `2.x-dev`) are kept as written.
//!
//! Sources: a package whose `dist` or `source` type is `path` is
//! [`Source::Path`]; one installed from a VCS checkout with no `dist` archive
//! at all is [`Source::Git`]; everything else is [`Source::Registry`].
//!
//! The graph: each package depends on the names of its `require` (a name
//! no package has resolves to the packages that `provide` or `replace` it;
//! platform requirements such as `php` and `ext-json` resolve to nothing).
//! The root is the `composer.json` beside the lockfile, with its `require`
//! and `require-dev`. Names compare lowercased, as Composer does.

use super::collect::{Collector, error, json_object, text};
use super::{ParseInput, Parsed};
use crate::graph::ByName;
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "composer.lock";

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    packages: Option<Vec<Entry>>,
    #[serde(default, rename = "packages-dev")]
    packages_dev: Option<Vec<Entry>>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    source: Option<Origin>,
    #[serde(default)]
    dist: Option<Origin>,
    #[serde(default)]
    require: Names,
    #[serde(default)]
    provide: Names,
    #[serde(default)]
    replace: Names,
}

/// The keys of a `{name: constraint}` object; Composer writes an empty one
/// as `[]`, and anything else is no name.
#[derive(Debug, Default)]
struct Names(Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(Names(
            value
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
        ))
    }
}

#[derive(Debug, Default, Deserialize)]
struct Manifest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    require: Names,
    #[serde(default, rename = "require-dev")]
    require_dev: Names,
}

#[derive(Debug, Deserialize)]
struct Origin {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// Parses a `composer.lock` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let lock: Lock = json_object(FORMAT, text(input))?;
    let mut out = Collector::new(Ecosystem::Packagist, input.rel_path);
    let mut graph = ByName::default();
    if let Some(manifest) = input.manifest.and_then(|m| serde_json::from_str::<Manifest>(m).ok()) {
        let root = graph.project(manifest.name.as_deref().unwrap_or("(project)"));
        for name in manifest.require.0.iter().chain(&manifest.require_dev.0) {
            graph.depends(root, name.to_ascii_lowercase());
        }
    }
    let groups = [(lock.packages, Scope::Runtime), (lock.packages_dev, Scope::Development)];
    for (entries, scope) in groups {
        for entry in entries.unwrap_or_default() {
            if entry.name.trim().is_empty() {
                return Err(error(FORMAT, "package with an empty name"));
            }
            let kind = |o: &Option<Origin>| o.as_ref().and_then(|o| o.kind.clone()).unwrap_or_default();
            let (dist, source) = (kind(&entry.dist), kind(&entry.source));
            let origin = if dist == "path" || source == "path" {
                Source::Path
            } else if entry.dist.is_none() && matches!(source.as_str(), "git" | "hg" | "svn" | "fossil") {
                Source::Git
            } else {
                Source::Registry
            };
            let version = strip_v(entry.version.as_deref().unwrap_or_default());
            out.add(&entry.name, version, scope, origin);
            let node = graph.package(entry.name.to_ascii_lowercase(), &entry.name, version);
            for name in &entry.require.0 {
                graph.depends(node, name.to_ascii_lowercase());
            }
            for name in entry.provide.0.iter().chain(&entry.replace.0) {
                graph.provides(node, name.to_ascii_lowercase());
            }
        }
    }
    let mut parsed = out.finish();
    parsed.graph = graph.finish();
    Ok(parsed)
}

/// Drops a leading `v` or `V` followed by a digit.
fn strip_v(version: &str) -> &str {
    let version = version.trim();
    match version.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_v_only_before_a_digit() {
        assert_eq!(strip_v("v5.4.21"), "5.4.21");
        assert_eq!(strip_v("1.0.0"), "1.0.0");
        assert_eq!(strip_v("dev-main"), "dev-main");
        assert_eq!(strip_v("vendor-branch"), "vendor-branch");
        assert_eq!(strip_v("v"), "v");
    }
}
