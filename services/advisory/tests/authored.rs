//! Matching and import behaviour on small OSV advisories written here.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Write;
use std::path::Path;

use zerotrace_advisory::{Database, ImportKind, Informational, PackageQuery, Severity, Source, Verdict};

fn write(dir: &Path, rel: &str, body: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
}

fn ids(r: &Verdict) -> Vec<&str> {
    let mut v: Vec<&str> = r.vulnerabilities.iter().map(|a| a.id.as_str()).collect();
    v.sort_unstable();
    v
}

fn warning_ids(r: &Verdict) -> Vec<&str> {
    let mut v: Vec<&str> = r.warnings.iter().map(|a| a.id.as_str()).collect();
    v.sort_unstable();
    v
}

/// A small corpus covering every range shape.
fn corpus(dir: &Path) {
    write(
        dir,
        "crates/TEST-1.json",
        r#"{"id": "TEST-1", "modified": "2024-01-01T00:00:00Z", "published": "2023-12-01T00:00:00Z",
            "aliases": ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"], "summary": "introduced/fixed",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "crates.io", "name": "alpha"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]}]}],
            "references": [{"type": "ADVISORY", "url": "https://example.org/TEST-1"}]}"#,
    );
    write(
        dir,
        "crates/nested/TEST-2.json",
        r#"{"id": "TEST-2", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2024-0002"],
            "affected": [{"package": {"ecosystem": "crates.io", "name": "alpha"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"last_affected": "1.3.0"}]}]}],
            "database_specific": {"severity": "MODERATE"}}"#,
    );
    write(
        dir,
        "crates/TEST-3.json",
        r#"{"id": "TEST-3", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "crates.io", "name": "beta"},
              "ranges": [
                {"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"fixed": "2.1.0"}, {"introduced": "1.0.0"}, {"fixed": "1.1.0"}]},
                {"type": "SEMVER", "events": [{"introduced": "3.0.0"}, {"limit": "3.5.0"}]}]}]}"#,
    );
    write(
        dir,
        "pypi/PYSEC-T-4.json",
        r#"{"id": "PYSEC-T-4", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2024-0004"],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Gamma_Pkg"},
              "ranges": [{"type": "GIT", "repo": "https://example.org/g", "events": [{"introduced": "0"}, {"fixed": "abcdef"}]},
                         {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}],
              "versions": ["0.5", "0.9", "1.5"]}]}"#,
    );
    write(
        dir,
        "pypi/PYSEC-T-5.json",
        r#"{"id": "PYSEC-T-5", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "gamma-pkg"},
              "ranges": [{"type": "GIT", "repo": "https://example.org/g", "events": [{"introduced": "0"}]}]}]}"#,
    );
    write(
        dir,
        "crates/TEST-6.json",
        r#"{"id": "TEST-6", "modified": "2024-01-01T00:00:00Z", "withdrawn": "2024-02-01T00:00:00Z",
            "aliases": ["CVE-2024-0006"],
            "affected": [{"package": {"ecosystem": "crates.io", "name": "alpha"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]}"#,
    );
    write(
        dir,
        "multi/GHSA-T-7.json",
        r#"{"id": "GHSA-T-7", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2024-0007"],
            "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"}],
            "affected": [
              {"package": {"ecosystem": "crates.io", "name": "delta"},
               "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.5.0"}]}]},
              {"package": {"ecosystem": "crates.io", "name": "delta"},
               "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.0.7"}]}]},
              {"package": {"ecosystem": "PyPI", "name": "delta"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.2"}]}]},
              {"package": {"ecosystem": "Debian:12", "name": "delta"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}"#,
    );
    write(
        dir,
        "crates/TEST-8.json",
        r#"{"id": "TEST-8", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "crates.io", "name": "alpha"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
              "database_specific": {"informational": "unmaintained"}}]}"#,
    );
    write(
        dir,
        "crates/TEST-9.json",
        r#"{"id": "TEST-9", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "crates.io", "name": "epsilon"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "not-a-version"}]},
                         {"type": "SEMVER", "events": [{"introduced": "???"}, {"fixed": "5.0.0"}]}]}]}"#,
    );
    write(dir, "crates/broken.json", r#"{"id": "BROKEN-1", "#);
    write(dir, "crates/no-modified.json", r#"{"id": "BROKEN-2"}"#);
    write(dir, "crates/README.md", "not an advisory");
}

fn loaded() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let db = Database::in_memory().unwrap();
    let report = db.import_path(dir.path()).unwrap();
    assert_eq!(report.kind, ImportKind::OsvDir);
    assert_eq!(report.imported, 9, "{report:?}");
    assert_eq!(report.invalid.len(), 2, "{report:?}");
    (dir, db)
}

#[test]
fn introduced_fixed_and_last_affected() {
    let (_d, db) = loaded();
    let r = db
        .match_package(&PackageQuery::registry("crates.io", "alpha", "1.1.0"))
        .unwrap();
    assert_eq!(ids(&r), ["TEST-1", "TEST-2"]);
    assert_eq!(
        db.match_package(&PackageQuery::registry("crates.io", "alpha", "0.1.0"))
            .unwrap()
            .vulnerabilities
            .len(),
        1
    );
    assert_eq!(
        ids(&db
            .match_package(&PackageQuery::registry("crates.io", "alpha", "1.2.0"))
            .unwrap()),
        ["TEST-2"]
    );
    assert_eq!(
        ids(&db
            .match_package(&PackageQuery::registry("crates.io", "alpha", "1.3.0"))
            .unwrap()),
        ["TEST-2"]
    );
    assert!(
        db.match_package(&PackageQuery::registry("crates.io", "alpha", "1.3.1"))
            .unwrap()
            .vulnerabilities
            .is_empty()
    );
    // Highest risk first: TEST-1 has CVSS 9.8, TEST-2 only a "MODERATE" label.
    assert_eq!(r.vulnerabilities[0].id, "TEST-1");
    assert_eq!(r.vulnerabilities[0].severity, Severity::Critical);
    assert_eq!(r.vulnerabilities[0].max_score, Some(9.8));
    assert_eq!(r.vulnerabilities[0].fixed_versions, ["1.2.0"]);
    assert_eq!(r.vulnerabilities[1].severity, Severity::Medium);
    assert_eq!(r.vulnerabilities[1].max_score, None);
    assert!(r.unmatched_reason.is_none());
}

#[test]
fn several_pairs_ranges_and_limit() {
    let (_d, db) = loaded();
    for (v, hit) in [
        ("0.9.0", false),
        ("1.0.5", true),
        ("1.1.0", false),
        ("1.5.0", false),
        ("2.0.0", true),
        ("2.1.0", false),
        ("3.0.0", true),
        ("3.4.9", true),
        ("3.5.0", false),
        ("9.0.0", false),
    ] {
        let r = db
            .match_package(&PackageQuery::registry("crates.io", "beta", v))
            .unwrap();
        assert_eq!(r.vulnerabilities.len(), usize::from(hit), "beta {v}");
    }
}

#[test]
fn explicit_versions_git_and_name_normalisation() {
    let (_d, db) = loaded();
    // ECOSYSTEM range: < 1.0; plus explicit 1.5; GIT never matches.
    for (v, hit) in [
        ("0.1", true),
        ("0.9", true),
        ("1.0", false),
        ("1.5", true),
        ("1.6", false),
    ] {
        let r = db
            .match_package(&PackageQuery::registry("PyPI", "gamma.pkg", v))
            .unwrap();
        assert_eq!(ids(&r), if hit { vec!["PYSEC-T-4"] } else { vec![] }, "gamma {v}");
    }
    // PEP 503 on both sides: "Gamma_Pkg" in the advisory, "GAMMA-pkg" asked.
    assert_eq!(
        ids(&db
            .match_package(&PackageQuery::registry("PyPI", "GAMMA-pkg", "0.5"))
            .unwrap()),
        ["PYSEC-T-4"]
    );
}

#[test]
fn withdrawn_never_matches_but_resolves() {
    let (_d, db) = loaded();
    let r = db
        .match_package(&PackageQuery::registry("crates.io", "alpha", "5.0.0"))
        .unwrap();
    assert!(!ids(&r).contains(&"TEST-6"));
    let w = db.get("CVE-2024-0006").unwrap().unwrap();
    assert_eq!(w.id, "TEST-6");
    assert!(w.withdrawn.is_some());
}

#[test]
fn multiple_affected_entries_and_fixed_per_package() {
    let (_d, db) = loaded();
    let r = db
        .match_package(&PackageQuery::registry("crates.io", "delta", "1.0.3"))
        .unwrap();
    assert_eq!(ids(&r), ["GHSA-T-7"]);
    let a = &r.vulnerabilities[0];
    assert_eq!(a.fixed_versions, ["0.5.0", "1.0.7"]);
    assert_eq!(a.ecosystem.as_deref(), Some("crates.io"));
    assert_eq!(a.max_score, Some(6.9));
    assert_eq!(a.severity, Severity::Medium);
    assert!(
        db.match_package(&PackageQuery::registry("crates.io", "delta", "0.7.0"))
            .unwrap()
            .vulnerabilities
            .is_empty()
    );
    let py = db
        .match_package(&PackageQuery::registry("PyPI", "delta", "2.1"))
        .unwrap();
    assert_eq!(py.vulnerabilities[0].fixed_versions, ["2.2"]);
    assert!(
        db.match_package(&PackageQuery::registry("PyPI", "delta", "1.0"))
            .unwrap()
            .vulnerabilities
            .is_empty()
    );
    // `get` sees all packages' fixed versions.
    assert_eq!(
        db.get("GHSA-T-7").unwrap().unwrap().fixed_versions,
        ["0.5.0", "1.0.7", "2.2"]
    );
}

#[test]
fn informational_is_a_warning() {
    let (_d, db) = loaded();
    let r = db
        .match_package(&PackageQuery::registry("crates.io", "alpha", "9.0.0"))
        .unwrap();
    assert!(r.vulnerabilities.is_empty());
    assert_eq!(warning_ids(&r), ["TEST-8"]);
    assert_eq!(r.warnings[0].informational, Some(Informational::Unmaintained));
}

#[test]
fn aliases_resolve() {
    let (_d, db) = loaded();
    for alias in ["TEST-1", "CVE-2024-0001", "GHSA-aaaa-bbbb-cccc", " CVE-2024-0001 "] {
        assert_eq!(
            db.get(alias).unwrap().map(|a| a.id.clone()).as_deref(),
            Some("TEST-1"),
            "{alias}"
        );
    }
    assert!(db.get("CVE-1999-9999").unwrap().is_none());
    assert_eq!(db.resolve("CVE-2024-0002").unwrap().len(), 1);
}

#[test]
fn bad_versions_and_bounds_never_panic() {
    let (_d, db) = loaded();
    let r = db
        .match_package(&PackageQuery::registry("crates.io", "alpha", "not a version"))
        .unwrap();
    assert!(r.vulnerabilities.is_empty());
    assert!(r.unmatched_reason.unwrap().contains("only explicit version lists"));
    let r = db
        .match_package(&PackageQuery::registry("nope", "alpha", "1.0.0"))
        .unwrap();
    assert!(r.unmatched_reason.unwrap().contains("unknown ecosystem"));
    // TEST-9: the unparsable `fixed` is skipped (range stays open), the
    // range whose only `introduced` is unparsable is dropped.
    assert_eq!(
        ids(&db
            .match_package(&PackageQuery::registry("crates.io", "epsilon", "7.0.0"))
            .unwrap()),
        ["TEST-9"]
    );
    assert_eq!(db.info().unwrap().skipped_bounds, 2);
    // No advisory for the package: clean, not "unmatched".
    let r = db
        .match_package(&PackageQuery::registry("crates.io", "unknown-crate", "1.0.0"))
        .unwrap();
    assert_eq!(r, Verdict::default());
}

#[test]
fn only_pinned_registry_packages_are_matched_and_the_rest_say_why() {
    let (_d, db) = loaded();
    // alpha 0.1.0 from the registry is vulnerable; the same name and version
    // from anywhere else is never matched, and says so.
    let registry = PackageQuery::registry("crates.io", "alpha", "0.1.0");
    assert!(!db.match_package(&registry).unwrap().vulnerabilities.is_empty());
    for (source, word) in [
        (Source::Git, "git"),
        (Source::Path, "path"),
        (Source::Workspace, "workspace"),
    ] {
        let r = db.match_package(&PackageQuery { source, ..registry }).unwrap();
        assert!(r.vulnerabilities.is_empty() && r.warnings.is_empty(), "{source:?}");
        let reason = r.unmatched_reason.unwrap();
        assert!(reason.starts_with(word) && reason.contains("not matched"), "{reason}");
    }
    let unpinned = db
        .match_package(&PackageQuery {
            version: " ",
            ..registry
        })
        .unwrap();
    assert!(unpinned.unmatched_reason.unwrap().contains("unpinned"));
    assert_eq!(registry.matchable(), Ok(zerotrace_ecosystem::Ecosystem::CratesIo));
}

#[test]
fn reimport_is_idempotent_and_keeps_newest() {
    let (dir, db) = loaded();
    let g = db.generation().unwrap();
    let again = db.import_path(dir.path()).unwrap();
    assert_eq!((again.imported, again.updated, again.unchanged), (0, 0, 9));
    assert!(db.generation().unwrap() > g);

    let newer = r#"{"id": "TEST-1", "modified": "2024-06-01T00:00:00Z", "summary": "newer",
        "affected": [{"package": {"ecosystem": "crates.io", "name": "alpha"},
          "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]}]}"#;
    let older = newer.replace("2024-06-01", "2023-06-01").replace("newer", "older");
    let other = tempfile::tempdir().unwrap();
    write(other.path(), "a/TEST-1.json", newer);
    let r = db.import_path(other.path().join("a/TEST-1.json")).unwrap();
    assert_eq!((r.kind, r.updated), (ImportKind::OsvFile, 1));
    write(other.path(), "b/TEST-1.json", &older);
    let r = db.import_path(other.path().join("b")).unwrap();
    assert_eq!(r.skipped, 1);
    assert_eq!(db.get("TEST-1").unwrap().unwrap().summary.as_deref(), Some("newer"));
    assert!(
        db.match_package(&PackageQuery::registry("crates.io", "alpha", "1.1.0"))
            .unwrap()
            .vulnerabilities
            .iter()
            .all(|a| a.id != "TEST-1")
    );
}

#[test]
fn zip_import_and_persistence_across_reopen() {
    let src = tempfile::tempdir().unwrap();
    corpus(src.path());
    let zip_path = src.path().join("all.zip");
    {
        let mut zw = zip::ZipWriter::new(fs::File::create(&zip_path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for name in ["TEST-1", "TEST-2", "nested/TEST-3"] {
            let file = if name.starts_with("nested") { "TEST-3" } else { name };
            let dir = if file == "TEST-2" { "crates/nested" } else { "crates" };
            zw.start_file(format!("{name}.json"), opts).unwrap();
            zw.write_all(&fs::read(src.path().join(dir).join(format!("{file}.json"))).unwrap())
                .unwrap();
        }
        zw.start_file("bad.json", opts).unwrap();
        zw.write_all(b"[1, 2]").unwrap();
        zw.start_file("notes.txt", opts).unwrap();
        zw.write_all(b"ignored").unwrap();
        zw.finish().unwrap();
    }
    let data = tempfile::tempdir().unwrap();
    let generation;
    {
        let db = Database::open(data.path()).unwrap();
        let r = db.import_path(&zip_path).unwrap();
        assert_eq!((r.kind, r.imported, r.invalid.len()), (ImportKind::OsvZip, 3, 1));
        assert!(r.invalid[0].file.ends_with("all.zip!bad.json"), "{:?}", r.invalid);
        generation = db.generation().unwrap();
        assert!(db.info().unwrap().persistent);
    }
    let db = Database::open(data.path()).unwrap();
    assert_eq!(db.generation().unwrap(), generation);
    assert_eq!(db.info().unwrap().advisories, 3);
    assert!(db.info().unwrap().last_import.is_some());
    assert_eq!(
        ids(&db
            .match_package(&PackageQuery::registry("crates.io", "alpha", "1.1.0"))
            .unwrap()),
        ["TEST-1", "TEST-2"]
    );
    assert_eq!(db.get("GHSA-aaaa-bbbb-cccc").unwrap().unwrap().id, "TEST-1");
    let r = db.import_path(&zip_path).unwrap();
    assert_eq!((r.imported, r.unchanged), (0, 3));
}

#[test]
fn kev_and_epss_attach_through_cve_aliases() {
    let (dir, db) = loaded();
    write(
        dir.path(),
        "feeds/kev.json",
        r#"{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2025.01.01",
            "count": 1, "vulnerabilities": [{"cveID": "CVE-2024-0002", "vendorProject": "x", "product": "y",
            "vulnerabilityName": "z", "dateAdded": "2025-01-01", "dueDate": "2025-01-22",
            "knownRansomwareCampaignUse": "Unknown"}]}"#,
    );
    write(
        dir.path(),
        "feeds/epss.csv",
        "#model_version:v2025.03.14,score_date:2025-01-02T00:00:00Z\ncve,epss,percentile\n\
         CVE-2024-0001,0.5,0.97\nCVE-2024-0002,0.01,0.2\n",
    );
    let k = db.import_path(dir.path().join("feeds/kev.json")).unwrap();
    assert_eq!((k.kind, k.imported), (ImportKind::Kev, 1));
    let e = db.import_path(dir.path().join("feeds/epss.csv")).unwrap();
    assert_eq!((e.kind, e.imported), (ImportKind::Epss, 2));
    let r = db
        .match_package(&PackageQuery::registry("crates.io", "alpha", "1.1.0"))
        .unwrap();
    // TEST-2: KEV-listed, label medium → 55.0; TEST-1: 9.8 × (0.1 + 0.45) → 53.9.
    assert_eq!(ids(&r), ["TEST-1", "TEST-2"]);
    assert_eq!(r.vulnerabilities[0].id, "TEST-2");
    assert_eq!(r.vulnerabilities[0].risk, 55.0);
    assert_eq!(r.vulnerabilities[0].kev.as_ref().unwrap().date_added, "2025-01-01");
    assert_eq!(r.vulnerabilities[1].risk, 53.9);
    assert_eq!(r.vulnerabilities[1].epss.unwrap().percentile, 0.97);
    let info = db.info().unwrap();
    assert_eq!((info.kev_entries, info.epss_entries), (1, 2));
    assert_eq!(info.epss_score_date.as_deref(), Some("2025-01-02T00:00:00Z"));
    assert_eq!(info.kev_catalog_version.as_deref(), Some("2025.01.01"));
    assert_eq!(info.by_source.get("TEST").map(|c| c.advisories), Some(6));
    assert_eq!(info.by_source.get("TEST").map(|c| c.withdrawn), Some(1));
    assert_eq!(info.by_ecosystem.get("Debian").map(|c| c.advisories), Some(1));
}

#[test]
fn unknown_paths_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::in_memory().unwrap();
    assert!(db.import_path(dir.path().join("missing")).is_err());
    write(dir.path(), "x.txt", "hello");
    assert!(db.import_path(dir.path().join("x.txt")).is_err());
    write(dir.path(), "fake.zip", "not a zip");
    assert!(db.import_path(dir.path().join("fake.zip")).is_err());
}

#[test]
fn go_versions_match_with_or_without_the_leading_v() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "go/GO-T-1.json",
        r#"{"id": "GO-T-1", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Go", "name": "stdlib"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.21.5"},
                                                       {"introduced": "1.22.0-0"}, {"fixed": "1.22.1"}]}]}]}"#,
    );
    write(
        dir.path(),
        "go/GO-T-2.json",
        r#"{"id": "GO-T-2", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Go", "name": "golang.org/x/net"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.17.0"}]}]}]}"#,
    );
    let db = Database::in_memory().unwrap();
    assert_eq!(db.import_path(dir.path()).unwrap().imported, 2);
    let matched = |name, version| {
        ids(&db.match_package(&PackageQuery::registry("Go", name, version)).unwrap())
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for (name, version, want) in [
        ("stdlib", "1.21.4", true),
        ("stdlib", "1.21.5", false),
        ("stdlib", "1.22.0-rc.1", true),
        ("stdlib", "1.22.0", true),
        ("stdlib", "1.22.1", false),
        ("golang.org/x/net", "0.16.0", true),
        ("golang.org/x/net", "v0.16.0", true),
        ("golang.org/x/net", "0.0.0-20230101000000-abcdefabcdef", true),
        ("golang.org/x/net", "0.17.0", false),
        ("golang.org/x/net", "v0.17.0", false),
    ] {
        assert_eq!(!matched(name, version).is_empty(), want, "{name} {version}");
    }
}
