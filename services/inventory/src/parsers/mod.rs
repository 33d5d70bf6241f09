//! One parser per lockfile or manifest format.
//!
//! Every parser has the same shape: [`ParseInput`] in, packages or a
//! [`ParseError`] out, and it never panics, whatever the bytes.

use crate::{FileType, Package, ParseError};
use std::path::Path;

mod bun;
mod cargo;
mod collect;
mod composer;
mod conan;
mod gemfile;
mod gomod;
mod gradle;
mod maven;
mod mix;
mod npm;
mod nuget;
mod pdm;
mod pipfile;
mod pnpm;
mod poetry;
mod pubspec;
mod requirements;
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
    /// The scanned tree: files a format includes are read only from inside it.
    pub scan_root: &'a Path,
}

/// Parses one file of a known kind. `FileType::Other` yields no packages.
pub fn parse(file_type: FileType, input: &ParseInput<'_>) -> Result<Vec<Package>, ParseError> {
    match file_type {
        FileType::GoMod => gomod::parse(input),
        FileType::MavenPom => maven::parse(input),
        FileType::GradleLock => gradle::parse(input),
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
        FileType::Other => Ok(Vec::new()),
    }
}
