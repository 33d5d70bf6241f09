//! One parser per lockfile or manifest format.
//!
//! Every parser has the same shape: [`ParseInput`] in, [`Parsed`] (packages,
//! and the entries that could not be read) or a [`ParseError`] for the whole
//! file out, and it never panics, whatever the bytes.

use crate::{FileType, Package, ParseError};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub mod binary;
mod bun;
mod cabal_freeze;
mod cargo;
mod collect;
mod composer;
mod conan;
mod cyclonedx;
mod dotnet_deps;
mod gemfile;
mod gomod;
mod gradle;
mod gradle_verification;
mod jsorigin;
mod maven;
mod mix;
mod npm;
mod nuget;
mod nuget_config;
mod pdm;
mod pipfile;
mod pnpm;
mod poetry;
mod pubspec;
mod purl;
mod pylock;
mod renv;
mod requirements;
mod spdx;
mod stack_lock;
mod swift_resolved;
mod textutil;
mod uv;
mod yarn;

/// What a parser gets.
#[derive(Debug, Clone, Copy)]
pub struct ParseInput<'a> {
    /// The file's text.
    pub contents: &'a str,
    /// The file on disk, for formats that include other files (`-r` in requirements).
    pub fs_path: &'a Path,
    /// The path to put in [`Package::path`]: relative to the scan root, `/` separators.
    pub rel_path: &'a str,
    /// The scan root. Files a format refers to by relative path (a parent
    /// POM) are read only when they lie inside it.
    pub root: &'a Path,
    /// The largest such referred file read, in bytes.
    pub max_file_size: u64,
    /// The text of the project manifest beside the file, for the formats
    /// that have one ([`FileType::manifest`]), when it could be read.
    pub manifest: Option<&'a str>,
}

impl<'a> ParseInput<'a> {
    /// Returns the input of a file whose scan root is its own directory,
    /// with a 64 MiB limit on referred files.
    pub fn new(contents: &'a str, fs_path: &'a Path, rel_path: &'a str) -> Self {
        ParseInput {
            contents,
            fs_path,
            rel_path,
            root: fs_path.parent().unwrap_or(Path::new("")),
            max_file_size: 64 * 1024 * 1024,
            manifest: None,
        }
    }

    /// Returns the input with the project manifest's text.
    pub fn with_manifest(self, manifest: &'a str) -> Self {
        ParseInput {
            manifest: Some(manifest),
            ..self
        }
    }

    /// Returns the input with another scan root.
    pub fn with_root(self, root: &'a Path) -> Self {
        ParseInput { root, ..self }
    }
}

/// What a parser found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    /// The packages, in the order the file has them (repeats merged).
    pub packages: Vec<Package>,
    /// Entries of the file that could not be reported, one line each (a
    /// malformed line, a version that cannot be resolved); the rest of the
    /// file was read. At most about a hundred per file.
    pub errors: Vec<String>,
    /// Which package depends on which, for the formats that record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<crate::DependencyGraph>,
}

impl From<Vec<Package>> for Parsed {
    fn from(packages: Vec<Package>) -> Self {
        Parsed {
            packages,
            errors: Vec::new(),
            graph: None,
        }
    }
}

/// Parses one file of a known kind. `FileType::Other` yields no packages.
pub fn parse(file_type: FileType, input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    match file_type {
        FileType::GoMod => gomod::parse(input),
        FileType::MavenPom => maven::parse(input),
        FileType::GradleLock => gradle::parse(input),
        FileType::GradleVerification => gradle_verification::parse(input),
        FileType::GemfileLock => gemfile::parse(input),
        FileType::ComposerLock => composer::parse(input),
        FileType::NugetLock => nuget::parse(input),
        FileType::MixLock => mix::parse(input),
        FileType::PubspecLock => pubspec::parse(input),
        FileType::ConanLock => conan::parse(input),
        FileType::CargoLock => cargo::parse(input),
        FileType::NpmLock => npm::parse(input),
        FileType::YarnLock => yarn::parse(input),
        FileType::PnpmLock => pnpm::parse(input),
        FileType::BunLock => bun::parse(input),
        FileType::PipRequirements => requirements::parse(input),
        FileType::PoetryLock => poetry::parse(input),
        FileType::PipfileLock => pipfile::parse(input),
        FileType::PdmLock => pdm::parse(input),
        FileType::UvLock => uv::parse(input),
        FileType::RenvLock => renv::parse(input),
        FileType::CabalFreeze => cabal_freeze::parse(input),
        FileType::StackLock => stack_lock::parse(input),
        FileType::DotnetDeps => dotnet_deps::parse(input),
        FileType::NugetConfig => nuget_config::parse(input),
        FileType::PyLock => pylock::parse(input),
        FileType::SwiftResolved => swift_resolved::parse(input),
        FileType::CycloneDxJson => cyclonedx::parse_json(input),
        FileType::CycloneDxXml => cyclonedx::parse_xml(input),
        FileType::SpdxJson => spdx::parse_json(input),
        FileType::SpdxTagValue => spdx::parse_tag_value(input),
        // Executables are bytes, not text: `binary::parse` reads them.
        FileType::Executable => Err(ParseError("executable: not a text format".to_string())),
        FileType::Other => Ok(Parsed::default()),
    }
}
