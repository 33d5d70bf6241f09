//! The de-duplicating package list every parser fills, with the errors of
//! single entries.

use super::{ParseInput, Parsed};
use crate::{Package, ParseError, Scope, Source};
use std::collections::HashMap;
use zerotrace_ecosystem::Ecosystem;

/// Most entry errors kept per file; past it one line says how many more there were.
const MAX_ENTRY_ERRORS: usize = 100;

/// Collects packages of one file, merging repeats of the same name, version,
/// requirement and source (a gem locked for several platforms, a NuGet package
/// in several target frameworks).
///
/// Names keep the spelling of the file (the first one seen, when a file
/// spells a name two ways); repeats are recognised by
/// [`Ecosystem::normalize_name`], the key matching uses too.
pub(crate) struct Collector<'a> {
    ecosystem: Ecosystem,
    path: &'a str,
    packages: Vec<Package>,
    seen: HashMap<(String, String, Option<String>, Source), usize>,
    errors: Vec<String>,
    errors_dropped: usize,
}

impl<'a> Collector<'a> {
    /// Starts an empty list for the file at `path` (relative to the scan root).
    pub(crate) fn new(ecosystem: Ecosystem, path: &'a str) -> Self {
        Collector {
            ecosystem,
            path,
            packages: Vec::new(),
            seen: HashMap::new(),
            errors: Vec::new(),
            errors_dropped: 0,
        }
    }

    /// Records an entry the file has but that cannot be reported (a
    /// malformed line, a version that cannot be resolved): the rest of the
    /// file is still read, and the error goes to the inventory's `errors`.
    pub(crate) fn entry_error(&mut self, error: ParseError) {
        if self.errors.len() < MAX_ENTRY_ERRORS {
            self.errors.push(error.0);
        } else {
            self.errors_dropped += 1;
        }
    }

    /// Adds a package with an exact (possibly empty) version.
    pub(crate) fn add(&mut self, name: &str, version: &str, scope: Scope, source: Source) {
        self.insert(name, version, None, scope, source);
    }

    /// Adds a package whose version is unknown; `requirement` says what the file asked for.
    pub(crate) fn add_unresolved(&mut self, name: &str, requirement: &str, scope: Scope, source: Source) {
        self.insert(name, "", Some(requirement.to_string()), scope, source);
    }

    /// Adds a package with a version (possibly empty) and where it comes
    /// from (a URL or path of a non-registry package) as its requirement.
    pub(crate) fn add_located(&mut self, name: &str, version: &str, origin: &str, scope: Scope, source: Source) {
        self.insert(name, version, Some(origin.to_string()), scope, source);
    }

    fn insert(&mut self, name: &str, version: &str, requirement: Option<String>, scope: Scope, source: Source) {
        let name = name.trim().to_string();
        let version = version.trim().to_string();
        let key = (
            self.ecosystem.normalize_name(&name),
            version.clone(),
            requirement.clone(),
            source,
        );
        if let Some(&i) = self.seen.get(&key) {
            if let Some(existing) = self.packages.get_mut(i) {
                existing.scope = merge_scope(existing.scope, scope);
            }
            return;
        }
        self.seen.insert(key, self.packages.len());
        self.packages.push(Package {
            ecosystem: self.ecosystem,
            name,
            version,
            path: self.path.to_string(),
            scope,
            source,
            requirement,
            direct: None,
        });
    }

    /// Returns the packages in the order they were first seen, and the entry errors.
    pub(crate) fn finish(mut self) -> Parsed {
        if self.errors_dropped > 0 {
            self.errors
                .push(format!("{} more entries could not be read", self.errors_dropped));
        }
        Parsed {
            packages: self.packages,
            errors: self.errors,
            graph: None,
        }
    }
}

/// Keeps the scope that matters most for a package reached in two ways: run
/// time beats "unspecified", which beats optional, which beats development.
fn merge_scope(a: Scope, b: Scope) -> Scope {
    fn rank(s: Scope) -> u8 {
        match s {
            Scope::Runtime => 3,
            Scope::Unspecified => 2,
            Scope::Optional => 1,
            Scope::Development => 0,
        }
    }
    if rank(b) > rank(a) { b } else { a }
}

/// Returns the file's text without a leading byte-order mark, which editors
/// on Windows add and which no lockfile grammar allows.
pub(crate) fn text<'a>(input: &ParseInput<'a>) -> &'a str {
    input.contents.strip_prefix('\u{feff}').unwrap_or(input.contents)
}

/// Builds a one-line [`ParseError`] prefixed with the format name.
pub(crate) fn error(format: &str, message: impl std::fmt::Display) -> ParseError {
    let message = message.to_string();
    let first = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("malformed file");
    ParseError(format!("{format}: {first}"))
}

/// Deserialises a JSON lockfile whose top level must be an object (serde
/// would otherwise read a struct from an array too).
pub(crate) fn json_object<T: serde::de::DeserializeOwned>(format: &str, contents: &str) -> Result<T, ParseError> {
    if !contents.trim_start().starts_with('{') {
        return Err(error(format, "expected a JSON object"));
    }
    serde_json::from_str(contents).map_err(|e| error(format, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_merge_and_keep_the_strongest_scope() {
        let mut c = Collector::new(Ecosystem::NuGet, "a/packages.lock.json");
        c.add("Newtonsoft.Json", "13.0.1", Scope::Development, Source::Registry);
        c.add("newtonsoft.json", "13.0.1", Scope::Runtime, Source::Registry);
        c.add("newtonsoft.json", "13.0.1", Scope::Development, Source::Registry);
        c.add("newtonsoft.json", "12.0.1", Scope::Development, Source::Registry);
        let p = c.finish().packages;
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].scope, Scope::Runtime);
        assert_eq!(p[0].name, "Newtonsoft.Json", "the first spelling is kept");
        assert_eq!(p[1].name, "newtonsoft.json");
    }

    #[test]
    fn entry_errors_are_capped() {
        let mut c = Collector::new(Ecosystem::Maven, "gradle.lockfile");
        for i in 0..MAX_ENTRY_ERRORS + 5 {
            c.entry_error(error("gradle.lockfile", format!("line {i}: bad")));
        }
        let parsed = c.finish();
        assert_eq!(parsed.errors.len(), MAX_ENTRY_ERRORS + 1);
        assert_eq!(
            parsed.errors.last().map(String::as_str),
            Some("5 more entries could not be read")
        );
    }

    #[test]
    fn errors_are_one_line() {
        assert_eq!(error("pom.xml", "\n  bad tag\nat line 3").0, "pom.xml: bad tag");
        assert_eq!(error("x", "").0, "x: malformed file");
    }
}
