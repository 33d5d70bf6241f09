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
//! recursively with a cycle and size guard. A version that stays unresolved
//! (an unknown property, `${env.X}`, a cycle) or is a range (`[1.0,2.0)`;
//! the one-version range `[1.5]` counts as `1.5`) is
//! reported with an empty version and the text as written in `requirement`;
//! a dependency with no version at all (managed by a parent POM) gets an
//! empty version and no requirement. Parent POMs and imported BOMs are not
//! fetched, and `<profiles>` are not read (they depend on the build's
//! activation).
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
    properties: HashMap<String, String>,
    dependencies: Vec<Dep>,
    managed: Vec<Dep>,
}

/// Parses a `pom.xml` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let pom = read(text(input))?;
    let mut out = Collector::new(Ecosystem::Maven, input.rel_path);

    let managed: Vec<Dep> = pom
        .managed
        .iter()
        .map(|d| Dep {
            group: pom.text(&d.group),
            artifact: pom.text(&d.artifact),
            ..d.clone()
        })
        .collect();
    let mut managed_used = vec![false; managed.len()];

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
    fn emit(&self, out: &mut Collector<'_>, name: &str, version: Option<&str>, scope: Scope, source: Source) {
        let Some(raw) = version.map(str::trim).filter(|v| !v.is_empty()) else {
            out.add(name, "", scope, source);
            return;
        };
        match self.resolve(raw) {
            Some(v) if !v.is_empty() && !is_range(&v) => out.add(name, &v, scope, source),
            Some(v) if is_range(&v) => match single_version(&v) {
                Some(exact) => out.add(name, exact, scope, source),
                None => out.add_unresolved(name, &v, scope, source),
            },
            _ => out.add_unresolved(name, raw, scope, source),
        }
    }

    /// Resolves `${...}` in a name or scope, keeping the text as written when it cannot.
    fn text(&self, raw: &str) -> String {
        let raw = raw.trim();
        self.resolve(raw).unwrap_or_else(|| raw.to_string())
    }

    /// Returns `raw` with every `${...}` replaced, or `None` if one cannot be.
    fn resolve(&self, raw: &str) -> Option<String> {
        let mut steps = 0;
        let mut stack = Vec::new();
        self.interpolate(raw, &mut stack, &mut steps)
            .map(|s| s.trim().to_string())
    }

    fn interpolate(&self, raw: &str, stack: &mut Vec<String>, steps: &mut usize) -> Option<String> {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            out.push_str(rest.get(..start)?);
            let after = rest.get(start + 2..)?;
            let end = after.find('}')?;
            let key = after.get(..end)?.trim();
            out.push_str(&self.lookup(key, stack, steps)?);
            if out.len() > MAX_LEN {
                return None;
            }
            rest = after.get(end + 1..)?;
        }
        out.push_str(rest);
        (out.len() <= MAX_LEN).then_some(out)
    }

    fn lookup(&self, key: &str, stack: &mut Vec<String>, steps: &mut usize) -> Option<String> {
        *steps += 1;
        if *steps > MAX_STEPS || stack.len() >= MAX_DEPTH || stack.iter().any(|k| k == key) {
            return None;
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
        let value = value.or_else(|| self.properties.get(key).map(String::as_str))?;
        stack.push(key.to_string());
        let resolved = self.interpolate(value.trim(), stack, steps);
        stack.pop();
        resolved
    }
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
