//! `zerotrace scan`: the real binary against the RustSec and PyPA
//! snapshots in ../shared/data (skipped loudly when they are missing):
//! exact advisory ids, warnings apart from findings, cargo-audit semantics
//! for path/git packages, `--fail-on` exit codes and both output formats.

mod common;

use common::{CARGO_VULNERABILITIES, CARGO_WARNINGS, VULNERABLE_CARGO_LOCK, ids, shared_data, write, zerotrace};
use std::path::{Path, PathBuf};

/// `--db` arguments for the OSV zips of these ecosystems.
fn db_args(data: &Path, ecosystems: &[&str]) -> Vec<String> {
    ecosystems
        .iter()
        .flat_map(|e| {
            [
                "--db".to_string(),
                data.join("osv").join(e).join("all.zip").display().to_string(),
            ]
        })
        .collect()
}

/// Scans `root` against both OSV zips.
fn scan(root: &Path, data: &Path, extra: &[&str]) -> common::Run {
    scan_with(root, data, &["crates.io", "PyPI"], extra)
}

/// Scans `root` against the OSV zips of `ecosystems`.
fn scan_with(root: &Path, data: &Path, ecosystems: &[&str], extra: &[&str]) -> common::Run {
    let mut args = vec!["scan".to_string(), root.display().to_string()];
    args.extend(db_args(data, ecosystems));
    args.extend(extra.iter().map(|s| s.to_string()));
    zerotrace(&args)
}

fn cargo_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "Cargo.lock", VULNERABLE_CARGO_LOCK);
    dir
}

/// Cargo-only trees need only the RustSec zip (faster to load).
const RUST: &[&str] = &["crates.io"];

fn data(test: &str) -> Option<PathBuf> {
    shared_data(test)
}

#[test]
fn json_has_exact_ids_and_warnings_apart() {
    let Some(data) = data("json_has_exact_ids_and_warnings_apart") else {
        return;
    };
    let dir = cargo_tree();
    write(
        dir.path(),
        "py/requirements.txt",
        "jinja2==2.10\npyyaml==5.3\nrequests>=2.0\n",
    );
    let run = scan(dir.path(), &data, &["--format", "json"]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let json = run.json();

    let mut expected: Vec<String> = CARGO_VULNERABILITIES.iter().map(|s| s.to_string()).collect();
    expected.extend(
        ["PYSEC-2019-217", "PYSEC-2020-96", "PYSEC-2021-142", "PYSEC-2021-66"]
            .iter()
            .map(|s| s.to_string()),
    );
    expected.sort();
    assert_eq!(ids(&json["findings"]), expected);
    assert_eq!(ids(&json["warnings"]), CARGO_WARNINGS);
    assert_eq!(json["errors"], serde_json::json!([]));
    // Not matched, and saying so: the workspace's own crate, the git package
    // (a vulnerable hyper version from git is never matched), the path
    // package and the unpinned requirement.
    let unmatched: Vec<(String, String)> = json["unmatched"]
        .as_array()
        .expect("unmatched")
        .iter()
        .map(|u| {
            (
                u["package"]["name"].as_str().expect("name").to_string(),
                u["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect();
    let reason_of = |name: &str| {
        unmatched
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.as_str())
            .unwrap_or_else(|| panic!("{name} not unmatched: {unmatched:?}"))
    };
    assert!(reason_of("hyper").starts_with("git packages"), "{unmatched:?}");
    assert!(reason_of("requests").contains("unpinned"), "{unmatched:?}");
    // Registry packages with a version: atty, chrono, regex, 2 × smallvec, jinja2, pyyaml.
    assert_eq!(json["packages_scanned"], 7);

    let findings = json["findings"].as_array().expect("findings");
    let by_id = |id: &str| {
        findings
            .iter()
            .find(|f| f["vulnerability"]["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    let smallvec = by_id("RUSTSEC-2021-0003");
    assert_eq!(
        smallvec["package"],
        serde_json::json!({"ecosystem": "crates.io", "name": "smallvec", "version": "1.6.0", "path": "Cargo.lock", "scope": "unspecified"})
    );
    let v = &smallvec["vulnerability"];
    assert_eq!(v["severity"], "critical");
    assert_eq!(v["cvss_score"], 9.8);
    assert!(v["fixed_versions"].as_array().expect("fixed").contains(&"1.6.1".into()));
    assert!(
        v["aliases"]
            .as_array()
            .expect("aliases")
            .contains(&"CVE-2021-25900".into())
    );
    assert!(v["risk_score"].as_f64().is_some());
    assert_eq!(v["known_exploited"], false);
    assert!(v.get("informational").is_none());
    assert_eq!(by_id("RUSTSEC-2022-0013")["vulnerability"]["severity"], "high");
    assert_eq!(by_id("RUSTSEC-2020-0159")["vulnerability"]["severity"], "unknown");
    assert_eq!(by_id("PYSEC-2020-96")["package"]["path"], "py/requirements.txt");

    // No finding for the fixed smallvec, the git hyper or the path/workspace time.
    for f in findings {
        let p = &f["package"];
        assert_ne!(p["version"], "1.13.2");
        assert_ne!(p["name"], "hyper");
        assert_ne!(p["name"], "time");
    }
    let warnings = json["warnings"].as_array().expect("warnings");
    assert!(warnings.iter().all(|w| w["package"]["name"] == "atty"));
    let kinds: Vec<&str> = warnings
        .iter()
        .filter_map(|w| w["vulnerability"]["informational"].as_str())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(
        kinds.contains(&"unsound") && kinds.contains(&"unmaintained"),
        "{kinds:?}"
    );
}

#[test]
fn fail_on_levels() {
    let Some(data) = data("fail_on_levels") else { return };
    // The full tree has a critical finding.
    let full = cargo_tree();
    for (level, code) in [("low", 1), ("critical", 1), ("none", 0)] {
        let run = scan_with(full.path(), &data, RUST, &["--fail-on", level, "--format", "json"]);
        assert_eq!(run.code, code, "--fail-on {level}: {}", run.stderr);
    }
    // High (regex) and unknown (chrono) only.
    let high = tempfile::tempdir().expect("tempdir");
    write(
        high.path(),
        "Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"regex\"\nversion = \"1.5.4\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"chrono\"\nversion = \"0.4.19\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    );
    for (level, code) in [("low", 1), ("medium", 1), ("high", 1), ("critical", 0), ("none", 0)] {
        let run = scan_with(high.path(), &data, RUST, &["--fail-on", level]);
        assert_eq!(run.code, code, "--fail-on {level}: {}", run.stdout);
    }
    // Unknown severity only: fails at the default `low`, not at `medium`.
    let unknown = tempfile::tempdir().expect("tempdir");
    write(
        unknown.path(),
        "Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"chrono\"\nversion = \"0.4.19\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    );
    assert_eq!(scan_with(unknown.path(), &data, RUST, &[]).code, 1);
    assert_eq!(scan_with(unknown.path(), &data, RUST, &["--fail-on", "medium"]).code, 0);
    // Warnings alone never fail.
    let warn_only = tempfile::tempdir().expect("tempdir");
    write(
        warn_only.path(),
        "Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"atty\"\nversion = \"0.2.14\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    );
    let run = scan_with(warn_only.path(), &data, RUST, &["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json = run.json();
    assert_eq!(json["findings"], serde_json::json!([]));
    assert_eq!(ids(&json["warnings"]), CARGO_WARNINGS);
}

#[test]
fn table_groups_by_lockfile_with_fixed_versions() {
    let Some(data) = data("table_groups_by_lockfile_with_fixed_versions") else {
        return;
    };
    let dir = cargo_tree();
    write(dir.path(), "py/requirements.txt", "pyyaml==5.3\n");
    write(dir.path(), "broken/Pipfile.lock", "{ not json");
    let run = scan(dir.path(), &data, &[]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let out = &run.stdout;
    let cargo = out.find("Cargo.lock\n").expect("Cargo.lock group");
    let py = out.find("py/requirements.txt\n").expect("requirements group");
    assert!(cargo < py, "groups sorted by path:\n{out}");
    // Within a group: highest risk first.
    let critical = out.find("RUSTSEC-2021-0003").expect("smallvec");
    let high = out.find("RUSTSEC-2022-0013").expect("regex");
    let unknown = out.find("RUSTSEC-2020-0159").expect("chrono");
    assert!(critical < high && high < unknown, "{out}");
    let regex_line = out
        .lines()
        .find(|l| l.contains("RUSTSEC-2022-0013"))
        .expect("regex line");
    assert!(regex_line.contains("1.5.5"), "fixed version shown: {regex_line}");
    assert!(
        out.lines().any(|l| l.contains("PYSEC-2020-96") && l.contains("5.3.1")),
        "{out}"
    );
    let warnings = out.find("warnings").expect("warnings section");
    assert!(warnings > unknown, "warnings come after findings");
    let warning_lines: Vec<&str> = out[warnings..].lines().filter(|l| l.contains("RUSTSEC-")).collect();
    assert_eq!(warning_lines.len(), 2, "{out}");
    assert!(out.contains("errors:\n  broken/Pipfile.lock: "), "{out}");
    let summary = out.lines().last().expect("summary");
    assert!(
        summary.contains("5 vulnerabilities") && summary.contains("2 warnings"),
        "{summary}"
    );
    assert!(
        summary.contains("1 errors") && summary.contains("FAIL at --fail-on low"),
        "{summary}"
    );
}

#[test]
fn unparsable_versions_are_listed_as_unmatched() {
    let Some(data) = data("unparsable_versions_are_listed_as_unmatched") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"regex\"\nversion = \"one.five\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    );
    let run = scan_with(dir.path(), &data, RUST, &["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    let unmatched = json["unmatched"].as_array().expect("unmatched");
    assert_eq!(unmatched.len(), 1, "{json}");
    assert_eq!(unmatched[0]["package"]["name"], "regex");
    assert!(!unmatched[0]["reason"].as_str().expect("reason").is_empty());
    let table = scan_with(dir.path(), &data, RUST, &[]);
    assert!(table.stdout.contains("1 unmatched"), "{}", table.stdout);
    assert!(table.stdout.contains("regex one.five"), "{}", table.stdout);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let dir = cargo_tree();
    let missing = dir.path().join("missing");
    let run = zerotrace([
        "scan".as_ref(),
        missing.as_os_str(),
        "--db".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);

    let bad_db = dir.path().join("nope.zip");
    let run = zerotrace([
        "scan".as_ref(),
        dir.path().as_os_str(),
        "--db".as_ref(),
        bad_db.as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("nope.zip"), "{}", run.stderr);
    assert!(run.stdout.is_empty());

    // No --db and no persistent database: a hint, exit 2, nothing created.
    let data_dir = dir.path().join("data");
    let run = zerotrace([
        "scan".as_ref(),
        dir.path().as_os_str(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("zerotrace db import"), "{}", run.stderr);
    assert!(run.stderr.contains("--db"), "{}", run.stderr);
    assert!(!data_dir.exists());

    assert_eq!(zerotrace(["scan", ".", "--fail-on", "severe"]).code, 2);
}

#[test]
fn old_or_missing_advisory_data_is_said_and_never_an_all_clear() {
    let Some(data) = data("old_or_missing_advisory_data_is_said_and_never_an_all_clear") else {
        return;
    };
    let dir = cargo_tree();
    write(
        dir.path(),
        "web/package-lock.json",
        r#"{"name":"web","lockfileVersion":3,"packages":{"":{"name":"web"},
            "node_modules/lodash":{"version":"4.17.20","resolved":"https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz"}}}"#,
    );
    // The RustSec snapshot is months old; there is no npm data, no KEV, no EPSS.
    let run = scan_with(dir.path(), &data, RUST, &["--format", "json", "--fail-on", "none"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    let notices: Vec<&str> = json["advisory_data"]["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .map(|n| n.as_str().expect("text"))
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n.starts_with("osv:crates.io: data is ") && n.contains("(as of 2026-08-")),
        "{notices:?}"
    );
    assert!(
        notices.contains(&"kev: no data: risk scores lack known-exploited flags"),
        "{notices:?}"
    );
    assert!(
        notices.contains(&"epss: no data: risk scores lack exploit probabilities"),
        "{notices:?}"
    );
    let sources = &json["advisory_data"]["sources"];
    assert_eq!(sources[0]["name"], "osv:crates.io", "{sources}");
    assert!(sources[0]["age_seconds"].as_u64().expect("age") > 86_400, "{sources}");
    // npm packages were not checked: listed as unmatched with the reason, not passed.
    let lodash = json["unmatched"]
        .as_array()
        .expect("unmatched")
        .iter()
        .find(|u| u["package"]["name"] == "lodash")
        .expect("lodash is unmatched");
    assert_eq!(lodash["reason"], "no npm advisories in the database");

    // A large enough maximum age: the RustSec data passes, KEV and EPSS are still missing.
    let run = scan_with(
        dir.path(),
        &data,
        RUST,
        &["--format", "json", "--fail-on", "none", "--max-data-age", "3650d"],
    );
    let json = run.json();
    let notices = json["advisory_data"]["notices"].as_array().expect("notices");
    assert_eq!(notices.len(), 2, "{notices:?}");

    // The table says it too.
    let run = scan_with(dir.path(), &data, RUST, &["--fail-on", "none"]);
    assert!(run.stdout.contains("advisory data (generation"), "{}", run.stdout);
    assert!(
        run.stdout.contains("no npm advisories in the database"),
        "{}",
        run.stdout
    );
}
