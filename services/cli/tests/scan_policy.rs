//! What a repository tells `zerotrace scan` in its `zerotrace.toml` and with
//! `--baseline`: ignores that suppress a finding with a reason until a date
//! (then expire), unused ignores, settings the flags override, one-line
//! errors for a bad file, and a baseline that fails only on new findings.
//! Advisories are authored here (no shared data needed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Run, write, zerotrace_with_env};
use std::path::Path;

fn advisory(id: &str, alias: &str, name: &str, severity: &str) -> String {
    common::crate_advisory(id, Some(alias), name, severity)
}

fn lockfile(names: &[&str]) -> String {
    common::cargo_lock_of(names)
}

/// A repository (with `.git`) holding a lockfile of `names`, and the advisories.
fn repo(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    write(
        &osv,
        "A-1.json",
        &advisory("A-1", "CVE-2026-1001", "alpha-crate", "HIGH"),
    );
    write(
        &osv,
        "B-1.json",
        &advisory("B-1", "CVE-2026-1002", "beta-crate", "CRITICAL"),
    );
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    write(&repo, "app/Cargo.lock", &lockfile(names));
    dir
}

fn scan(dir: &Path, extra: &[&str], today: &str) -> Run {
    let mut args = vec![
        "scan".to_string(),
        dir.join("repo").join("app").display().to_string(),
        "--db".to_string(),
        dir.join("osv").display().to_string(),
        "--max-data-age".to_string(),
        "3650d".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    zerotrace_with_env(&args, &[("ZEROTRACE_TODAY", today)])
}

const IGNORE_A: &str = r#"
[[ignore]]
id = "CVE-2026-1001"
reason = "alpha-crate's broken function is never called"
until = "2026-12-31"
package = "alpha-crate"
version = "<2"
"#;

#[test]
fn an_ignore_suppresses_its_finding_with_the_reason_until_it_expires() {
    let dir = repo(&["alpha-crate"]);
    // Found at the repository root, above the scanned directory.
    write(&dir.path().join("repo"), "zerotrace.toml", IGNORE_A);

    let run = scan(dir.path(), &["--format", "json"], "2026-12-31");
    assert_eq!(
        run.code, 0,
        "the only finding is accepted: {}{}",
        run.stdout, run.stderr
    );
    let report = run.json();
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    let suppressed = &report["suppressed"][0];
    assert_eq!(suppressed["vulnerability"]["id"], "A-1");
    assert_eq!(
        suppressed["suppression"]["reason"],
        "alpha-crate's broken function is never called"
    );
    assert_eq!(suppressed["suppression"]["until"], "2026-12-31");
    assert!(
        suppressed["suppression"]["source"]
            .as_str()
            .unwrap()
            .ends_with("zerotrace.toml:2")
    );

    let table = scan(dir.path(), &[], "2026-12-31");
    assert_eq!(table.code, 0);
    assert!(table.stdout.contains("1 suppressed by ignores"), "{}", table.stdout);
    assert!(
        !table.stdout.contains("never called"),
        "the reason shows with --show-suppressed only"
    );
    let shown = scan(dir.path(), &["--show-suppressed"], "2026-12-31");
    assert!(shown.stdout.contains("suppressed by ignores") && shown.stdout.contains("never called"));

    // The day after, the ignore applies no more, and the scan says so.
    let expired = scan(dir.path(), &["--format", "json"], "2027-01-01");
    assert_eq!(expired.code, 1);
    assert!(
        expired.stderr.contains("expired after 2026-12-31"),
        "{}",
        expired.stderr
    );
    let report = expired.json();
    assert_eq!(report["findings"][0]["vulnerability"]["id"], "A-1");
    assert_eq!(report["ignores"]["expired"][0]["id"], "CVE-2026-1001");

    // --no-config reads no file.
    assert_eq!(scan(dir.path(), &["--no-config"], "2026-12-31").code, 1);
}

#[test]
fn an_ignore_out_of_scope_or_matching_nothing_is_reported_unused() {
    let dir = repo(&["alpha-crate"]);
    let config = format!(
        "{}\n[[ignore]]\nid = \"B-1\"\nreason = \"not ours\"\n",
        IGNORE_A.replace("version = \"<2\"", "version = \">=1.5\"")
    );
    write(&dir.path().join("repo"), "zerotrace.toml", &config);
    let run = scan(dir.path(), &["--format", "json"], "2026-06-01");
    assert_eq!(run.code, 1, "1.0.0 is outside >=1.5: the finding counts");
    let report = run.json();
    let unused: Vec<&str> = report["ignores"]["unused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(unused, ["CVE-2026-1001", "B-1"]);
    assert!(run.stderr.contains("matched no finding"), "{}", run.stderr);
}

#[test]
fn the_file_sets_what_flags_set_and_flags_win() {
    let dir = repo(&["alpha-crate"]);
    let app = dir.path().join("repo").join("app");
    write(&app, "zerotrace.toml", "fail-on = \"critical\"\nformat = \"json\"\n");
    let run = scan(dir.path(), &[], "2026-06-01");
    assert_eq!(run.code, 0, "a high finding passes at critical");
    assert_eq!(run.json()["fail_on"], "critical", "and the format is the file's");
    let flagged = scan(dir.path(), &["--fail-on", "high", "--format", "table"], "2026-06-01");
    assert_eq!(flagged.code, 1);
    assert!(flagged.stdout.contains("FAIL at --fail-on high"), "{}", flagged.stdout);
    // --config names another file.
    let other = dir.path().join("strict.toml");
    std::fs::write(&other, "fail-on = \"low\"\n").unwrap();
    let strict = scan(dir.path(), &["--config", other.to_str().unwrap()], "2026-06-01");
    assert_eq!(strict.code, 1);
}

#[test]
fn a_bad_file_is_one_line_naming_the_file_line_and_key_with_exit_2() {
    let dir = repo(&["alpha-crate"]);
    let app = dir.path().join("repo").join("app");
    for (text, line, key) in [
        ("fail-on = \"high\"\nfail_on = \"low\"\n", 2, "fail_on"),
        ("\nfail-on = \"hihg\"\n", 2, "hihg"),
        (
            "[[ignore]]\nid = \"A-1\"\nreason = \"r\"\nuntil = \"soon\"\n",
            4,
            "ignore.until",
        ),
        ("[[ignore]]\nid = \"A-1\"\n", 1, "reason"),
    ] {
        write(&app, "zerotrace.toml", text);
        let run = scan(dir.path(), &[], "2026-06-01");
        assert_eq!(run.code, 2, "{text}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!("zerotrace.toml:{line}:")) && run.stderr.contains(key),
            "{text}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_baseline_fails_only_on_new_findings() {
    let dir = repo(&["alpha-crate"]);
    let before = scan(dir.path(), &["--format", "json"], "2026-06-01");
    assert_eq!(before.code, 1);
    let baseline = dir.path().join("baseline.json");
    std::fs::write(&baseline, &before.stdout).unwrap();
    let with = |extra: &[&str]| {
        let mut args = vec!["--baseline", baseline.to_str().unwrap()];
        args.extend_from_slice(extra);
        scan(dir.path(), &args, "2026-06-01")
    };
    let same = with(&["--format", "json"]);
    assert_eq!(same.code, 0, "nothing new");
    assert_eq!(same.json()["findings"][0]["baseline"], true, "still reported, marked");

    write(
        &dir.path().join("repo"),
        "app/Cargo.lock",
        &lockfile(&["alpha-crate", "beta-crate"]),
    );
    let new = with(&["--format", "json"]);
    assert_eq!(new.code, 1, "beta-crate's finding is new");
    let findings = new.json()["findings"].as_array().unwrap().clone();
    let new_ids: Vec<&str> = findings
        .iter()
        .filter(|f| f["baseline"].as_bool() != Some(true))
        .map(|f| f["vulnerability"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(new_ids, ["B-1"]);
    let table = with(&[]);
    assert!(table.stdout.contains("A-1 (baseline)"), "{}", table.stdout);

    std::fs::write(&baseline, "{\"not\": \"a report\"}").unwrap();
    let bad = with(&[]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("not a JSON report"), "{}", bad.stderr);
}

#[test]
fn scope_filters_development_dependencies_and_every_format_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    for (id, name) in [("N-1", "runtime-lib"), ("N-2", "test-lib")] {
        write(
            &osv,
            &format!("{id}.json"),
            &format!(
                r#"{{"id":"{id}","modified":"2026-11-01T00:00:00Z","database_specific":{{"severity":"HIGH"}},
                "affected":[{{"package":{{"ecosystem":"npm","name":"{name}"}},
                "ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"9.0.0"}}]}}]}}]}}"#
            ),
        );
    }
    let repo = dir.path().join("repo");
    write(
        &repo,
        "package-lock.json",
        r#"{"name":"web","lockfileVersion":3,"packages":{"":{"name":"web"},
        "node_modules/runtime-lib":{"version":"1.0.0"},
        "node_modules/test-lib":{"version":"1.0.0","dev":true}}}"#,
    );
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            repo.to_str().unwrap(),
            "--db",
            osv.to_str().unwrap(),
            "--max-data-age",
            "3650d",
        ];
        args.extend_from_slice(extra);
        zerotrace_with_env(&args, &[])
    };
    let ids = |run: &Run| -> Vec<(String, String)> {
        run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["vulnerability"]["id"].as_str().unwrap().to_string(),
                    f["package"]["scope"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pair = |id: &str, scope: &str| (id.to_string(), scope.to_string());
    let all = scan(&["--format", "json"]);
    assert_eq!(ids(&all), [pair("N-1", "runtime"), pair("N-2", "development")]);
    let runtime = scan(&["--format", "json", "--scope", "runtime"]);
    assert_eq!(ids(&runtime), [pair("N-1", "runtime")]);
    assert_eq!(runtime.json()["packages_out_of_scope"], 1, "what was left out is said");
    let dev = scan(&["--format", "json", "--scope", "dev"]);
    assert_eq!(ids(&dev), [pair("N-2", "development")]);
    let table = scan(&[]);
    assert!(table.stdout.contains("test-lib 1.0.0 (dev)"), "{}", table.stdout);
    let narrowed = scan(&["--scope", "runtime"]);
    assert!(
        narrowed
            .stdout
            .contains("1 packages outside --scope runtime were not scanned"),
        "{}",
        narrowed.stdout
    );

    // The config file sets it too.
    write(&repo, "zerotrace.toml", "scope = \"dev\"\nformat = \"sarif\"\n");
    let sarif = scan(&[]);
    let log = sarif.json();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["properties"]["scope"], "development");
    write(&repo, "zerotrace.toml", "format = \"cyclonedx\"\n");
    let bom = scan(&[]).json();
    let scopes: Vec<(&str, &str)> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["scope"].as_str().unwrap()))
        .collect();
    assert!(
        scopes.contains(&("test-lib", "excluded")) && scopes.contains(&("runtime-lib", "required")),
        "{scopes:?}"
    );
}
