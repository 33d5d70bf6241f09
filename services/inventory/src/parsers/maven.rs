//! `pom.xml`: the dependencies a Maven project declares, read with quick-xml.
//!
//! What is reported:
//! - every `<dependencies>/<dependency>` of the project, named
//!   `groupId:artifactId`; a dependency without `<version>` takes it (and its
//!   scope, when it has none) from this POM's `<dependencyManagement>`;
//! - every `<dependencyManagement>` entry no dependency of this POM uses, with
//!   [`Scope::Unspecified`] (or Development for `test`). In a multi-module
//!   build the root POM pins versions there for its modules, whose own
//!   dependencies carry no version, so the root is where the versions are.
//!   BOM imports (`<scope>import</scope>`) are not packages and are skipped.
//!
//! Versions: `${...}` references are resolved from `<properties>` and the
//! model (`project.version`, `project.groupId`, `project.artifactId`,
//! `project.parent.version`, `project.parent.groupId`, also spelled `pom.`),
//! recursively with a cycle and size guard. Parent POMs found in the scanned
//! tree (`<relativePath>`, default `../pom.xml`) are read up the chain: they
//! add the properties the child does not set and their
//! `<dependencyManagement>` (the nearest wins). A version range
//! (`[1.0,2.0)`; the one-version range `[1.5]` counts as `1.5`) is reported
//! with an empty version and the range in `requirement`. A dependency whose
//! version cannot be resolved (an undefined property such as `${env.X}`, a
//! cycle) or that has none here nor in any dependency management found is
//! an error for that dependency, listed with the file's errors; it is never
//! reported with an empty version. Parents outside the tree and imported
//! BOMs are not fetched, and `<profiles>` are not read (they depend on the
//! build's activation). Malformed XML is an error for the whole file.
//!
//! Scope: `test` is Development, `<optional>true</optional>` is Optional,
//! `compile` (the default), `provided`, `runtime` and `system` are Runtime
//! (provided code still runs, supplied by the container); `system` jars are
//! local files ([`Source::Path`]).

use super::collect::{Collector, error, text};
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use quick_xml::Reader;
use quick_xml::events::Event;
use std::collections::HashMap;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "pom.xml";
/// Deepest chain of properties referring to properties.
const MAX_DEPTH: usize = 32;
/// Longest interpolated value; past it the value counts as unresolved.
const MAX_LEN: usize = 4096;
/// Property look-ups per value, against `a=${b}${b}`, `b=${c}${c}`, ... blow-ups.
const MAX_STEPS: usize = 10_000;

#[derive(Debug, Default, Clone)]
struct Dep {
    group: String,
    artifact: String,
    version: Option<String>,
    scope: Option<String>,
    optional: Option<String>,
    kind: Option<String>,
    classifier: Option<String>,
}

#[derive(Debug, Default)]
struct Pom {
    group: Option<String>,
    artifact: Option<String>,
    version: Option<String>,
    parent_group: Option<String>,
    parent_artifact: Option<String>,
    parent_version: Option<String>,
    /// `<parent><relativePath>`: `None` when absent (Maven's default
    /// `../pom.xml`), `Some("")` when empty (the parent is only in a repository).
    parent_relative_path: Option<String>,
    properties: HashMap<String, String>,
    dependencies: Vec<Dep>,
    managed: Vec<Dep>,
}

/// Most parent POMs followed up a chain.
const MAX_PARENTS: usize = 16;

/// Parses a `pom.xml` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut pom = read(text(input))?;
    let mut out = Collector::new(Ecosystem::Maven, input.rel_path);
    let own_managed = pom.managed.len();
    for parent in parents(input, &pom, &mut out) {
        inherit(&mut pom, parent);
    }

    let managed: Vec<Dep> = pom
        .managed
        .iter()
        .map(|d| Dep {
            group: pom.text(&d.group),
            artifact: pom.text(&d.artifact),
            ..d.clone()
        })
        .collect();
    // Inherited entries count as used: their own POM reports them.
    let mut managed_used: Vec<bool> = (0..managed.len()).map(|i| i >= own_managed).collect();

    for dep in &pom.dependencies {
        let group = pom.text(&dep.group);
        let artifact = pom.text(&dep.artifact);
        if group.is_empty() || artifact.is_empty() {
            continue;
        }
        let kind = dep.kind.as_deref().map(|k| pom.text(k));
        let classifier = dep.classifier.as_deref().map(|c| pom.text(c));
        let managed_index = managed
            .iter()
            .position(|m| {
                m.group == group
                    && m.artifact == artifact
                    && m.kind.as_deref().map(|k| pom.text(k)) == kind
                    && m.classifier.as_deref().map(|c| pom.text(c)) == classifier
            })
            .or_else(|| managed.iter().position(|m| m.group == group && m.artifact == artifact));
        let managed_dep = managed_index.and_then(|i| managed.get(i));
        for (i, m) in managed.iter().enumerate() {
            if m.group == group
                && m.artifact == artifact
                && let Some(used) = managed_used.get_mut(i)
            {
                *used = true;
            }
        }
        let version = dep
            .version
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| managed_dep.and_then(|m| m.version.as_deref()));
        let scope = dep
            .scope
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| managed_dep.and_then(|m| m.scope.as_deref()));
        let scope = scope.map(|s| pom.text(s)).unwrap_or_default();
        let optional = dep.optional.as_deref().is_some_and(|o| pom.text(o) == "true");
        let (scope, source) = match scope.as_str() {
            "test" => (Scope::Development, Source::Registry),
            _ if optional => (
                Scope::Optional,
                if scope == "system" {
                    Source::Path
                } else {
                    Source::Registry
                },
            ),
            "system" => (Scope::Runtime, Source::Path),
            "import" => continue,
            _ => (Scope::Runtime, Source::Registry),
        };
        pom.emit(&mut out, &format!("{group}:{artifact}"), version, scope, source);
    }

    for (m, used) in managed.iter().zip(&managed_used) {
        if *used || m.group.is_empty() || m.artifact.is_empty() {
            continue;
        }
        let scope = m.scope.as_deref().map(|s| pom.text(s)).unwrap_or_default();
        let (scope, source) = match scope.as_str() {
            "import" => continue,
            "test" => (Scope::Development, Source::Registry),
            "system" => (Scope::Unspecified, Source::Path),
            _ => (Scope::Unspecified, Source::Registry),
        };
        pom.emit(
            &mut out,
            &format!("{}:{}", m.group, m.artifact),
            m.version.as_deref(),
            scope,
            source,
        );
    }
    Ok(out.finish())
}

impl Pom {
    /// Adds one package, resolving its version or recording why it cannot be.
    ///
    /// A dependency whose version is missing or cannot be resolved is an
    /// error for that dependency, never a package with an empty version.
    fn emit(&self, out: &mut Collector<'_>, name: &str, version: Option<&str>, scope: Scope, source: Source) {
        let Some(raw) = version.map(str::trim).filter(|v| !v.is_empty()) else {
            out.entry_error(error(
                FORMAT,
                format!(
                    "dependency {name}: no version here nor in the dependencyManagement of this POM or of a parent POM in the scanned tree"
                ),
            ));
            return;
        };
        match self.resolve_why(raw) {
            Ok(v) if v.is_empty() => out.entry_error(error(
                FORMAT,
                format!("dependency {name}: version {raw:?} resolves to nothing"),
            )),
            Ok(v) if is_range(&v) => match single_version(&v) {
                Some(exact) => out.add(name, exact, scope, source),
                None => out.add_unresolved(name, &v, scope, source),
            },
            Ok(v) => out.add(name, &v, scope, source),
            Err(why) => out.entry_error(error(
                FORMAT,
                format!("dependency {name}: cannot resolve version {raw:?}: {why}"),
            )),
        }
    }

    /// Resolves `${...}` in a name or scope, keeping the text as written when it cannot.
    fn text(&self, raw: &str) -> String {
        let raw = raw.trim();
        self.resolve(raw).unwrap_or_else(|| raw.to_string())
    }

    /// Returns `raw` with every `${...}` replaced, or `None` if one cannot be.
    fn resolve(&self, raw: &str) -> Option<String> {
        self.resolve_why(raw).ok()
    }

    /// Returns `raw` with every `${...}` replaced, or why one cannot be.
    fn resolve_why(&self, raw: &str) -> Result<String, String> {
        let mut steps = 0;
        let mut stack = Vec::new();
        self.interpolate(raw, &mut stack, &mut steps)
            .map(|s| s.trim().to_string())
    }

    fn interpolate(&self, raw: &str, stack: &mut Vec<String>, steps: &mut usize) -> Result<String, String> {
        let too_long = || format!("the value grows past {MAX_LEN} bytes");
        let mut out = String::new();
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            out.push_str(rest.get(..start).unwrap_or_default());
            let after = rest.get(start + 2..).unwrap_or_default();
            let end = after.find('}').ok_or_else(|| "unterminated ${".to_string())?;
            let key = after.get(..end).unwrap_or_default().trim();
            out.push_str(&self.lookup(key, stack, steps)?);
            if out.len() > MAX_LEN {
                return Err(too_long());
            }
            rest = after.get(end + 1..).unwrap_or_default();
        }
        out.push_str(rest);
        if out.len() > MAX_LEN {
            return Err(too_long());
        }
        Ok(out)
    }

    fn lookup(&self, key: &str, stack: &mut Vec<String>, steps: &mut usize) -> Result<String, String> {
        *steps += 1;
        if *steps > MAX_STEPS || stack.len() >= MAX_DEPTH {
            return Err(format!("properties nest deeper than {MAX_DEPTH} or expand too often"));
        }
        if stack.iter().any(|k| k == key) {
            return Err(format!("property {key} refers to itself"));
        }
        let model_key = key.strip_prefix("project.").or_else(|| key.strip_prefix("pom."));
        let value = match model_key {
            Some("version") => self.version.as_deref().or(self.parent_version.as_deref()),
            Some("groupId") => self.group.as_deref().or(self.parent_group.as_deref()),
            Some("artifactId") => self.artifact.as_deref(),
            Some("parent.version") => self.parent_version.as_deref(),
            Some("parent.groupId") => self.parent_group.as_deref(),
            Some("parent.artifactId") => self.parent_artifact.as_deref(),
            _ => None,
        };
        let value = value
            .or_else(|| self.properties.get(key).map(String::as_str))
            .ok_or_else(|| format!("property {key} is not defined in this POM or a parent POM in the scanned tree"))?;
        stack.push(key.to_string());
        let resolved = self.interpolate(value.trim(), stack, steps);
        stack.pop();
        resolved
    }
}

/// Merges what a child inherits from `parent`: properties it does not set
/// itself, and the parent's dependency management after its own (the
/// nearest declaration wins, as in Maven). The child's `${project.*}` stay
/// its own, as Maven interpolates after inheritance.
fn inherit(child: &mut Pom, parent: Pom) {
    for (key, value) in parent.properties {
        child.properties.entry(key).or_insert(value);
    }
    if child.parent_version.is_none() {
        child.parent_version = parent.version.clone().or(parent.parent_version.clone());
    }
    child.managed.extend(parent.managed);
}

/// Returns the parent POMs of `pom` found in the scanned tree, nearest
/// first: `<relativePath>` (default `../pom.xml`; a directory means its
/// `pom.xml`), followed while the file there is the declared parent
/// (same groupId and artifactId), lies inside the scan root and within the
/// size limit. A parent that is there but unreadable or malformed is an
/// error for this POM; one that is absent is looked for no further (Maven
/// would fetch it from a repository, which a scan does not).
fn parents(input: &ParseInput<'_>, pom: &Pom, out: &mut Collector<'_>) -> Vec<Pom> {
    let mut found = Vec::new();
    let Ok(root) = input.root.canonicalize() else {
        return found;
    };
    let mut seen: Vec<std::path::PathBuf> = input.fs_path.canonicalize().into_iter().collect();
    let mut child_path = input.fs_path.to_path_buf();
    let mut declared = (
        pom.parent_group.clone(),
        pom.parent_artifact.clone(),
        pom.parent_relative_path.clone(),
    );
    while let (Some(group), Some(artifact), relative) = declared {
        if found.len() >= MAX_PARENTS {
            break;
        }
        let relative = relative.unwrap_or_else(|| "../pom.xml".to_string());
        if relative.trim().is_empty() {
            break;
        }
        let Some(dir) = child_path.parent() else { break };
        let mut path = dir.join(relative.trim());
        if path.is_dir() {
            path.push("pom.xml");
        }
        let Ok(canonical) = path.canonicalize() else { break };
        if !canonical.starts_with(&root) || seen.contains(&canonical) {
            break;
        }
        seen.push(canonical.clone());
        let shown = canonical
            .strip_prefix(&root)
            .map(|p| p.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"))
            .unwrap_or_default();
        let parent = zerotrace_files::read_limited(&canonical, input.max_file_size)
            .map_err(|e| e.to_string())
            .and_then(|(bytes, _)| String::from_utf8(bytes).map_err(|_| "not UTF-8".to_string()))
            .and_then(|contents| {
                read(contents.trim_start_matches('\u{feff}'))
                    .map_err(|e| e.0.strip_prefix("pom.xml: ").unwrap_or(&e.0).to_string())
            });
        let parent = match parent {
            Ok(parent) => parent,
            Err(why) => {
                out.entry_error(error(FORMAT, format!("parent POM {shown}: {why}")));
                break;
            }
        };
        let parent_group = parent.group.as_ref().or(parent.parent_group.as_ref());
        if parent_group.map(|g| g.trim()) != Some(group.trim())
            || parent.artifact.as_deref().map(str::trim) != Some(artifact.trim())
        {
            break;
        }
        declared = (
            parent.parent_group.clone(),
            parent.parent_artifact.clone(),
            parent.parent_relative_path.clone(),
        );
        child_path = canonical;
        found.push(parent);
    }
    found
}

/// Returns whether a Maven version is a range (`[1.0,2.0)`, `(,1.0]`, `[1.5]`).
fn is_range(version: &str) -> bool {
    version.starts_with('[') || version.starts_with('(')
}

/// Returns `1.5` for the one-version range `[1.5]`.
fn single_version(range: &str) -> Option<&str> {
    let inner = range.strip_prefix('[')?.strip_suffix(']')?.trim();
    (!inner.is_empty() && !inner.contains(',')).then_some(inner)
}

/// Reads the parts of the POM the parser needs, streaming: the document is
/// never built as a tree, so depth costs nothing but the element-name stack.
fn read(contents: &str) -> Result<Pom, ParseError> {
    let mut reader = Reader::from_str(contents);
    let mut pom = Pom::default();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut current: Option<Dep> = None;
    let mut saw_root = false;

    loop {
        let event = reader
            .read_event()
            .map_err(|e| error(FORMAT, format!("{e} (at byte {})", reader.error_position())))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                open(&mut stack, &mut saw_root, &mut current, &mut text, name)?;
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                open(&mut stack, &mut saw_root, &mut current, &mut text, name)?;
                close(&mut stack, &mut pom, &mut current, &text);
            }
            Event::End(_) => close(&mut stack, &mut pom, &mut current, &text),
            Event::Text(t) => text.push_str(&t.xml10_content().map_err(|e| error(FORMAT, e))?),
            Event::CData(t) => text.push_str(&t.xml10_content().map_err(|e| error(FORMAT, e))?),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| error(FORMAT, e))? {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| error(FORMAT, e))?;
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| error(FORMAT, format!("unknown entity &{name};")))?;
                    text.push_str(resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(error(FORMAT, format!("unexpected end of file inside <{open}>")));
    }
    if !saw_root {
        return Err(error(FORMAT, "no <project> element"));
    }
    Ok(pom)
}

fn open(
    stack: &mut Vec<String>,
    saw_root: &mut bool,
    current: &mut Option<Dep>,
    text: &mut String,
    name: String,
) -> Result<(), ParseError> {
    if stack.is_empty() {
        if *saw_root || name != "project" {
            return Err(error(
                FORMAT,
                format!("unexpected root element <{name}>, expected <project>"),
            ));
        }
        *saw_root = true;
    }
    stack.push(name);
    if is_dependency(stack) {
        *current = Some(Dep::default());
    }
    text.clear();
    Ok(())
}

/// Returns whether `stack` ends at a `<dependency>` of the project or of its
/// dependency management (not of a profile or plugin).
fn is_dependency(stack: &[String]) -> bool {
    let names: Vec<&str> = stack.iter().map(String::as_str).collect();
    matches!(
        names.as_slice(),
        ["project", "dependencies", "dependency"] | ["project", "dependencyManagement", "dependencies", "dependency"]
    )
}

fn close(stack: &mut Vec<String>, pom: &mut Pom, current: &mut Option<Dep>, text: &str) {
    let value = text.trim().to_string();
    let names: Vec<&str> = stack.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["project", "groupId"] => pom.group = Some(value),
        ["project", "artifactId"] => pom.artifact = Some(value),
        ["project", "version"] => pom.version = Some(value),
        ["project", "parent", "groupId"] => pom.parent_group = Some(value),
        ["project", "parent", "artifactId"] => pom.parent_artifact = Some(value),
        ["project", "parent", "version"] => pom.parent_version = Some(value),
        ["project", "parent", "relativePath"] => pom.parent_relative_path = Some(value),
        ["project", "properties", key] => {
            pom.properties.insert((*key).to_string(), value);
        }
        ["project", "dependencies", "dependency"] => {
            if let Some(dep) = current.take() {
                pom.dependencies.push(dep);
            }
        }
        ["project", "dependencyManagement", "dependencies", "dependency"] => {
            if let Some(dep) = current.take() {
                pom.managed.push(dep);
            }
        }
        ["project", "dependencies", "dependency", field]
        | ["project", "dependencyManagement", "dependencies", "dependency", field] => {
            if let Some(dep) = current.as_mut() {
                match *field {
                    "groupId" => dep.group = value,
                    "artifactId" => dep.artifact = value,
                    "version" => dep.version = Some(value),
                    "scope" => dep.scope = Some(value),
                    "optional" => dep.optional = Some(value),
                    "type" => dep.kind = Some(value),
                    "classifier" => dep.classifier = Some(value),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    stack.pop();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pom(props: &[(&str, &str)]) -> Pom {
        Pom {
            version: Some("2.0.0".into()),
            properties: props.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
            ..Pom::default()
        }
    }

    #[test]
    fn resolves_nested_properties_and_guards_cycles() {
        let p = pom(&[
            ("a", "${b}"),
            ("b", "1.${c}"),
            ("c", "2"),
            ("x", "${y}"),
            ("y", "${x}"),
            ("self", "${self}"),
        ]);
        assert_eq!(p.resolve("${a}").as_deref(), Some("1.2"));
        assert_eq!(p.resolve("${project.version}-x").as_deref(), Some("2.0.0-x"));
        assert_eq!(p.resolve("${x}"), None);
        assert_eq!(p.resolve("${self}"), None);
        assert_eq!(p.resolve("${missing}"), None);
        assert_eq!(p.resolve("${unterminated"), None);
    }

    #[test]
    fn exponential_expansion_is_cut_off() {
        let keys: Vec<String> = (0..30).map(|i| format!("p{i}")).collect();
        let mut props = Vec::new();
        for i in 0..29 {
            props.push((keys[i].clone(), format!("${{{}}}${{{}}}", keys[i + 1], keys[i + 1])));
        }
        props.push((keys[29].clone(), String::new()));
        let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pom(&refs).resolve("${p0}"), None);
    }
}
