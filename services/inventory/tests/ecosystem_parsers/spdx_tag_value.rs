crate::fuzz_parser!(
    FileType::SpdxTagValue,
    "(SPDXVersion: SPDX-2\\.3\n|PackageName: |PackageVersion: |ExternalRef: PACKAGE-MANAGER purl |SPDXID: |FileName: |<text>|</text>|pkg:npm/a@1|\n|[a-z0-9.:@/ ]){0,60}",
    ["sbom/app.spdx"]
);
