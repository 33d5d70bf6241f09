use super::common::{assert_packages, parse_fixture, parse_str};
use zerotrace_inventory::{
    FileType,
    Scope::Unspecified as U,
    Source::{Registry as R, Workspace as W},
};

#[test]
fn frameworks_and_runtimes_are_merged() {
    assert_packages(
        &parse_fixture("nuget/multi-target/packages.lock.json"),
        &[
            ("Microsoft.Extensions.DependencyInjection", "6.0.0", U, R),
            ("Microsoft.Extensions.Logging", "6.0.0", U, R),
            ("Microsoft.Extensions.Logging", "8.0.0", U, R),
            ("Microsoft.Extensions.Logging.Abstractions", "6.0.0", U, R),
            ("Newtonsoft.Json", "13.0.3", U, R),
            ("System.Text.Encodings.Web", "6.0.0", U, R),
            ("acme.core", "", U, W),
        ],
    );
}

#[test]
fn central_package_management() {
    assert_packages(
        &parse_fixture("nuget/central/packages.lock.json"),
        &[
            ("Azure.Core", "1.36.0", U, R),
            ("Azure.Identity", "1.10.4", U, R),
            ("Contoso.Domain", "", U, W),
            ("Microsoft.Identity.Client", "4.60.3", U, R),
            ("xunit", "2.6.6", U, R),
        ],
    );
}

#[test]
fn malformed_files_are_errors() {
    assert!(
        parse_str(
            FileType::NugetLock,
            "{\"version\": 1, \"dependencies\": {\"net8.0\": {\"A\": "
        )
        .is_err()
    );
    assert!(parse_str(FileType::NugetLock, r#"{"dependencies": {"net8.0": []}}"#).is_err());
    assert!(
        parse_str(FileType::NugetLock, r#"{"version": 1, "dependencies": {}}"#)
            .unwrap()
            .is_empty()
    );
    let unresolved = parse_str(
        FileType::NugetLock,
        r#"{"dependencies": {"net8.0": {"A": {"type": "Direct", "requested": "[1.0.0, )"}}}}"#,
    )
    .unwrap();
    assert_eq!(unresolved[0].requirement.as_deref(), Some("[1.0.0, )"));
    assert_eq!(unresolved[0].version, "");
}

crate::fuzz_parser!(
    FileType::NugetLock,
    "(\\{|\\}|\\[|\\]|\"dependencies\"|\"net8.0\"|\"type\"|\"resolved\"|\"Project\"|:|,|\"[A-Za-z0-9.]{0,6}\"){0,40}",
    [
        "nuget/multi-target/packages.lock.json",
        "nuget/central/packages.lock.json"
    ]
);
