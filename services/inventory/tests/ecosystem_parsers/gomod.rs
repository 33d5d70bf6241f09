use super::common::{assert_packages, parse_fixture, parse_str};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::{FileType, Scope::Unspecified as U, Source::Path, Source::Registry as R};

#[test]
fn service_with_direct_and_indirect_blocks() {
    let packages = parse_fixture("gomod/service/go.mod");
    assert_packages(
        &packages,
        &[
            ("github.com/aws/aws-sdk-go-v2", "v1.30.3", U, R),
            ("github.com/gin-gonic/gin", "v1.9.1", U, R),
            ("github.com/google/uuid", "v1.6.0", U, R),
            ("github.com/prometheus/client_golang", "v1.19.1", U, R),
            ("github.com/spf13/cobra", "v1.8.1", U, R),
            ("go.opentelemetry.io/otel", "v1.28.0", U, R),
            ("golang.org/x/sync", "v0.7.0", U, R),
            ("google.golang.org/grpc", "v1.65.0", U, R),
            ("gopkg.in/yaml.v3", "v3.0.1", U, R),
            ("k8s.io/client-go", "v0.30.3", U, R),
            ("github.com/beorn7/perks", "v1.0.1", U, R),
            ("github.com/bytedance/sonic", "v1.11.6", U, R),
            ("github.com/cespare/xxhash/v2", "v2.3.0", U, R),
            (
                "github.com/davecgh/go-spew",
                "v1.1.2-0.20180830191138-d8f796af33cc",
                U,
                R,
            ),
            ("github.com/gogo/protobuf", "v1.3.2", U, R),
            ("github.com/golang/protobuf", "v1.5.4", U, R),
            ("github.com/inconshreveable/mousetrap", "v1.1.0", U, R),
            ("github.com/json-iterator/go", "v1.1.12", U, R),
            ("github.com/spf13/pflag", "v1.0.5", U, R),
            ("golang.org/x/net", "v0.26.0", U, R),
            ("golang.org/x/sys", "v0.21.0", U, R),
            ("golang.org/x/text", "v0.16.0", U, R),
            ("google.golang.org/protobuf", "v1.34.2", U, R),
            ("github.com/stretchr/testify", "v1.9.0", U, R),
        ],
    );
    // No stdlib from `go`/`toolchain`, and the module itself is no package.
    assert!(
        packages
            .iter()
            .all(|p| p.name != "stdlib" && p.name != "github.com/acme/inventory-service")
    );
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
            (
                "example.com/monorepo/lib",
                "v0.0.0-00010101000000-000000000000",
                U,
                Path,
            ),
            ("github.com/moby/moby", "v24.0.9+incompatible", U, R),
            ("github.com/hashicorp/consul/api", "v1.20.0", U, Path),
            ("github.com/new/logger", "v1.5.1", U, R),
            ("github.com/pkg/errors", "v0.9.1", U, R),
            ("golang.org/x/crypto", "v0.17.0", U, R),
            ("google.golang.org/genproto", "v0.0.0-20230410155749-daa745c078e1", U, R),
            ("k8s.io/api", "v0.28.6", U, R),
            ("k8s.io/apimachinery", "v0.28.6", U, R),
        ],
    );
}

#[test]
fn legacy_quoted_paths_and_single_lines() {
    assert_packages(
        &parse_fixture("gomod/legacy/go.mod"),
        &[
            ("github.com/BurntSushi/toml", "v0.3.1", U, R),
            ("github.com/sirupsen/logrus", "v1.0.6", U, R),
            ("github.com/coreos/etcd", "v3.3.10+incompatible", U, R),
            ("github.com/golang/mock", "v1.4.4", U, R),
            ("github.com/gorilla/mux", "v1.7.4", U, R),
            ("golang.org/x/net", "v0.0.0-20200226121028-0de0cce0169b", U, R),
            ("gopkg.in/check.v1", "v1.0.0-20190902080502-41f04d3bba15", U, R),
            ("github.com/mattn/go-sqlite3", "v1.14.0", U, R),
        ],
    );
}

#[test]
fn version_specific_replace_wins_over_a_general_one() {
    let text = "module m\nrequire a.com/x v1.0.0\nreplace a.com/x v1.0.0 => b.com/x v1.0.1\nreplace a.com/x => c.com/x v9.0.0\n";
    assert_packages(
        &parse_str(FileType::GoMod, text).unwrap(),
        &[("b.com/x", "v1.0.1", U, R)],
    );
}

#[test]
fn empty_and_comment_only_files_have_no_packages() {
    assert!(parse_str(FileType::GoMod, "").unwrap().is_empty());
    assert!(
        parse_str(FileType::GoMod, "// nothing\nmodule x\n\ngo 1.22\nrequire ()\n")
            .unwrap()
            .is_empty()
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
