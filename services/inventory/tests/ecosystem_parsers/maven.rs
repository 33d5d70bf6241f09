use super::common::{assert_packages, parse_fixture, parse_str};
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
    assert_packages(
        &parse_fixture("maven/managed/pom.xml"),
        &[
            ("org.springframework.boot:spring-boot-starter-web", "", RT, R),
            ("com.google.guava:guava", "32.1.3-jre", RT, R),
            ("org.testcontainers:postgresql", "1.19.1", D, R),
            ("org.springframework.boot:spring-boot-starter-test", "", D, R),
            ("org.apache.commons:commons-text", "1.10.0", U, R),
            ("com.example.shop:shop-core", "3.1.5", U, R),
            ("org.yaml:snakeyaml", "2.2", U, R),
        ],
    );
}

#[test]
fn unresolvable_versions_keep_the_requirement() {
    let packages = parse_fixture("maven/unresolved/pom.xml");
    let mut got: Vec<(&str, &str, Option<&str>)> = packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.requirement.as_deref()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("commons-collections:commons-collections", "", Some("[1.7,2.0)")),
            ("commons-io:commons-io", "", Some("[2.7,)")),
            ("org.example:cyclic", "", Some("${a.version}")),
            ("org.example:escaped-name", "3.0", None),
            ("org.example:from-parent", "", None),
            ("org.example:from-settings", "", Some("${env.LIB_VERSION}")),
            ("org.example:same-as-project", "1.0.0", None),
        ]
    );
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
