//! `pubspec.lock`: the packages of a Dart or Flutter project.
//!
//! Scope follows `dependency`: `direct main` is Runtime, `direct dev`
//! Development; `transitive` and `direct overridden` are
//! [`Scope::Unspecified`] (the file does not say whose dependency they are).
//! Source follows `source`: `hosted` (pub.dev or a private pub server) is
//! [`Source::Registry`], `git` [`Source::Git`], `path` [`Source::Path`];
//! `sdk` packages (`flutter`, `flutter_test`, ...) ship with the SDK, carry
//! a placeholder version and are skipped.

use super::collect::{Collector, error, text};
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use std::collections::BTreeMap;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "pubspec.lock";

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    packages: Option<BTreeMap<String, Entry>>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    dependency: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

/// Parses a `pubspec.lock` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    if text(input)
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Parsed::default());
    }
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let lock: Lock = serde_saphyr::from_str_with_options(text(input), options).map_err(|e| error(FORMAT, e))?;
    let mut out = Collector::new(Ecosystem::Pub, input.rel_path);
    for (name, entry) in lock.packages.unwrap_or_default() {
        let source = match entry.source.as_deref().unwrap_or_default() {
            "sdk" => continue,
            "git" => Source::Git,
            "path" => Source::Path,
            _ => Source::Registry,
        };
        let scope = match entry.dependency.as_deref().unwrap_or_default() {
            "direct main" => Scope::Runtime,
            "direct dev" => Scope::Development,
            _ => Scope::Unspecified,
        };
        let version = entry.version.unwrap_or_default();
        if name.trim().is_empty() {
            return Err(error(FORMAT, "package with an empty name"));
        }
        out.add(&name, &version, scope, source);
    }
    Ok(out.finish())
}
