//! SPDX 2.x documents, JSON (`*.spdx.json`) and tag-value (`*.spdx`).
//!
//! Every package is reported through the purl of its `PACKAGE-MANAGER`
//! external reference (see [`purl`](super::purl)). The packages the
//! document describes (`documentDescribes`, or a `DESCRIBES` relationship
//! from the document) are its subject, not dependencies: without a purl
//! they are skipped. Any other package without a purl, or with one of a type
//! no ecosystem here covers, is an error naming it. SPDX records no scope
//! ([`Scope::Unspecified`]). A JSON file without `spdxVersion` `SPDX-2.x`,
//! or a tag-value file without an `SPDXVersion:` line, is an error for the
//! file.

use super::collect::{error, text};
use super::purl::Mixed;
use super::{ParseInput, Parsed, textutil};
use crate::{ParseError, Scope};
use serde::Deserialize;

const JSON: &str = "SPDX JSON";
const TAG_VALUE: &str = "SPDX tag-value";

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "spdxVersion")]
    spdx_version: Option<String>,
    #[serde(rename = "SPDXID")]
    spdx_id: Option<String>,
    #[serde(rename = "documentDescribes", default)]
    document_describes: Vec<String>,
    #[serde(default)]
    packages: Vec<Package>,
    #[serde(default)]
    relationships: Vec<Relationship>,
}

#[derive(Deserialize)]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: Option<String>,
    name: Option<String>,
    #[serde(rename = "versionInfo")]
    version_info: Option<String>,
    #[serde(rename = "externalRefs", default)]
    external_refs: Vec<ExternalRef>,
}

#[derive(Deserialize)]
struct ExternalRef {
    #[serde(rename = "referenceCategory")]
    category: Option<String>,
    #[serde(rename = "referenceType")]
    kind: Option<String>,
    #[serde(rename = "referenceLocator")]
    locator: Option<String>,
}

#[derive(Deserialize)]
struct Relationship {
    #[serde(rename = "spdxElementId")]
    element: Option<String>,
    #[serde(rename = "relationshipType")]
    kind: Option<String>,
    #[serde(rename = "relatedSpdxElement")]
    related: Option<String>,
}

/// One package as both syntaxes give it.
struct Entry {
    id: String,
    name: String,
    version: String,
    purl: Option<String>,
}

fn is_purl_ref(category: &str, kind: &str) -> bool {
    matches!(category, "PACKAGE-MANAGER" | "PACKAGE_MANAGER") && kind == "purl"
}

/// Reports the entries, skipping the described ones that have no purl.
fn report(format: &'static str, path: &str, entries: Vec<Entry>, described: &[String]) -> Parsed {
    let mut out = Mixed::new(format, path);
    for entry in entries {
        if entry.purl.is_none() && described.contains(&entry.id) {
            continue;
        }
        let what = if entry.version.is_empty() {
            format!("package {}", entry.name)
        } else {
            format!("package {}@{}", entry.name, entry.version)
        };
        out.add(&what, entry.purl.as_deref(), Scope::Unspecified);
    }
    out.finish()
}

/// Parses an SPDX JSON document.
pub(crate) fn parse_json(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let doc: Document = textutil::json(JSON, text(input))?;
    if !doc.spdx_version.as_deref().is_some_and(|v| v.starts_with("SPDX-2.")) {
        return Err(error(JSON, "spdxVersion is not SPDX-2.x"));
    }
    let document = doc.spdx_id.unwrap_or_else(|| "SPDXRef-DOCUMENT".to_string());
    let mut described = doc.document_describes;
    described.extend(doc.relationships.iter().filter_map(|r| {
        (r.element.as_deref() == Some(document.as_str()) && r.kind.as_deref() == Some("DESCRIBES"))
            .then(|| r.related.clone())
            .flatten()
    }));
    let entries = doc
        .packages
        .into_iter()
        .map(|p| Entry {
            id: p.spdx_id.unwrap_or_default(),
            name: p.name.unwrap_or_default(),
            version: p.version_info.unwrap_or_default(),
            purl: p
                .external_refs
                .into_iter()
                .find(|r| is_purl_ref(r.category.as_deref().unwrap_or(""), r.kind.as_deref().unwrap_or("")))
                .and_then(|r| r.locator),
        })
        .collect();
    Ok(report(JSON, input.rel_path, entries, &described))
}

/// Parses an SPDX tag-value document: `Tag: value` lines, with multi-line
/// values between `<text>` and `</text>` skipped.
pub(crate) fn parse_tag_value(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut version = None;
    let mut document = "SPDXRef-DOCUMENT".to_string();
    let mut described = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut in_text = false;
    let mut in_package = false;
    let mut seen_section = false;
    for (i, line) in text(input).lines().enumerate() {
        if in_text {
            in_text = !line.contains("</text>");
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((tag, value)) = line.split_once(':') else {
            return Err(error(TAG_VALUE, format!("line {}: expected `Tag: value`", i + 1)));
        };
        let value = value.trim();
        if value.starts_with("<text>") && !value.contains("</text>") {
            in_text = true;
            continue;
        }
        match tag.trim() {
            "SPDXVersion" => version = Some(value.to_string()),
            "PackageName" => {
                in_package = true;
                seen_section = true;
                entries.push(Entry {
                    id: String::new(),
                    name: value.to_string(),
                    version: String::new(),
                    purl: None,
                });
            }
            // Files, snippets and licences are sections of their own.
            "FileName" | "SnippetSPDXID" | "LicenseID" => {
                in_package = false;
                seen_section = true;
            }
            "SPDXID" if in_package => {
                if let Some(entry) = entries.last_mut() {
                    entry.id = value.to_string();
                }
            }
            "SPDXID" if !seen_section => document = value.to_string(),
            "PackageVersion" if in_package => {
                if let Some(entry) = entries.last_mut() {
                    entry.version = value.to_string();
                }
            }
            "ExternalRef" => {
                let mut parts = value.split_whitespace();
                let (category, kind, locator) = (parts.next(), parts.next(), parts.next());
                if let (Some(c), Some(k), Some(l), Some(entry)) = (category, kind, locator, entries.last_mut())
                    && in_package
                    && is_purl_ref(c, k)
                {
                    entry.purl = Some(l.to_string());
                }
            }
            "Relationship" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                if let [element, "DESCRIBES", related] = parts.as_slice()
                    && *element == document
                {
                    described.push((*related).to_string());
                }
            }
            _ => {}
        }
    }
    if !version.as_deref().is_some_and(|v| v.starts_with("SPDX-2.")) {
        return Err(error(TAG_VALUE, "no SPDXVersion: SPDX-2.x line"));
    }
    Ok(report(TAG_VALUE, input.rel_path, entries, &described))
}
