use super::common::{assert_packages, parse_fixture, parse_full, parse_str};
use zerotrace_inventory::{
    FileType,
    Scope::{Development as D, Unspecified as U},
    Source::Registry as R,
};

#[test]
fn packages_config_with_a_development_dependency() {
    assert_packages(
        &parse_fixture("nuget/config/packages.config"),
        &[
            ("EntityFramework", "6.4.4", U, R),
            ("Microsoft.AspNet.Mvc", "5.2.9", U, R),
            ("Newtonsoft.Json", "12.0.3", U, R),
            ("StyleCop.Analyzers", "1.1.118", D, R),
        ],
    );
    let parsed = parse_full(
        FileType::NugetConfig,
        "<packages>\n<package id=\"A\"/>\n<package id=\"B\" version=\"2.0\"/></packages>",
    )
    .unwrap();
    assert_packages(&parsed.packages, &[("B", "2.0", U, R)]);
    assert_eq!(
        parsed.errors,
        ["packages.config: line 2: a package needs an id and a version"]
    );
    assert!(
        parse_str(FileType::NugetConfig, "<configuration><packages/></configuration>")
            .unwrap()
            .is_empty()
    );
    assert!(parse_full(FileType::NugetConfig, "<packages><package id=\"A\" version=\"1\">").is_err());
}

crate::fuzz_parser!(
    FileType::NugetConfig,
    "(<packages>|</packages>|<package |/>|id=\"A\" |version=\"1\" |developmentDependency=\"true\" |&amp;|[a-z0-9<>/ ]){0,60}",
    ["nuget/config/packages.config"]
);
