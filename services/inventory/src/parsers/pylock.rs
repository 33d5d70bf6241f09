//! `pylock.toml` and `pylock.<name>.toml`: the standard Python lockfile of
//! PEP 751.
//!
//! `lock-version` must be `1.x` (a later major version is refused, as the
//! PEP asks of tools). Each `[[packages]]` entry is reported by its `name`
//! as written. Where it comes from decides the rest:
//! - `vcs`: [`Source::Git`] (any VCS) at `commit-id`, with the URL as the
//!   requirement;
//! - `directory`: [`Source::Path`], with the path;
//! - `archive`: [`Source::Path`], with the URL or path (a file, not an
//!   index release);
//! - otherwise (`sdist`/`wheels` from an index): [`Source::Registry`] at
//!   `version`; such an entry without a version is an error for it.
//!
//! The file records environment markers and dependency groups, not which
//! packages are for development, so every scope is [`Scope::Unspecified`].

use super::collect::{Collector, error, text};
use super::{ParseInput, Parsed, textutil};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "pylock.toml";

#[derive(Deserialize)]
struct Lock {
    #[serde(rename = "lock-version")]
    lock_version: Option<String>,
    #[serde(default)]
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    vcs: Option<Vcs>,
    directory: Option<Location>,
    archive: Option<Location>,
}

#[derive(Deserialize)]
struct Vcs {
    url: Option<String>,
    path: Option<String>,
    #[serde(rename = "commit-id")]
    commit_id: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    url: Option<String>,
    path: Option<String>,
}

/// Parses a `pylock.toml` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let lock: Lock = textutil::toml(FORMAT, text(input))?;
    let Some(version) = lock.lock_version else {
        return Err(error(FORMAT, "no lock-version"));
    };
    if version.trim().split('.').next() != Some("1") {
        return Err(error(FORMAT, format!("unsupported lock-version {version}")));
    }
    let mut out = Collector::new(Ecosystem::PyPI, input.rel_path);
    for package in &lock.packages {
        let name = package.name.trim();
        if let Some(vcs) = &package.vcs {
            let location = vcs.url.as_deref().or(vcs.path.as_deref()).unwrap_or("");
            let commit = vcs.commit_id.as_deref().unwrap_or("");
            out.add_located(name, commit, location, Scope::Unspecified, Source::Git);
        } else if let Some(location) = package.directory.as_ref().or(package.archive.as_ref()) {
            let location = location.url.as_deref().or(location.path.as_deref()).unwrap_or("");
            out.add_located(name, "", location, Scope::Unspecified, Source::Path);
        } else {
            match package.version.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                Some(version) => out.add(name, version, Scope::Unspecified, Source::Registry),
                None => out.entry_error(error(FORMAT, format!("package {name}: no version"))),
            }
        }
    }
    Ok(out.finish())
}
