//! Fixture and robustness tests of the go.mod, Maven, Gradle (lockfile and
//! verification metadata), Bundler,
//! Composer, NuGet, mix, pub and Conan parsers, through the public dispatcher.

mod common;
mod composer;
mod conan;
mod gemfile;
mod gomod;
mod gradle;
mod gradle_verification;
mod maven;
mod mix;
mod nuget;
mod pubspec;
