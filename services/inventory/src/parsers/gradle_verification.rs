//! Gradle's dependency verification file, `gradle/verification-metadata.xml`.
//!
//! Gradle writes one `<components>/<component group=… name=… version=…>`
//! per module whose artifacts a build of the project resolved: the
//! dependencies of every configuration, and the plugins and tools of the
//! build itself. Each is reported as `group:name` at its version with
//! [`Scope::Unspecified`] (the file does not say which configuration used
//! it). A project with both this file and `gradle.lockfile` reports the
//! modules of both, each under its own path.
//!
//! A file of that name whose root element is not `<verification-metadata>`
//! belongs to another tool and yields nothing; within Gradle's file, a
//! component lacking an attribute is an error for that component, and
//! malformed XML an error for the file.

use super::collect::{Collector, error, text};
use super::textutil::xml_attributes;
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "verification-metadata.xml";

/// Parses a `verification-metadata.xml` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let contents = text(input);
    let mut reader = Reader::from_str(contents);
    let mut out = Collector::new(Ecosystem::Maven, input.rel_path);
    let mut stack: Vec<Vec<u8>> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| error(FORMAT, format!("{e} (at byte {})", reader.error_position())))?;
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let Some(start) = start else { continue };
        let name = start.local_name().as_ref().to_vec();
        if stack.is_empty() && name != b"verification-metadata" {
            return Ok(Parsed::default());
        }
        if stack.len() == 2 && stack.last().is_some_and(|p| p == b"components") && name == b"component" {
            let position = reader.buffer_position();
            let line = contents
                .get(..usize::try_from(position).unwrap_or(usize::MAX).min(contents.len()))
                .map_or(0, |before| before.lines().count());
            component(start, line, &mut out)?;
        }
        if !empty {
            stack.push(name);
        }
    }
    if let Some(open) = stack.last() {
        return Err(error(
            FORMAT,
            format!("unexpected end of file inside <{}>", String::from_utf8_lossy(open)),
        ));
    }
    Ok(out.finish())
}

/// Adds one `<component>`, or records why it cannot be.
fn component(start: &BytesStart<'_>, line: usize, out: &mut Collector<'_>) -> Result<(), ParseError> {
    let mut group = None;
    let mut name = None;
    let mut version = None;
    for (key, value) in xml_attributes(FORMAT, start, line)? {
        match key.as_slice() {
            b"group" => group = Some(value),
            b"name" => name = Some(value),
            b"version" => version = Some(value),
            _ => {}
        }
    }
    match (group, name, version) {
        (Some(g), Some(n), Some(v)) if !g.is_empty() && !n.is_empty() && !v.is_empty() => {
            out.add(&format!("{g}:{n}"), &v, Scope::Unspecified, Source::Registry);
        }
        _ => out.entry_error(error(
            FORMAT,
            format!("line {line}: a component needs non-empty group, name and version"),
        )),
    }
    Ok(())
}
