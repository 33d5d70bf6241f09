//! Version parsing and ordering, each ecosystem by its own tooling's rules.
//!
//! A [`Version`] keeps the string it was parsed from (for display) and a
//! normalised key (for ordering, equality and hashing). Equality is ordering
//! equality: PyPI `1.0` equals `1.0.0`, NuGet `1.0.0-BETA` equals `1.0.0-beta`.
//!
//! Every ecosystem lives in its own submodule, which turns a string into its
//! key or says why it cannot.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::Ecosystem;

mod conan;
mod cran;
mod digits;
mod go;
mod hackage;
mod maven;
mod nuget;
mod packagist;
mod pypi;
mod rubygems;
mod semver_rules;

pub use go::toolchain_version as go_toolchain_version;

/// The longest version string accepted, in bytes.
///
/// Real versions are far shorter (a Go pseudo-version is about 40 bytes); the
/// bound keeps the nested Maven key and every error message small, whatever
/// a lockfile or advisory feed sends.
pub const MAX_VERSION_LEN: usize = 256;

/// The longest excerpt of a bad input kept in a [`VersionError`].
const ERROR_EXCERPT_CHARS: usize = 80;

/// Why a string is not a version of its ecosystem.
type Reason = Cow<'static, str>;

/// A version of a package in one ecosystem, ordered as that ecosystem's own
/// tooling orders it.
///
/// Versions of different ecosystems are ordered by ecosystem first, so a
/// collection may mix them without breaking the total order.
#[derive(Clone)]
pub struct Version {
    ecosystem: Ecosystem,
    original: String,
    key: Key,
}

/// The normalised form a version is ordered, compared and hashed by.
///
/// One variant per family of rules. Within one ecosystem only one variant
/// occurs, except on PyPI where legacy versions must sort below every PEP 440
/// version: the derived order of the variants gives exactly that, which is
/// why `PyLegacy` is declared before `Pep440`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    /// SemVer 2.0 with build metadata removed, so the derived order of
    /// `semver::Version` is SemVer precedence.
    Semver(semver::Version),
    PyLegacy(pypi::LegacyKey),
    Pep440(pep440_rs::Version),
    Maven(maven::MavenKey),
    RubyGems(rubygems::GemKey),
    Packagist(packagist::ComposerKey),
    NuGet(nuget::NuGetKey),
    Conan(conan::ConanKey),
    /// R's `package_version` components.
    Cran(Vec<digits::Digits>),
    /// Cabal's version components.
    Hackage(Vec<u32>),
}

impl Version {
    /// Parses a version string of the given ecosystem.
    ///
    /// Returns an error for an empty or whitespace-only string, for a string
    /// longer than [`MAX_VERSION_LEN`] bytes, and for anything the
    /// ecosystem's rules reject. PyPI accepts every other string: what PEP 440
    /// rejects is kept as a legacy version that sorts below all PEP 440 ones.
    pub fn parse(ecosystem: Ecosystem, s: &str) -> Result<Version, VersionError> {
        if s.trim().is_empty() {
            return Err(VersionError::new(ecosystem, s, "empty version"));
        }
        if s.len() > MAX_VERSION_LEN {
            return Err(VersionError::new(ecosystem, s, "longer than 256 bytes"));
        }
        let key = match ecosystem {
            Ecosystem::CratesIo | Ecosystem::Pub | Ecosystem::Hex | Ecosystem::SwiftUrl => {
                semver_rules::parse_strict(s).map(Key::Semver)
            }
            Ecosystem::Npm => semver_rules::parse_npm(s).map(Key::Semver),
            Ecosystem::Go => go::parse(s).map(Key::Semver),
            Ecosystem::PyPI => Ok(pypi::parse(s)),
            Ecosystem::Maven => Ok(Key::Maven(maven::parse(s))),
            Ecosystem::RubyGems => rubygems::parse(s).map(Key::RubyGems),
            Ecosystem::Packagist => packagist::parse(s).map(Key::Packagist),
            Ecosystem::NuGet => nuget::parse(s).map(Key::NuGet),
            Ecosystem::ConanCenter => Ok(Key::Conan(conan::parse(s))),
            Ecosystem::Cran => cran::parse(s).map(Key::Cran),
            Ecosystem::Hackage => hackage::parse(s).map(Key::Hackage),
        }
        .map_err(|reason| VersionError::new(ecosystem, s, reason))?;
        Ok(Version {
            ecosystem,
            original: s.to_string(),
            key,
        })
    }

    /// Returns the ecosystem the version belongs to.
    pub fn ecosystem(&self) -> Ecosystem {
        self.ecosystem
    }

    /// Returns the string the version was parsed from, unchanged.
    pub fn as_str(&self) -> &str {
        &self.original
    }
}

/// Compares two version strings of one ecosystem.
///
/// Returns an error naming the first string that does not parse.
pub fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = Version::parse(ecosystem, a)?;
    let b = Version::parse(ecosystem, b)?;
    Ok(a.cmp(&b))
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.ecosystem
            .cmp(&other.ecosystem)
            .then_with(|| self.key.cmp(&other.key))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    // Hashes the key, not the original string: versions that order equal
    // (`1.0` and `1.0.0`) have equal keys, so they hash alike.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.ecosystem.hash(state);
        self.key.hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({} {:?})", self.ecosystem, self.original)
    }
}

/// The error of a string that is not a version of its ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {ecosystem} version {input:?}: {reason}")]
pub struct VersionError {
    ecosystem: Ecosystem,
    input: String,
    reason: Reason,
}

impl VersionError {
    fn new(ecosystem: Ecosystem, input: &str, reason: impl Into<Reason>) -> Self {
        // The input may be arbitrarily long; an excerpt identifies it in a
        // log line without flooding it.
        let input = match input.char_indices().nth(ERROR_EXCERPT_CHARS) {
            Some((cut, _)) => format!("{}…", input.get(..cut).unwrap_or_default()),
            None => input.to_string(),
        };
        VersionError {
            ecosystem,
            input,
            reason: reason.into(),
        }
    }

    /// Returns the ecosystem whose rules rejected the string.
    pub fn ecosystem(&self) -> Ecosystem {
        self.ecosystem
    }

    /// Returns the rejected string, shortened to its first 80 characters
    /// (followed by `…`) when longer.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Returns why the string was rejected.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Table helpers shared by the per-ecosystem unit tests.

    use std::hash::{DefaultHasher, Hash, Hasher};

    use super::Version;
    use crate::Ecosystem;

    fn parse(e: Ecosystem, s: &str) -> Version {
        match Version::parse(e, s) {
            Ok(v) => v,
            Err(err) => panic!("{e}: {s:?} should parse: {err}"),
        }
    }

    fn hash_of(v: &Version) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    /// Asserts that every version of the slice is lower than every later one.
    pub(crate) fn assert_ascending(e: Ecosystem, versions: &[&str]) {
        let parsed: Vec<Version> = versions.iter().map(|s| parse(e, s)).collect();
        for (i, a) in parsed.iter().enumerate() {
            for b in parsed.iter().skip(i + 1) {
                assert!(a < b, "{e}: expected {a} < {b}, got {:?}", a.cmp(b));
                assert!(b > a, "{e}: expected {b} > {a}");
            }
        }
    }

    /// Asserts that each pair is `a < b`.
    pub(crate) fn assert_lt(e: Ecosystem, pairs: &[(&str, &str)]) {
        for (a, b) in pairs {
            assert_ascending(e, &[a, b]);
        }
    }

    /// Asserts that each pair orders equal, is `==` and hashes alike.
    pub(crate) fn assert_eq_versions(e: Ecosystem, pairs: &[(&str, &str)]) {
        for (a, b) in pairs {
            let (va, vb) = (parse(e, a), parse(e, b));
            assert_eq!(va, vb, "{e}: expected {a} == {b}, got {:?}", va.cmp(&vb));
            assert_eq!(hash_of(&va), hash_of(&vb), "{e}: {a} and {b} hash differently");
        }
    }

    /// Asserts that each string is rejected.
    pub(crate) fn assert_invalid(e: Ecosystem, inputs: &[&str]) {
        for s in inputs {
            if let Ok(v) = Version::parse(e, s) {
                panic!("{e}: {s:?} should be rejected, parsed as {v:?}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_as_str_keep_the_original_string() {
        let v = Version::parse(Ecosystem::Npm, " v1.2.3 ").ok();
        assert_eq!(v.as_ref().map(Version::as_str), Some(" v1.2.3 "));
        assert_eq!(v.map(|v| v.to_string()), Some(" v1.2.3 ".to_string()));
    }

    #[test]
    fn versions_of_different_ecosystems_order_by_ecosystem_first() {
        let a = Version::parse(Ecosystem::CratesIo, "9.0.0");
        let b = Version::parse(Ecosystem::Npm, "1.0.0");
        assert!(matches!((a, b), (Ok(a), Ok(b)) if a < b && a != b));
    }

    #[test]
    fn empty_and_overlong_strings_are_rejected_everywhere() {
        let long = "1".repeat(MAX_VERSION_LEN + 1);
        for e in Ecosystem::ALL {
            for s in ["", "   ", "\n", long.as_str()] {
                assert!(Version::parse(e, s).is_err(), "{e}: {s:?}");
            }
        }
    }

    #[test]
    fn error_names_ecosystem_and_input_on_one_line() {
        let err = Version::parse(Ecosystem::Npm, "1.0.0.1\nx").err();
        let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
        assert!(msg.starts_with("invalid npm version \"1.0.0.1\\nx\": "), "{msg}");
        assert!(!msg.contains('\n'));
        assert_eq!(err.as_ref().map(VersionError::ecosystem), Some(Ecosystem::Npm));
        assert_eq!(err.as_ref().map(VersionError::input), Some("1.0.0.1\nx"));
    }

    #[test]
    fn error_keeps_only_an_excerpt_of_long_input() {
        let long = "x".repeat(MAX_VERSION_LEN + 10);
        let err = Version::parse(Ecosystem::Maven, &long).err();
        let input = err.as_ref().map(VersionError::input).unwrap_or_default();
        assert_eq!(input.chars().count(), ERROR_EXCERPT_CHARS + 1);
        assert!(input.ends_with('…'));
    }

    #[test]
    fn compare_parses_both_sides() {
        assert_eq!(compare(Ecosystem::PyPI, "1.0", "1.0.0"), Ok(Ordering::Equal));
        assert_eq!(compare(Ecosystem::Maven, "1.0-alpha-1", "1.0"), Ok(Ordering::Less));
        let err = compare(Ecosystem::CratesIo, "1.0.0", "nope");
        assert_eq!(err.map_err(|e| e.input().to_string()), Err("nope".to_string()));
    }

    #[test]
    fn debug_shows_ecosystem_and_string() {
        let v = Version::parse(Ecosystem::Go, "v1.2.3").ok();
        assert_eq!(format!("{v:?}"), "Some(Version(Go \"v1.2.3\"))");
    }
}
