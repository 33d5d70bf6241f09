use super::common::{assert_packages, parse_fixture, parse_full, parse_str};
use zerotrace_inventory::{FileType, Scope::Unspecified as U, Source::Registry as R};

#[test]
fn components_are_packages_and_trusted_artifacts_are_not() {
    assert_packages(
        &parse_fixture("gradle/verification/gradle/verification-metadata.xml"),
        &[
            ("com.squareup.okhttp3:okhttp", "4.12.0", U, R),
            // Listed twice (two artifact sets), reported once.
            ("org.jetbrains.kotlin:kotlin-stdlib", "1.9.22", U, R),
            ("com.google.guava:guava", "32.1.3-jre", U, R),
        ],
    );
}

#[test]
fn a_component_without_a_version_is_an_error_for_that_component() {
    let parsed = parse_full(
        FileType::GradleVerification,
        "<verification-metadata><components>\n<component group=\"a\" name=\"b\"/>\n\
         <component group=\"c\" name=\"d\" version=\"1.0\"></component></components></verification-metadata>",
    )
    .unwrap();
    assert_packages(&parsed.packages, &[("c:d", "1.0", U, R)]);
    assert_eq!(
        parsed.errors,
        ["verification-metadata.xml: line 2: a component needs non-empty group, name and version"]
    );
}

#[test]
fn another_tools_file_of_that_name_yields_nothing_and_broken_xml_is_an_error() {
    assert!(
        parse_str(
            FileType::GradleVerification,
            "<metadata><component group=\"a\" name=\"b\" version=\"1\"/></metadata>"
        )
        .unwrap()
        .is_empty()
    );
    let e = parse_str(FileType::GradleVerification, "<verification-metadata><components>")
        .unwrap_err()
        .0;
    assert_eq!(
        e,
        "verification-metadata.xml: unexpected end of file inside <components>"
    );
    assert!(
        parse_str(FileType::GradleVerification, "<verification-metadata><a></b>")
            .unwrap_err()
            .0
            .starts_with("verification-metadata.xml: ")
    );
}

crate::fuzz_parser!(
    FileType::GradleVerification,
    "(<verification-metadata>|</verification-metadata>|<components>|</components>|<component |/>|>|group=\"a\" |name=\"b\" |version=\"1\" |&amp;|\"|[a-z0-9.:<>/ ]){0,60}",
    ["gradle/verification/gradle/verification-metadata.xml"]
);
