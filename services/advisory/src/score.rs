//! Severity: CVSS vectors checked strictly and scored, severity bands, and
//! the risk score findings are sorted by.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A qualitative severity band (CVSS "Qualitative Severity Rating Scale").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No score and no qualitative severity was given.
    Unknown,
    /// Score 0.0.
    None,
    /// Score 0.1–3.9.
    Low,
    /// Score 4.0–6.9.
    Medium,
    /// Score 7.0–8.9.
    High,
    /// Score 9.0–10.0.
    Critical,
}

impl Severity {
    /// Returns the band of a CVSS score (any version: the bands are the same).
    /// A non-finite score has no band ([`Severity::Unknown`]).
    pub fn from_score(score: f64) -> Self {
        if !score.is_finite() {
            return Severity::Unknown;
        }
        // Scores carry one decimal; compare in tenths so 3.95-style float
        // noise cannot fall between bands.
        let tenths = (score * 10.0).round();
        if tenths <= 0.0 {
            Severity::None
        } else if tenths < 40.0 {
            Severity::Low
        } else if tenths < 70.0 {
            Severity::Medium
        } else if tenths < 90.0 {
            Severity::High
        } else {
            Severity::Critical
        }
    }

    /// Returns the band of a qualitative label such as GitHub's
    /// `database_specific.severity` (`LOW`, `MODERATE`, `MEDIUM`, `HIGH`,
    /// `CRITICAL`, `NONE`), case-insensitively.
    pub fn from_label(label: &str) -> Option<Self> {
        match label.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Severity::None),
            "low" => Some(Severity::Low),
            "moderate" | "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// Returns the lowercase name of the band.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Returns the 0..=1 severity weight the risk score uses when no CVSS
    /// score is known: roughly the middle of the band.
    fn weight(self) -> f64 {
        match self {
            Severity::None => 0.0,
            Severity::Low => 0.2,
            Severity::Medium => 0.55,
            Severity::High => 0.8,
            Severity::Critical => 0.95,
            Severity::Unknown => 0.5,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a CVSS vector was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    /// The vector does not start with `CVSS:3.0/`, `CVSS:3.1/` or `CVSS:4.0/`.
    #[error("unsupported CVSS version prefix")]
    UnsupportedVersion,
    /// A component is not `METRIC:VALUE`, or the metric is unknown.
    #[error("unknown or malformed metric {0:?}")]
    UnknownMetric(String),
    /// A metric carries a value the specification does not define.
    #[error("invalid value for metric {0}")]
    InvalidValue(String),
    /// A metric appears twice.
    #[error("duplicate metric {0}")]
    Duplicate(String),
    /// A mandatory base metric is missing.
    #[error("missing base metric {0}")]
    MissingMetric(String),
    /// A CVSS 4.0 metric is out of the specification's order.
    #[error("metric {0} out of order")]
    OutOfOrder(String),
    /// The strict check passed but the `cvss` crate refused the vector.
    #[error("cvss: {0}")]
    Crate(String),
}

/// CVSS 3.x metrics and their allowed values; base metrics first.
const V3_METRICS: &[(&str, &[&str])] = &[
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "R"]),
    ("S", &["U", "C"]),
    ("C", &["H", "L", "N"]),
    ("I", &["H", "L", "N"]),
    ("A", &["H", "L", "N"]),
    ("E", &["X", "H", "F", "P", "U"]),
    ("RL", &["X", "U", "W", "T", "O"]),
    ("RC", &["X", "C", "R", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "R"]),
    ("MS", &["X", "U", "C"]),
    ("MC", &["X", "H", "L", "N"]),
    ("MI", &["X", "H", "L", "N"]),
    ("MA", &["X", "H", "L", "N"]),
];
const V3_BASE: usize = 8;

/// CVSS 4.0 metrics in the specification's mandatory order; base first.
const V4_METRICS: &[(&str, &[&str])] = &[
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("AT", &["N", "P"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "P", "A"]),
    ("VC", &["H", "L", "N"]),
    ("VI", &["H", "L", "N"]),
    ("VA", &["H", "L", "N"]),
    ("SC", &["H", "L", "N"]),
    ("SI", &["H", "L", "N"]),
    ("SA", &["H", "L", "N"]),
    ("E", &["X", "A", "P", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MAT", &["X", "N", "P"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "P", "A"]),
    ("MVC", &["X", "H", "L", "N"]),
    ("MVI", &["X", "H", "L", "N"]),
    ("MVA", &["X", "H", "L", "N"]),
    ("MSC", &["X", "H", "L", "N"]),
    ("MSI", &["X", "S", "H", "L", "N"]),
    ("MSA", &["X", "S", "H", "L", "N"]),
    ("S", &["X", "N", "P"]),
    ("AU", &["X", "N", "Y"]),
    ("R", &["X", "A", "U", "I"]),
    ("V", &["X", "D", "C"]),
    ("RE", &["X", "L", "M", "H"]),
    ("U", &["X", "Clear", "Green", "Amber", "Red"]),
];
const V4_BASE: usize = 11;

/// Checks a CVSS v3.0, v3.1 or v4.0 vector against the specification's
/// grammar, strictly (the `cvss` crate alone accepts lowercase metric
/// names, missing base metrics and out-of-order v4 metrics).
///
/// Rules: exact case; every base metric present; no metric twice; only
/// defined values; v3.x metrics in any order (the v3.1 specification allows
/// other orderings), v4.0 metrics in the specification's order.
pub fn check_vector(vector: &str) -> Result<(), CvssError> {
    let (rest, table, base, ordered) = if let Some(rest) = vector.strip_prefix("CVSS:3.1/") {
        (rest, V3_METRICS, V3_BASE, false)
    } else if let Some(rest) = vector.strip_prefix("CVSS:3.0/") {
        (rest, V3_METRICS, V3_BASE, false)
    } else if let Some(rest) = vector.strip_prefix("CVSS:4.0/") {
        (rest, V4_METRICS, V4_BASE, true)
    } else {
        return Err(CvssError::UnsupportedVersion);
    };
    let mut seen = [false; 32];
    let mut last_index: Option<usize> = None;
    for component in rest.split('/') {
        let Some((name, value)) = component.split_once(':') else {
            return Err(CvssError::UnknownMetric(component.to_string()));
        };
        let Some(index) = table.iter().position(|(m, _)| *m == name) else {
            return Err(CvssError::UnknownMetric(component.to_string()));
        };
        let allowed = table.get(index).map(|(_, v)| *v).unwrap_or_default();
        if !allowed.contains(&value) {
            return Err(CvssError::InvalidValue(name.to_string()));
        }
        let slot = seen.get_mut(index).ok_or(CvssError::UnsupportedVersion)?;
        if *slot {
            return Err(CvssError::Duplicate(name.to_string()));
        }
        *slot = true;
        if ordered && last_index.is_some_and(|last| index < last) {
            return Err(CvssError::OutOfOrder(name.to_string()));
        }
        last_index = Some(index);
    }
    for (index, (name, _)) in table.iter().enumerate().take(base) {
        if !seen.get(index).copied().unwrap_or(false) {
            return Err(CvssError::MissingMetric((*name).to_string()));
        }
    }
    Ok(())
}

/// Returns the score of a CVSS v3.0, v3.1 or v4.0 vector after
/// [`check_vector`] accepted it.
///
/// For v3.x this is the base score; for v4.0 it is the score of all the
/// metrics given (CVSS-B for a base-only vector, CVSS-BT/BE/BTE otherwise,
/// as the v4.0 specification defines one score per vector).
pub fn score_vector(vector: &str) -> Result<f64, CvssError> {
    check_vector(vector)?;
    let parsed: cvss::Cvss = vector
        .parse()
        .map_err(|e: cvss::Error| CvssError::Crate(e.to_string()))?;
    Ok(parsed.score())
}

/// The risk score findings are sorted by, from 0 to 100.
///
/// ```text
/// risk = 100 × S × T, rounded to one decimal
/// S    = highest CVSS score / 10, or, without a usable vector, the band's
///        weight: critical 0.95, high 0.8, medium 0.55, low 0.2, none 0,
///        unknown 0.5
/// T    = 1.0                  if the CVE is in CISA KEV (known exploited)
///        0.1 + 0.9 × EPSS      otherwise (EPSS = 0 when unknown)
/// ```
///
/// Like grype's, it multiplies exploit likelihood by severity, with KEV
/// as the strongest signal. Unlike a plain `EPSS × severity`, the 0.1 floor
/// keeps severity ordering among the great majority of advisories whose
/// EPSS is near zero or unknown, while EPSS still orders within a band.
/// Examples: a KEV-listed 9.8 is 98.0; a 9.8 with EPSS 0.5 is 53.9; a 9.8
/// without EPSS is 9.8; a "medium" label without a vector or EPSS is 5.5.
pub fn risk_score(max_score: Option<f64>, band: Severity, epss: Option<f64>, kev: bool) -> f64 {
    let s = match max_score {
        Some(score) if score.is_finite() => (score / 10.0).clamp(0.0, 1.0),
        _ => band.weight(),
    };
    let t = if kev {
        1.0
    } else {
        let e = epss.filter(|e| e.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0);
        0.1 + 0.9 * e
    };
    (100.0 * s * t * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_cvss_scale() {
        assert_eq!(Severity::from_score(0.0), Severity::None);
        assert_eq!(Severity::from_score(0.1), Severity::Low);
        assert_eq!(Severity::from_score(3.9), Severity::Low);
        assert_eq!(Severity::from_score(4.0), Severity::Medium);
        assert_eq!(Severity::from_score(6.9), Severity::Medium);
        assert_eq!(Severity::from_score(7.0), Severity::High);
        assert_eq!(Severity::from_score(8.9), Severity::High);
        assert_eq!(Severity::from_score(9.0), Severity::Critical);
        assert_eq!(Severity::from_score(10.0), Severity::Critical);
        assert_eq!(Severity::from_score(f64::NAN), Severity::Unknown);
        assert_eq!(Severity::from_label("MODERATE"), Some(Severity::Medium));
        assert_eq!(Severity::from_label("High"), Some(Severity::High));
        assert_eq!(Severity::from_label("urgent"), None);
    }

    #[test]
    fn strict_check_rejects_what_the_crate_accepts() {
        let ok = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        assert_eq!(check_vector(ok), Ok(()));
        assert_eq!(score_vector(ok), Ok(9.8));
        // Any order is fine in 3.x.
        assert!(check_vector("CVSS:3.1/A:H/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H").is_ok());
        // Lowercase name, missing A, duplicate, bad value, empty.
        for bad in [
            "CVSS:3.1/av:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
            "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
            "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "",
            "AV:N/AC:L/Au:N/C:P/I:P/A:P",
        ] {
            assert!(check_vector(bad).is_err(), "{bad}");
        }
        // 4.0 order is mandatory.
        let v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        assert_eq!(score_vector(v4), Ok(9.3));
        let swapped = "CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        assert!(matches!(check_vector(swapped), Err(CvssError::OutOfOrder(_))));
        let with_u = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:Red";
        assert!(check_vector(with_u).is_ok());
    }

    #[test]
    fn risk_is_documented_formula() {
        assert_eq!(risk_score(Some(9.8), Severity::Critical, None, true), 98.0);
        assert_eq!(risk_score(Some(9.8), Severity::Critical, Some(0.5), false), 53.9);
        assert_eq!(risk_score(Some(9.8), Severity::Critical, None, false), 9.8);
        assert_eq!(risk_score(None, Severity::Medium, None, false), 5.5);
        assert_eq!(risk_score(None, Severity::None, Some(1.0), true), 0.0);
        assert_eq!(
            risk_score(Some(f64::NAN), Severity::Unknown, Some(f64::NAN), false),
            5.0
        );
    }
}
