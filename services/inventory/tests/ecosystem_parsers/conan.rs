use super::common::{assert_packages, parse_fixture, parse_str};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::{
    FileType,
    Scope::{Development as D, Unspecified as U},
    Source::Registry as R,
};

#[test]
fn conan1_graph_lock() {
    let packages = parse_fixture("conan/v0.4/conan.lock");
    assert_packages(
        &packages,
        &[
            ("openssl", "1.1.1k", U, R),
            ("boost", "1.76.0", U, R),
            ("zlib", "1.2.11", U, R),
            ("fmt", "8.0.1", U, R),
            ("cmake", "3.21.3", D, R),
        ],
    );
    assert!(packages.iter().all(|p| p.ecosystem == Ecosystem::ConanCenter));
}

#[test]
fn conan2_lockfile() {
    assert_packages(
        &parse_fixture("conan/v0.5/conan.lock"),
        &[
            ("zlib", "1.3.1", U, R),
            ("spdlog", "1.13.0", U, R),
            ("openssl", "3.2.1", U, R),
            ("fmt", "10.2.1", U, R),
            ("catch2", "3.5.3", U, R),
            ("protobuf", "3.21.12", D, R),
            ("cmake", "3.28.1", D, R),
            ("acme-conan-base", "0.2.0", D, R),
        ],
    );
}

#[test]
fn oldest_graph_locks_use_pref() {
    let text = r#"{"graph_lock": {"nodes": {"0": {"path": "conanfile.txt", "requires": ["1"]}, "1": {"pref": "zlib/1.2.11:d50a0d523d98c15bb147b18fa7d203887c38be8b#0a2bb3e3c9f4b6e1c9c5b1d5b0c6a0c1", "modified": false}}}, "version": "0.2"}"#;
    assert_packages(
        &parse_str(FileType::ConanLock, text).unwrap(),
        &[("zlib", "1.2.11", U, R)],
    );
}

#[test]
fn malformed_files_are_errors() {
    assert_eq!(
        parse_str(FileType::ConanLock, r#"{"version": "0.5", "requires": ["zlib"]}"#)
            .unwrap_err()
            .0,
        "conan.lock: malformed reference \"zlib\""
    );
    assert!(parse_str(FileType::ConanLock, r#"{"version": "0.5", "requires": ["#).is_err());
    assert!(parse_str(FileType::ConanLock, r#"{"graph_lock": {"nodes": {"1": {"ref": "/"}}}}"#).is_err());
    assert!(
        parse_str(FileType::ConanLock, r#"{"version": "0.5", "requires": []}"#)
            .unwrap()
            .is_empty()
    );
}

crate::fuzz_parser!(
    FileType::ConanLock,
    "(\\{|\\}|\\[|\\]|\"requires\"|\"build_requires\"|\"graph_lock\"|\"nodes\"|\"ref\"|\"[a-z0-9./#%@]{0,8}\"|:|,){0,40}",
    ["conan/v0.4/conan.lock", "conan/v0.5/conan.lock"]
);
