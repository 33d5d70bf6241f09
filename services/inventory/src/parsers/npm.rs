//! `package-lock.json` and `npm-shrinkwrap.json`.
//!
//! - lockfileVersion 1 (npm 5–6): a tree of nested `dependencies`, each with
//!   `version`, `dev`, `optional`, `bundled`; an aliased package has
//!   `"version": "npm:real-name@1.2.3"`; git and `file:` dependencies carry
//!   their URL in `version` (a git one is reported with the commit after `#`
//!   as its version).
//! - lockfileVersion 2 and 3 (npm 7+): a flat `packages` map keyed by install
//!   path (`node_modules/a/node_modules/b`). The name is the part after the
//!   last `node_modules/`, unless the entry has a `name` (an alias). Keys
//!   outside `node_modules` are workspace members ([`Source::Workspace`]);
//!   `"link": true` entries only point at them and are skipped. v2 also
//!   carries the v1 tree for old npm, which is ignored.
//!
//! `dev` and `devOptional` give [`Scope::Development`], `optional` gives
//! [`Scope::Optional`], anything else [`Scope::Runtime`].

use crate::parsers::collect::{Collector, error};
use crate::parsers::textutil;
use crate::parsers::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde_json::{Map, Value};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "package-lock.json";

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let root: Value = textutil::json(FORMAT, input.contents)?;
    let Some(root) = root.as_object() else {
        return Err(error(FORMAT, "top level is not an object"));
    };
    let mut out = Collector::new(Ecosystem::Npm, input.rel_path);
    if let Some(packages) = root.get("packages").and_then(Value::as_object) {
        parse_packages(packages, &mut out);
    } else if let Some(deps) = root.get("dependencies").and_then(Value::as_object) {
        parse_v1(deps, &mut out);
    } else if !root.contains_key("lockfileVersion") && !root.contains_key("name") {
        return Err(error(FORMAT, "neither packages nor dependencies found"));
    }
    Ok(out.finish())
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

/// Returns the source a `resolved` URL (or v1 `version` spec) points to, or
/// `None` for a registry tarball.
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

fn parse_packages(packages: &Map<String, Value>, out: &mut Collector<'_>) {
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
        let name = entry.get("name").and_then(Value::as_str).unwrap_or(path_name);
        if name.is_empty() {
            continue;
        }
        let version = entry.get("version").and_then(Value::as_str).unwrap_or("");
        let source = if in_node_modules {
            let resolved = entry.get("resolved").and_then(Value::as_str).unwrap_or("");
            non_registry_source(resolved)
                .or_else(|| non_registry_source(version))
                .unwrap_or(Source::Registry)
        } else {
            Source::Workspace
        };
        if version.is_empty() && source == Source::Registry {
            continue;
        }
        out.add(name, version, scope_of(entry), source);
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
            match (source, version.rsplit_once('#')) {
                (Source::Git, Some((_, commit))) => out.add(key, commit, scope, Source::Git),
                _ => out.add_unresolved(key, version, scope, source),
            }
        } else if version.starts_with("http://") || version.starts_with("https://") {
            out.add_unresolved(key, version, scope, Source::Path);
        } else if !version.is_empty() {
            out.add(key, version, scope, Source::Registry);
        }
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            parse_v1(nested, out);
        }
    }
}
