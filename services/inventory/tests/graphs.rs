//! The dependency graphs of the lockfiles that record one: the project's own
//! entries (or, where the lockfile has none, the manifest beside it) as
//! roots, each dependency resolved as the package manager does, and the
//! shortest chain from a root to each package.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use zerotrace_inventory::parsers::{ParseInput, parse};
use zerotrace_inventory::{DependencyGraph, FileType, Paths};

fn graph_of(name: &str, contents: &str) -> DependencyGraph {
    let path = Path::new(name);
    let parsed = parse(FileType::detect(name), &ParseInput::new(contents, path, name)).unwrap();
    parsed.graph.expect("the file records a graph")
}

/// The graph of a lockfile read with its project manifest, or `None`.
fn graph_with(name: &str, contents: &str, manifest: Option<&str>) -> Option<DependencyGraph> {
    let path = Path::new(name);
    let mut input = ParseInput::new(contents, path, name);
    if let Some(manifest) = manifest {
        input = input.with_manifest(manifest);
    }
    parse(FileType::detect(name), &input).unwrap().graph
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

#[test]
fn pnpm_v9_paths_start_at_the_importers_through_snapshots_peers_aliases_and_links() {
    let lock = r#"lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      express:
        specifier: ^4.17.0
        version: 4.17.0
      lib:
        specifier: workspace:*
        version: link:packages/lib
    devDependencies:
      string-width-cjs:
        specifier: npm:string-width@^4.2.0
        version: string-width@4.2.3
  packages/lib:
    dependencies:
      qs:
        specifier: 6.5.0
        version: 6.5.0
packages:
  express@4.17.0:
    resolution: {integrity: sha512-a}
  qs@6.7.0:
    resolution: {integrity: sha512-b}
  qs@6.5.0:
    resolution: {integrity: sha512-c}
  react-dom@18.2.0:
    resolution: {integrity: sha512-d}
  react@18.2.0:
    resolution: {integrity: sha512-e}
  string-width@4.2.3:
    resolution: {integrity: sha512-f}
snapshots:
  express@4.17.0:
    dependencies:
      qs: 6.7.0
      react-dom: 18.2.0(react@18.2.0)
  qs@6.7.0: {}
  qs@6.5.0: {}
  react-dom@18.2.0(react@18.2.0):
    dependencies:
      react: 18.2.0
  react@18.2.0: {}
  string-width@4.2.3: {}
"#;
    let graph = graph_of("pnpm-lock.yaml", lock);
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "react", "18.2.0"),
        ["(project) ", "express 4.17.0", "react-dom 18.2.0", "react 18.2.0"]
    );
    // The workspace package's own dependency, through the link.
    assert_eq!(chain(&paths, "qs", "6.5.0"), ["packages/lib ", "qs 6.5.0"]);
    assert_eq!(paths.direct("string-width", "4.2.3"), Some(true));
    assert_eq!(paths.direct("qs", "6.7.0"), Some(false));
}

#[test]
fn pnpm_v5_and_v6_paths_start_at_the_top_level_dependencies() {
    let v6 = r#"lockfileVersion: '6.0'
dependencies:
  express:
    specifier: ^4.17.0
    version: 4.17.0
packages:
  /express@4.17.0:
    resolution: {integrity: sha512-a}
    dependencies:
      qs: 6.7.0
      react-dom: 18.2.0(react@18.2.0)
    dev: false
  /qs@6.7.0:
    resolution: {integrity: sha512-b}
    dev: false
  /react-dom@18.2.0(react@18.2.0):
    resolution: {integrity: sha512-c}
    dev: false
"#;
    let paths_v6 = graph_of("pnpm-lock.yaml", v6);
    let paths = Paths::of(&paths_v6);
    assert_eq!(
        chain(&paths, "react-dom", "18.2.0"),
        ["(project) ", "express 4.17.0", "react-dom 18.2.0"]
    );
    let v5 = r#"lockfileVersion: 5.4
specifiers:
  express: ^4.17.0
dependencies:
  express: 4.17.0
packages:
  /express/4.17.0:
    resolution: {integrity: sha512-a}
    dependencies:
      qs: 6.7.0
    dev: false
  /qs/6.7.0:
    resolution: {integrity: sha512-b}
    dev: false
"#;
    let graph = graph_of("pnpm-lock.yaml", v5);
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "qs", "6.7.0"),
        ["(project) ", "express 4.17.0", "qs 6.7.0"]
    );
    assert_eq!(paths.direct("express", "4.17.0"), Some(true));
}

const YARN_CLASSIC: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0":
  version "7.22.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.22.13.tgz"
  dependencies:
    "@babel/highlight" "^7.22.13"
    chalk "^2.4.2"

"@babel/highlight@^7.22.13":
  version "7.22.20"
  resolved "https://registry.yarnpkg.com/@babel/highlight/-/highlight-7.22.20.tgz"
  dependencies:
    chalk "^2.4.2"

chalk@^2.4.2, chalk@~2.4.0:
  version "2.4.2"
  resolved "https://registry.yarnpkg.com/chalk/-/chalk-2.4.2.tgz"

left-pad@1.3.0:
  version "1.3.0"
  resolved "https://registry.yarnpkg.com/left-pad/-/left-pad-1.3.0.tgz"
"#;

#[test]
fn yarn_classic_paths_start_at_the_package_json_beside_it() {
    let manifest =
        r#"{"name": "web", "dependencies": {"@babel/code-frame": "^7.0.0"}, "devDependencies": {"chalk": "~2.4.0"}}"#;
    let graph = graph_with("yarn.lock", YARN_CLASSIC, Some(manifest)).unwrap();
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "@babel/highlight", "7.22.20"),
        ["web ", "@babel/code-frame 7.22.13", "@babel/highlight 7.22.20"]
    );
    // Asked for by the project under another range than its dependents use.
    assert_eq!(paths.direct("chalk", "2.4.2"), Some(true));
    // Locked but asked for by no one.
    assert_eq!(paths.direct("left-pad", "1.3.0"), None);
    // Without the manifest the lockfile names no root: nothing is claimed.
    assert_eq!(graph_with("yarn.lock", YARN_CLASSIC, None), None);
}

#[test]
fn yarn_berry_paths_start_at_the_workspaces() {
    let lock = r#"__metadata:
  version: 8
  cacheKey: 10c0

"@my-org/shared@workspace:^, @my-org/shared@workspace:packages/shared":
  version: 0.0.0-use.local
  resolution: "@my-org/shared@workspace:packages/shared"
  dependencies:
    chalk: "npm:^2.4.2"
  languageName: unknown
  linkType: soft

"chalk@npm:^2.4.2":
  version: 2.4.2
  resolution: "chalk@npm:2.4.2"
  dependencies:
    supports-color: ^5.3.0
  languageName: node
  linkType: hard

"my-app@workspace:.":
  version: 0.0.0-use.local
  resolution: "my-app@workspace:."
  dependencies:
    "@my-org/shared": "workspace:^"
    tiny-local: "file:./vendor/tiny-local"
  languageName: unknown
  linkType: soft

"supports-color@npm:^5.3.0":
  version: 5.5.0
  resolution: "supports-color@npm:5.5.0"
  languageName: node
  linkType: hard

"tiny-local@file:./vendor/tiny-local#./vendor/tiny-local::hash=1f3a2b&locator=my-app%40workspace%3A.":
  version: 1.0.0
  resolution: "tiny-local@file:./vendor/tiny-local#./vendor/tiny-local::hash=1f3a2b&locator=my-app%40workspace%3A."
  languageName: node
  linkType: hard
"#;
    let graph = graph_of("yarn.lock", lock);
    let paths = Paths::of(&graph);
    // The shared workspace is a root of its own: its chain is the shortest.
    assert_eq!(
        chain(&paths, "supports-color", "5.5.0"),
        ["@my-org/shared ", "chalk 2.4.2", "supports-color 5.5.0"]
    );
    assert_eq!(paths.direct("tiny-local", ""), Some(true));
    assert_eq!(paths.direct("chalk", "2.4.2"), Some(true));
    assert_eq!(paths.direct("supports-color", "5.5.0"), Some(false));
}

const POETRY_LOCK: &str = r#"[[package]]
name = "django"
version = "4.2.0"
groups = ["main"]

[package.dependencies]
asgiref = ">=3.6.0,<4"
sqlparse = {version = ">=0.3.1", markers = "python_version >= \"3.8\""}

[[package]]
name = "asgiref"
version = "3.7.2"
groups = ["main"]

[package.dependencies]
typing-extensions = {version = ">=4", markers = "python_version < \"3.11\""}

[[package]]
name = "sqlparse"
version = "0.4.4"
groups = ["main"]

[[package]]
name = "typing-extensions"
version = "4.8.0"
groups = ["main", "dev"]

[[package]]
name = "pytest"
version = "7.4.0"
groups = ["dev"]

[metadata]
lock-version = "2.1"
python-versions = "^3.10"
content-hash = "0"
"#;

#[test]
fn poetry_paths_start_at_the_pyproject_beside_it() {
    let pep621 = r#"[project]
name = "shop"
dependencies = ["Django[argon2]>=4.2 ; python_version >= '3.10'"]

[tool.poetry.group.dev.dependencies]
PyTest = "^7.4"
"#;
    let graph = graph_with("poetry.lock", POETRY_LOCK, Some(pep621)).unwrap();
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "typing-extensions", "4.8.0"),
        ["shop ", "django 4.2.0", "asgiref 3.7.2", "typing-extensions 4.8.0"]
    );
    assert_eq!(paths.direct("pytest", "7.4.0"), Some(true));
    assert_eq!(paths.direct("sqlparse", "0.4.4"), Some(false));
    // Poetry 1's own tables; `python` is no package.
    let poetry = r#"[tool.poetry]
name = "shop"

[tool.poetry.dependencies]
python = "^3.10"
django = "^4.2"

[tool.poetry.dev-dependencies]
pytest = "^7.4"
"#;
    let graph = graph_with("poetry.lock", POETRY_LOCK, Some(poetry)).unwrap();
    let paths = Paths::of(&graph);
    assert_eq!(paths.direct("django", "4.2.0"), Some(true));
    assert_eq!(paths.direct("asgiref", "3.7.2"), Some(false));
    assert_eq!(graph_with("poetry.lock", POETRY_LOCK, None), None);
}

#[test]
fn composer_paths_start_at_composer_json_and_follow_provides() {
    let lock = r#"{
  "packages": [
    {"name": "laravel/framework", "version": "v10.0.0",
     "require": {"php": "^8.1", "ext-json": "*", "Symfony/Console": "^6.2", "psr/log-implementation": "1.0"}},
    {"name": "symfony/console", "version": "v6.2.0", "require": {"symfony/polyfill-mbstring": "~1.0"}},
    {"name": "symfony/polyfill-mbstring", "version": "v1.27.0", "require": []},
    {"name": "monolog/monolog", "version": "3.3.1", "provide": {"psr/log-implementation": "3.0.0"}}
  ],
  "packages-dev": [
    {"name": "phpunit/phpunit", "version": "10.0.0", "require": {"symfony/console": "^6"}}
  ]
}"#;
    let manifest = r#"{"name": "acme/shop", "require": {"php": "^8.1", "laravel/framework": "^10.0"},
        "require-dev": {"phpunit/phpunit": "^10"}}"#;
    let graph = graph_with("composer.lock", lock, Some(manifest)).unwrap();
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "symfony/polyfill-mbstring", "1.27.0"),
        [
            "acme/shop ",
            "laravel/framework 10.0.0",
            "symfony/console 6.2.0",
            "symfony/polyfill-mbstring 1.27.0"
        ]
    );
    // A virtual package resolves to what provides it.
    assert_eq!(
        chain(&paths, "monolog/monolog", "3.3.1"),
        ["acme/shop ", "laravel/framework 10.0.0", "monolog/monolog 3.3.1"]
    );
    assert_eq!(paths.direct("phpunit/phpunit", "10.0.0"), Some(true));
}

#[test]
fn go_mod_marks_direct_and_indirect_requirements() {
    let go_mod = "module example.com/shop\n\ngo 1.22\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.9.0\n\tgolang.org/x/net v0.10.0 // indirect\n\tgolang.org/x/text v0.9.0 // indirect; needed by net\n\texample.com/old v1.0.0\n)\n\nrequire github.com/pkg/errors v0.9.1 // indirectly useful\n\nreplace example.com/old => example.com/new v1.2.0\n";
    let graph = graph_of("go.mod", go_mod);
    let paths = Paths::of(&graph);
    assert_eq!(
        chain(&paths, "github.com/gin-gonic/gin", "1.9.0"),
        ["example.com/shop ", "github.com/gin-gonic/gin 1.9.0"]
    );
    assert_eq!(paths.direct("golang.org/x/net", "0.10.0"), Some(false));
    assert_eq!(paths.path("golang.org/x/net", "0.10.0"), None);
    assert_eq!(paths.direct("golang.org/x/text", "0.9.0"), Some(false));
    // Another word than `indirect` is a comment, not a mark.
    assert_eq!(paths.direct("github.com/pkg/errors", "0.9.1"), Some(true));
    // The replacement is what the project depends on.
    assert_eq!(paths.direct("example.com/new", "1.2.0"), Some(true));
    // The toolchain is no requirement.
    assert_eq!(paths.direct("stdlib", "1.22.0"), None);
}
