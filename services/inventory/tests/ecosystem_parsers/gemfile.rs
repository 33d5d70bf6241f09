use super::common::{assert_packages, parse_fixture, parse_str};
use zerotrace_inventory::{
    FileType,
    Scope::Unspecified as U,
    Source::{Git, Path, Registry as R},
};

#[test]
fn rails_app_with_git_path_and_platform_gems() {
    assert_packages(
        &parse_fixture("gemfile/rails/Gemfile.lock"),
        &[
            ("actionpack", "7.1.3.2", U, Git),
            ("actionview", "7.1.3.2", U, Git),
            ("activesupport", "7.1.3.2", U, Git),
            ("billing", "0.1.0", U, Path),
            ("builder", "3.2.4", U, R),
            ("concurrent-ruby", "1.2.3", U, R),
            ("ffi", "1.16.3", U, R),
            ("i18n", "1.14.4", U, R),
            ("nokogiri", "1.16.3", U, R),
            ("pg", "1.5.6", U, R),
            ("puma", "6.4.2", U, R),
            ("nio4r", "2.7.1", U, R),
            ("rack", "3.0.10", U, R),
            ("racc", "1.7.3", U, R),
            ("rspec-core", "3.13.0", U, R),
            ("rspec-support", "3.13.1", U, R),
            ("sqlite3", "1.7.3", U, R),
        ],
    );
}

#[test]
fn gems_locked_skips_plugin_sources() {
    assert_packages(
        &parse_fixture("gemfile/gems-locked/gems.locked"),
        &[
            ("rake", "13.1.0", U, R),
            ("thor", "1.3.1", U, R),
            ("zeitwerk", "2.6.13", U, R),
        ],
    );
}

#[test]
fn windows_line_endings() {
    let text =
        "GEM\r\n  remote: https://rubygems.org/\r\n  specs:\r\n    rack (2.2.8)\r\n\r\nBUNDLED WITH\r\n   2.4.1\r\n";
    assert_packages(
        &parse_str(FileType::GemfileLock, text).unwrap(),
        &[("rack", "2.2.8", U, R)],
    );
}

#[test]
fn malformed_files_are_errors() {
    assert_eq!(
        parse_str(FileType::GemfileLock, "GEM\n  specs:\n    rack 2.2.8\n")
            .unwrap_err()
            .0,
        "Gemfile.lock: line 3: expected `name (version)`, got \"rack 2.2.8\""
    );
    assert_eq!(
        parse_str(FileType::GemfileLock, "  specs:\n").unwrap_err().0,
        "Gemfile.lock: line 1: indented line before any section"
    );
    assert_eq!(
        parse_str(FileType::GemfileLock, "GEM\n  specs:\n    rack (2.2.8\n")
            .unwrap_err()
            .0,
        "Gemfile.lock: line 3: expected `name (version)`, got \"rack (2.2.8\""
    );
}

crate::fuzz_parser!(
    FileType::GemfileLock,
    "(GEM\n|GIT\n|PATH\n|  specs:\n|    |[a-z0-9.() -]|\n){0,60}",
    ["gemfile/rails/Gemfile.lock", "gemfile/gems-locked/gems.locked"]
);
