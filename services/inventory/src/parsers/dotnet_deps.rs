//! `*.deps.json`: the dependency manifest .NET writes beside a built
//! application or library.
//!
//! `libraries` maps `Name/Version` to an entry whose `type` says what it is:
//! `package` is a NuGet package ([`Source::Registry`]), `project` another
//! project of the build ([`Source::Workspace`]). `referenceassembly` and
//! `runtimepack`/`msbuild` entries belong to the .NET SDK or runtime, which
//! NuGet advisories do not cover, and are skipped. A key that is not
//! `Name/Version` is an error for that entry. Names keep their spelling;
//! matching folds case. Scope is not recorded ([`Scope::Unspecified`]).

use super::collect::{Collector, error, json_object, text};
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use std::collections::BTreeMap;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "deps.json";

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    libraries: BTreeMap<String, Library>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Library {
    #[serde(rename = "type")]
    kind: String,
}

/// Parses a `*.deps.json` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let manifest: Manifest = json_object(FORMAT, text(input))?;
    let mut out = Collector::new(Ecosystem::NuGet, input.rel_path);
    for (key, library) in &manifest.libraries {
        let source = match library.kind.as_str() {
            "package" => Source::Registry,
            "project" => Source::Workspace,
            _ => continue,
        };
        match key.split_once('/') {
            Some((name, version)) if !name.trim().is_empty() && !version.trim().is_empty() => {
                out.add(name, version, Scope::Unspecified, source);
            }
            _ => out.entry_error(error(FORMAT, format!("library {key:?}: expected Name/Version"))),
        }
    }
    Ok(out.finish())
}
