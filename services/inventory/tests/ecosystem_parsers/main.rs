//! Fixture and robustness tests of the go.mod, Maven, Gradle (lockfile and
//! verification metadata), Bundler,
//! Composer, NuGet (lockfile, packages.config, deps.json), mix, pub, Conan,
//! renv, Cabal freeze, Stack lock, pylock and Package.resolved parsers, and
//! of CycloneDX and SPDX SBOMs,
//! through the public dispatcher.

mod common;
mod composer;
mod conan;
mod dotnet;
mod gemfile;
mod gomod;
mod gradle;
mod gradle_verification;
mod hackage;
mod maven;
mod mix;
mod nuget;
mod nuget_config;
mod pubspec;
mod pylock;
mod renv;
mod sbom;
mod spdx_tag_value;
mod stack;
mod swift;
