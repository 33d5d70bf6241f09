//! Match throughput (packages/s) of the advisory database.
//!
//! - `shared/*`: both shared OSV zips (RustSec and PyPA, 3,867 advisories),
//!   matched against (a) this workspace's own `Cargo.lock` (its crates.io
//!   packages: a real lockfile, where most packages have no advisory) and
//!   (b) 1,000 package versions named by the advisories themselves, drawn
//!   Zipf-wise (s = 1.1), where every package has candidates and many match
//!   (the worst case). Skipped, loudly, when `../shared/data` is missing.
//! - `authored/*`: a small database written here (SEMVER and ECOSYSTEM
//!   ranges, explicit versions, an informational and a withdrawn advisory)
//!   and a mix of hits, misses, unknown names and unparsable versions.
//! - `get/*`: look-ups by id and by alias.
//!
//! ```sh
//! cargo bench -p zerotrace-advisory --bench match
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zerotrace_advisory::{Database, PackageQuery};
use zerotrace_loadgen::{OsvWorkload, Rng, Zipf};

type Package = (String, String, String);

fn shared_data() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.join("osv/crates.io/all.zip").is_file() && dir.join("osv/PyPI/all.zip").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: shared reference data not found at {}: the shared/* match benchmarks did not run",
            dir.display()
        );
        None
    }
}

/// Returns the crates.io registry packages of a `Cargo.lock`.
fn lockfile_packages(path: &Path) -> Vec<Package> {
    let text = std::fs::read_to_string(path).expect("Cargo.lock of the workspace");
    text.split("[[package]]")
        .skip(1)
        .filter_map(|block| {
            let field = |key: &str| {
                block.lines().find_map(|line| {
                    let value = line.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim();
                    Some(value.trim_matches('"').to_string())
                })
            };
            if !field("source")?.starts_with("registry+") {
                return None;
            }
            Some(("crates.io".to_string(), field("name")?, field("version")?))
        })
        .collect()
}

/// Returns `n` package versions named by the advisories, drawn Zipf-wise.
fn advisory_packages(zips: &[PathBuf], n: usize) -> Vec<Package> {
    let workload = OsvWorkload::from_zips(zips, 0x5eed).expect("shared zips");
    let zipf = Zipf::new(workload.packages.len().min(10_000), 1.1);
    let mut rng = Rng::new(1);
    (0..n)
        .map(|_| {
            let p = &workload.packages[zipf.sample(&mut rng)];
            (p.ecosystem.clone(), p.name.clone(), p.version.clone())
        })
        .collect()
}

fn match_all(db: &Database, packages: &[Package]) -> usize {
    packages
        .iter()
        .map(|(ecosystem, name, version)| {
            let found = db
                .match_package(&PackageQuery::registry(ecosystem, name, version))
                .unwrap();
            found.vulnerabilities.len() + found.warnings.len()
        })
        .sum()
}

fn bench_mix(c: &mut Criterion, group: &str, db: &Database, mixes: &[(&str, Vec<Package>)]) {
    let mut g = c.benchmark_group(group);
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    for (name, packages) in mixes {
        let matched = match_all(db, packages);
        eprintln!(
            "{group}/{name}: {} packages, {matched} advisories matched per pass",
            packages.len()
        );
        g.throughput(Throughput::Elements(packages.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), packages, |b, packages| {
            b.iter(|| black_box(match_all(db, black_box(packages))));
        });
    }
    g.finish();
}

fn shared(c: &mut Criterion) {
    let Some(dir) = shared_data() else { return };
    let zips = [dir.join("osv/crates.io/all.zip"), dir.join("osv/PyPI/all.zip")];
    let (db, _) = Database::load(&zips).expect("shared zips load");
    let lockfile = lockfile_packages(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"));
    let advisory = advisory_packages(&zips, 1000);
    bench_mix(
        c,
        "shared",
        &db,
        &[("workspace-cargo-lock", lockfile), ("advisory-versions-zipf", advisory)],
    );

    let workload = OsvWorkload::from_zips(&zips, 0x5eed).expect("shared zips");
    let ids: Vec<&String> = workload.ids.iter().take(1000).collect();
    let mut g = c.benchmark_group("get");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(ids.len() as u64));
    g.bench_function("shared-ids-and-aliases", |b| {
        b.iter(|| ids.iter().filter(|id| db.get(id).unwrap().is_some()).count());
    });
    g.finish();
}

const AUTHORED: &[(&str, &str)] = &[
    (
        "RUSTSEC-2099-0001",
        r#"{"id":"RUSTSEC-2099-0001","modified":"2099-01-02T00:00:00Z","aliases":["CVE-2099-0001"],
        "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected":[{"package":{"ecosystem":"crates.io","name":"alpha"},
        "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"},{"introduced":"2.0.0"},{"fixed":"2.0.5"}]}]}]}"#,
    ),
    (
        "RUSTSEC-2099-0002",
        r#"{"id":"RUSTSEC-2099-0002","modified":"2099-01-02T00:00:00Z",
        "affected":[{"package":{"ecosystem":"crates.io","name":"alpha"},
        "ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"last_affected":"1.5.0"}]}],
        "database_specific":{"informational":"unmaintained"}}]}"#,
    ),
    (
        "RUSTSEC-2099-0003",
        r#"{"id":"RUSTSEC-2099-0003","modified":"2099-01-02T00:00:00Z","withdrawn":"2099-02-01T00:00:00Z",
        "affected":[{"package":{"ecosystem":"crates.io","name":"beta"},
        "ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}"#,
    ),
    (
        "PYSEC-2099-1",
        r#"{"id":"PYSEC-2099-1","modified":"2099-01-02T00:00:00Z","aliases":["CVE-2099-0010"],
        "affected":[{"package":{"ecosystem":"PyPI","name":"Gamma_Lib"},
        "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.1.0rc1"}]}],
        "versions":["1.0","1.1","1.1.post1","2.0","2.1.0a1"]}]}"#,
    ),
    (
        "PYSEC-2099-2",
        r#"{"id":"PYSEC-2099-2","modified":"2099-01-02T00:00:00Z",
        "affected":[{"package":{"ecosystem":"PyPI","name":"gamma-lib"},
        "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"3.0"},{"fixed":"3.4.1"}]}]}]}"#,
    ),
];

fn authored(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for (id, json) in AUTHORED {
        std::fs::write(dir.path().join(format!("{id}.json")), json).unwrap();
    }
    let (db, _) = Database::load([dir.path()]).expect("authored advisories load");
    let p = |e: &str, n: &str, v: &str| (e.to_string(), n.to_string(), v.to_string());
    let one_round = [
        p("crates.io", "alpha", "1.0.0"),
        p("crates.io", "alpha", "1.2.3"),
        p("crates.io", "alpha", "2.0.1"),
        p("crates.io", "alpha", "not-a-version"),
        p("crates.io", "beta", "0.1.0"),
        p("crates.io", "serde", "1.0.200"),
        p("PyPI", "gamma.lib", "1.1.post1"),
        p("PyPI", "gamma-lib", "3.2"),
        p("PyPI", "gamma-lib", "4.0"),
        p("PyPI", "requests", "2.31.0"),
    ];
    let mix: Vec<Package> = one_round.iter().cycle().take(1000).cloned().collect();
    bench_mix(c, "authored", &db, &[("hits-misses-unparsable", mix)]);
}

criterion_group!(benches, authored, shared);
criterion_main!(benches);
