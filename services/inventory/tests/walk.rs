//! The walker on real directory trees: filters, errors, JSON shape and
//! incremental scans.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use std::fs;
use std::path::Path;
use zerotrace_inventory::{FileType, FingerprintCache, Inventory, InventoryError, Progress, WalkOptions, scan};

const CARGO_LOCK: &str = "version = 3\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.100\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

fn write(root: &Path, rel: &str, contents: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Cargo.lock", CARGO_LOCK);
    write(root, "src/main.rs", "fn main() {}\n");
    write(
        root,
        "web/package-lock.json",
        r#"{"lockfileVersion":3,"packages":{"":{},"node_modules/lodash":{"version":"4.17.20"}}}"#,
    );
    write(root, "web/node_modules/lodash/package.json", "{}");
    write(root, "py/requirements.txt", "Django==3.2.0\nrequests>=2\n");
    write(root, "py/requirements-dev.txt", "pytest==7.0.0\n");
    write(root, "broken/poetry.lock", "[[package]\nname = ");
    write(root, ".hidden/Cargo.lock", CARGO_LOCK);
    write(root, "ignored/Cargo.lock", CARGO_LOCK);
    write(root, ".gitignore", "ignored/\n");
    dir
}

/// The inventory of `root` with the default options, from `cache` if given.
fn walk(root: &Path, cache: Option<&FingerprintCache>) -> Inventory {
    scan(root, &WalkOptions::default(), &Progress::default(), cache).unwrap()
}

fn names(inv: &Inventory) -> Vec<String> {
    inv.packages
        .iter()
        .map(|p| format!("{} {}@{}", p.path, p.name, p.version))
        .collect()
}

#[test]
fn finds_lockfiles_and_reports_broken_ones() {
    let dir = tree();
    let progress = Progress::default();
    let inv = scan(dir.path(), &WalkOptions::default(), &progress, None).unwrap();
    assert_eq!(
        names(&inv),
        [
            "Cargo.lock serde@1.0.100",
            "py/requirements-dev.txt pytest@7.0.0",
            "py/requirements.txt Django@3.2.0",
            "py/requirements.txt requests@",
            "web/package-lock.json lodash@4.17.20"
        ]
    );
    assert_eq!(inv.errors.len(), 1);
    assert_eq!(inv.errors[0].path, "broken/poetry.lock");
    assert!(
        inv.errors[0].message.starts_with("poetry.lock: line 1"),
        "{}",
        inv.errors[0].message
    );
    // Cargo.lock, main.rs, package-lock.json, 2 requirements, poetry.lock;
    // .gitignore is hidden and node_modules is not walked.
    assert_eq!(inv.files_walked, 6);
    assert_eq!(inv.lockfiles, 5);
    assert_eq!(inv.file_types.get(&FileType::Other), Some(&1));
    assert_eq!(inv.file_types.get(&FileType::PipRequirements), Some(&2));
    let snap = progress.snapshot();
    assert_eq!(
        (snap.files_walked, snap.lockfiles_parsed, snap.packages, snap.errors),
        (6, 5, 5, 1)
    );
    assert!(inv.cache.is_none());
}

#[test]
fn json_output_shape() {
    let dir = tree();
    let options = WalkOptions {
        include: vec!["Cargo.lock".into(), "broken/**".into()],
        ..WalkOptions::default()
    };
    let inv = scan(dir.path(), &options, &Progress::default(), None).unwrap();
    let json = serde_json::to_string(&inv).unwrap();
    assert!(json.starts_with(r#"{"packages":[{"ecosystem":"crates.io","name":"serde","version":"1.0.100","path":"Cargo.lock","scope":"unspecified","source":"registry"}],"errors":[{"path":"broken/poetry.lock","message":"#), "{json}");
    assert!(
        json.ends_with(r#""files_walked":2,"lockfiles":2,"file_types":{"cargo-lock":1,"poetry-lock":1}}"#),
        "{json}"
    );
}

#[test]
fn hidden_gitignore_depth_and_exclude_switches() {
    let dir = tree();
    let root = dir.path();
    let count = |options: WalkOptions| {
        scan(root, &options, &Progress::default(), None)
            .unwrap()
            .file_types
            .get(&FileType::CargoLock)
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(count(WalkOptions::default()), 1);
    assert_eq!(
        count(WalkOptions {
            hidden: true,
            ..WalkOptions::default()
        }),
        2
    );
    assert_eq!(
        count(WalkOptions {
            respect_gitignore: false,
            ..WalkOptions::default()
        }),
        2
    );
    assert_eq!(
        count(WalkOptions {
            respect_gitignore: false,
            hidden: true,
            ..WalkOptions::default()
        }),
        3
    );
    assert_eq!(
        count(WalkOptions {
            respect_gitignore: false,
            max_depth: Some(1),
            ..WalkOptions::default()
        }),
        1
    );
    assert_eq!(
        count(WalkOptions {
            respect_gitignore: false,
            exclude: vec!["ignored".into()],
            ..WalkOptions::default()
        }),
        1
    );
    assert_eq!(
        count(WalkOptions {
            respect_gitignore: false,
            exclude: vec!["*.lock".into()],
            ..WalkOptions::default()
        }),
        0
    );
    let inv = scan(
        root,
        &WalkOptions {
            exclude: vec!["web/**".into(), "py".into()],
            threads: 1,
            ..WalkOptions::default()
        },
        &Progress::default(),
        None,
    )
    .unwrap();
    assert_eq!(names(&inv), ["Cargo.lock serde@1.0.100"]);
}

#[test]
fn oversized_lockfiles_are_errors_not_skipped() {
    let dir = tree();
    let inv = scan(
        dir.path(),
        &WalkOptions {
            max_file_size: 60,
            ..WalkOptions::default()
        },
        &Progress::default(),
        None,
    )
    .unwrap();
    let big: Vec<&str> = inv
        .errors
        .iter()
        .filter(|e| e.message.contains("limit"))
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(big, ["Cargo.lock", "web/package-lock.json"]);
}

#[test]
fn bad_roots_and_globs_are_errors() {
    let dir = tree();
    let p = Progress::default();
    let o = WalkOptions::default();
    assert!(matches!(
        scan(&dir.path().join("nope"), &o, &p, None),
        Err(InventoryError::RootNotFound(_))
    ));
    fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    assert!(matches!(
        scan(&dir.path().join("notes.txt"), &o, &p, None),
        Err(InventoryError::UnknownFile(_))
    ));
    let bad = WalkOptions {
        exclude: vec!["a[".into()],
        ..WalkOptions::default()
    };
    assert!(matches!(
        scan(dir.path(), &bad, &p, None),
        Err(InventoryError::Glob { .. })
    ));
}

#[cfg(unix)]
#[test]
fn symlinks_are_skipped_by_default_and_loops_reported_when_followed() {
    let dir = tree();
    let root = dir.path();
    std::os::unix::fs::symlink(root, root.join("py/loop")).unwrap();
    std::os::unix::fs::symlink(root.join("Cargo.lock"), root.join("py/Cargo.lock")).unwrap();
    let inv = walk(root, None);
    assert_eq!(inv.file_types.get(&FileType::CargoLock), Some(&1));
    let followed = scan(
        root,
        &WalkOptions {
            follow_symlinks: true,
            ..WalkOptions::default()
        },
        &Progress::default(),
        None,
    )
    .unwrap();
    assert_eq!(followed.file_types.get(&FileType::CargoLock), Some(&2));
    assert!(
        followed
            .errors
            .iter()
            .any(|e| e.path == "py/loop" && e.message.contains("loop")),
        "{:?}",
        followed.errors
    );
}

#[cfg(unix)]
#[test]
fn unreadable_directories_are_recorded() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree();
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::write(locked.join("Cargo.lock"), CARGO_LOCK).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read_dir(&locked).is_ok() {
        // Running as root: permissions do not apply.
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        return;
    }
    let inv = walk(dir.path(), None);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    assert!(inv.errors.iter().any(|e| e.path == "locked"), "{:?}", inv.errors);
    assert_eq!(inv.packages.len(), 5);
}

fn without_cache(mut inv: Inventory) -> Inventory {
    inv.cache = None;
    inv
}

#[test]
fn incremental_scan_equals_full_scan_after_changes() {
    let dir = tree();
    let root = dir.path();
    let options = WalkOptions::default();
    let first = scan(root, &options, &Progress::default(), Some(&FingerprintCache::new())).unwrap();
    let cache = first.cache.clone().unwrap();
    assert_eq!(cache.len(), 5, "requirements files without includes are cached too");

    // An unchanged rescan reuses everything and changes nothing.
    let again = scan(root, &options, &Progress::default(), Some(&cache)).unwrap();
    assert_eq!(without_cache(again.clone()), without_cache(first.clone()));
    assert_eq!(again.cache.as_ref(), Some(&cache));

    // Change (same size), add, remove, fix the broken file, add an include.
    write(root, "Cargo.lock", &CARGO_LOCK.replace("1.0.100", "1.0.101"));
    write(root, "new/Cargo.lock", &CARGO_LOCK.replace("serde", "rand"));
    fs::remove_file(root.join("py/requirements-dev.txt")).unwrap();
    write(
        root,
        "broken/poetry.lock",
        "[[package]]\nname = \"six\"\nversion = \"1.16.0\"\n\n[metadata]\nlock-version = \"2.0\"\n",
    );
    write(root, "py/requirements.txt", "-r base.txt\nDjango==3.2.0\n");
    write(root, "py/base.txt", "idna==3.0\n");
    let cache_path = root.join("cache/zerotrace.json");
    fs::create_dir_all(cache_path.parent().unwrap()).unwrap();
    cache.save(&cache_path).unwrap();
    let loaded = FingerprintCache::load(&cache_path).unwrap();

    let incremental = scan(root, &options, &Progress::default(), Some(&loaded)).unwrap();
    let full = scan(root, &options, &Progress::default(), None).unwrap();
    assert_eq!(without_cache(incremental.clone()), full);
    assert!(names(&full).contains(&"Cargo.lock serde@1.0.101".to_string()));
    assert!(names(&full).contains(&"py/requirements.txt idna@3.0".to_string()));
    let new_cache = incremental.cache.unwrap();
    assert!(new_cache.get("py/requirements-dev.txt").is_none());
    assert!(
        new_cache.get("py/requirements.txt").is_none(),
        "files with includes are never cached"
    );
    assert!(new_cache.get("new/Cargo.lock").is_some());

    // The include changes without the including file changing: still right.
    write(root, "py/base.txt", "idna==3.7\n");
    let after_include = scan(root, &options, &Progress::default(), Some(&new_cache)).unwrap();
    assert!(names(&after_include).contains(&"py/requirements.txt idna@3.7".to_string()));
}

#[test]
fn cached_results_are_reused_without_parsing() {
    use zerotrace_inventory::{CacheEntry, CachedResult};
    let dir = tree();
    let root = dir.path();
    let first = walk(root, Some(&FingerprintCache::new()));
    let mut cache = first.cache.unwrap();
    // Doctor the cached result of an unchanged file: the scan must return it.
    let entry = cache.get("Cargo.lock").unwrap().clone();
    cache.insert(
        "Cargo.lock".into(),
        CacheEntry {
            fingerprint: entry.fingerprint,
            result: CachedResult::Error("from cache".into()),
        },
    );
    let second = walk(root, Some(&cache));
    assert!(
        second
            .errors
            .iter()
            .any(|e| e.path == "Cargo.lock" && e.message == "from cache")
    );
}

/// Includes that point out of the tree, at devices or at a FIFO: none is
/// read, each is an error naming the include, and no error quotes a file
/// from outside.
#[cfg(unix)]
#[test]
fn requirements_includes_stay_inside_the_scanned_tree() {
    let outer = tempfile::tempdir().unwrap();
    write(outer.path(), "outside.txt", "django==1.0\n");
    write(outer.path(), "secret.txt", "root:x:0:0:root:/root:/bin/bash\n");
    let root = outer.path().join("tree");
    write(&root, "base/common.txt", "idna==3.7\n");
    write(&root, "requirements.txt", "-r base/common.txt\nflask==0.1\n");
    let hostile = [
        ("up.txt", "-r ../outside.txt\n".to_string()),
        ("up-nested.txt", "-r base/../../outside.txt\n".to_string()),
        (
            "absolute.txt",
            format!("-r {}\n", outer.path().join("outside.txt").display()),
        ),
        ("passwd.txt", "-r /etc/passwd\n".to_string()),
        ("zero.txt", "-r /dev/zero\n".to_string()),
        ("constraint.txt", "-c ../secret.txt\n".to_string()),
        ("linked.txt", "-r link.txt\n".to_string()),
        ("fifo-include.txt", "-r pipe\n".to_string()),
    ];
    for (name, text) in &hostile {
        write(&root, &format!("requirements-{name}"), text);
    }
    std::os::unix::fs::symlink(outer.path().join("secret.txt"), root.join("link.txt")).unwrap();
    let fifo = root.join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());

    let inv = walk(&root, None);
    assert_eq!(
        names(&inv),
        ["requirements.txt flask@0.1", "requirements.txt idna@3.7"],
        "only the tree's own packages"
    );
    for (name, _) in &hostile {
        let path = format!("requirements-{name}");
        let error = inv
            .errors
            .iter()
            .find(|e| e.path == path)
            .unwrap_or_else(|| panic!("no error for {path}: {:?}", inv.errors));
        assert!(
            error.message.contains("outside the scanned tree") || error.message.contains("FIFO"),
            "{path}: {}",
            error.message
        );
    }
    for error in &inv.errors {
        assert!(
            !error.message.contains("root:x"),
            "quotes a file outside: {}",
            error.message
        );
    }
}

#[test]
fn entry_errors_are_listed_beside_the_packages_of_their_file_also_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "app/gradle.lockfile",
        "com.google.guava:guava:32.1.3-jre=runtimeClasspath\nbroken-line=runtimeClasspath\norg.slf4j:slf4j-api:2.0.9=runtimeClasspath\n",
    );
    let first = walk(root, Some(&FingerprintCache::new()));
    assert_eq!(
        names(&first),
        [
            "app/gradle.lockfile com.google.guava:guava@32.1.3-jre",
            "app/gradle.lockfile org.slf4j:slf4j-api@2.0.9"
        ]
    );
    assert_eq!(first.errors.len(), 1);
    assert_eq!(first.errors[0].path, "app/gradle.lockfile");
    assert!(
        first.errors[0].message.starts_with("gradle.lockfile: line 2: "),
        "{:?}",
        first.errors
    );
    let cache = first.cache.clone().unwrap();
    let again = walk(root, Some(&cache));
    assert_eq!(without_cache(again), without_cache(first));
}

#[test]
fn node_modules_is_not_walked_but_its_hidden_npm_lockfile_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let hidden = r#"{"name":"app","lockfileVersion":3,"packages":{"node_modules/minimist":{"version":"1.2.5"}}}"#;
    write(root, ".gitignore", "node_modules/\n");
    write(root, "app/package.json", r#"{"name":"app"}"#);
    write(root, "app/node_modules/.package-lock.json", hidden);
    // An installed package's own lockfile says nothing about what is installed.
    write(
        root,
        "app/node_modules/minimist/package-lock.json",
        r#"{"lockfileVersion":3,"packages":{"node_modules/tape":{"version":"5.0.0"}}}"#,
    );
    write(root, "app/node_modules/minimist/package.json", "{}");
    // A node_modules without a package.json beside it is no npm project.
    write(root, "stray/node_modules/.package-lock.json", hidden);
    let inv = walk(root, None);
    assert_eq!(names(&inv), ["app/node_modules/.package-lock.json minimist@1.2.5"]);
    assert_eq!(inv.file_types.get(&FileType::NpmLock), Some(&1));
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);

    for exclude in ["node_modules", ".package-lock.json", "app/node_modules"] {
        let options = WalkOptions {
            exclude: vec![exclude.to_string()],
            ..WalkOptions::default()
        };
        let inv = scan(root, &options, &Progress::default(), None).unwrap();
        assert!(inv.packages.is_empty(), "--exclude {exclude}: {:?}", names(&inv));
    }
    let only_lockfiles = WalkOptions {
        include: vec!["**/node_modules/*.json".to_string()],
        ..WalkOptions::default()
    };
    let inv = scan(root, &only_lockfiles, &Progress::default(), None).unwrap();
    assert_eq!(names(&inv), ["app/node_modules/.package-lock.json minimist@1.2.5"]);
}

#[test]
fn a_module_pom_follows_its_parent_also_with_a_cache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let parent = |version: &str| {
        format!(
            "<project><groupId>g</groupId><artifactId>parent</artifactId><version>1</version>\
             <properties><lib.version>{version}</lib.version></properties></project>"
        )
    };
    write(root, "pom.xml", &parent("1.0"));
    write(
        root,
        "app/pom.xml",
        "<project><parent><groupId>g</groupId><artifactId>parent</artifactId><version>1</version></parent>\
         <artifactId>app</artifactId><dependencies><dependency><groupId>x</groupId><artifactId>lib</artifactId>\
         <version>${lib.version}</version></dependency></dependencies></project>",
    );
    let first = walk(root, Some(&FingerprintCache::new()));
    assert_eq!(names(&first), ["app/pom.xml x:lib@1.0"]);
    write(root, "pom.xml", &parent("1.1"));
    let cache = first.cache.clone().unwrap();
    let again = walk(root, Some(&cache));
    assert_eq!(names(&again), ["app/pom.xml x:lib@1.1"]);
}

#[test]
fn a_single_file_root_is_read_alone() {
    let dir = tree();
    let root = dir.path();
    let inv = walk(&root.join("Cargo.lock"), None);
    assert_eq!(names(&inv), ["Cargo.lock serde@1.0.100"]);
    assert_eq!((inv.files_walked, inv.lockfiles), (1, 1));
    write(
        root,
        "sbom/app.cdx.json",
        r#"{"bomFormat":"CycloneDX","components":[{"name":"x","purl":"pkg:npm/x@1.0.0"},{"name":"y","purl":"pkg:deb/y@1"}]}"#,
    );
    let inv = walk(&root.join("sbom/app.cdx.json"), None);
    assert_eq!(names(&inv), ["app.cdx.json x@1.0.0"]);
    assert_eq!(inv.errors.len(), 1, "{:?}", inv.errors);
    assert_eq!(inv.errors[0].path, "app.cdx.json");
    // A broken file is an error in the inventory, as in a walk.
    let inv = walk(&root.join("broken/poetry.lock"), None);
    assert!(inv.packages.is_empty());
    assert_eq!(inv.errors[0].path, "poetry.lock");
    // The walk finds SBOMs by their names too.
    let walked = walk(root, None);
    assert!(names(&walked).contains(&"sbom/app.cdx.json x@1.0.0".to_string()));
}

#[test]
fn a_lockfiles_manifest_marks_direct_packages_and_its_changes_reach_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "web/yarn.lock",
        "# yarn lockfile v1\n\nexpress@^4.0.0:\n  version \"4.17.0\"\n  dependencies:\n    qs \"6.7.0\"\n\nqs@6.7.0:\n  version \"6.7.0\"\n",
    );
    write(root, "web/package.json", r#"{"dependencies": {"express": "^4.0.0"}}"#);
    let marks = |inv: &Inventory| -> Vec<String> {
        inv.packages
            .iter()
            .map(|p| format!("{}@{} {:?}", p.name, p.version, p.direct))
            .collect()
    };
    let first = walk(root, Some(&FingerprintCache::new()));
    assert_eq!(marks(&first), ["express@4.17.0 Some(true)", "qs@6.7.0 Some(false)"]);
    // The project now asks for qs itself: the lockfile is unchanged, the
    // cached result is not reused.
    write(
        root,
        "web/package.json",
        r#"{"dependencies": {"express": "^4.0.0", "qs": "6.7.0"}}"#,
    );
    let again = walk(root, first.cache.as_ref());
    assert_eq!(marks(&again), ["express@4.17.0 Some(true)", "qs@6.7.0 Some(true)"]);
    // Without the manifest nothing is claimed.
    fs::remove_file(root.join("web/package.json")).unwrap();
    let bare = walk(root, again.cache.as_ref());
    assert_eq!(marks(&bare), ["express@4.17.0 None", "qs@6.7.0 None"]);
}
