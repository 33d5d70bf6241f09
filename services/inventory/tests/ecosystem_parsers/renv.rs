use super::common::{assert_packages, parse_fixture_in, parse_full};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::{
    FileType,
    Scope::Unspecified as U,
    Source::{Git, Path, Registry as R},
};

#[test]
fn repositories_remotes_and_bioconductor() {
    let parsed = parse_fixture_in("renv", "renv/renv.lock");
    assert_packages(
        &parsed.packages,
        &[
            ("jsonlite", "1.8.7", U, R),
            ("Rcpp", "1.0.11", U, R),
            ("devpkg", "9f1c2d3e4b5a69788766554433221100aabbccdd", U, Git),
            ("inhouse", "", U, Path),
        ],
    );
    assert!(parsed.packages.iter().all(|p| p.ecosystem == Ecosystem::Cran));
    let devpkg = parsed.packages.iter().find(|p| p.name == "devpkg").unwrap();
    assert_eq!(devpkg.requirement.as_deref(), Some("api.github.com/acme/devpkg"));
    assert_eq!(
        parsed.errors,
        ["renv.lock: package Biobase: comes from Bioconductor, whose advisories are not matched"]
    );
}

#[test]
fn an_entry_without_a_version_is_an_error_and_garbage_is_refused() {
    let parsed = parse_full(
        FileType::RenvLock,
        r#"{"Packages": {"a": {"Package": "a", "Source": "Repository"}, "b": {"Version": "2.0"}}}"#,
    )
    .unwrap();
    assert_packages(&parsed.packages, &[("b", "2.0", U, R)]);
    assert_eq!(parsed.errors, ["renv.lock: package a: no Version"]);
    assert!(parse_full(FileType::RenvLock, "[1]").is_err());
    assert!(parse_full(FileType::RenvLock, r#"{"Packages": {"a": 1}}"#).is_err());
}

crate::fuzz_parser!(
    FileType::RenvLock,
    "(\\{|\\}|\\[|\\]|\"Packages\"|\"Package\"|\"Version\"|\"Source\"|\"GitHub\"|\"Bioconductor\"|\"RemoteSha\"|:|,|\"[a-z0-9.]{0,5}\"| ){0,60}",
    ["renv/renv.lock"]
);
