//! The types every parser produces.

use serde::{Deserialize, Serialize};
use std::fmt;
use zerotrace_ecosystem::{Ecosystem, Source};

/// Why a package is in the tree, where the lockfile says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The file does not say.
    #[default]
    Unspecified,
    /// Needed at run time.
    Runtime,
    /// Needed only for development or tests.
    Development,
    /// An optional dependency (an extra, a feature, `optional: true`).
    Optional,
}

/// One package version found in a lockfile or manifest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    /// The ecosystem, serialised as its OSV name.
    #[serde(serialize_with = "serialize_ecosystem", deserialize_with = "deserialize_ecosystem")]
    pub ecosystem: Ecosystem,
    /// Name as the file spells it (Maven: `group:artifact`); matching
    /// compares it after [`Ecosystem::normalize_name`].
    pub name: String,
    /// Exact version; empty when the file does not pin one (see `requirement`).
    pub version: String,
    /// Path of the lockfile relative to the scan root, with `/` separators.
    pub path: String,
    /// Runtime, development or optional.
    pub scope: Scope,
    /// Registry, git, path or workspace.
    pub source: Source,
    /// The unpinned requirement (e.g. `>=2.0,<3`) when `version` is empty;
    /// for an npm-family package not from the registry, the URL or path it
    /// comes from (its `version` is then the git commit, or empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// Whether the project asks for the package itself (`true`) or gets it
    /// through other packages (`false`), for the lockfiles that record
    /// their dependency graph; `None` when the file cannot say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<bool>,
}

fn serialize_ecosystem<S: serde::Serializer>(e: &Ecosystem, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(e.osv_name())
}

fn deserialize_ecosystem<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Ecosystem, D::Error> {
    let name = String::deserialize(d)?;
    name.parse().map_err(serde::de::Error::custom)
}

/// A file that could not be read or parsed; the scan went on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileError {
    /// Path relative to the scan root, with `/` separators.
    pub path: String,
    /// What went wrong, one line.
    pub message: String,
}

/// Why a parser rejected a file. One line, meant for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// The kind of a walked file: a small closed set, used as the `file_type`
/// label of `zerotrace_files_scanned_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileType {
    /// `Cargo.lock`.
    CargoLock,
    /// `package-lock.json`, `npm-shrinkwrap.json`.
    NpmLock,
    /// `yarn.lock`.
    YarnLock,
    /// `pnpm-lock.yaml`.
    PnpmLock,
    /// `bun.lock`.
    BunLock,
    /// `requirements.txt` and `requirements*.txt`.
    PipRequirements,
    /// `poetry.lock`.
    PoetryLock,
    /// `Pipfile.lock`.
    PipfileLock,
    /// `pdm.lock`.
    PdmLock,
    /// `uv.lock`.
    UvLock,
    /// `go.mod`.
    GoMod,
    /// `pom.xml`.
    MavenPom,
    /// `gradle.lockfile`.
    GradleLock,
    /// Gradle's dependency verification file, `gradle/verification-metadata.xml`.
    GradleVerification,
    /// `Gemfile.lock`.
    GemfileLock,
    /// `composer.lock`.
    ComposerLock,
    /// NuGet `packages.lock.json`.
    NugetLock,
    /// `mix.lock`.
    MixLock,
    /// `pubspec.lock`.
    PubspecLock,
    /// `conan.lock`.
    ConanLock,
    /// `renv.lock`.
    RenvLock,
    /// `cabal.project.freeze`.
    CabalFreeze,
    /// `stack.yaml.lock`.
    StackLock,
    /// `*.deps.json`, .NET's dependency manifest.
    DotnetDeps,
    /// NuGet `packages.config`.
    NugetConfig,
    /// `pylock.toml`, `pylock.<name>.toml` (PEP 751).
    PyLock,
    /// Swift `Package.resolved`.
    SwiftResolved,
    /// CycloneDX JSON SBOM: `bom.json`, `*.cdx.json`.
    CycloneDxJson,
    /// CycloneDX XML SBOM: `bom.xml`, `*.cdx.xml`.
    CycloneDxXml,
    /// SPDX JSON SBOM: `*.spdx.json`.
    SpdxJson,
    /// SPDX tag-value SBOM: `*.spdx`.
    SpdxTagValue,
    /// An executable read for embedded dependency data (only with
    /// `WalkOptions::binaries`; never detected by name).
    Executable,
    /// Any other file.
    Other,
}

impl FileType {
    /// Every kind, for metrics whose `file_type` series exist from start-up.
    pub const ALL: [FileType; 33] = [
        FileType::CargoLock,
        FileType::NpmLock,
        FileType::YarnLock,
        FileType::PnpmLock,
        FileType::BunLock,
        FileType::PipRequirements,
        FileType::PoetryLock,
        FileType::PipfileLock,
        FileType::PdmLock,
        FileType::UvLock,
        FileType::GoMod,
        FileType::MavenPom,
        FileType::GradleLock,
        FileType::GradleVerification,
        FileType::GemfileLock,
        FileType::ComposerLock,
        FileType::NugetLock,
        FileType::MixLock,
        FileType::PubspecLock,
        FileType::ConanLock,
        FileType::RenvLock,
        FileType::CabalFreeze,
        FileType::StackLock,
        FileType::DotnetDeps,
        FileType::NugetConfig,
        FileType::PyLock,
        FileType::SwiftResolved,
        FileType::CycloneDxJson,
        FileType::CycloneDxXml,
        FileType::SpdxJson,
        FileType::SpdxTagValue,
        FileType::Executable,
        FileType::Other,
    ];

    /// Returns the metric label of the kind (`cargo-lock`, `npm-lock`, ...).
    pub fn label(self) -> &'static str {
        match self {
            FileType::CargoLock => "cargo-lock",
            FileType::NpmLock => "npm-lock",
            FileType::YarnLock => "yarn-lock",
            FileType::PnpmLock => "pnpm-lock",
            FileType::BunLock => "bun-lock",
            FileType::PipRequirements => "pip-requirements",
            FileType::PoetryLock => "poetry-lock",
            FileType::PipfileLock => "pipfile-lock",
            FileType::PdmLock => "pdm-lock",
            FileType::UvLock => "uv-lock",
            FileType::GoMod => "go-mod",
            FileType::MavenPom => "maven-pom",
            FileType::GradleLock => "gradle-lock",
            FileType::GradleVerification => "gradle-verification",
            FileType::GemfileLock => "gemfile-lock",
            FileType::ComposerLock => "composer-lock",
            FileType::NugetLock => "nuget-lock",
            FileType::MixLock => "mix-lock",
            FileType::PubspecLock => "pubspec-lock",
            FileType::ConanLock => "conan-lock",
            FileType::RenvLock => "renv-lock",
            FileType::CabalFreeze => "cabal-freeze",
            FileType::StackLock => "stack-lock",
            FileType::DotnetDeps => "dotnet-deps",
            FileType::NugetConfig => "nuget-packages-config",
            FileType::PyLock => "pylock",
            FileType::SwiftResolved => "swift-resolved",
            FileType::CycloneDxJson => "cyclonedx-json",
            FileType::CycloneDxXml => "cyclonedx-xml",
            FileType::SpdxJson => "spdx-json",
            FileType::SpdxTagValue => "spdx-tag-value",
            FileType::Executable => "executable",
            FileType::Other => "other",
        }
    }

    /// The project manifest beside a lockfile that its parser reads too:
    /// the lockfile records the packages and their dependencies, the
    /// manifest which of them the project asked for itself.
    pub fn manifest(self) -> Option<&'static str> {
        match self {
            FileType::YarnLock => Some("package.json"),
            FileType::PoetryLock => Some("pyproject.toml"),
            FileType::ComposerLock => Some("composer.json"),
            _ => None,
        }
    }

    /// Returns the kind of a file from its name alone (no content sniffing).
    pub fn detect(file_name: &str) -> FileType {
        match file_name {
            "Cargo.lock" => FileType::CargoLock,
            "package-lock.json" | "npm-shrinkwrap.json" => FileType::NpmLock,
            "yarn.lock" => FileType::YarnLock,
            "pnpm-lock.yaml" => FileType::PnpmLock,
            "bun.lock" => FileType::BunLock,
            "poetry.lock" => FileType::PoetryLock,
            "Pipfile.lock" => FileType::PipfileLock,
            "pdm.lock" => FileType::PdmLock,
            "uv.lock" => FileType::UvLock,
            "go.mod" => FileType::GoMod,
            "pom.xml" => FileType::MavenPom,
            "gradle.lockfile" => FileType::GradleLock,
            "verification-metadata.xml" => FileType::GradleVerification,
            "Gemfile.lock" | "gems.locked" => FileType::GemfileLock,
            "composer.lock" => FileType::ComposerLock,
            "packages.lock.json" => FileType::NugetLock,
            "mix.lock" => FileType::MixLock,
            "pubspec.lock" => FileType::PubspecLock,
            "conan.lock" => FileType::ConanLock,
            "renv.lock" => FileType::RenvLock,
            "cabal.project.freeze" => FileType::CabalFreeze,
            "stack.yaml.lock" => FileType::StackLock,
            name if name.ends_with(".deps.json") && name.len() > ".deps.json".len() => FileType::DotnetDeps,
            "packages.config" => FileType::NugetConfig,
            name if is_pylock_name(name) => FileType::PyLock,
            "Package.resolved" => FileType::SwiftResolved,
            name if name == "bom.json" || is_named(name, ".cdx.json") => FileType::CycloneDxJson,
            name if name == "bom.xml" || is_named(name, ".cdx.xml") => FileType::CycloneDxXml,
            name if is_named(name, ".spdx.json") => FileType::SpdxJson,
            name if is_named(name, ".spdx") => FileType::SpdxTagValue,
            name if is_requirements_name(name) => FileType::PipRequirements,
            _ => FileType::Other,
        }
    }

    /// Returns whether files of this kind are parsed as text for packages
    /// (executables are read as bytes, and only on request).
    pub fn is_lockfile(self) -> bool {
        !matches!(self, FileType::Other | FileType::Executable)
    }
}

/// Returns whether `name` is `<something>{suffix}`.
fn is_named(name: &str, suffix: &str) -> bool {
    name.len() > suffix.len() && name.ends_with(suffix)
}

/// `pylock.toml` and `pylock.<name>.toml` (PEP 751; the name has no dot).
fn is_pylock_name(name: &str) -> bool {
    name == "pylock.toml"
        || name
            .strip_prefix("pylock.")
            .and_then(|rest| rest.strip_suffix(".toml"))
            .is_some_and(|middle| !middle.is_empty() && !middle.contains('.'))
}

/// `requirements.txt`, `requirements-dev.txt`, `dev-requirements.txt`, `requirements/base.txt` style names.
fn is_requirements_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".txt") else {
        return false;
    };
    stem == "requirements"
        || stem.starts_with("requirements-")
        || stem.starts_with("requirements_")
        || stem.ends_with("-requirements")
        || stem.ends_with("_requirements")
}

/// Serialises as the metric label, so a `BTreeMap<FileType, u64>` becomes a
/// JSON object keyed by label.
impl Serialize for FileType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl Package {
    /// Returns the package URL (purl) of a registry package with a version.
    ///
    /// `pkg:cargo/serde@1.0.0`, `pkg:npm/%40babel/core@7.0.0`,
    /// `pkg:maven/org.slf4j/slf4j-api@2.0.9`, `pkg:golang/golang.org/x/net@v0.1.0`.
    pub fn purl(&self) -> Option<String> {
        if self.version.is_empty() || self.source != Source::Registry {
            return None;
        }
        let name = match self.ecosystem {
            Ecosystem::Maven => self.name.replacen(':', "/", 1),
            _ => self.name.clone(),
        };
        Some(format!(
            "pkg:{}/{}@{}",
            self.ecosystem.purl_type(),
            purl_encode(&name),
            purl_encode(&self.version)
        ))
    }
}

/// Percent-encodes what a purl path or version must not carry literally.
fn purl_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' | '~' | '/' | '+' => out.push(c),
            other => {
                let mut buf = [0u8; 4];
                for b in other.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod purl_tests {
    use super::*;

    fn package(ecosystem: Ecosystem, name: &str, version: &str) -> Package {
        Package {
            ecosystem,
            name: name.into(),
            version: version.into(),
            path: "x".into(),
            scope: Scope::Unspecified,
            source: Source::Registry,
            requirement: None,
            direct: None,
        }
    }

    #[test]
    fn purls_follow_the_spec_shapes() {
        assert_eq!(
            package(Ecosystem::CratesIo, "serde", "1.0.0").purl().as_deref(),
            Some("pkg:cargo/serde@1.0.0")
        );
        assert_eq!(
            package(Ecosystem::Npm, "@babel/core", "7.0.0").purl().as_deref(),
            Some("pkg:npm/%40babel/core@7.0.0")
        );
        assert_eq!(
            package(Ecosystem::Maven, "org.slf4j:slf4j-api", "2.0.9")
                .purl()
                .as_deref(),
            Some("pkg:maven/org.slf4j/slf4j-api@2.0.9")
        );
        assert_eq!(package(Ecosystem::PyPI, "django", "").purl(), None);
    }
}

#[cfg(test)]
mod tests {
    use super::FileType;

    #[test]
    fn every_file_type_is_listed_once() {
        // Exhaustive: a new kind does not compile here until it is given a
        // number, and the count below then asks for it in `FileType::ALL`.
        let number = |t: FileType| match t {
            FileType::CargoLock => 0,
            FileType::NpmLock => 1,
            FileType::YarnLock => 2,
            FileType::PnpmLock => 3,
            FileType::BunLock => 4,
            FileType::PipRequirements => 5,
            FileType::PoetryLock => 6,
            FileType::PipfileLock => 7,
            FileType::PdmLock => 8,
            FileType::UvLock => 9,
            FileType::GoMod => 10,
            FileType::MavenPom => 11,
            FileType::GradleLock => 12,
            FileType::GemfileLock => 13,
            FileType::ComposerLock => 14,
            FileType::NugetLock => 15,
            FileType::MixLock => 16,
            FileType::PubspecLock => 17,
            FileType::ConanLock => 18,
            FileType::Other => 19,
            FileType::GradleVerification => 20,
            FileType::RenvLock => 21,
            FileType::CabalFreeze => 22,
            FileType::StackLock => 23,
            FileType::DotnetDeps => 24,
            FileType::NugetConfig => 25,
            FileType::PyLock => 26,
            FileType::SwiftResolved => 27,
            FileType::CycloneDxJson => 28,
            FileType::CycloneDxXml => 29,
            FileType::SpdxJson => 30,
            FileType::SpdxTagValue => 31,
            FileType::Executable => 32,
        };
        let mut seen: Vec<usize> = FileType::ALL.iter().map(|t| number(*t)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..=32).collect::<Vec<_>>());
        let mut labels: Vec<&str> = FileType::ALL.iter().map(|t| t.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), FileType::ALL.len());
    }
}
