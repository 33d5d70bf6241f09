//! Package ecosystems and their rules: OSV ecosystem names, package-name
//! normalisation and (in [`version`]) each ecosystem's own version ordering.
//!
//! Both the agent (which names packages it finds in lockfiles) and the
//! enrichment service (which matches them against advisories) use this crate,
//! so a name or version is understood the same way on both sides.

use std::fmt;
use std::str::FromStr;

pub mod version;

pub use version::{Version, VersionError, compare};

/// Where a package comes from. Only [`Source::Registry`] packages are matched
/// against advisories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The ecosystem's package registry.
    #[default]
    Registry,
    /// A git repository.
    Git,
    /// A local directory or file.
    Path,
    /// A member of the scanned project's own workspace.
    Workspace,
}

impl Source {
    /// Returns the lowercase name (`registry`, `git`, `path`, `workspace`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Registry => "registry",
            Source::Git => "git",
            Source::Path => "path",
            Source::Workspace => "workspace",
        }
    }
}

/// A package ecosystem, named as the OSV schema names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// Rust crates (`crates.io`).
    CratesIo,
    /// JavaScript packages (`npm`).
    Npm,
    /// Python packages (`PyPI`).
    PyPI,
    /// Go modules (`Go`).
    Go,
    /// Java artifacts (`Maven`), named `group:artifact`.
    Maven,
    /// Ruby gems (`RubyGems`).
    RubyGems,
    /// PHP Composer packages (`Packagist`).
    Packagist,
    /// .NET packages (`NuGet`).
    NuGet,
    /// Dart and Flutter packages (`Pub`).
    Pub,
    /// Erlang and Elixir packages (`Hex`).
    Hex,
    /// C and C++ packages from ConanCenter (`ConanCenter`).
    ConanCenter,
}

impl Ecosystem {
    /// Every ecosystem, in a stable order.
    pub const ALL: [Ecosystem; 11] = [
        Ecosystem::CratesIo,
        Ecosystem::Npm,
        Ecosystem::PyPI,
        Ecosystem::Go,
        Ecosystem::Maven,
        Ecosystem::RubyGems,
        Ecosystem::Packagist,
        Ecosystem::NuGet,
        Ecosystem::Pub,
        Ecosystem::Hex,
        Ecosystem::ConanCenter,
    ];

    /// Returns the OSV name of the ecosystem (`"crates.io"`, `"PyPI"`, ...).
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
            Ecosystem::Maven => "Maven",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Pub => "Pub",
            Ecosystem::Hex => "Hex",
            Ecosystem::ConanCenter => "ConanCenter",
        }
    }

    /// Returns the ecosystem of an OSV `affected[].package.ecosystem` value.
    ///
    /// OSV allows a suffix after a colon (`"Maven:https://repo..."`,
    /// `"Debian:11"`); it is ignored here. Matching is exact on the base name,
    /// as OSV names are case-sensitive.
    pub fn from_osv(name: &str) -> Option<Self> {
        let base = name.split(':').next().unwrap_or(name);
        Self::ALL.into_iter().find(|e| e.osv_name() == base)
    }

    /// Returns the name the ecosystem's tooling compares package names by.
    ///
    /// - PyPI: PEP 503 (lowercase, runs of `-`, `_`, `.` become one `-`).
    /// - npm, crates.io, Go, Maven, Hex, Pub, ConanCenter: unchanged (case matters or
    ///   the registry forbids variants). crates.io treats `-` and `_` alike for
    ///   uniqueness but advisories use the published name, which lockfiles carry.
    /// - Packagist: lowercase (Composer names are case-insensitive).
    /// - NuGet: lowercase (package ids are case-insensitive).
    /// - RubyGems: unchanged (gem names are case-sensitive).
    pub fn normalize_name(self, name: &str) -> String {
        let name = name.trim();
        match self {
            Ecosystem::PyPI => pep503(name),
            Ecosystem::Packagist | Ecosystem::NuGet => name.to_ascii_lowercase(),
            _ => name.to_string(),
        }
    }

    /// Returns the purl type of the ecosystem (package-url spec).
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Go => "golang",
            Ecosystem::Maven => "maven",
            Ecosystem::RubyGems => "gem",
            Ecosystem::Packagist => "composer",
            Ecosystem::NuGet => "nuget",
            Ecosystem::Pub => "pub",
            Ecosystem::Hex => "hex",
            Ecosystem::ConanCenter => "conan",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// The error of parsing an unknown ecosystem name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ecosystem {0:?}")]
pub struct UnknownEcosystem(pub String);

impl FromStr for Ecosystem {
    type Err = UnknownEcosystem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_osv(s).ok_or_else(|| UnknownEcosystem(s.to_string()))
    }
}

/// Normalises a Python distribution name as PEP 503 does.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_separator = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_names_round_trip() {
        for e in Ecosystem::ALL {
            assert_eq!(Ecosystem::from_osv(e.osv_name()), Some(e));
        }
        assert_eq!(
            Ecosystem::from_osv("Maven:https://repo1.maven.org"),
            Some(Ecosystem::Maven)
        );
        assert_eq!(Ecosystem::from_osv("pypi"), None);
    }

    #[test]
    fn pypi_names_follow_pep_503() {
        let e = Ecosystem::PyPI;
        assert_eq!(e.normalize_name("Django"), "django");
        assert_eq!(e.normalize_name("zope.interface"), "zope-interface");
        assert_eq!(e.normalize_name("Foo__Bar-.baz"), "foo-bar-baz");
        assert_eq!(e.normalize_name(" requests "), "requests");
    }

    #[test]
    fn case_insensitive_registries_lowercase() {
        assert_eq!(Ecosystem::NuGet.normalize_name("Newtonsoft.Json"), "newtonsoft.json");
        assert_eq!(
            Ecosystem::Packagist.normalize_name("Symfony/HTTP-Kernel"),
            "symfony/http-kernel"
        );
        assert_eq!(Ecosystem::Npm.normalize_name("@Babel/core"), "@Babel/core");
    }
}
