//! `Pipfile.lock` (pipenv): JSON with `default` (runtime) and `develop`
//! (development) sections; `"version": "==1.2.3"`.
//!
//! `git` entries are [`Source::Git`] and `path`/`file` entries
//! [`Source::Path`], with no version and the URL or path (plus `ref`) as
//! `requirement`. A package in both sections is reported once, as runtime.

use crate::parsers::collect::{Collector, error};
use crate::parsers::textutil;
use crate::parsers::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde_json::{Map, Value};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "Pipfile.lock";

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let root: Value = textutil::json(FORMAT, input.contents)?;
    let Some(root) = root.as_object() else {
        return Err(error(FORMAT, "top level is not an object"));
    };
    if !root.contains_key("_meta") && !root.contains_key("default") && !root.contains_key("develop") {
        return Err(error(FORMAT, "no _meta, default or develop section"));
    }
    let mut out = Collector::new(Ecosystem::PyPI, input.rel_path);
    for (section, scope) in [("default", Scope::Runtime), ("develop", Scope::Development)] {
        if let Some(entries) = root.get(section).and_then(Value::as_object) {
            add_section(entries, scope, &mut out);
        }
    }
    Ok(out.finish())
}

fn add_section(entries: &Map<String, Value>, scope: Scope, out: &mut Collector<'_>) {
    let text = |e: &Map<String, Value>, k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    for (name, entry) in entries {
        let Some(entry) = entry.as_object() else { continue };
        if let Some(git) = text(entry, "git") {
            let requirement = match text(entry, "ref") {
                Some(r) => format!("{git}@{r}"),
                None => git,
            };
            out.add_unresolved(name, &requirement, scope, Source::Git);
        } else if let Some(path) = text(entry, "path").or_else(|| text(entry, "file")) {
            out.add_unresolved(name, &path, scope, Source::Path);
        } else if let Some(version) = text(entry, "version") {
            let exact = version
                .strip_prefix("===")
                .or_else(|| version.strip_prefix("=="))
                .map(str::trim);
            match exact {
                Some(v) if !v.is_empty() && !v.contains('*') => out.add(name, v, scope, Source::Registry),
                _ => out.add_unresolved(name, &version, scope, Source::Registry),
            }
        } else {
            out.add_unresolved(name, "*", scope, Source::Registry);
        }
    }
}
