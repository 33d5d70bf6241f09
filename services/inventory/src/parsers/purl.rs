//! Package URLs (purl) as SBOMs carry them, and the package list of a file
//! whose entries span ecosystems.
//!
//! A purl is `pkg:type/namespace/name@version?qualifiers#subpath`, each part
//! percent-encoded (package-url specification). The type picks the
//! ecosystem ([`Ecosystem::from_purl_type`]); the name is put together as
//! the ecosystem's lockfiles write it: `group:artifact` for Maven,
//! `@scope/name` for npm, `namespace/name` for Packagist, Go and Swift
//! (Go versions lose their leading `v`, as OSV writes them). A purl of a
//! type no ecosystem here covers, without a version, or malformed, is an
//! error for that entry: an SBOM entry is never dropped silently.

use super::Parsed;
use super::collect::{Collector, error};
use crate::{Scope, Source};
use std::collections::BTreeMap;
use zerotrace_ecosystem::Ecosystem;

/// One purl, split and decoded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Purl {
    pub(crate) ecosystem: Ecosystem,
    pub(crate) name: String,
    pub(crate) version: String,
}

/// Parses a purl into the package it names.
pub(crate) fn parse(purl: &str) -> Result<Purl, String> {
    let purl = purl.trim();
    let rest = purl
        .strip_prefix("pkg:")
        .ok_or_else(|| format!("{purl:?} is not a purl (no pkg: scheme)"))?;
    let rest = rest.trim_start_matches('/');
    let rest = rest.split('#').next().unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    let (purl_type, path) = rest.split_once('/').ok_or_else(|| format!("{purl:?} has no name"))?;
    let ecosystem = Ecosystem::from_purl_type(purl_type)
        .ok_or_else(|| format!("{purl:?}: purl type {purl_type:?} is not scanned"))?;
    let (path, version) = match path.rsplit_once('@') {
        Some((path, version)) if !path.is_empty() => (path, decode(version)?),
        _ => (path, String::new()),
    };
    if version.trim().is_empty() {
        return Err(format!("{purl:?} has no version"));
    }
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect::<Result<_, _>>()?;
    let Some((name, namespace)) = segments.split_last() else {
        return Err(format!("{purl:?} has no name"));
    };
    let namespace = namespace.join("/");
    let name = match (ecosystem, namespace.is_empty()) {
        (_, true) => name.clone(),
        (Ecosystem::Maven, false) => format!("{namespace}:{name}"),
        (_, false) => format!("{namespace}/{name}"),
    };
    let version = match ecosystem {
        Ecosystem::Go => match version.strip_prefix('v') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest.to_string(),
            _ => version,
        },
        _ => version,
    };
    Ok(Purl {
        ecosystem,
        name,
        version,
    })
}

/// Decodes `%XX` escapes; a malformed escape or non-UTF-8 result is an error.
fn decode(part: &str) -> Result<String, String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape in {part:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{part:?} does not decode to UTF-8"))
}

/// Collects the packages of an SBOM, one [`Collector`] per ecosystem, and
/// the entries that could not be reported.
pub(crate) struct Mixed<'a> {
    format: &'static str,
    path: &'a str,
    by_ecosystem: BTreeMap<Ecosystem, Collector<'a>>,
    /// Only its entry errors are used (they are capped there).
    errors: Collector<'a>,
}

impl<'a> Mixed<'a> {
    pub(crate) fn new(format: &'static str, path: &'a str) -> Self {
        Mixed {
            format,
            path,
            by_ecosystem: BTreeMap::new(),
            errors: Collector::new(Ecosystem::Npm, path),
        }
    }

    /// Adds the package of `purl`, or an error naming the entry (`what`).
    pub(crate) fn add(&mut self, what: &str, purl: Option<&str>, scope: Scope) {
        let Some(purl) = purl.map(str::trim).filter(|p| !p.is_empty()) else {
            self.entry_error(format!("{what}: no purl, not scanned"));
            return;
        };
        match parse(purl) {
            Ok(p) => self
                .by_ecosystem
                .entry(p.ecosystem)
                .or_insert_with(|| Collector::new(p.ecosystem, self.path))
                .add(&p.name, &p.version, scope, Source::Registry),
            Err(why) => self.entry_error(format!("{what}: {why}")),
        }
    }

    /// Records an entry that cannot be reported.
    pub(crate) fn entry_error(&mut self, message: String) {
        self.errors.entry_error(error(self.format, message));
    }

    /// Returns every package and error.
    pub(crate) fn finish(self) -> Parsed {
        let mut parsed = Parsed::default();
        for collector in self.by_ecosystem.into_values() {
            parsed.packages.extend(collector.finish().packages);
        }
        parsed.errors = self.errors.finish().errors;
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(purl: &str) -> (Ecosystem, String, String) {
        let p = parse(purl).unwrap();
        (p.ecosystem, p.name, p.version)
    }

    #[test]
    fn names_are_written_as_their_lockfiles_write_them() {
        assert_eq!(
            ok("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar"),
            (
                Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core".into(),
                "2.14.1".into()
            )
        );
        assert_eq!(
            ok("pkg:npm/%40babel/core@7.22.5"),
            (Ecosystem::Npm, "@babel/core".into(), "7.22.5".into())
        );
        assert_eq!(
            ok("pkg:golang/github.com/gin-gonic/gin@v1.9.1#sub"),
            (Ecosystem::Go, "github.com/gin-gonic/gin".into(), "1.9.1".into())
        );
        assert_eq!(
            ok("pkg:pypi/Django@4.2.7"),
            (Ecosystem::PyPI, "Django".into(), "4.2.7".into())
        );
        assert_eq!(
            ok("pkg:composer/symfony/http-kernel@6.4.5"),
            (Ecosystem::Packagist, "symfony/http-kernel".into(), "6.4.5".into())
        );
        assert_eq!(
            ok("pkg:nuget/Newtonsoft.Json@13.0.1"),
            (Ecosystem::NuGet, "Newtonsoft.Json".into(), "13.0.1".into())
        );
        assert_eq!(
            ok("pkg:cargo/serde@1.0.100"),
            (Ecosystem::CratesIo, "serde".into(), "1.0.100".into())
        );
        assert_eq!(
            ok("pkg:gem/rails@7.0.8%2Bfix"),
            (Ecosystem::RubyGems, "rails".into(), "7.0.8+fix".into())
        );
    }

    #[test]
    fn unknown_types_versionless_and_malformed_purls_are_errors() {
        for (purl, want) in [
            ("pkg:deb/debian/curl@7.74.0", "purl type \"deb\" is not scanned"),
            ("pkg:npm/lodash", "has no version"),
            ("pkg:npm/lodash@", "has no version"),
            ("npm/lodash@1", "is not a purl"),
            ("pkg:npm", "has no name"),
            ("pkg:npm/a%zz@1", "bad %-escape"),
            ("pkg:npm/a%ff@1", "does not decode to UTF-8"),
        ] {
            let e = parse(purl).unwrap_err();
            assert!(e.contains(want), "{purl}: {e}");
        }
    }
}
