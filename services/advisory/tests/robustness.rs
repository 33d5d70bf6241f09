//! No input makes the crate panic: arbitrary vectors, versions, names and files.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use zerotrace_advisory::{Database, PackageQuery, check_vector, score_vector};

fn small_db() -> Database {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("A-1.json"),
        r#"{"id": "A-1", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "crates.io", "name": "x"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}],
              "versions": ["weird"]},
             {"package": {"ecosystem": "PyPI", "name": "x"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "2.0"}]}]}]}"#,
    )
    .unwrap();
    let db = Database::in_memory().unwrap();
    db.import_path(dir.path()).unwrap();
    db
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn vectors_never_panic(s in "(CVSS:(3\\.[01]|4\\.0)/)?([A-Za-z]{1,3}:[A-Za-z]{0,5}/?){0,14}") {
        let checked = check_vector(&s);
        let scored = score_vector(&s);
        prop_assert_eq!(checked.is_ok(), scored.is_ok());
        if let Ok(v) = scored {
            prop_assert!((0.0..=10.0).contains(&v));
        }
    }

    #[test]
    fn versions_and_names_never_panic(eco in "crates\\.io|PyPI|npm|Go|nope", name in "\\PC{0,12}", version in "\\PC{0,20}") {
        let db = small_db();
        let _ = db.match_package(&PackageQuery::registry(&eco, &name, &version)).unwrap();
        let r = db.match_package(&PackageQuery::registry("crates.io", "x", &version)).unwrap();
        if r.unmatched_reason.is_some() {
            prop_assert!(r.vulnerabilities.len() <= 1);
        }
    }

    #[test]
    fn arbitrary_files_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200), json in "\\{\"id\": \"[A-Z]{1,3}-[0-9]\", \"modified\": \"\\PC{0,25}\"(, \"affected\": \\[\\{\"package\": \\{\"ecosystem\": \"crates\\.io\", \"name\": \"x\"\\}, \"ranges\": \\[\\{\"type\": \"SEMVER\", \"events\": \\[\\{\"introduced\": \"\\PC{0,8}\"\\}\\]\\}\\]\\}\\])?\\}") {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::in_memory().unwrap();
        for (i, bytes) in [body.clone(), json.into_bytes()].into_iter().enumerate() {
            let path = dir.path().join(format!("f{i}.json"));
            std::fs::write(&path, &bytes).unwrap();
            let _ = db.import_path(&path);
            let csv = dir.path().join(format!("f{i}.csv"));
            std::fs::write(&csv, &bytes).unwrap();
            let _ = db.import_path(&csv);
        }
        let _ = db.import_path(dir.path());
        let _ = db.match_package(&PackageQuery::registry("crates.io", "x", "0.1.0")).unwrap();
    }
}
