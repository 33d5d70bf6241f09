//! `packages.config`: the NuGet packages of a .NET Framework-style project.
//!
//! Each `<package id=… version=…>` under `<packages>` is reported at its
//! version; `developmentDependency="true"` gives [`Scope::Development`],
//! anything else [`Scope::Unspecified`] (the file does not tell build from
//! run time otherwise). Names keep their spelling; matching folds case. A
//! `<package>` without an id or version is an error for that entry; a file
//! whose root is not `<packages>` belongs to another tool and yields
//! nothing; malformed XML is an error for the file.

use super::collect::{Collector, error, text};
use super::textutil::xml_attributes;
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use quick_xml::Reader;
use quick_xml::events::Event;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "packages.config";

/// Parses a `packages.config` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let contents = text(input);
    let mut reader = Reader::from_str(contents);
    let mut out = Collector::new(Ecosystem::NuGet, input.rel_path);
    let mut depth = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| error(FORMAT, format!("{e} (at byte {})", reader.error_position())))?;
        let (start, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = start.local_name();
        if depth == 0 && name.as_ref() != b"packages" {
            return Ok(Parsed::default());
        }
        if depth == 1 && name.as_ref() == b"package" {
            let line = textline(contents, reader.buffer_position());
            let mut id = String::new();
            let mut version = String::new();
            let mut dev = false;
            for (key, value) in xml_attributes(FORMAT, start, line)? {
                match key.as_slice() {
                    b"id" => id = value,
                    b"version" => version = value,
                    b"developmentDependency" => dev = value.eq_ignore_ascii_case("true"),
                    _ => {}
                }
            }
            if id.is_empty() || version.is_empty() {
                out.entry_error(error(
                    FORMAT,
                    format!("line {line}: a package needs an id and a version"),
                ));
            } else {
                let scope = if dev { Scope::Development } else { Scope::Unspecified };
                out.add(&id, &version, scope, Source::Registry);
            }
        }
        if !empty {
            depth += 1;
        }
    }
    if depth > 0 {
        return Err(error(FORMAT, "unexpected end of file inside an element"));
    }
    Ok(out.finish())
}

/// Returns the 1-based line of a byte position reported by the reader.
fn textline(contents: &str, position: u64) -> usize {
    let end = usize::try_from(position).unwrap_or(usize::MAX).min(contents.len());
    contents
        .as_bytes()
        .get(..end)
        .map_or(1, |b| 1 + b.iter().filter(|&&c| c == b'\n').count())
}
