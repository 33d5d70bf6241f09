//! The dependency graphs of the lockfiles that record one (Cargo.lock, npm
//! v2/v3): the project's own entries as roots, each dependency resolved as
//! the package manager does, and the shortest chain from a root to each
//! package.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use zerotrace_inventory::parsers::{ParseInput, parse};
use zerotrace_inventory::{DependencyGraph, FileType, Paths};

fn graph_of(name: &str, contents: &str) -> DependencyGraph {
    let path = Path::new(name);
    let parsed = parse(FileType::detect(name), &ParseInput::new(contents, path, name)).unwrap();
    parsed.graph.expect("the file records a graph")
}

fn chain(paths: &Paths<'_>, name: &str, version: &str) -> Vec<String> {
    paths
        .path(name, version)
        .unwrap_or_else(|| panic!("{name} {version} is reached"))
        .into_iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect()
}

#[test]
fn cargo_lock_paths_start_at_the_workspace_crates() {
    let lock = r#"version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["hyper", "tokio", "utils"]

[[package]]
name = "utils"
version = "0.1.0"
dependencies = ["h2 0.2.0"]

[[package]]
name = "hyper"
version = "0.14.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["h2 0.3.26", "tokio"]

[[package]]
name = "h2"
version = "0.3.26"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["hyper"]

[[package]]
name = "h2"
version = "0.2.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "tokio"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
    let graph = graph_of("Cargo.lock", lock);
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "h2", "0.3.26"),
        ["app 0.1.0", "hyper 0.14.1", "h2 0.3.26"]
    );
    // Two versions of one crate, each by its own chain; utils is a root too (no source).
    assert_eq!(chain(&paths, "h2", "0.2.0"), ["utils 0.1.0", "h2 0.2.0"]);
    assert_eq!(paths.direct("hyper", "0.14.1"), Some(true));
    assert_eq!(paths.direct("h2", "0.3.26"), Some(false));
}

#[test]
fn npm_dependencies_resolve_through_nested_node_modules_and_workspaces() {
    let lock = r#"{
  "name": "web", "version": "1.0.0", "lockfileVersion": 3,
  "packages": {
    "": {"name": "web", "version": "1.0.0", "dependencies": {"express": "^4"}, "devDependencies": {"@scope/tool": "1"},
         "workspaces": ["packages/lib"]},
    "packages/lib": {"name": "lib", "version": "0.0.1", "dependencies": {"qs": "6.5.0"}},
    "node_modules/lib": {"resolved": "packages/lib", "link": true},
    "node_modules/express": {"version": "4.17.0", "dependencies": {"qs": "6.7.0", "lib": "*"}},
    "node_modules/qs": {"version": "6.7.0"},
    "node_modules/express/node_modules/debug": {"version": "2.6.9"},
    "packages/lib/node_modules/qs": {"version": "6.5.0"},
    "node_modules/@scope/tool": {"version": "1.0.0", "dev": true, "dependencies": {"debug": "4"}},
    "node_modules/debug": {"version": "4.3.4"}
  }
}"#;
    let graph = graph_of("package-lock.json", lock);
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "qs", "6.7.0"),
        ["web 1.0.0", "express 4.17.0", "qs 6.7.0"]
    );
    // The workspace's own copy, found in its own node_modules first.
    assert_eq!(chain(&paths, "qs", "6.5.0"), ["lib 0.0.1", "qs 6.5.0"]);
    // A scoped dev dependency, and what it needs from the top node_modules.
    assert_eq!(
        chain(&paths, "debug", "4.3.4"),
        ["web 1.0.0", "@scope/tool 1.0.0", "debug 4.3.4"]
    );
    // Installed but needed by no one.
    assert_eq!(paths.path("debug", "2.6.9"), None);
    assert_eq!(paths.direct("express", "4.17.0"), Some(true));
}

#[test]
fn files_without_a_graph_say_so() {
    let path = Path::new("requirements.txt");
    let parsed = parse(
        FileType::PipRequirements,
        &ParseInput::new("flask==2.0\n", path, "requirements.txt"),
    )
    .unwrap();
    assert!(parsed.graph.is_none());
}

#[test]
fn nuget_lock_paths_start_at_the_project() {
    let lock = r#"{"version": 1, "dependencies": {"net8.0": {
        "Serilog.Sinks.File": {"type": "Direct", "requested": "[5.0.0, )", "resolved": "5.0.0",
            "dependencies": {"Serilog": "2.10.0"}},
        "serilog": {"type": "Transitive", "resolved": "2.10.0"},
        "Orphan": {"type": "Transitive", "resolved": "1.0.0"}
    }}}"#;
    let graph = graph_of("packages.lock.json", lock);
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "serilog", "2.10.0"),
        ["(project) ", "Serilog.Sinks.File 5.0.0", "serilog 2.10.0"]
    );
    assert_eq!(paths.direct("Serilog.Sinks.File", "5.0.0"), Some(true));
    assert_eq!(paths.path("Orphan", "1.0.0"), None);
}

#[test]
fn uv_lock_paths_start_at_the_workspace_members() {
    let lock = r#"version = 1
requires-python = ">=3.12"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "requests" }]

[package.dev-dependencies]
test = [{ name = "pytest" }]

[[package]]
name = "requests"
version = "2.31.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "urllib3" }]

[[package]]
name = "urllib3"
version = "2.0.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.0.0"
source = { registry = "https://pypi.org/simple" }
"#;
    let graph = graph_of("uv.lock", lock);
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "urllib3", "2.0.0"),
        ["app 0.1.0", "requests 2.31.0", "urllib3 2.0.0"]
    );
    assert_eq!(paths.direct("pytest", "8.0.0"), Some(true));
}

#[test]
fn gemfile_lock_paths_start_at_the_gemfile() {
    let lock = "GEM\n  remote: https://rubygems.org/\n  specs:\n    actionpack (7.0.8)\n      rack (~> 2.0)\n      rack-test (>= 0.6.3)\n    rack (2.2.8)\n    rack-test (2.1.0)\n      rack (>= 1.3)\n    nokogiri (1.15.4-x86_64-linux)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  actionpack (~> 7.0)\n  nokogiri!\n\nBUNDLED WITH\n   2.4.10\n";
    let graph = graph_of("Gemfile.lock", lock);
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "rack", "2.2.8"),
        ["(Gemfile) ", "actionpack 7.0.8", "rack 2.2.8"]
    );
    assert_eq!(paths.direct("nokogiri", "1.15.4"), Some(true));
    assert_eq!(paths.direct("rack-test", "2.1.0"), Some(false));
}
