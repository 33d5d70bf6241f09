//! Shared helpers: fixture loading, compact expectations and fuzz checks.

use std::path::{Path, PathBuf};
use zerotrace_inventory::parsers::{ParseInput, Parsed, parse};
use zerotrace_inventory::{FileType, Package, ParseError, Scope, Source};

/// One expected package: name, version, scope, source.
pub(crate) type Row = (&'static str, &'static str, Scope, Source);

pub(crate) fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

pub(crate) fn read_fixture(rel: &str) -> String {
    std::fs::read_to_string(fixture_path(rel)).unwrap_or_else(|e| panic!("reading fixture {rel}: {e}"))
}

/// Parses text as a file of `file_type`; returns packages and entry errors.
pub(crate) fn parse_full(file_type: FileType, contents: &str) -> Result<Parsed, ParseError> {
    let input = ParseInput::new(contents, Path::new("/nonexistent/lockfile"), "sub/dir/lockfile");
    parse(file_type, &input)
}

/// Parses text as a file of `file_type`; asserts that no entry failed.
pub(crate) fn parse_str(file_type: FileType, contents: &str) -> Result<Vec<Package>, ParseError> {
    parse_full(file_type, contents).map(|parsed| {
        assert_eq!(parsed.errors, Vec::<String>::new(), "unexpected entry errors");
        parsed.packages
    })
}

/// Parses a fixture with `root` (relative to the fixtures) as the scan
/// root; returns packages and entry errors.
pub(crate) fn parse_fixture_in(root: &str, rel: &str) -> Parsed {
    let path = fixture_path(rel);
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let contents = read_fixture(rel);
    let root = fixture_path(root);
    let input = ParseInput::new(&contents, &path, rel).with_root(&root);
    parse(FileType::detect(file_name), &input).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Parses a fixture; asserts the file type detection and the `path` of every package.
pub(crate) fn parse_fixture(rel: &str) -> Vec<Package> {
    let path = fixture_path(rel);
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let file_type = FileType::detect(file_name);
    assert_ne!(file_type, FileType::Other, "{rel} is not detected");
    let contents = read_fixture(rel);
    let input = ParseInput::new(&contents, &path, rel);
    let parsed = parse(file_type, &input).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(parsed.errors, Vec::<String>::new(), "{rel}");
    let packages = parsed.packages;
    for p in &packages {
        assert_eq!(p.path, rel);
    }
    packages
}

/// Asserts the exact package list, order aside, and that no package has a requirement.
pub(crate) fn assert_packages(packages: &[Package], expected: &[Row]) {
    let mut got: Vec<(String, String, Scope, Source)> = packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.scope, p.source))
        .collect();
    let mut want: Vec<(String, String, Scope, Source)> = expected
        .iter()
        .map(|(n, v, s, o)| ((*n).to_string(), (*v).to_string(), *s, *o))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(packages.len(), expected.len(), "duplicates in {packages:#?}");
}

/// Asserts that a parse either succeeds or fails with a one-line message.
pub(crate) fn check_no_panic(file_type: FileType, contents: &str) {
    match parse_full(file_type, contents) {
        Ok(parsed) => {
            for p in parsed.packages {
                assert_eq!(p.path, "sub/dir/lockfile");
            }
            for e in parsed.errors {
                assert!(!e.is_empty());
                assert!(!e.contains('\n'), "multi-line error: {e:?}");
            }
        }
        Err(e) => {
            assert!(!e.0.is_empty());
            assert!(!e.0.contains('\n'), "multi-line error: {:?}", e.0);
        }
    }
}

/// Cuts `contents` at a byte index (lossily, so the cut may split a character).
pub(crate) fn truncate(contents: &str, at: usize) -> String {
    let bytes = contents.as_bytes();
    String::from_utf8_lossy(bytes.get(..at.min(bytes.len())).unwrap_or_default()).into_owned()
}

/// Overwrites bytes of `contents` at the given positions (modulo its length).
pub(crate) fn mutate(contents: &str, edits: &[(usize, u8)]) -> String {
    let mut bytes = contents.as_bytes().to_vec();
    if bytes.is_empty() {
        return String::new();
    }
    let len = bytes.len();
    for &(at, b) in edits {
        if let Some(slot) = bytes.get_mut(at % len) {
            *slot = b;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Declares the three property tests of one parser: arbitrary text, text
/// made of the format's punctuation, and the fixtures truncated and mutated.
#[macro_export]
macro_rules! fuzz_parser {
    ($file_type:expr, $alphabet:expr, [$($fixture:expr),+ $(,)?]) => {
        mod fuzz {
            use super::super::common::{check_no_panic, mutate, read_fixture, truncate};
            use proptest::prelude::*;
            use zerotrace_inventory::FileType;

            const FILE_TYPE: FileType = $file_type;
            const FIXTURES: &[&str] = &[$($fixture),+];

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(256))]

                #[test]
                fn arbitrary_text(s in any::<String>()) {
                    check_no_panic(FILE_TYPE, &s);
                }

                #[test]
                fn format_like_text(s in $alphabet) {
                    check_no_panic(FILE_TYPE, &s);
                }

                #[test]
                fn truncated_fixtures(i in 0..FIXTURES.len(), at in any::<usize>()) {
                    let contents = read_fixture(FIXTURES[i]);
                    let at = at % (contents.len() + 1);
                    check_no_panic(FILE_TYPE, &truncate(&contents, at));
                }

                #[test]
                fn mutated_fixtures(i in 0..FIXTURES.len(), edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
                    let contents = read_fixture(FIXTURES[i]);
                    check_no_panic(FILE_TYPE, &mutate(&contents, &edits));
                }
            }
        }
    };
}

#[test]
fn a_byte_order_mark_changes_nothing() {
    for rel in [
        "gomod/service/go.mod",
        "maven/basic/pom.xml",
        "gradle/spring/gradle.lockfile",
        "gemfile/rails/Gemfile.lock",
        "composer/laravel/composer.lock",
        "nuget/central/packages.lock.json",
        "mix/phoenix/mix.lock",
        "pubspec/flutter/pubspec.lock",
        "conan/v0.5/conan.lock",
    ] {
        let file_type = FileType::detect(
            fixture_path(rel)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default(),
        );
        let contents = read_fixture(rel);
        let plain = parse_str(file_type, &contents).unwrap();
        let with_bom = parse_str(file_type, &format!("\u{feff}{contents}")).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(plain, with_bom, "{rel}");
        assert!(!plain.is_empty());
    }
}
