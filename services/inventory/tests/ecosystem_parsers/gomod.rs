use super::common::{assert_packages, parse_fixture, parse_full, parse_str};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::{FileType, Scope::Unspecified as U, Source::Path, Source::Registry as R};

#[test]
fn service_with_direct_and_indirect_blocks() {
    let packages = parse_fixture("gomod/service/go.mod");
    assert_packages(
        &packages,
        &[
            ("github.com/aws/aws-sdk-go-v2", "1.30.3", U, R),
            ("github.com/gin-gonic/gin", "1.9.1", U, R),
            ("github.com/google/uuid", "1.6.0", U, R),
            ("github.com/prometheus/client_golang", "1.19.1", U, R),
            ("github.com/spf13/cobra", "1.8.1", U, R),
            ("go.opentelemetry.io/otel", "1.28.0", U, R),
            ("golang.org/x/sync", "0.7.0", U, R),
            ("google.golang.org/grpc", "1.65.0", U, R),
            ("gopkg.in/yaml.v3", "3.0.1", U, R),
            ("k8s.io/client-go", "0.30.3", U, R),
            ("github.com/beorn7/perks", "1.0.1", U, R),
            ("github.com/bytedance/sonic", "1.11.6", U, R),
            ("github.com/cespare/xxhash/v2", "2.3.0", U, R),
            (
                "github.com/davecgh/go-spew",
                "1.1.2-0.20180830191138-d8f796af33cc",
                U,
                R,
            ),
            ("github.com/gogo/protobuf", "1.3.2", U, R),
            ("github.com/golang/protobuf", "1.5.4", U, R),
            ("github.com/inconshreveable/mousetrap", "1.1.0", U, R),
            ("github.com/json-iterator/go", "1.1.12", U, R),
            ("github.com/spf13/pflag", "1.0.5", U, R),
            ("golang.org/x/net", "0.26.0", U, R),
            ("golang.org/x/sys", "0.21.0", U, R),
            ("golang.org/x/text", "0.16.0", U, R),
            ("google.golang.org/protobuf", "1.34.2", U, R),
            ("github.com/stretchr/testify", "1.9.0", U, R),
            // `toolchain go1.22.5` wins over `go 1.22.0`.
            ("stdlib", "1.22.5", U, R),
        ],
    );
    // The module itself is no package.
    assert!(packages.iter().all(|p| p.name != "github.com/acme/inventory-service"));
    assert!(
        packages
            .iter()
            .all(|p| p.ecosystem == Ecosystem::Go && p.requirement.is_none())
    );
}

#[test]
fn every_kind_of_replace() {
    assert_packages(
        &parse_fixture("gomod/replace/go.mod"),
        &[
            ("example.com/monorepo/lib", "0.0.0-00010101000000-000000000000", U, Path),
            ("github.com/moby/moby", "24.0.9+incompatible", U, R),
            ("github.com/hashicorp/consul/api", "1.20.0", U, Path),
            ("github.com/new/logger", "1.5.1", U, R),
            ("github.com/pkg/errors", "0.9.1", U, R),
            ("golang.org/x/crypto", "0.17.0", U, R),
            ("google.golang.org/genproto", "0.0.0-20230410155749-daa745c078e1", U, R),
            ("k8s.io/api", "0.28.6", U, R),
            ("k8s.io/apimachinery", "0.28.6", U, R),
            ("stdlib", "1.21.0", U, R),
        ],
    );
}

#[test]
fn legacy_quoted_paths_and_single_lines() {
    assert_packages(
        &parse_fixture("gomod/legacy/go.mod"),
        &[
            ("github.com/BurntSushi/toml", "0.3.1", U, R),
            ("github.com/sirupsen/logrus", "1.0.6", U, R),
            ("github.com/coreos/etcd", "3.3.10+incompatible", U, R),
            ("github.com/golang/mock", "1.4.4", U, R),
            ("github.com/gorilla/mux", "1.7.4", U, R),
            ("golang.org/x/net", "0.0.0-20200226121028-0de0cce0169b", U, R),
            ("gopkg.in/check.v1", "1.0.0-20190902080502-41f04d3bba15", U, R),
            ("github.com/mattn/go-sqlite3", "1.14.0", U, R),
            ("stdlib", "1.13.0", U, R),
        ],
    );
}

#[test]
fn version_specific_replace_wins_over_a_general_one() {
    let text = "module m\nrequire a.com/x v1.0.0\nreplace a.com/x v1.0.0 => b.com/x v1.0.1\nreplace a.com/x => c.com/x v9.0.0\n";
    assert_packages(
        &parse_str(FileType::GoMod, text).unwrap(),
        &[("b.com/x", "1.0.1", U, R)],
    );
}

#[test]
fn empty_and_comment_only_files_have_no_packages() {
    assert!(parse_str(FileType::GoMod, "").unwrap().is_empty());
    assert!(
        parse_str(FileType::GoMod, "// nothing\nmodule x\n\nrequire ()\n")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn stdlib_comes_from_toolchain_else_go() {
    for (text, version) in [
        ("module m\ngo 1.21\n", "1.21.0"),
        ("module m\ngo 1.21.4\ntoolchain go1.22rc1\n", "1.22.0-rc.1"),
        // Order in the file does not matter; the toolchain still wins.
        ("toolchain go1.23.1\nmodule m\ngo 1.21\n", "1.23.1"),
        ("module m\ngo 1.19beta2 // a comment\n", "1.19.0-beta.2"),
    ] {
        assert_packages(&parse_str(FileType::GoMod, text).unwrap(), &[("stdlib", version, U, R)]);
    }
}

#[test]
fn a_directive_that_names_no_release_is_an_error_for_its_line() {
    // The go directive is still used when the toolchain line is not a release.
    let parsed = parse_full(
        FileType::GoMod,
        "module m\ngo 1.21\ntoolchain local\nrequire a.com/x v1.0.0\n",
    )
    .unwrap();
    assert_packages(
        &parsed.packages,
        &[("a.com/x", "1.0.0", U, R), ("stdlib", "1.21.0", U, R)],
    );
    assert_eq!(
        parsed.errors,
        ["go.mod: line 3: toolchain \"local\" names no Go release; stdlib is not reported from it"]
    );
    let parsed = parse_full(FileType::GoMod, "module m\ngo 1.x\n").unwrap();
    assert!(parsed.packages.is_empty());
    assert_eq!(
        parsed.errors,
        ["go.mod: line 2: go \"1.x\" names no Go release; stdlib is not reported from it"]
    );
    assert_eq!(
        parse_full(FileType::GoMod, "go 1.21 1.22\n").unwrap_err().0,
        "go.mod: line 1: expected `go version`"
    );
}

#[test]
fn versions_lose_only_the_leading_v() {
    let text = "module m\nrequire (\n\ta.com/x v2.0.0+incompatible\n\tb.com/y v0.0.0-20191109021931-daa7c04131f5\n)\nreplace a.com/x => ../x\n";
    assert_packages(
        &parse_str(FileType::GoMod, text).unwrap(),
        &[
            ("a.com/x", "2.0.0+incompatible", U, Path),
            ("b.com/y", "0.0.0-20191109021931-daa7c04131f5", U, R),
        ],
    );
}

#[test]
fn malformed_files_are_errors() {
    for (text, message) in [
        (
            "module m\nrequire (\n\tgithub.com/a/b v1.0.0\n",
            "go.mod: line 2: require block is never closed",
        ),
        (
            "require github.com/a/b\n",
            "go.mod: line 1: expected `require module/path version`",
        ),
        (
            "replace a => \n",
            "go.mod: line 1: expected `replace module [version] => module version` or `=> ./dir`",
        ),
        (
            "require \"github.com/a/b v1\n",
            "go.mod: line 1: unterminated quoted string",
        ),
        ("{{{ not a go.mod\n", "go.mod: line 1: unknown directive \"{{{\""),
    ] {
        assert_eq!(parse_str(FileType::GoMod, text).unwrap_err().0, message);
    }
}

crate::fuzz_parser!(
    FileType::GoMod,
    "(require|replace|module|go|exclude|\\(|\\)|=>|//|\"|`|[ \\ta-z0-9./+-]|\n){0,60}",
    ["gomod/service/go.mod", "gomod/replace/go.mod", "gomod/legacy/go.mod"]
);
