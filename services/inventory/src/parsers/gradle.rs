//! `gradle.lockfile`: Gradle's dependency locking state, one line per module:
//! `group:artifact:version=configuration,configuration`, plus
//! `empty=configuration,...` and `#` comments.
//!
//! A module is Development when every configuration that locks it is a test
//! one (`testCompileClasspath`, `testFixturesRuntimeClasspath`,
//! `integrationTestRuntimeClasspath`, `debugUnitTestRuntimeClasspath`,
//! `androidTestCompileClasspath`, ...: the name starts with `test` or has a
//! `Test` word in it), Runtime otherwise. Lines of the pre-6.0 per-configuration
//! lockfiles, `group:artifact:version` without `=`, are read too, with
//! [`Scope::Unspecified`]. A malformed line is an error for that line; the
//! lines after it are still read.

use super::collect::{Collector, error, text};
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "gradle.lockfile";

/// Parses a `gradle.lockfile`.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut out = Collector::new(Ecosystem::Maven, input.rel_path);
    for (i, line) in text(input).lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (coordinates, configurations) = match line.split_once('=') {
            Some((c, configs)) => (c.trim(), Some(configs)),
            None => (line, None),
        };
        if coordinates == "empty" {
            continue;
        }
        let parts: Vec<&str> = coordinates.split(':').map(str::trim).collect();
        let [group, artifact, version] = parts.as_slice() else {
            out.entry_error(error(
                FORMAT,
                format!("line {}: expected group:artifact:version, got {coordinates:?}", i + 1),
            ));
            continue;
        };
        if group.is_empty() || artifact.is_empty() || version.is_empty() {
            out.entry_error(error(FORMAT, format!("line {}: empty part in {coordinates:?}", i + 1)));
            continue;
        }
        let scope = match configurations {
            None => Scope::Unspecified,
            Some(configs) => {
                let mut configs = configs.split(',').map(str::trim).filter(|c| !c.is_empty()).peekable();
                if configs.peek().is_none() {
                    Scope::Unspecified
                } else if configs.all(is_test_configuration) {
                    Scope::Development
                } else {
                    Scope::Runtime
                }
            }
        };
        out.add(&format!("{group}:{artifact}"), version, scope, Source::Registry);
    }
    Ok(out.finish())
}

/// Returns whether a configuration only serves tests: its name starts with
/// `test` or contains the camel-case word `Test`.
fn is_test_configuration(name: &str) -> bool {
    if name.starts_with("test") {
        return true;
    }
    name.match_indices("Test").any(|(i, _)| {
        // `Test` must start a camel-case word: not `...Testify...` in a
        // lowercase run, but followed by an uppercase letter or the end.
        let after = name.get(i + 4..).and_then(|s| s.chars().next());
        after.is_none_or(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_configurations() {
        for name in [
            "testCompileClasspath",
            "testRuntimeClasspath",
            "testFixturesRuntimeClasspath",
            "integrationTestRuntimeClasspath",
            "debugUnitTestRuntimeClasspath",
            "debugAndroidTestCompileClasspath",
            "testAnnotationProcessor",
        ] {
            assert!(is_test_configuration(name), "{name}");
        }
        for name in [
            "compileClasspath",
            "runtimeClasspath",
            "annotationProcessor",
            "kapt",
            "releaseRuntimeClasspath",
            "contestRuntimeClasspath",
            "jmhRuntimeClasspath",
            "attestationCompileClasspath",
            "apiTestifyClasspath",
        ] {
            assert!(!is_test_configuration(name), "{name}");
        }
    }
}
