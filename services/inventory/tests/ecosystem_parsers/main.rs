//! Fixture and robustness tests of the go.mod, Maven, Gradle, Bundler,
//! Composer, NuGet, mix, pub and Conan parsers, through the public dispatcher.

mod common;
mod composer;
mod conan;
mod gemfile;
mod gomod;
mod gradle;
mod maven;
mod mix;
mod nuget;
mod pubspec;
