//! The advisory importers on any bytes, as each kind of file they take: an
//! OSV zip, an OSV advisory, the KEV catalog, an EPSS CSV (plain or gzip).
//! None may panic; the first byte picks the kind.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use zerotrace_advisory::Database;

const NAMES: [&str; 5] = [
    "all.zip",
    "RUSTSEC-2099-0001.json",
    "known_exploited_vulnerabilities.json",
    "epss.csv",
    "epss.csv.gz",
];

fn scratch() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(kind) % NAMES.len()];
    let path = scratch().path().join(name);
    if std::fs::write(&path, body).is_err() {
        return;
    }
    let db = Database::in_memory().expect("an in-memory database");
    let _ = db.import_path(&path);
});
