//! `yarn.lock`, both formats.
//!
//! - Classic (yarn 1, `# yarn lockfile v1`): its own indentation format.
//!   Each entry starts with an unindented line of comma-separated, possibly
//!   quoted specifiers (`"@babel/core@^7.0.0", "@babel/core@^7.1.0":`) and
//!   has indented `version "…"` and `resolved "…"` fields. An alias
//!   `name@npm:other@^1` is reported as `other`.
//! - Berry (yarn 2+): YAML with `__metadata`; each entry's `resolution`
//!   (`name@npm:1.2.3`) is authoritative. `patch:` locators are unwrapped to
//!   the npm package they patch; `workspace:` entries are
//!   [`Source::Workspace`] (the root `workspace:.` is skipped) without a
//!   version (Yarn writes `0.0.0-use.local`, which is none); git locators are
//!   [`Source::Git`]; `file:`, `link:`, `portal:`, `exec:` and tarball URLs
//!   are [`Source::Path`].
//!
//! Git, path and tarball packages of both formats are reported as
//! [`jsorigin`](super::jsorigin) says: the git commit or no version, and the
//! resolved spec.
//!
//! yarn.lock does not record whether a package is a dev dependency.
//!
//! The graph: each entry answers to its specifiers (`name@range`) and
//! depends on the entries its `dependencies` and `optionalDependencies`
//! specify (Berry writes a range without protocol for `npm:`). Berry's
//! workspace entries are the roots; a classic lockfile has none, so its root
//! is the `package.json` beside it, with its `dependencies`,
//! `devDependencies` and `optionalDependencies` (the dependencies of classic
//! workspaces' own manifests are not read).

use crate::graph::GraphBuilder;
use crate::parsers::collect::{Collector, error};
use crate::parsers::jsorigin;
use crate::parsers::textutil::{self, Scalar};
use crate::parsers::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "yarn.lock";

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut out = Collector::new(Ecosystem::Npm, input.rel_path);
    let mut graph = Graph::default();
    let is_berry = input
        .contents
        .lines()
        .any(|l| l.starts_with("__metadata:") || l.starts_with("\"__metadata\":"));
    if is_berry {
        parse_berry(input.contents, &mut out, &mut graph)?;
    } else {
        parse_classic(input.contents, &mut out, &mut graph)?;
        if let Some(manifest) = input.manifest {
            graph.manifest(manifest);
        }
    }
    let mut parsed = out.finish();
    parsed.graph = graph.finish();
    Ok(parsed)
}

/// The dependency graph of either format, resolved once every entry is known.
#[derive(Default)]
struct Graph {
    builder: GraphBuilder,
    /// The node each specifier (`name@range`) resolves to.
    specifiers: HashMap<String, usize>,
    /// Each node's dependencies, as (name, range).
    dependencies: Vec<(usize, Vec<(String, String)>)>,
}

impl Graph {
    /// Adds an entry answering to `specifiers`, reported as `name` `version`.
    fn entry<'s>(
        &mut self,
        specifiers: impl IntoIterator<Item = &'s str>,
        (name, version): (&str, &str),
        dependencies: Vec<(String, String)>,
    ) -> usize {
        let node = self.builder.node(name, version);
        for specifier in specifiers {
            self.specifiers.insert(specifier.to_string(), node);
        }
        self.dependencies.push((node, dependencies));
        node
    }

    /// Makes the classic lockfile's `package.json` the root.
    fn manifest(&mut self, manifest: &str) {
        let Ok(serde_json::Value::Object(manifest)) = serde_json::from_str(manifest) else {
            return;
        };
        let name = manifest.get("name").and_then(|n| n.as_str()).unwrap_or("(project)");
        let dependencies = ["dependencies", "devDependencies", "optionalDependencies"]
            .iter()
            .filter_map(|key| manifest.get(*key).and_then(|m| m.as_object()))
            .flatten()
            .filter_map(|(name, range)| Some((name.clone(), range.as_str()?.to_string())))
            .collect();
        let node = self.entry([], (name, ""), dependencies);
        self.builder.root(node);
    }

    fn finish(mut self) -> Option<crate::DependencyGraph> {
        for (from, dependencies) in std::mem::take(&mut self.dependencies) {
            for (name, range) in dependencies {
                let to = self
                    .specifiers
                    .get(&format!("{name}@{range}"))
                    .or_else(|| self.specifiers.get(&format!("{name}@npm:{range}")));
                if let Some(&to) = to {
                    self.builder.edge(from, to);
                }
            }
        }
        self.builder.finish()
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

fn is_git(spec: &str) -> bool {
    const GIT: [&str; 6] = ["git+", "git:", "github:", "gitlab:", "bitbucket:", "ssh://"];
    GIT.iter().any(|p| spec.starts_with(p))
        || spec.contains(".git#")
        || spec.ends_with(".git")
        || spec.contains("#commit=")
        || spec.starts_with("https://codeload.github.com/")
        || (spec.starts_with("https://github.com/") && !spec.ends_with(".tgz"))
}

fn is_path(spec: &str) -> bool {
    ["file:", "link:", "portal:", "exec:", "./", "../", "/"]
        .iter()
        .any(|p| spec.starts_with(p))
}

struct ClassicEntry {
    specifiers: Vec<String>,
    version: Option<String>,
    resolved: Option<String>,
    dependencies: Vec<(String, String)>,
    line: usize,
}

fn parse_classic(contents: &str, out: &mut Collector<'_>, graph: &mut Graph) -> Result<(), ParseError> {
    let mut current: Option<ClassicEntry> = None;
    // Whether four-space lines are dependencies of the current entry.
    let mut in_dependencies = false;
    for (n, raw) in contents.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim_end();
        if line.trim_start().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            if let Some(entry) = current.take() {
                add_classic(entry, out, graph)?;
            }
            let Some(header) = line.strip_suffix(':') else {
                return Err(error(
                    FORMAT,
                    format!("line {line_no}: expected an entry like `name@range:`"),
                ));
            };
            current = Some(ClassicEntry {
                specifiers: split_specifiers(header),
                version: None,
                resolved: None,
                dependencies: Vec::new(),
                line: line_no,
            });
        } else if indent == 2 {
            let Some(entry) = current.as_mut() else {
                return Err(error(FORMAT, format!("line {line_no}: field outside an entry")));
            };
            let body = line.trim_start();
            let (key, value) = match body.find([' ', ':']) {
                Some(i) => (body.get(..i).unwrap_or(""), body.get(i + 1..).unwrap_or("")),
                None => (body, ""),
            };
            in_dependencies = false;
            match unquote(key) {
                "version" => entry.version = Some(unquote(value).to_string()),
                "resolved" => entry.resolved = Some(unquote(value).to_string()),
                "dependencies" | "optionalDependencies" => in_dependencies = value.trim().is_empty(),
                _ => {}
            }
        } else if indent == 4
            && in_dependencies
            && let Some(entry) = current.as_mut()
            && let Some(dependency) = classic_dependency(line.trim_start())
        {
            entry.dependencies.push(dependency);
        }
    }
    if let Some(entry) = current.take() {
        add_classic(entry, out, graph)?;
    }
    Ok(())
}

/// A classic dependency line: `name "range"`, `"@scope/name" "range"`.
fn classic_dependency(body: &str) -> Option<(String, String)> {
    let (name, range) = match body.strip_prefix('"') {
        Some(quoted) => {
            let (name, rest) = quoted.split_once('"')?;
            (name, rest)
        }
        None => body.split_once(' ')?,
    };
    Some((name.to_string(), unquote(range).to_string()))
}

/// Splits `a@1, "b@2"` into unquoted specifiers; commas inside quotes stay.
fn split_specifiers(header: &str) -> Vec<String> {
    let mut specs = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => specs.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    specs.push(cur);
    specs
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn add_classic(entry: ClassicEntry, out: &mut Collector<'_>, graph: &mut Graph) -> Result<(), ParseError> {
    let first = entry.specifiers.first().map(String::as_str).unwrap_or_default();
    let Some((mut name, range)) = textutil::split_at_name(first) else {
        return Err(error(
            FORMAT,
            format!("line {}: no version range in {first:?}", entry.line),
        ));
    };
    let Some(version) = entry.version else {
        return Err(error(
            FORMAT,
            format!("line {}: entry {name} has no version", entry.line),
        ));
    };
    let mut range = range;
    if let Some(alias) = range.strip_prefix("npm:") {
        match textutil::split_at_name(alias) {
            Some((real, r)) => {
                name = real;
                range = r;
            }
            // `name@npm:^1.0.0` is just an explicit registry range.
            None => range = alias,
        }
    }
    let resolved = entry.resolved.as_deref().unwrap_or("");
    let source =
        if is_git(range) || resolved.starts_with("git+") || resolved.starts_with("https://codeload.github.com/") {
            Source::Git
        } else if is_path(range) || resolved.starts_with("file:") || is_url(range) {
            Source::Path
        } else {
            Source::Registry
        };
    let reported = match source {
        Source::Registry | Source::Workspace => {
            out.add(name, &version, Scope::Unspecified, source);
            version.as_str()
        }
        Source::Git | Source::Path => {
            let spec = if resolved.is_empty() { range } else { resolved };
            jsorigin::add(out, name, spec, Scope::Unspecified, source);
            jsorigin::version(spec, source)
        }
    };
    let specifiers = entry.specifiers.iter().map(String::as_str);
    graph.entry(specifiers, (name, reported), entry.dependencies);
    Ok(())
}

#[derive(Deserialize)]
struct BerryEntry {
    version: Option<Scalar>,
    resolution: Option<String>,
    dependencies: Option<BTreeMap<String, Scalar>>,
    #[serde(rename = "optionalDependencies")]
    optional_dependencies: Option<BTreeMap<String, Scalar>>,
}

fn parse_berry(contents: &str, out: &mut Collector<'_>, graph: &mut Graph) -> Result<(), ParseError> {
    let entries: BTreeMap<String, BerryEntry> = textutil::yaml(FORMAT, contents)?;
    for (key, entry) in &entries {
        if key == "__metadata" {
            continue;
        }
        let version = entry.version.as_ref().map(|v| v.0.as_str()).unwrap_or("");
        let Some(resolution) = entry.resolution.as_deref() else {
            return Err(error(FORMAT, format!("entry {key:?} has no resolution")));
        };
        let reported = match berry_locator(resolution, version, 0) {
            Some((name, version, Source::Registry)) => {
                out.add(&name, &version, Scope::Unspecified, Source::Registry);
                Some((name, version))
            }
            // `0.0.0-use.local` is what Yarn writes for a local package: no version.
            Some((name, _, source)) => {
                let reference = reference_of(resolution);
                jsorigin::add(out, &name, reference, Scope::Unspecified, source);
                Some((name, jsorigin::version(reference, source).to_string()))
            }
            // The project's own workspace, a root of the graph only.
            None if resolution_is_workspace(resolution) => {
                textutil::split_at_name(resolution).map(|(name, _)| (name.to_string(), String::new()))
            }
            None => None,
        };
        let Some((name, version)) = reported else { continue };
        let dependencies = [&entry.dependencies, &entry.optional_dependencies]
            .into_iter()
            .flatten()
            .flatten()
            .map(|(name, range)| (name.clone(), range.0.clone()))
            .collect();
        // Each descriptor as written, and without Yarn's `::` parameters
        // (and a path's `#` part), as a dependency names it.
        let specifiers: Vec<String> = split_specifiers(key)
            .into_iter()
            .flat_map(|specifier| {
                let bare =
                    textutil::split_at_name(&specifier).map(|(name, _)| format!("{name}@{}", reference_of(&specifier)));
                std::iter::once(specifier).chain(bare)
            })
            .collect();
        let node = graph.entry(specifiers.iter().map(String::as_str), (&name, &version), dependencies);
        if resolution_is_workspace(resolution) {
            graph.builder.root(node);
        }
    }
    Ok(())
}

/// Whether a Berry resolution is one of the project's workspaces.
fn resolution_is_workspace(resolution: &str) -> bool {
    textutil::split_at_name(resolution).is_some_and(|(_, reference)| reference.starts_with("workspace:"))
}

/// Returns the reference part of a berry locator (`workspace:packages/a`,
/// `https://github.com/a/b.git#commit=…`, `file:./vendor/a`), without
/// Yarn's `::hash=…&locator=…` parameters or, for a path, the `#` part
/// that repeats it relative to the parent.
fn reference_of(locator: &str) -> &str {
    let reference = textutil::split_at_name(locator).map_or(locator, |(_, reference)| reference);
    let reference = reference.split("::").next().unwrap_or(reference);
    if is_path(reference) {
        reference.split('#').next().unwrap_or(reference)
    } else {
        reference
    }
}

/// An `http(s)` URL: a tarball, unless [`is_git`] says otherwise.
fn is_url(spec: &str) -> bool {
    spec.starts_with("http://") || spec.starts_with("https://")
}

/// Resolves a berry locator (`name@protocol:reference`) to name, version and
/// source; `None` for the root workspace or an unreadable locator.
fn berry_locator(locator: &str, version: &str, depth: u8) -> Option<(String, String, Source)> {
    let (name, reference) = textutil::split_at_name(locator)?;
    if let Some(v) = reference.strip_prefix("npm:") {
        // `npm:1.2.3`, or an alias that kept the target (`npm:other@1.2.3`).
        return match textutil::split_at_name(v) {
            Some((real, v)) if !real.is_empty() => Some((real.to_string(), v.to_string(), Source::Registry)),
            _ => Some((name.to_string(), v.to_string(), Source::Registry)),
        };
    }
    if let Some(patched) = reference.strip_prefix("patch:") {
        let inner = patched.split('#').next().unwrap_or(patched);
        let inner = textutil::percent_decode(inner);
        if depth < 4 {
            return berry_locator(&inner, version, depth + 1);
        }
        return None;
    }
    if let Some(path) = reference.strip_prefix("workspace:") {
        if path == "." {
            return None;
        }
        return Some((name.to_string(), version.to_string(), Source::Workspace));
    }
    let source = if is_git(reference) {
        Source::Git
    } else if is_path(reference) || is_url(reference) {
        Source::Path
    } else {
        Source::Registry
    };
    Some((name.to_string(), version.to_string(), source))
}
