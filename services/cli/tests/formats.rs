//! `zerotrace scan`'s report formats, written together in one run: SARIF
//! 2.1.0, CycloneDX 1.6 and SPDX 2.3 each validate against their official
//! schema (vendored in tests/schemas, checked with Python's jsonschema), and
//! carry what code-scanning views and SBOM tools need: rules with
//! security-severity, lockfile lines, stable fingerprints, suppressions and
//! VEX analysis, components with purls, vulnerabilities with ratings and
//! affects. Markdown has its summary and table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{write, zerotrace_with_env};
use std::path::{Path, PathBuf};
use std::process::Command;

fn advisory(id: &str, alias: &str, ecosystem: &str, name: &str, vector: &str) -> String {
    format!(
        r#"{{"id":"{id}","aliases":["{alias}"],"modified":"2026-11-01T00:00:00Z","summary":"{name} is broken",
        "details":"Long details of {id}.","severity":[{{"type":"CVSS_V3","score":"{vector}"}}],
        "references":[{{"type":"ADVISORY","url":"https://example.test/{id}"}}],
        "affected":[{{"package":{{"ecosystem":"{ecosystem}","name":"{name}"}},
        "ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"9.0.0"}}]}}]}}]}}"#
    )
}

const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const MEDIUM: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N";

/// A tree of three ecosystems, with an ignore for one advisory.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    write(
        &osv,
        "F-1.json",
        &advisory("F-1", "CVE-2026-2001", "crates.io", "alpha-crate", CRITICAL),
    );
    write(
        &osv,
        "F-2.json",
        &advisory("F-2", "CVE-2026-2002", "npm", "@scope/beta", MEDIUM),
    );
    write(
        &osv,
        "F-3.json",
        &advisory("F-3", "CVE-2026-2003", "PyPI", "gamma", MEDIUM),
    );
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    write(
        &repo,
        "Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"safe\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"alpha-crate\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    );
    write(
        &repo,
        "web/package-lock.json",
        r#"{"name":"web","lockfileVersion":3,"packages":{"":{"name":"web"},"node_modules/@scope/beta":{"version":"1.2.3"}}}"#,
    );
    write(&repo, "py/requirements.txt", "flask==2.0.0\ngamma==1.0.0\n");
    write(
        &repo,
        "zerotrace.toml",
        "[[ignore]]\nid = \"F-3\"\nreason = \"gamma runs only in a sandbox\"\nuntil = \"2027-06-30\"\n",
    );
    dir
}

/// Runs the scan writing every format, and returns the files.
fn scan_all(dir: &Path, out: &Path) -> (i32, [PathBuf; 5]) {
    std::fs::create_dir_all(out).unwrap();
    let files = [
        "report.sarif",
        "bom.cdx.json",
        "sbom.spdx.json",
        "comment.md",
        "report.json",
    ]
    .map(|f| out.join(f));
    let mut args = vec![
        "scan".to_string(),
        dir.join("repo").display().to_string(),
        "--db".to_string(),
        dir.join("osv").display().to_string(),
        "--max-data-age".to_string(),
        "3650d".to_string(),
    ];
    for (format, file) in ["sarif", "cyclonedx", "spdx", "markdown", "json"].iter().zip(&files) {
        args.push("--format".to_string());
        args.push(format!("{format}={}", file.display()));
    }
    let run = zerotrace_with_env(&args, &[("ZEROTRACE_TODAY", "2026-12-01")]);
    assert!(run.stdout.is_empty(), "every format went to its file: {}", run.stdout);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    (run.code, files)
}

/// Scans `repo` against the advisories in `osv` (old data accepted), with `extra` flags.
fn scan_tree(repo: &Path, osv: &Path, extra: &[&str]) -> common::Run {
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
}

/// Validates `doc` against `schema` of tests/schemas; `Err` with the
/// violations. `None` (after saying so) when Python's jsonschema is missing
/// outside CI; in CI that fails the test.
fn validate(schema: &str, doc: &Path) -> Option<Result<(), String>> {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("schemas");
    let probe = Command::new("python3")
        .args(["-c", "import jsonschema, referencing"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("python3 with jsonschema is missing in CI (.ci/install-tools.sh installs it)");
        }
        eprintln!(
            "\n*** SKIPPING schema validation: python3 with jsonschema is missing (pip install jsonschema) ***\n"
        );
        return None;
    }
    let out = Command::new("python3")
        .arg(schemas.join("validate.py"))
        .arg(schemas.join(schema))
        .arg(doc)
        .output()
        .unwrap();
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).into_owned())
    })
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_format_validates_against_its_schema_and_carries_the_findings() {
    let dir = tree();
    let (code, [sarif, cdx, spdx, markdown, report]) = scan_all(dir.path(), &dir.path().join("out"));
    assert_eq!(code, 1, "F-1 and F-2 count");

    for (schema, doc) in [
        ("sarif-schema-2.1.0.json", &sarif),
        ("bom-1.6.schema.json", &cdx),
        ("spdx-2.3.schema.json", &spdx),
    ] {
        if let Some(result) = validate(schema, doc) {
            result.unwrap_or_else(|e| panic!("{} violates {schema}:\n{e}", doc.display()));
        }
    }

    // SARIF: one rule per advisory, results at the package's line, the
    // suppressed one as a suppression.
    let log = json(&sarif);
    let run = &log["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["F-1", "F-2", "F-3"]);
    assert_eq!(
        run["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
        "9.8"
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let alpha = results.iter().find(|r| r["ruleId"] == "F-1").unwrap();
    let location = &alpha["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "Cargo.lock");
    assert_eq!(
        location["region"]["startLine"], 9,
        "where alpha-crate's [[package]] entry names it"
    );
    assert_eq!(alpha["level"], "error");
    let gamma = results.iter().find(|r| r["ruleId"] == "F-3").unwrap();
    assert_eq!(
        gamma["suppressions"][0]["justification"],
        "gamma runs only in a sandbox"
    );
    assert_eq!(gamma["locations"][0]["physicalLocation"]["region"]["startLine"], 2);

    // CycloneDX: components with purls, vulnerabilities with ratings and
    // affects, the suppressed one with its VEX analysis.
    let bom = json(&cdx);
    let purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    for want in [
        "pkg:cargo/alpha-crate@1.0.0",
        "pkg:cargo/safe@1.0.0",
        "pkg:npm/%40scope/beta@1.2.3",
        "pkg:pypi/gamma@1.0.0",
        "pkg:pypi/flask@2.0.0",
    ] {
        assert!(purls.contains(&want), "{want} in {purls:?}");
    }
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    let f1 = vulns.iter().find(|v| v["id"] == "F-1").unwrap();
    assert_eq!(f1["ratings"][0]["method"], "CVSSv31");
    assert_eq!(f1["ratings"][0]["severity"], "critical");
    assert_eq!(f1["affects"][0]["ref"], "pkg:cargo/alpha-crate@1.0.0");
    assert!(f1.get("analysis").is_none());
    let f3 = vulns.iter().find(|v| v["id"] == "F-3").unwrap();
    assert_eq!(f3["analysis"]["state"], "exploitable");
    assert_eq!(f3["analysis"]["response"][0], "will_not_fix");
    assert!(f3["analysis"]["detail"].as_str().unwrap().contains("sandbox"));

    // SPDX: the tree and every package, with purls.
    let doc = json(&spdx);
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["packages"].as_array().unwrap().len(), 1 + 5);

    // Markdown: verdict, table, details.
    let md = std::fs::read_to_string(&markdown).unwrap();
    assert!(md.contains("fails at `--fail-on low`"), "{md}");
    assert!(
        md.contains("| critical | F-1 | `alpha-crate 1.0.0` | 9.0.0 | `Cargo.lock` |"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>F-1: alpha-crate is broken</summary>"),
        "{md}"
    );
    assert!(md.contains("Suppressed by ignores (1)"), "{md}");

    // JSON as before, in its own file.
    assert_eq!(json(&report)["suppressed"][0]["vulnerability"]["id"], "F-3");
}

#[test]
fn sarif_fingerprints_are_the_same_in_every_run() {
    let dir = tree();
    let fingerprints = |out: &str| -> Vec<String> {
        let (_, [sarif, ..]) = scan_all(dir.path(), &dir.path().join(out));
        json(&sarif)["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"]["zerotrace/v1"].as_str().unwrap().to_string())
            .collect()
    };
    let first = fingerprints("one");
    assert_eq!(first.len(), 3);
    assert_eq!(first, fingerprints("two"));
}

#[test]
fn the_validator_catches_a_violation() {
    // Without this the checks above could pass on a validator that accepts anything.
    let dir = tree();
    let (_, [sarif, cdx, spdx, ..]) = scan_all(dir.path(), &dir.path().join("out"));
    for (schema, doc, key) in [
        ("sarif-schema-2.1.0.json", &sarif, "version"),
        ("bom-1.6.schema.json", &cdx, "specVersion"),
        ("spdx-2.3.schema.json", &spdx, "SPDXID"),
    ] {
        let mut value = json(doc);
        value.as_object_mut().unwrap().remove(key);
        let broken = dir.path().join(format!("broken-{schema}"));
        std::fs::write(&broken, value.to_string()).unwrap();
        if let Some(result) = validate(schema, &broken) {
            assert!(result.is_err(), "{schema} accepted a document without {key}");
        }
    }
}

#[test]
fn outputs_are_checked_before_scanning() {
    let dir = tree();
    let repo = dir.path().join("repo").display().to_string();
    let osv = dir.path().join("osv").display().to_string();
    let two = zerotrace_with_env(
        ["scan", &repo, "--db", &osv, "--format", "json", "--format", "sarif"],
        &[],
    );
    assert_eq!(two.code, 2);
    assert!(
        two.stderr.contains("only one --format may go to stdout"),
        "{}",
        two.stderr
    );
    let unknown = zerotrace_with_env(["scan", &repo, "--db", &osv, "--format", "xml"], &[]);
    assert_eq!(unknown.code, 2);
    let out = dir.path().join("o.sarif");
    let one = zerotrace_with_env(
        [
            "scan",
            &repo,
            "--db",
            &osv,
            "--max-data-age",
            "3650d",
            "--format",
            "sarif",
            "--output",
            out.to_str().unwrap(),
        ],
        &[("ZEROTRACE_TODAY", "2026-12-01")],
    );
    assert_eq!(one.code, 1);
    assert_eq!(json(&out)["version"], "2.1.0");
}

#[test]
fn findings_carry_how_the_package_got_in() {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    write(
        &osv,
        "F-9.json",
        &advisory("F-9", "CVE-2026-2009", "crates.io", "h2", CRITICAL),
    );
    let repo = dir.path().join("repo");
    write(
        &repo,
        "Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"hyper\"]\n\n\
         [[package]]\nname = \"hyper\"\nversion = \"0.14.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\ndependencies = [\"h2\"]\n\n\
         [[package]]\nname = \"h2\"\nversion = \"0.3.26\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    );
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (sarif, cdx) = (out.join("r.sarif"), out.join("bom.json"));
    let sarif_to = format!("sarif={}", sarif.display());
    let cdx_to = format!("cyclonedx={}", cdx.display());
    let run = scan_tree(
        &repo,
        &osv,
        &[
            "--paths", "--format", "table", "--format", &sarif_to, "--format", &cdx_to,
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("app 0.1.0 → hyper 0.14.1 → h2 0.3.26"),
        "{}",
        run.stdout
    );
    let result = &json(&sarif)["runs"][0]["results"][0];
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .contains("(via app 0.1.0 → hyper 0.14.1 → h2 0.3.26)"),
        "{result}"
    );
    assert_eq!(result["properties"]["direct"], false);
    let bom = json(&cdx);
    let dependencies = bom["dependencies"].as_array().unwrap();
    assert!(
        dependencies
            .iter()
            .any(|d| d["ref"] == "pkg:cargo/app@0.1.0" && d["dependsOn"][0] == "pkg:cargo/hyper@0.14.1"),
        "{dependencies:?}"
    );
    if let Some(result) = validate("bom-1.6.schema.json", &cdx) {
        result.unwrap();
    }
    let json_run = scan_tree(&repo, &osv, &["--format", "json"]);
    let report = json_run.json();
    assert_eq!(report["findings"][0]["dependency"]["direct"], false);
    assert_eq!(
        report["findings"][0]["dependency"]["path"],
        serde_json::json!(["app 0.1.0", "hyper 0.14.1", "h2 0.3.26"])
    );
}

#[test]
fn go_indirect_and_manifest_marks_reach_findings_and_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    write(
        &osv,
        "G-1.json",
        &advisory("G-1", "CVE-2026-2101", "Go", "golang.org/x/net", CRITICAL),
    );
    write(&osv, "N-1.json", &advisory("N-1", "CVE-2026-2102", "npm", "qs", MEDIUM));
    let repo = dir.path().join("repo");
    write(
        &repo,
        "svc/go.mod",
        "module example.com/svc\n\ngo 1.22\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.9.0\n\tgolang.org/x/net v0.10.0 // indirect\n)\n",
    );
    write(
        &repo,
        "web/yarn.lock",
        "# yarn lockfile v1\n\nexpress@^4.0.0:\n  version \"4.17.0\"\n  dependencies:\n    qs \"6.7.0\"\n\nqs@6.7.0:\n  version \"6.7.0\"\n",
    );
    write(
        &repo,
        "web/package.json",
        r#"{"name":"web","dependencies":{"express":"^4.0.0"}}"#,
    );

    let report = scan_tree(&repo, &osv, &["--format", "json"]).json();
    let dependency = |name: &str| {
        let findings = report["findings"].as_array().unwrap();
        let finding = findings.iter().find(|f| f["package"]["name"] == name).unwrap();
        finding["dependency"].clone()
    };
    // go.mod says indirect without the chain: marked, no path claimed.
    assert_eq!(
        dependency("golang.org/x/net"),
        serde_json::json!({"direct": false, "path": []})
    );
    assert_eq!(
        dependency("qs"),
        serde_json::json!({"direct": false, "path": ["web", "express 4.17.0", "qs 6.7.0"]})
    );
    let table = scan_tree(&repo, &osv, &["--paths"]);
    assert!(
        table.stdout.contains("(indirect; chain not recorded)"),
        "{}",
        table.stdout
    );

    let inventory = common::zerotrace(["inventory", repo.to_str().unwrap()]);
    let row = |name: &str| {
        inventory
            .stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} in {}", inventory.stdout))
            .to_string()
    };
    assert!(
        row("github.com/gin-gonic/gin").contains(" direct "),
        "{}",
        inventory.stdout
    );
    assert!(row("golang.org/x/net").contains(" transitive "), "{}", inventory.stdout);
    assert!(row("express").contains(" direct "), "{}", inventory.stdout);
    assert!(row("qs").contains(" transitive "), "{}", inventory.stdout);
    let json = common::zerotrace(["inventory", repo.to_str().unwrap(), "--format", "json"]).json();
    let stdlib = json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "stdlib")
        .unwrap();
    assert!(
        stdlib.get("direct").is_none(),
        "the toolchain is no requirement: {stdlib}"
    );
}

#[test]
fn cyclonedx_carries_each_ignores_analysis_and_validates() {
    let dir = tree();
    // F-1 not affected (with a justification), F-2 a false positive; F-3
    // keeps the accepted risk of the tree's own file.
    let config = dir.path().join("repo").join("zerotrace.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[[ignore]]\nid = \"CVE-2026-2001\"\nreason = \"the parser is behind a feature we never enable\"\n\
         kind = \"not-affected\"\njustification = \"code-not-present\"\nresponses = [\"update\"]\nauthor = \"alice\"\n\
         \n[[ignore]]\nid = \"F-2\"\nreason = \"the advisory names another package\"\nkind = \"false-positive\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let out = dir.path().join("out");
    let (code, [_, cdx, _, _, report]) = scan_all(dir.path(), &out);
    assert_eq!(code, 0, "every finding is suppressed");
    if let Some(result) = validate("bom-1.6.schema.json", &cdx) {
        result.unwrap_or_else(|e| panic!("{} violates the CycloneDX schema:\n{e}", cdx.display()));
    }
    let bom = json(&cdx);
    let analysis = |id: &str| {
        bom["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap()["analysis"]
            .clone()
    };
    let f1 = analysis("F-1");
    assert_eq!(f1["state"], "not_affected");
    assert_eq!(f1["justification"], "code_not_present");
    assert_eq!(f1["response"], serde_json::json!(["update"]));
    assert!(
        f1["detail"].as_str().unwrap().starts_with("Not affected, ignored by "),
        "{f1}"
    );
    let f2 = analysis("F-2");
    assert_eq!(f2["state"], "false_positive");
    assert!(f2.get("response").is_none(), "{f2}");
    assert_eq!(analysis("F-3")["state"], "exploitable");
    // JSON says what was decided, per suppressed finding.
    let report = json(&report);
    let mut decided: Vec<(String, String)> = report["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["advisory"]["id"].as_str().unwrap_or_default().to_string(),
                f["suppression"]["decision"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    decided.sort();
    assert_eq!(decided.len(), 3, "{report}");
    assert_eq!(decided.iter().filter(|(_, d)| d == "accepted-risk").count(), 1);
}
