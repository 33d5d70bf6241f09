//! Exploitation feeds: the CISA KEV catalog and FIRST EPSS scores.

use std::collections::HashMap;
use std::io::Read;

use serde::{Deserialize, Serialize};

/// A CISA Known Exploited Vulnerabilities catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    /// The CVE id (`CVE-2021-44228`).
    pub cve: String,
    /// The date CISA added it to the catalog (`YYYY-MM-DD`).
    pub date_added: String,
    /// The remediation due date for US federal agencies (`YYYY-MM-DD`).
    pub due_date: Option<String>,
    /// Whether CISA knows of use in ransomware campaigns.
    pub known_ransomware: bool,
    /// CISA's name for the vulnerability.
    pub name: Option<String>,
}

/// An EPSS score: exploitation probability in the next 30 days, and its
/// percentile among all scored CVEs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Epss {
    /// Probability, 0..=1.
    pub score: f64,
    /// Percentile, 0..=1.
    pub percentile: f64,
}

/// A parsed KEV catalog.
#[derive(Debug, Default)]
pub(crate) struct KevCatalog {
    pub(crate) version: Option<String>,
    /// `dateReleased`, as written.
    pub(crate) released: Option<String>,
    pub(crate) entries: HashMap<String, KevEntry>,
    pub(crate) invalid: Vec<String>,
}

#[derive(Deserialize)]
struct RawCatalog {
    #[serde(rename = "catalogVersion")]
    catalog_version: Option<String>,
    #[serde(rename = "dateReleased")]
    date_released: Option<String>,
    vulnerabilities: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawKev {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(rename = "dateAdded")]
    date_added: String,
    #[serde(rename = "dueDate")]
    due_date: Option<String>,
    #[serde(rename = "knownRansomwareCampaignUse")]
    ransomware: Option<String>,
    #[serde(rename = "vulnerabilityName")]
    name: Option<String>,
}

/// Returns whether a JSON document looks like a KEV catalog.
pub(crate) fn is_kev(value: &serde_json::Value) -> bool {
    value.get("vulnerabilities").is_some_and(serde_json::Value::is_array)
        && value.get("id").is_none()
        && (value.get("catalogVersion").is_some() || value.get("title").is_some())
}

/// Parses the CISA KEV JSON catalog; entries without a `cveID` or
/// `dateAdded` are reported in `invalid` and skipped.
pub(crate) fn parse_kev(value: serde_json::Value) -> Result<KevCatalog, String> {
    let raw: RawCatalog = serde_json::from_value(value).map_err(|e| format!("not a KEV catalog: {e}"))?;
    let mut out = KevCatalog {
        version: raw.catalog_version,
        released: raw.date_released,
        ..KevCatalog::default()
    };
    for (i, v) in raw.vulnerabilities.into_iter().enumerate() {
        match serde_json::from_value::<RawKev>(v) {
            Ok(k) if is_cve(k.cve_id.trim()) => {
                let cve = k.cve_id.trim().to_string();
                out.entries.insert(
                    cve.clone(),
                    KevEntry {
                        cve,
                        date_added: k.date_added,
                        due_date: k.due_date,
                        known_ransomware: k.ransomware.is_some_and(|r| r.eq_ignore_ascii_case("known")),
                        name: k.name,
                    },
                );
            }
            Ok(k) => out.invalid.push(format!("entry {i}: not a CVE id: {:?}", k.cve_id)),
            Err(e) => out.invalid.push(format!("entry {i}: {e}")),
        }
    }
    Ok(out)
}

/// A parsed EPSS file.
#[derive(Debug, Default)]
pub(crate) struct EpssFile {
    pub(crate) model_version: Option<String>,
    pub(crate) score_date: Option<String>,
    pub(crate) entries: HashMap<String, Epss>,
    pub(crate) invalid: Vec<String>,
}

/// Returns the text of a possibly gzip-compressed file (FIRST publishes
/// `epss_scores-YYYY-MM-DD.csv.gz`; `flate2` is already built for `zip`, so
/// reading it costs nothing extra). Decompression stops past `limit` bytes
/// of output: a small archive that inflates without end is an error.
pub(crate) fn maybe_gunzip(bytes: Vec<u8>, limit: u64) -> Result<String, String> {
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("bad gzip: {e}"))?;
        if out.len() as u64 > limit {
            return Err(format!("inflates past {limit} bytes"));
        }
        out
    } else {
        bytes
    };
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Returns whether text looks like an EPSS CSV file.
pub(crate) fn is_epss(text: &str) -> bool {
    let first = text.trim_start_matches('\u{feff}').lines().next().unwrap_or("");
    first.starts_with("#model_version") || first.trim().eq_ignore_ascii_case("cve,epss,percentile")
}

/// Parses an EPSS CSV: optional `#model_version:…,score_date:…` comment,
/// the header `cve,epss,percentile` (columns found by name), then rows.
/// Bad rows are reported in `invalid` and skipped.
pub(crate) fn parse_epss(text: &str) -> Result<EpssFile, String> {
    let mut out = EpssFile::default();
    let mut columns: Option<(usize, usize, usize)> = None;
    for (n, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            for part in comment.split(',') {
                match part.split_once(':') {
                    Some(("model_version", v)) => out.model_version = Some(v.trim().to_string()),
                    Some(("score_date", v)) => out.score_date = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let Some((c, e, p)) = columns else {
            let find = |name: &str| fields.iter().position(|f| f.eq_ignore_ascii_case(name));
            match (find("cve"), find("epss"), find("percentile")) {
                (Some(c), Some(e), Some(p)) => columns = Some((c, e, p)),
                _ => return Err(format!("line {}: expected header cve,epss,percentile", n + 1)),
            }
            continue;
        };
        let get = |i: usize| fields.get(i).copied();
        let prob = |s: Option<&str>| {
            s.and_then(|s| s.parse::<f64>().ok())
                .filter(|v| (0.0..=1.0).contains(v))
        };
        match (get(c), prob(get(e)), prob(get(p))) {
            (Some(cve), Some(score), Some(percentile)) if is_cve(cve) => {
                out.entries.insert(cve.to_string(), Epss { score, percentile });
            }
            _ => out.invalid.push(format!("line {}: {line:?}", n + 1)),
        }
    }
    if columns.is_none() {
        return Err("no cve,epss,percentile header".to_string());
    }
    Ok(out)
}

/// Returns whether `s` is shaped like a CVE id (`CVE-YYYY-NNNN…`).
pub(crate) fn is_cve(s: &str) -> bool {
    let mut parts = s.splitn(3, '-');
    parts.next() == Some("CVE")
        && parts
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epss_real_format() {
        let text = "#model_version:v2026.06.15,score_date:2026-09-29T12:00:22Z\n\
                    cve,epss,percentile\nCVE-1999-0001,0.03351,0.88255\nbad,row\n\
                    CVE-1999-0002,1.5,0.9\n";
        let f = parse_epss(text).unwrap();
        assert_eq!(f.model_version.as_deref(), Some("v2026.06.15"));
        assert_eq!(f.score_date.as_deref(), Some("2026-09-29T12:00:22Z"));
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.entries["CVE-1999-0001"].score, 0.03351);
        assert_eq!(f.invalid.len(), 2);
        assert!(parse_epss("a,b\n1,2").is_err());
    }

    #[test]
    fn epss_gzip() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"cve,epss,percentile\nCVE-2020-0001,0.5,0.5\n").unwrap();
        let gz = enc.finish().unwrap();
        let text = maybe_gunzip(gz.clone(), 1 << 20).unwrap();
        assert!(is_epss(&text));
        assert_eq!(parse_epss(&text).unwrap().entries.len(), 1);
        // A bomb: more output than the limit is an error, not an allocation.
        assert!(maybe_gunzip(gz, 10).unwrap_err().contains("inflates past"));
    }

    #[test]
    fn kev_shape() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"title": "t", "catalogVersion": "1", "vulnerabilities": [
                {"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10", "knownRansomwareCampaignUse": "Known"},
                {"cveID": "nope", "dateAdded": "2021-12-10"}, {"x": 1}]}"#,
        )
        .unwrap();
        assert!(is_kev(&v));
        let k = parse_kev(v).unwrap();
        assert_eq!(k.entries.len(), 1);
        assert!(k.entries["CVE-2021-44228"].known_ransomware);
        assert_eq!(k.invalid.len(), 2);
        assert!(is_cve("CVE-2021-44228") && !is_cve("CVE-21-1") && !is_cve("GHSA-1"));
    }
}
