//! CycloneDX SBOMs (1.2–1.6), JSON (`bom.json`, `*.cdx.json`) and XML
//! (`bom.xml`, `*.cdx.xml`).
//!
//! Every component of `components`, nested ones included, is reported
//! through its `purl` (see [`purl`](super::purl)); the subject of the SBOM
//! (`metadata.component`) is not a dependency and is skipped. A component
//! without a purl, or with one of a type no ecosystem here covers, is an
//! error naming it. `scope`: `required` is Runtime, `optional` Optional,
//! `excluded` (not part of what ships) Development, none Unspecified. A
//! JSON file whose `bomFormat` is not `CycloneDX`, or an XML file whose root
//! is not `<bom>`, is an error for the file: its name says it is one.

use super::collect::{error, text};
use super::purl::Mixed;
use super::{ParseInput, Parsed, textutil};
use crate::{ParseError, Scope};
use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Deserialize;

const JSON: &str = "CycloneDX JSON";
const XML: &str = "CycloneDX XML";

/// Deepest nesting of components followed.
const MAX_NESTING: usize = 64;

#[derive(Deserialize)]
struct Bom {
    #[serde(rename = "bomFormat")]
    bom_format: Option<String>,
    #[serde(default)]
    components: Vec<Component>,
}

#[derive(Deserialize)]
struct Component {
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    components: Vec<Component>,
}

fn scope_of(scope: Option<&str>) -> Scope {
    match scope.map(str::trim) {
        Some("required") => Scope::Runtime,
        Some("optional") => Scope::Optional,
        Some("excluded") => Scope::Development,
        _ => Scope::Unspecified,
    }
}

fn describe(name: Option<&str>, version: Option<&str>) -> String {
    match (name.map(str::trim), version.map(str::trim)) {
        (Some(n), Some(v)) if !v.is_empty() => format!("component {n}@{v}"),
        (Some(n), _) => format!("component {n}"),
        _ => "a component without a name".to_string(),
    }
}

/// Parses a CycloneDX JSON file.
pub(crate) fn parse_json(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let bom: Bom = textutil::json(JSON, text(input))?;
    if bom.bom_format.as_deref() != Some("CycloneDX") {
        return Err(error(JSON, "bomFormat is not \"CycloneDX\""));
    }
    let mut out = Mixed::new(JSON, input.rel_path);
    let mut stack: Vec<(&Component, usize)> = bom.components.iter().rev().map(|c| (c, 0)).collect();
    while let Some((component, depth)) = stack.pop() {
        out.add(
            &describe(component.name.as_deref(), component.version.as_deref()),
            component.purl.as_deref(),
            scope_of(component.scope.as_deref()),
        );
        if depth + 1 < MAX_NESTING {
            stack.extend(component.components.iter().rev().map(|c| (c, depth + 1)));
        } else if !component.components.is_empty() {
            out.entry_error(format!("components nested deeper than {MAX_NESTING} are not read"));
        }
    }
    Ok(out.finish())
}

/// What is known of one `<component>` while it is read.
#[derive(Default)]
struct Open {
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    scope: Option<String>,
}

/// Parses a CycloneDX XML file, streaming.
pub(crate) fn parse_xml(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut reader = Reader::from_str(text(input));
    let mut out = Mixed::new(XML, input.rel_path);
    // Element names from the root, and the components open along them.
    let mut path: Vec<String> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut value = String::new();
    let mut saw_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| error(XML, format!("{e} (at byte {})", reader.error_position())))?;
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(start) = start {
            let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
            if path.is_empty() {
                if saw_root || name != "bom" {
                    return Err(error(XML, format!("root element <{name}> is not the one <bom>")));
                }
                saw_root = true;
            }
            path.push(name);
            value.clear();
            if is_dependency_component(&path) {
                if open.len() >= MAX_NESTING {
                    return Err(error(XML, format!("components nested deeper than {MAX_NESTING}")));
                }
                open.push(Open::default());
            }
            if empty {
                close(&mut path, &mut open, &value, &mut out);
            }
            continue;
        }
        match event {
            Event::End(_) => close(&mut path, &mut open, &value, &mut out),
            Event::Text(t) => value.push_str(&t.xml10_content().map_err(|e| error(XML, e))?),
            Event::CData(t) => value.push_str(&t.xml10_content().map_err(|e| error(XML, e))?),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| error(XML, e))? {
                    value.push(c);
                } else {
                    let name = r.decode().map_err(|e| error(XML, e))?;
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| error(XML, format!("unknown entity &{name};")))?;
                    value.push_str(resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(name) = path.last() {
        return Err(error(XML, format!("unexpected end of file inside <{name}>")));
    }
    if !saw_root {
        return Err(error(XML, "no <bom> element"));
    }
    Ok(out.finish())
}

/// Returns whether `path` ends at a dependency `<component>`:
/// `bom/components/component`, nested through `components/component`.
fn is_dependency_component(path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    first == "bom"
        && !rest.is_empty()
        && rest.len() % 2 == 0
        && rest
            .chunks(2)
            .all(|pair| matches!(pair, [a, b] if a == "components" && b == "component"))
}

/// Handles the end of the innermost element.
fn close(path: &mut Vec<String>, open: &mut Vec<Open>, value: &str, out: &mut Mixed<'_>) {
    if is_dependency_component(path) {
        if let Some(c) = open.pop() {
            out.add(
                &describe(c.name.as_deref(), c.version.as_deref()),
                c.purl.as_deref(),
                scope_of(c.scope.as_deref()),
            );
        }
    } else if let Some((field, parent)) = path.split_last()
        && is_dependency_component(parent)
        && let Some(c) = open.last_mut()
    {
        let value = Some(value.trim().to_string());
        match field.as_str() {
            "name" => c.name = value,
            "version" => c.version = value,
            "purl" => c.purl = value,
            "scope" => c.scope = value,
            _ => {}
        }
    }
    path.pop();
}
