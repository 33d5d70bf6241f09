use super::common::{assert_packages, parse_fixture, parse_full};
use zerotrace_inventory::{
    FileType,
    Scope::Unspecified as U,
    Source::{Git, Path, Registry as R},
};

#[test]
fn index_vcs_directory_and_archive_packages() {
    let packages = parse_fixture("pylock/pylock.toml");
    assert_packages(
        &packages,
        &[
            ("Requests", "2.32.3", U, R),
            ("certifi", "2024.8.30", U, R),
            ("internal-sdk", "0b5c1e7d2f3a4b5c6d7e8f90a1b2c3d4e5f60718", U, Git),
            ("local_tools", "", U, Path),
            ("vendored", "", U, Path),
        ],
    );
    let requirement = |name: &str| {
        packages
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.requirement.clone())
    };
    assert_eq!(
        requirement("internal-sdk").as_deref(),
        Some("https://git.example.com/acme/internal-sdk.git")
    );
    assert_eq!(requirement("local_tools").as_deref(), Some("./tools"));
    assert_eq!(
        requirement("vendored").as_deref(),
        Some("https://downloads.example.com/vendored-0.3.0.tar.gz")
    );
}

#[test]
fn versions_and_lock_versions_are_checked() {
    let parsed = parse_full(
        FileType::PyLock,
        "lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\n[[packages]]\nname = \"b\"\nversion = \"1\"\n",
    )
    .unwrap();
    assert_packages(&parsed.packages, &[("b", "1", U, R)]);
    assert_eq!(parsed.errors, ["pylock.toml: package a: no version"]);
    assert_eq!(
        parse_full(FileType::PyLock, "lock-version = \"2.0\"\n").unwrap_err().0,
        "pylock.toml: unsupported lock-version 2.0"
    );
    assert_eq!(
        parse_full(FileType::PyLock, "").unwrap_err().0,
        "pylock.toml: no lock-version"
    );
}

crate::fuzz_parser!(
    FileType::PyLock,
    "(lock-version = \"1\\.0\"|\\[\\[packages\\]\\]|\\[packages\\.vcs\\]|name = |version = |commit-id = |\"[a-z0-9.]{0,5}\"|\n){0,40}",
    ["pylock/pylock.toml"]
);
