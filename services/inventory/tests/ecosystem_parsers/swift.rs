use super::common::{assert_packages, parse_fixture, parse_fixture_in, parse_full};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::{
    FileType,
    Scope::Unspecified as U,
    Source::{Git, Path, Registry as R},
};

#[test]
fn v1_tags_and_branches() {
    let packages = parse_fixture("swift/v1/Package.resolved");
    assert_packages(
        &packages,
        &[
            ("https://github.com/apple/swift-nio.git", "2.54.0", U, R),
            (
                "https://github.com/vapor/vapor.git",
                "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                U,
                Git,
            ),
        ],
    );
    assert!(packages.iter().all(|p| p.ecosystem == Ecosystem::SwiftUrl));
}

#[test]
fn v3_remote_local_and_registry_pins() {
    let parsed = parse_fixture_in("swift/v2", "swift/v2/Package.resolved");
    assert_packages(
        &parsed.packages,
        &[
            ("https://github.com/apple/swift-argument-parser", "1.3.1", U, R),
            ("git@github.com:apple/swift-log.git", "1.5.4", U, R),
            ("/Users/dev/src/shared-kit", "", U, Path),
        ],
    );
    assert_eq!(
        parsed.errors,
        ["Package.resolved: pin mona.linkedlist: packages from a Swift registry have no repository URL to match by"]
    );
    assert_eq!(
        parse_full(FileType::SwiftResolved, r#"{"version": 9, "pins": []}"#)
            .unwrap_err()
            .0,
        "Package.resolved: unsupported version 9"
    );
}

crate::fuzz_parser!(
    FileType::SwiftResolved,
    "(\\{|\\}|\\[|\\]|\"pins\"|\"version\"|\"location\"|\"state\"|\"kind\"|\"registry\"|1|2|3|:|,|\"[a-z0-9./]{0,5}\"| ){0,60}",
    ["swift/v1/Package.resolved", "swift/v2/Package.resolved"]
);
