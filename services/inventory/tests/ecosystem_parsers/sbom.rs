use super::common::{parse_fixture_in, parse_full};
use zerotrace_inventory::{FileType, Package, Scope};

/// `ecosystem name@version scope` of every package, sorted.
fn rows(packages: &[Package]) -> Vec<String> {
    let mut rows: Vec<String> = packages
        .iter()
        .map(|p| {
            let scope = match p.scope {
                Scope::Unspecified => "unspecified",
                Scope::Runtime => "runtime",
                Scope::Development => "dev",
                Scope::Optional => "optional",
            };
            format!(
                "{} {}@{} {scope} {}",
                p.ecosystem.osv_name(),
                p.name,
                p.version,
                p.source.as_str()
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn cyclonedx_json_nested_components_scopes_and_unknown_purls() {
    let parsed = parse_fixture_in("sbom", "sbom/bom.json");
    assert_eq!(
        rows(&parsed.packages),
        [
            "Maven org.apache.logging.log4j:log4j-core@2.14.1 optional registry",
            "npm @babel/core@7.22.5 dev registry",
            "npm express@4.18.2 runtime registry",
            "npm qs@6.11.0 unspecified registry",
        ]
    );
    assert_eq!(
        parsed.errors,
        [
            "CycloneDX JSON: component libssl3@3.0.11-1: \"pkg:deb/debian/libssl3@3.0.11-1?arch=amd64\": purl type \"deb\" is not scanned",
            "CycloneDX JSON: component vendored-helper@0.1.0: no purl, not scanned",
        ]
    );
}

#[test]
fn cyclonedx_xml_nested_components_cdata_and_entities() {
    let parsed = parse_fixture_in("sbom", "sbom/service.cdx.xml");
    assert_eq!(
        rows(&parsed.packages),
        [
            "Maven com.fasterxml.jackson.core:jackson-core@2.15.2 unspecified registry",
            "Maven com.fasterxml.jackson.core:jackson-databind@2.15.2 runtime registry",
            "PyPI requests@2.31.0 unspecified registry",
        ]
    );
    assert_eq!(parsed.errors, ["CycloneDX XML: component a&b@1: no purl, not scanned"]);
}

#[test]
fn spdx_json_and_tag_value_skip_only_the_described_package() {
    let json = parse_fixture_in("sbom", "sbom/app.spdx.json");
    assert_eq!(
        rows(&json.packages),
        [
            "Go github.com/gin-gonic/gin@1.9.1 unspecified registry",
            "crates.io serde@1.0.100 unspecified registry",
        ]
    );
    assert_eq!(
        json.errors,
        [
            "SPDX JSON: package musl@1.2.4-r2: \"pkg:apk/alpine/musl@1.2.4-r2\": purl type \"apk\" is not scanned",
            "SPDX JSON: package unknown-blob: no purl, not scanned",
        ]
    );
    let tag_value = parse_fixture_in("sbom", "sbom/app.spdx");
    assert_eq!(
        rows(&tag_value.packages),
        [
            "PyPI Django@4.2.7 unspecified registry",
            "npm lodash@4.17.20 unspecified registry",
        ]
    );
    assert_eq!(
        tag_value.errors,
        ["SPDX tag-value: package no-purl@1.0: no purl, not scanned"]
    );
}

#[test]
fn files_that_are_not_what_their_name_says_are_errors() {
    for (file_type, text, want) in [
        (
            FileType::CycloneDxJson,
            r#"{"bomFormat": "SPDX"}"#,
            "CycloneDX JSON: bomFormat is not \"CycloneDX\"",
        ),
        (
            FileType::CycloneDxXml,
            "<bom><components>",
            "CycloneDX XML: unexpected end of file inside <components>",
        ),
        (
            FileType::CycloneDxXml,
            "<project/>",
            "CycloneDX XML: root element <project> is not the one <bom>",
        ),
        (FileType::CycloneDxXml, "", "CycloneDX XML: no <bom> element"),
        (
            FileType::SpdxJson,
            r#"{"spdxVersion": "SPDX-3.0"}"#,
            "SPDX JSON: spdxVersion is not SPDX-2.x",
        ),
        (
            FileType::SpdxTagValue,
            "PackageName: x\n",
            "SPDX tag-value: no SPDXVersion: SPDX-2.x line",
        ),
        (
            FileType::SpdxTagValue,
            "SPDXVersion: SPDX-2.3\nnot a tag\n",
            "SPDX tag-value: line 2: expected `Tag: value`",
        ),
    ] {
        assert_eq!(parse_full(file_type, text).unwrap_err().0, want);
    }
    assert_eq!(FileType::detect("bom.json"), FileType::CycloneDxJson);
    assert_eq!(FileType::detect("app.cdx.json"), FileType::CycloneDxJson);
    assert_eq!(FileType::detect("bom.xml"), FileType::CycloneDxXml);
    assert_eq!(FileType::detect("x.cdx.xml"), FileType::CycloneDxXml);
    assert_eq!(FileType::detect("x.spdx.json"), FileType::SpdxJson);
    assert_eq!(FileType::detect("x.spdx"), FileType::SpdxTagValue);
    assert_eq!(FileType::detect(".spdx"), FileType::Other);
}

#[test]
fn deeply_nested_json_components_are_bounded() {
    let mut bom = String::from(r#"{"bomFormat":"CycloneDX","components":["#);
    for i in 0..100 {
        bom.push_str(&format!(
            r#"{{"name":"c{i}","purl":"pkg:npm/c{i}@1.0.0","components":["#
        ));
    }
    bom.push_str(&"]}".repeat(100));
    bom.push_str("]}");
    match parse_full(FileType::CycloneDxJson, &bom) {
        // serde_json's own recursion limit may refuse it first.
        Err(e) => assert!(e.0.starts_with("CycloneDX JSON: "), "{e}"),
        Ok(parsed) => {
            assert_eq!(parsed.packages.len(), 64);
            assert_eq!(
                parsed.errors,
                ["CycloneDX JSON: components nested deeper than 64 are not read"]
            );
        }
    }
}

crate::fuzz_parser!(
    FileType::CycloneDxXml,
    "(<bom>|</bom>|<components>|</components>|<component>|</component>|<purl>|</purl>|pkg:npm/a@1|pkg:x/y|&amp;|<!\\[CDATA\\[|[a-z0-9.:@/<> ]){0,60}",
    ["sbom/service.cdx.xml"]
);
