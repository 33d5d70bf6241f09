use super::common::{assert_packages, parse_fixture_in, parse_full};
use zerotrace_inventory::{
    FileType,
    Scope::Unspecified as U,
    Source::{Git, Registry as R},
};

#[test]
fn stack_lock_extra_deps_and_the_snapshot_it_does_not_list() {
    let parsed = parse_fixture_in("stack", "stack/stack.yaml.lock");
    assert_packages(
        &parsed.packages,
        &[
            ("acme-missiles", "0.3", U, R),
            ("servant-server", "0.20.2", U, R),
            ("haskell-fork", "4b825dc642cb6eb9a060e54bf8d69288fbee4904", U, Git),
        ],
    );
    assert_eq!(
        parsed.errors,
        ["stack.yaml.lock: snapshot lts-21.25: its packages are not listed in this file and are not reported"]
    );
    let bad = parse_full(
        FileType::StackLock,
        "packages:\n- completed:\n    hackage: no-version-here\n",
    )
    .unwrap();
    assert!(bad.packages.is_empty());
    assert_eq!(
        bad.errors,
        ["stack.yaml.lock: package 1: expected name-version in \"no-version-here\""]
    );
    assert!(parse_full(FileType::StackLock, "packages: [").is_err());
}

crate::fuzz_parser!(
    FileType::StackLock,
    "(packages:|snapshots:|- completed:|hackage: |git: |name: |commit: |original: |\n|  |[a-z0-9.@-]){0,60}",
    ["stack/stack.yaml.lock"]
);
