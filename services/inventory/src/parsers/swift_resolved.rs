//! `Package.resolved`: the pins of a Swift Package Manager project, file
//! versions 1 (`object.pins`, `repositoryURL`) and 2 and 3 (`pins`,
//! `location`, `kind`).
//!
//! A pin is named by its repository URL as written, the name OSV's
//! `SwiftURL` advisories use (matching ignores the scheme and `.git`).
//! A pin at a tagged `version` is [`Source::Registry`] (SwiftURL advisories
//! are keyed by repository and tag); one pinned to a branch or bare
//! `revision` is [`Source::Git`] at that commit; `localSourceControl` is
//! [`Source::Path`]. A `registry` pin (an id like `scope.name` served by a
//! Swift package registry) has no URL to match by and is an error for that
//! pin, as is a pin without a location. Scope is not recorded.

use super::collect::{Collector, error, json_object, text};
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "Package.resolved";

#[derive(Deserialize)]
struct File {
    version: Option<u32>,
    #[serde(default)]
    pins: Vec<Pin>,
    object: Option<Object>,
}

#[derive(Deserialize)]
struct Object {
    #[serde(default)]
    pins: Vec<Pin>,
}

#[derive(Deserialize)]
struct Pin {
    identity: Option<String>,
    package: Option<String>,
    kind: Option<String>,
    location: Option<String>,
    #[serde(rename = "repositoryURL")]
    repository_url: Option<String>,
    #[serde(default)]
    state: State,
}

#[derive(Deserialize, Default)]
struct State {
    version: Option<String>,
    revision: Option<String>,
}

/// Parses a `Package.resolved` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let file: File = json_object(FORMAT, text(input))?;
    let pins = match file.version {
        Some(1) => file.object.map(|o| o.pins).unwrap_or_default(),
        Some(2 | 3) => file.pins,
        Some(other) => return Err(error(FORMAT, format!("unsupported version {other}"))),
        None => return Err(error(FORMAT, "no version")),
    };
    let mut out = Collector::new(Ecosystem::SwiftUrl, input.rel_path);
    for pin in &pins {
        let id = pin.identity.as_deref().or(pin.package.as_deref()).unwrap_or("?");
        let location = pin
            .location
            .as_deref()
            .or(pin.repository_url.as_deref())
            .map(str::trim)
            .unwrap_or("");
        let version = pin.state.version.as_deref().map(str::trim).unwrap_or("");
        let revision = pin.state.revision.as_deref().map(str::trim).unwrap_or("");
        match pin.kind.as_deref() {
            Some("registry") => out.entry_error(error(
                FORMAT,
                format!("pin {id}: packages from a Swift registry have no repository URL to match by"),
            )),
            _ if location.is_empty() => out.entry_error(error(FORMAT, format!("pin {id}: no location"))),
            Some("localSourceControl") => out.add_located(location, "", location, Scope::Unspecified, Source::Path),
            _ if !version.is_empty() => out.add(location, version, Scope::Unspecified, Source::Registry),
            _ => out.add_located(location, revision, location, Scope::Unspecified, Source::Git),
        }
    }
    Ok(out.finish())
}
