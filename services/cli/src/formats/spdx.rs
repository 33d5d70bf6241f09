//! SPDX 2.3 JSON: the scanned tree as the described package, and every
//! package found as a package it contains, with its purl. SPDX 2.3 has no
//! place for vulnerabilities; use SARIF or CycloneDX for them.

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::json;
use zerotrace_inventory::Package;

use super::purl;

/// Writes the packages of a scan as one SPDX document.
pub(crate) fn write(out: &mut impl Write, packages: &[Package], root: &std::path::Path) -> std::io::Result<()> {
    let root_name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| root.display().to_string());
    let mut seen = BTreeSet::new();
    let mut entries = vec![json!({
        "SPDXID": "SPDXRef-Root",
        "name": root_name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "APPLICATION"
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Root"
    })];
    for p in packages {
        let locator = purl(p.ecosystem, &p.name, &p.version);
        if !seen.insert(locator.clone()) {
            continue;
        }
        let id = format!("SPDXRef-Package-{}", seen.len());
        let mut entry = json!({
            "SPDXID": id,
            "name": p.name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "LIBRARY",
            "comment": format!("{} package from {} (scope {}, source {})", p.ecosystem.osv_name(), p.path,
                format!("{:?}", p.scope).to_lowercase(), format!("{:?}", p.source).to_lowercase()),
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": locator
            }]
        });
        if !p.version.is_empty() {
            entry["versionInfo"] = json!(p.version);
        }
        entries.push(entry);
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Root",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id
        }));
    }
    let doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("zerotrace-scan-{root_name}"),
        "documentNamespace": format!("https://zerotrace.invalid/spdx/{}", uuid::Uuid::new_v4()),
        "creationInfo": {
            "created": zerotrace_advisory::time::format_rfc3339(zerotrace_advisory::time::now_unix()),
            "creators": [format!("Tool: ZeroTrace-{}", env!("CARGO_PKG_VERSION"))]
        },
        "packages": entries,
        "relationships": relationships
    });
    serde_json::to_writer(&mut *out, &doc).map_err(std::io::Error::from)?;
    writeln!(out)
}
