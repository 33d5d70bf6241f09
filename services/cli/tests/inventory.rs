//! `zerotrace inventory`: the real binary on small trees: JSON shape, the
//! table, the walk flags and the exit codes.

mod common;

use common::{VULNERABLE_CARGO_LOCK, write, zerotrace};
use std::path::Path;

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "Cargo.lock", VULNERABLE_CARGO_LOCK);
    write(root, "py/requirements.txt", "jinja2==2.10\nrequests>=2.0\n");
    write(root, "web/package-lock.json", "{ this is not json");
    write(root, "deep/a/b/c/requirements.txt", "flask==2.0.0\n");
    write(root, "ignored/requirements.txt", "django==3.0\n");
    write(root, ".gitignore", "ignored/\n");
    write(root, ".hidden/requirements.txt", "six==1.0.0\n");
    write(root, "src/main.rs", "fn main() {}\n");
    dir
}

fn paths(json: &serde_json::Value) -> Vec<String> {
    let mut p: Vec<String> = json["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| p["path"].as_str().expect("path").to_string())
        .collect();
    p.dedup();
    p
}

fn inventory(root: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["inventory".to_string(), root.display().to_string()];
    args.extend(["--format".to_string(), "json".to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = zerotrace(&args);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    run.json()
}

#[test]
fn json_lists_packages_with_paths_and_parse_errors() {
    let dir = tree();
    let json = inventory(dir.path(), &[]);
    let packages = json["packages"].as_array().expect("packages");
    let find = |name: &str| {
        packages
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let smallvec = find("smallvec");
    assert_eq!(smallvec["ecosystem"], "crates.io");
    assert_eq!(smallvec["path"], "Cargo.lock");
    assert_eq!(find("hyper")["source"], "git");
    let jinja = find("jinja2");
    assert_eq!(
        (&jinja["ecosystem"], &jinja["version"], &jinja["path"]),
        (&"PyPI".into(), &"2.10".into(), &"py/requirements.txt".into())
    );
    assert_eq!(find("requests")["requirement"], ">=2.0");
    assert_eq!(
        paths(&json),
        ["Cargo.lock", "deep/a/b/c/requirements.txt", "py/requirements.txt"]
    );
    let errors = json["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "web/package-lock.json");
    assert!(!errors[0]["message"].as_str().expect("message").is_empty());
}

#[test]
fn table_is_aligned_with_errors_and_summary() {
    let dir = tree();
    let run = zerotrace(["inventory".as_ref(), dir.path().as_os_str()]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("ECOSYSTEM"), "{}", run.stdout);
    let name_col = lines[0].find("NAME").expect("NAME column");
    let hyper = lines.iter().find(|l| l.contains("hyper")).expect("hyper row");
    assert_eq!(
        hyper.find("hyper"),
        Some(name_col),
        "columns are aligned:\n{}",
        run.stdout
    );
    assert!(hyper.contains("git"), "{hyper}");
    assert!(run.stdout.contains("(>=2.0)"), "unpinned requirement shown");
    assert!(
        run.stdout.contains("errors:\n  web/package-lock.json: "),
        "{}",
        run.stdout
    );
    let summary = lines.last().expect("summary");
    assert!(
        summary.contains("lockfiles") && summary.contains("11 packages"),
        "{summary}"
    );
}

#[test]
fn walk_flags_map_to_walk_options() {
    let dir = tree();
    let root = dir.path();
    assert_eq!(
        paths(&inventory(root, &["--no-ignore"])),
        [
            "Cargo.lock",
            "deep/a/b/c/requirements.txt",
            "ignored/requirements.txt",
            "py/requirements.txt"
        ]
    );
    assert!(paths(&inventory(root, &["--hidden"])).contains(&".hidden/requirements.txt".to_string()));
    assert_eq!(
        paths(&inventory(root, &["--exclude", "deep", "--exclude", "py"])),
        ["Cargo.lock"]
    );
    assert_eq!(
        paths(&inventory(root, &["--include", "requirements.txt"])),
        ["deep/a/b/c/requirements.txt", "py/requirements.txt"]
    );
    assert_eq!(
        paths(&inventory(root, &["--max-depth", "2"])),
        ["Cargo.lock", "py/requirements.txt"]
    );
    assert_eq!(
        paths(&inventory(root, &["--threads", "1"])),
        paths(&inventory(root, &["--threads", "4"]))
    );
    let small = inventory(root, &["--max-file-size", "20"]);
    let errors = small["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| e["path"] == "Cargo.lock"),
        "an oversized lockfile is an error: {errors:?}"
    );
}

#[test]
#[cfg(unix)]
fn follow_symlinks_flag() {
    let dir = tree();
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "requirements.txt", "attrs==1.0\n");
    std::os::unix::fs::symlink(outside.path(), dir.path().join("linked")).expect("symlink");
    assert!(!paths(&inventory(dir.path(), &[])).contains(&"linked/requirements.txt".to_string()));
    assert!(paths(&inventory(dir.path(), &["--follow-symlinks"])).contains(&"linked/requirements.txt".to_string()));
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing");
    let run = zerotrace(["inventory".as_ref(), missing.as_os_str()]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(run.stdout.is_empty());

    let file = dir.path().join("file");
    std::fs::write(&file, "x").expect("write");
    assert_eq!(zerotrace(["inventory".as_ref(), file.as_os_str()]).code, 2);
    let bad_glob = zerotrace([
        "inventory".as_ref(),
        dir.path().as_os_str(),
        "--exclude".as_ref(),
        "a[".as_ref(),
    ]);
    assert_eq!(bad_glob.code, 2, "{}", bad_glob.stderr);
    assert_eq!(zerotrace(["inventory", ".", "--format", "xml"]).code, 2);
    assert_eq!(zerotrace(["inventory", ".", "--max-file-size", "lots"]).code, 2);
}

#[test]
fn empty_tree_is_an_empty_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = inventory(dir.path(), &[]);
    assert_eq!(json["packages"], serde_json::json!([]));
    assert_eq!(json["errors"], serde_json::json!([]));
}

#[test]
fn a_single_lockfile_or_sbom_is_scanned_alone() {
    let dir = tree();
    let json = inventory(&dir.path().join("Cargo.lock"), &[]);
    assert_eq!(paths(&json), ["Cargo.lock"]);
    write(
        dir.path(),
        "bom.json",
        r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"lodash","purl":"pkg:npm/lodash@4.17.20"}]}"#,
    );
    let json = inventory(&dir.path().join("bom.json"), &[]);
    assert_eq!(json["packages"][0]["name"], "lodash");
    assert_eq!(json["packages"][0]["ecosystem"], "npm");
    assert_eq!(json["packages"][0]["path"], "bom.json");
}
