use super::common::{assert_packages, parse_fixture, parse_str};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::{
    FileType,
    Scope::Unspecified as U,
    Source::{Git, Registry as R},
};

#[test]
fn phoenix_app_with_git_and_private_packages() {
    let packages = parse_fixture("mix/phoenix/mix.lock");
    assert_packages(
        &packages,
        &[
            ("bandit", "1.2.3", U, R),
            ("castore", "1.0.5", U, R),
            ("db_connection", "2.6.0", U, R),
            ("ecto", "3.11.1", U, R),
            ("esbuild", "0.8.1", U, R),
            ("heroicons", "", U, Git),
            ("jason", "1.4.1", U, R),
            ("phoenix", "1.7.11", U, R),
            ("phoenix_live_view", "0.20.14", U, R),
            ("plug", "1.15.3", U, R),
            ("postgrex", "0.17.5", U, R),
            ("acme_private_lib", "0.3.0", U, R),
            ("tailwind", "0.2.2", U, R),
            ("telemetry", "1.2.1", U, R),
        ],
    );
    assert!(packages.iter().all(|p| p.ecosystem == Ecosystem::Hex));
}

#[test]
fn older_short_tuples() {
    assert_packages(
        &parse_fixture("mix/legacy/mix.lock"),
        &[
            ("cowboy", "1.1.2", U, R),
            ("cowlib", "1.0.2", U, R),
            ("plug", "1.3.5", U, R),
            ("poison", "2.2.0", U, R),
            ("ranch", "1.3.2", U, R),
            ("timex", "", U, Git),
        ],
    );
}

#[test]
fn arrow_maps_and_empty_files() {
    let text = r#"%{"ex_doc" => {:hex, :ex_doc, "0.31.1", "8a2355ac42b1cc7b2379da9e40243f2670143721dd50748bf6c3b1184dae2089", [:mix], [], "hexpm", "aa2de3e2a5e7fd2b8e1b3d3d3c5e8f5a9f1e4e2b4c0b5d5b8a4e0e2c7f8a1b3c"}}"#;
    assert_packages(
        &parse_str(FileType::MixLock, text).unwrap(),
        &[("ex_doc", "0.31.1", U, R)],
    );
    assert!(parse_str(FileType::MixLock, "").unwrap().is_empty());
    assert!(parse_str(FileType::MixLock, "%{}\n").unwrap().is_empty());
}

#[test]
fn malformed_files_are_errors() {
    assert_eq!(
        parse_str(FileType::MixLock, "%{\"a\": {:hex, :a, \"1.0\"")
            .unwrap_err()
            .0,
        "mix.lock: unexpected end of file, expected `,` or `}`"
    );
    assert_eq!(
        parse_str(FileType::MixLock, "[1, 2]").unwrap_err().0,
        "mix.lock: the file is not a map literal"
    );
    assert_eq!(
        parse_str(FileType::MixLock, "%{\"a\": {:hex, :a}}").unwrap_err().0,
        "mix.lock: entry \"a\": expected {:hex, :name, \"version\", ...}"
    );
    assert!(parse_str(FileType::MixLock, "%{} %{}").is_err());
    assert!(parse_str(FileType::MixLock, &"{".repeat(100_000)).is_err());
}

crate::fuzz_parser!(
    FileType::MixLock,
    "(%\\{|\\{|\\}|\\[|\\]|:hex|:git|\"[a-z0-9.]{0,5}\"|\"|:|,|=>|[a-z0-9 ]|\n){0,60}",
    ["mix/phoenix/mix.lock", "mix/legacy/mix.lock"]
);
