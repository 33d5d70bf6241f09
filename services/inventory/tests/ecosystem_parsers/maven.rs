use super::common::{assert_packages, parse_fixture, parse_fixture_in, parse_full, parse_str};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::{
    FileType,
    Scope::{Development as D, Optional as O, Runtime as RT, Unspecified as U},
    Source::{Path, Registry as R},
};

#[test]
fn literal_and_property_versions_with_scopes() {
    let packages = parse_fixture("maven/basic/pom.xml");
    assert_packages(
        &packages,
        &[
            ("com.fasterxml.jackson.core:jackson-databind", "2.15.2", RT, R),
            ("io.netty:netty-handler", "4.1.94.Final", RT, R),
            ("org.apache.logging.log4j:log4j-core", "2.20.0", RT, R),
            ("org.slf4j:slf4j-api", "2.0.7", RT, R),
            ("jakarta.servlet:jakarta.servlet-api", "6.0.0", RT, R),
            ("org.postgresql:postgresql", "42.6.0", O, R),
            ("com.acme.billing:billing-model", "2.4.1-SNAPSHOT", RT, R),
            ("com.oracle:ojdbc", "19.3", RT, Path),
            ("org.junit.jupiter:junit-jupiter", "5.10.0", D, R),
            ("org.mockito:mockito-core", "5.4.0", D, R),
        ],
    );
    assert!(
        packages
            .iter()
            .all(|p| p.ecosystem == Ecosystem::Maven && p.requirement.is_none())
    );
}

#[test]
fn dependency_management_parent_version_and_bom_imports() {
    let parsed = parse_fixture_in("maven/managed", "maven/managed/pom.xml");
    assert_packages(
        &parsed.packages,
        &[
            ("com.google.guava:guava", "32.1.3-jre", RT, R),
            ("org.testcontainers:postgresql", "1.19.1", D, R),
            ("org.apache.commons:commons-text", "1.10.0", U, R),
            ("com.example.shop:shop-core", "3.1.5", U, R),
            ("org.yaml:snakeyaml", "2.2", U, R),
        ],
    );
    // Managed by a BOM import: the version is not knowable here, which is
    // said, not left as an empty version.
    let no_version = |name: &str| {
        format!(
            "pom.xml: dependency {name}: no version here nor in the dependencyManagement of this POM or of a parent POM in the scanned tree"
        )
    };
    assert_eq!(
        parsed.errors,
        [
            no_version("org.springframework.boot:spring-boot-starter-web"),
            no_version("org.springframework.boot:spring-boot-starter-test")
        ]
    );
}

#[test]
fn unresolvable_versions_are_errors_for_their_dependency() {
    let parsed = parse_fixture_in("maven/unresolved", "maven/unresolved/pom.xml");
    let mut got: Vec<(&str, &str, Option<&str>)> = parsed
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.requirement.as_deref()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("commons-collections:commons-collections", "", Some("[1.7,2.0)")),
            ("commons-io:commons-io", "", Some("[2.7,)")),
            ("org.example:escaped-name", "3.0", None),
            ("org.example:same-as-project", "1.0.0", None),
        ]
    );
    assert_eq!(
        parsed.errors,
        [
            "pom.xml: dependency org.example:cyclic: cannot resolve version \"${a.version}\": property a.version refers to itself",
            "pom.xml: dependency org.example:from-settings: cannot resolve version \"${env.LIB_VERSION}\": property env.LIB_VERSION is not defined in this POM or a parent POM in the scanned tree",
            "pom.xml: dependency org.example:from-parent: no version here nor in the dependencyManagement of this POM or of a parent POM in the scanned tree",
        ]
    );
}

#[test]
fn parent_poms_in_the_tree_supply_properties_and_managed_versions() {
    let parsed = parse_fixture_in("maven/multimodule", "maven/multimodule/services/api/pom.xml");
    assert_packages(
        &parsed.packages,
        &[
            // From the grandparent's management and properties.
            ("com.fasterxml.jackson.core:jackson-databind", "2.15.3", RT, R),
            // The grandparent manages it; the parent's property wins.
            ("io.netty:netty-handler", "4.1.101.Final", RT, R),
            // `${project.version}` is the module's own (inherited) version.
            ("com.acme:acme-core", "2.3.0", RT, R),
            // From the parent's management.
            ("com.google.guava:guava", "32.1.3-jre", RT, R),
        ],
    );
    assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
    assert!(
        parsed.errors[0].contains("org.unmanaged:nowhere: no version"),
        "{:?}",
        parsed.errors
    );

    // The parents report only what they manage themselves.
    let parent = parse_fixture_in("maven/multimodule", "maven/multimodule/services/pom.xml");
    assert_packages(&parent.packages, &[("com.google.guava:guava", "32.1.3-jre", U, R)]);
    assert!(parent.errors.is_empty(), "{:?}", parent.errors);
}

#[test]
fn parents_outside_the_root_elsewhere_or_repository_only_are_not_read() {
    // The same module, scanned with its own directory as the root: the
    // parents lie outside and are not read.
    let alone = parse_fixture_in(
        "maven/multimodule/services/api",
        "maven/multimodule/services/api/pom.xml",
    );
    assert!(alone.packages.is_empty(), "{:?}", alone.packages);
    assert_eq!(alone.errors.len(), 5, "{:?}", alone.errors);
    // `<relativePath/>`: the parent is in a repository only.
    let legacy = parse_fixture_in("maven/multimodule", "maven/multimodule/services/legacy/pom.xml");
    assert!(legacy.packages.is_empty());
    assert_eq!(legacy.errors.len(), 1, "{:?}", legacy.errors);
    // ../pom.xml is not the declared parent.
    let standalone = parse_fixture_in("maven/multimodule", "maven/multimodule/standalone/pom.xml");
    assert!(standalone.packages.is_empty());
    assert_eq!(standalone.errors.len(), 1, "{:?}", standalone.errors);
}

#[test]
fn a_malformed_parent_is_an_error_for_the_child_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(
        dir.path().join("pom.xml"),
        "<project><groupId>g</groupId><artifactId>p</artifactId",
    )
    .unwrap();
    let child = "<project><parent><groupId>g</groupId><artifactId>p</artifactId><version>1</version></parent>\
        <artifactId>app</artifactId><dependencies><dependency><groupId>x</groupId><artifactId>y</artifactId>\
        <version>1.0</version></dependency></dependencies></project>";
    let path = dir.path().join("app/pom.xml");
    let input = zerotrace_inventory::parsers::ParseInput::new(child, &path, "app/pom.xml").with_root(dir.path());
    let parsed = zerotrace_inventory::parsers::parse(FileType::MavenPom, &input).unwrap();
    assert_packages(&parsed.packages, &[("x:y", "1.0", RT, R)]);
    assert_eq!(parsed.errors.len(), 1);
    let error = &parsed.errors[0];
    assert!(
        error.starts_with("pom.xml: parent POM pom.xml: ") && !error.contains("pom.xml: pom.xml"),
        "{error}"
    );
    // A cycle of parents ends.
    let cyclic = "<project><parent><groupId>g</groupId><artifactId>c</artifactId><relativePath>pom.xml</relativePath></parent>\
        <groupId>g</groupId><artifactId>c</artifactId><dependencies><dependency><groupId>x</groupId><artifactId>y</artifactId>\
        <version>2.0</version></dependency></dependencies></project>";
    let parsed = parse_full(FileType::MavenPom, cyclic).unwrap();
    assert_packages(&parsed.packages, &[("x:y", "2.0", RT, R)]);
}

#[test]
fn managed_version_matches_type_and_classifier_first() {
    let pom = r#"<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version>
      <dependencyManagement><dependencies>
        <dependency><groupId>x</groupId><artifactId>y</artifactId><version>1.0</version></dependency>
        <dependency><groupId>x</groupId><artifactId>y</artifactId><version>2.0</version><type>test-jar</type><scope>test</scope></dependency>
      </dependencies></dependencyManagement>
      <dependencies>
        <dependency><groupId>x</groupId><artifactId>y</artifactId><type>test-jar</type></dependency>
        <dependency><groupId>x</groupId><artifactId>y</artifactId></dependency>
      </dependencies></project>"#;
    assert_packages(
        &parse_str(FileType::MavenPom, pom).unwrap(),
        &[("x:y", "2.0", D, R), ("x:y", "1.0", RT, R)],
    );
}

#[test]
fn malformed_poms_are_errors() {
    for (text, prefix) in [
        (
            "<project><dependencies><dependency>",
            "pom.xml: unexpected end of file inside <dependency>",
        ),
        (
            "<settings/>",
            "pom.xml: unexpected root element <settings>, expected <project>",
        ),
        (
            "<project></project><project/>",
            "pom.xml: unexpected root element <project>, expected <project>",
        ),
        ("<project><a></b></project>", "pom.xml: "),
        ("", "pom.xml: no <project> element"),
        ("<project>&bogus;</project>", "pom.xml: unknown entity &bogus;"),
    ] {
        let e = parse_str(FileType::MavenPom, text).unwrap_err().0;
        assert!(e.starts_with(prefix), "{e}");
    }
}

crate::fuzz_parser!(
    FileType::MavenPom,
    "(<project>|</project>|<dependency>|</dependency>|<dependencies>|</dependencies>|<version>|</version>|<properties>|<a>|</a>|\\$\\{|\\}|&amp;|&#|<!\\[CDATA\\[|[a-z0-9.:<>/ ]){0,60}",
    [
        "maven/basic/pom.xml",
        "maven/managed/pom.xml",
        "maven/unresolved/pom.xml"
    ]
);

#[test]
fn a_one_version_range_is_that_version() {
    let pom = "<project><dependencies><dependency><groupId>x</groupId><artifactId>y</artifactId><version>[1.5]</version></dependency></dependencies></project>";
    let packages = parse_str(FileType::MavenPom, pom).unwrap();
    assert_packages(&packages, &[("x:y", "1.5", RT, R)]);
    assert_eq!(packages[0].requirement, None);
}
