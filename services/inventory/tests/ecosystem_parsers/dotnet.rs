use super::common::{assert_packages, parse_fixture, parse_full};
use zerotrace_inventory::{
    FileType,
    Scope::Unspecified as U,
    Source::{Registry as R, Workspace as W},
};

#[test]
fn deps_json_packages_and_projects_without_the_sdk() {
    assert_packages(
        &parse_fixture("dotnet/WebApp.deps.json"),
        &[
            ("Newtonsoft.Json", "13.0.3", U, R),
            ("Serilog", "3.1.1", U, R),
            ("WebApp", "1.0.0", U, W),
            ("WebApp.Domain", "1.0.0", U, W),
        ],
    );
    let parsed = parse_full(
        FileType::DotnetDeps,
        r#"{"libraries": {"NoVersion": {"type": "package"}, "Ok/1.0": {"type": "package"}}}"#,
    )
    .unwrap();
    assert_packages(&parsed.packages, &[("Ok", "1.0", U, R)]);
    assert_eq!(
        parsed.errors,
        ["deps.json: library \"NoVersion\": expected Name/Version"]
    );
    assert!(parse_full(FileType::DotnetDeps, "[]").is_err());
}

#[test]
fn file_names_are_detected() {
    assert_eq!(FileType::detect("WebApp.deps.json"), FileType::DotnetDeps);
    assert_eq!(FileType::detect(".deps.json"), FileType::Other);
    assert_eq!(FileType::detect("packages.config"), FileType::NugetConfig);
    assert_eq!(FileType::detect("pylock.toml"), FileType::PyLock);
    assert_eq!(FileType::detect("pylock.dev.toml"), FileType::PyLock);
    assert_eq!(FileType::detect("pylock.a.b.toml"), FileType::Other);
    assert_eq!(FileType::detect("pylock..toml"), FileType::Other);
    assert_eq!(FileType::detect("Package.resolved"), FileType::SwiftResolved);
    assert_eq!(FileType::detect("renv.lock"), FileType::RenvLock);
    assert_eq!(FileType::detect("cabal.project.freeze"), FileType::CabalFreeze);
    assert_eq!(FileType::detect("stack.yaml.lock"), FileType::StackLock);
}

crate::fuzz_parser!(
    FileType::DotnetDeps,
    "(\\{|\\}|\"libraries\"|\"type\"|\"package\"|\"project\"|\"A/1\"|:|,|\"[a-z0-9./]{0,5}\"| ){0,60}",
    ["dotnet/WebApp.deps.json"]
);
