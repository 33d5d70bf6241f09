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
    /// R packages (`CRAN`).
    Cran,
    /// Haskell packages (`Hackage`).
    Hackage,
    /// Swift packages, named by their source repository (`SwiftURL`:
    /// `github.com/apple/swift-nio`).
    SwiftUrl,
}

impl Ecosystem {
    /// Every ecosystem, in a stable order.
    pub const ALL: [Ecosystem; 14] = [
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
        Ecosystem::Cran,
        Ecosystem::Hackage,
        Ecosystem::SwiftUrl,
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
            Ecosystem::Cran => "CRAN",
            Ecosystem::Hackage => "Hackage",
            Ecosystem::SwiftUrl => "SwiftURL",
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
    /// This is a matching key, not a display name: inventories keep the
    /// spelling of the file they read, and matching normalises both sides.
    ///
    /// - PyPI: PEP 503 (lowercase, runs of `-`, `_`, `.` become one `-`).
    /// - npm, crates.io, Go, Maven, Hex, Pub, ConanCenter, CRAN, Hackage:
    ///   unchanged (case matters or the registry forbids variants). crates.io
    ///   treats `-` and `_` alike for uniqueness but advisories use the
    ///   published name, which lockfiles carry.
    /// - Packagist: lowercase (Composer names are case-insensitive).
    /// - NuGet: lowercase (package ids are case-insensitive).
    /// - RubyGems: unchanged (gem names are case-sensitive).
    /// - SwiftURL: the repository without scheme, user, `.git` or trailing
    ///   `/`, lowercased (`https://github.com/Apple/swift-nio.git` and
    ///   `git@github.com:apple/swift-nio` are both `github.com/apple/swift-nio`).
    pub fn normalize_name(self, name: &str) -> String {
        let name = name.trim();
        match self {
            Ecosystem::PyPI => pep503(name),
            Ecosystem::Packagist | Ecosystem::NuGet => name.to_ascii_lowercase(),
            Ecosystem::SwiftUrl => swift_repository(name).to_ascii_lowercase(),
            _ => name.to_string(),
        }
    }

    /// Returns the ecosystem of a purl type (`cargo`, `npm`, `pypi`, ...),
    /// the inverse of [`Ecosystem::purl_type`]. Types are case-insensitive,
    /// as the purl specification says.
    pub fn from_purl_type(purl_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.purl_type().eq_ignore_ascii_case(purl_type))
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
            Ecosystem::Cran => "cran",
            Ecosystem::Hackage => "hackage",
            Ecosystem::SwiftUrl => "swift",
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

/// Returns a Swift package's repository as OSV's SwiftURL ecosystem names
/// it: `host/path`, without scheme, user, `.git` suffix or trailing `/`,
/// spelled as given.
///
/// Accepts URLs (`https://github.com/a/b.git`, `ssh://git@host/a/b`), scp-like
/// git addresses (`git@github.com:a/b.git`) and names already in that form.
pub fn swift_repository(location: &str) -> String {
    let mut rest = location.trim();
    let had_scheme = match rest.find("://") {
        Some(i) => {
            rest = rest.get(i + 3..).unwrap_or_default();
            true
        }
        None => false,
    };
    // `user@host...`: the user is not part of the repository.
    if let Some(at) = rest.find('@')
        && rest.get(..at).is_some_and(|user| !user.contains('/'))
    {
        rest = rest.get(at + 1..).unwrap_or_default();
    }
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let rest = rest.trim_end_matches('/');
    // scp-like `host:path` (no scheme): the `:` before the first `/` is a separator.
    match rest.find(':') {
        Some(colon) if !had_scheme && rest.get(..colon).is_some_and(|host| !host.contains('/')) => {
            format!(
                "{}/{}",
                rest.get(..colon).unwrap_or_default(),
                rest.get(colon + 1..).unwrap_or_default()
            )
        }
        _ => rest.to_string(),
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
    fn purl_types_round_trip() {
        for e in Ecosystem::ALL {
            assert_eq!(Ecosystem::from_purl_type(e.purl_type()), Some(e));
        }
        assert_eq!(Ecosystem::from_purl_type("PyPI"), Some(Ecosystem::PyPI));
        assert_eq!(Ecosystem::from_purl_type("deb"), None);
    }

    #[test]
    fn swift_urls_normalise_to_host_and_path() {
        let e = Ecosystem::SwiftUrl;
        for url in [
            "https://github.com/apple/swift-nio.git",
            "https://github.com/Apple/swift-nio",
            "https://github.com/apple/swift-nio/",
            "ssh://git@github.com/apple/swift-nio.git",
            "git@github.com:apple/swift-nio.git",
            "github.com/apple/swift-nio",
        ] {
            assert_eq!(e.normalize_name(url), "github.com/apple/swift-nio", "{url}");
        }
        assert_eq!(
            swift_repository("https://github.com/Apple/swift-nio.git"),
            "github.com/Apple/swift-nio"
        );
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
