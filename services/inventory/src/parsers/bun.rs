//! `bun.lock`, bun's text lockfile (JSON with trailing commas).
//!
//! `packages` maps an install key to an array whose first element is the
//! resolved `name@version`: `"lodash": ["lodash@4.17.21", "", {…}, "sha512-…"]`.
//! Nested keys (`parent/child`) and aliases are resolved through that first
//! element. `name@workspace:path` is [`Source::Workspace`] (its version comes
//! from the `workspaces` table), `github:`/`git+` specs are [`Source::Git`],
//! `file:`/`link:`/tarball URLs are [`Source::Path`], both reported as
//! [`jsorigin`](super::jsorigin) says (the commit or no version, and the
//! spec). The binary `bun.lockb` is not read. Scope is not
//! derived (unspecified).

use crate::parsers::collect::{Collector, error};
use crate::parsers::{ParseInput, Parsed};
use crate::parsers::{jsorigin, textutil};
use crate::{ParseError, Scope, Source};
use serde_json::Value;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "bun.lock";

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let json = textutil::jsonc_to_json(input.contents);
    let root: Value = textutil::json(FORMAT, &json)?;
    let Some(root) = root.as_object() else {
        return Err(error(FORMAT, "top level is not an object"));
    };
    if !root.contains_key("lockfileVersion") {
        return Err(error(FORMAT, "no lockfileVersion"));
    }
    let workspaces = root.get("workspaces").and_then(Value::as_object);
    let mut out = Collector::new(Ecosystem::Npm, input.rel_path);
    let Some(packages) = root.get("packages").and_then(Value::as_object) else {
        return Ok(out.finish());
    };
    for (key, entry) in packages {
        let Some(id) = entry.as_array().and_then(|a| a.first()).and_then(Value::as_str) else {
            return Err(error(
                FORMAT,
                format!("package {key:?} is not an array starting with name@version"),
            ));
        };
        let Some((name, spec)) = textutil::split_at_name(id) else {
            return Err(error(FORMAT, format!("package {key:?} has no version in {id:?}")));
        };
        if let Some(path) = spec.strip_prefix("workspace:") {
            let version = workspaces
                .and_then(|w| w.get(path))
                .and_then(|w| w.get("version"))
                .and_then(Value::as_str)
                .unwrap_or("");
            out.add(name, version, Scope::Unspecified, Source::Workspace);
        } else if ["github:", "git+", "git:", "gitlab:", "bitbucket:"]
            .iter()
            .any(|p| spec.starts_with(p))
        {
            jsorigin::add(&mut out, name, spec, Scope::Unspecified, Source::Git);
        } else if spec.starts_with("file:") || spec.starts_with("link:") || spec.contains("://") {
            jsorigin::add(&mut out, name, spec, Scope::Unspecified, Source::Path);
        } else {
            out.add(
                name,
                spec.strip_prefix("npm:").unwrap_or(spec),
                Scope::Unspecified,
                Source::Registry,
            );
        }
    }
    Ok(out.finish())
}
