//! The report formats of `zerotrace scan` beyond the table and its own JSON:
//! SARIF 2.1.0 for code-scanning views ([`sarif`]), CycloneDX 1.6 and SPDX 2.3
//! SBOMs ([`cyclonedx`], [`spdx`]) and Markdown for pull-request comments
//! ([`markdown`]). Several can be written in one run: `--format` repeats,
//! each to its own file (`--format sarif=out.sarif`), at most one to stdout.
//!
//! This module holds what they share: which outputs a run writes, package
//! URLs, the line of a lockfile where a package's entry starts, and stable
//! fingerprints.

pub(crate) mod cyclonedx;
pub(crate) mod markdown;
pub(crate) mod sarif;
pub(crate) mod spdx;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use zerotrace_ecosystem::Ecosystem;

/// A report format of `zerotrace scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    Table,
    Json,
    Sarif,
    CycloneDx,
    Spdx,
    Markdown,
}

impl ReportFormat {
    const ALL: [(&'static str, ReportFormat); 6] = [
        ("table", ReportFormat::Table),
        ("json", ReportFormat::Json),
        ("sarif", ReportFormat::Sarif),
        ("cyclonedx", ReportFormat::CycloneDx),
        ("spdx", ReportFormat::Spdx),
        ("markdown", ReportFormat::Markdown),
    ];

    pub(crate) fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, f)| *f == self).map_or("table", |(n, _)| n)
    }
}

/// One output of a run: a format, to a file or to stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Output {
    pub(crate) format: ReportFormat,
    pub(crate) path: Option<PathBuf>,
}

impl Output {
    /// Parses `FORMAT` or `FORMAT=PATH`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let (name, path) = match text.split_once('=') {
            Some((name, path)) if !path.trim().is_empty() => (name, Some(PathBuf::from(path.trim()))),
            Some(_) => return Err(format!("{text:?}: the file after `=` is empty")),
            None => (text, None),
        };
        let format = ReportFormat::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = ReportFormat::ALL.iter().map(|(n, _)| *n).collect();
                format!("{name:?} is not a format ({})", names.join(", "))
            })?;
        Ok(Self { format, path })
    }
}

/// Checks the outputs of a run: `--output FILE` goes with a single format
/// that names no file; at most one output goes to stdout.
pub(crate) fn plan(mut outputs: Vec<Output>, output: Option<PathBuf>) -> Result<Vec<Output>, String> {
    if outputs.is_empty() {
        outputs.push(Output {
            format: ReportFormat::Table,
            path: None,
        });
    }
    if let Some(path) = output {
        let unnamed: Vec<&mut Output> = outputs.iter_mut().filter(|o| o.path.is_none()).collect();
        match unnamed.len() {
            1 => {
                if let Some(o) = unnamed.into_iter().next() {
                    o.path = Some(path);
                }
            }
            _ => {
                return Err(
                    "--output needs exactly one --format without its own file (use --format sarif=FILE)".into(),
                );
            }
        }
    }
    if outputs.iter().filter(|o| o.path.is_none()).count() > 1 {
        return Err("only one --format may go to stdout; give the others a file (--format sarif=FILE)".into());
    }
    Ok(outputs)
}

/// The package URL of a package (package-url specification): the
/// ecosystem's type, its namespace and name, the version, each encoded.
pub(crate) fn purl(ecosystem: Ecosystem, name: &str, version: &str) -> String {
    let (namespace, base) = match ecosystem {
        Ecosystem::Maven => match name.split_once(':') {
            Some((group, artifact)) => (Some(group.to_string()), artifact.to_string()),
            None => (None, name.to_string()),
        },
        _ => match name.rsplit_once('/') {
            Some((ns, n)) if !ns.is_empty() => (Some(ns.to_string()), n.to_string()),
            _ => (None, name.to_string()),
        },
    };
    let mut out = format!("pkg:{}/", ecosystem.purl_type());
    if let Some(ns) = namespace {
        let segments: Vec<String> = ns.split('/').map(encode).collect();
        out.push_str(&segments.join("/"));
        out.push('/');
    }
    out.push_str(&encode(&base));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(version));
    }
    out
}

/// Percent-encodes all but the unreserved characters.
fn encode(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for b in part.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path of the scan root inside its repository (`app/` when `repo/app`
/// is scanned and `repo` has the `.git`), with a trailing `/`; empty when
/// the root is the repository's or no repository holds it. Code-scanning
/// views resolve SARIF locations against the repository root.
pub(crate) fn repository_prefix(root: &Path) -> String {
    let Ok(start) = std::path::absolute(root) else {
        return String::new();
    };
    let start = if start.is_file() {
        start.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        start
    };
    for dir in start.ancestors() {
        if dir.join(".git").exists() {
            let inside = start.strip_prefix(dir).unwrap_or(Path::new(""));
            let parts: Vec<String> = inside
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            return if parts.is_empty() {
                String::new()
            } else {
                format!("{}/", parts.join("/"))
            };
        }
    }
    String::new()
}

/// A stable 64-bit FNV-1a hash of `parts`, in hex: the same inputs give the
/// same fingerprint in every run and release.
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Finds the line where a package's entry starts in the lockfiles of a scan
/// root, reading each file once: the first line that names the package with
/// its version on it or within the next few lines (Cargo.lock, poetry.lock
/// and package-lock.json put them on neighbouring lines; requirements files
/// and go.mod on one). 1 when it cannot tell.
pub(crate) struct LineFinder {
    root: PathBuf,
    files: HashMap<String, Vec<String>>,
}

/// The largest lockfile read to place findings on lines.
const MAX_LOCATED: u64 = 64 << 20;

impl LineFinder {
    pub(crate) fn new(root: &Path) -> Self {
        let root = if root.is_file() {
            root.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            root.to_path_buf()
        };
        Self {
            root,
            files: HashMap::new(),
        }
    }

    pub(crate) fn line(&mut self, path: &str, name: &str, version: &str) -> usize {
        let root = &self.root;
        let lines = self.files.entry(path.to_string()).or_insert_with(|| {
            zerotrace_files::read_limited(&root.join(path), MAX_LOCATED)
                .map(|(bytes, _)| String::from_utf8_lossy(&bytes).lines().map(str::to_string).collect())
                .unwrap_or_default()
        });
        let names = |line: &str| contains_token(line, name);
        let mut first_name = None;
        for (i, line) in lines.iter().enumerate() {
            if !names(line) {
                continue;
            }
            first_name.get_or_insert(i);
            if lines[i..lines.len().min(i + 4)]
                .iter()
                .any(|l| contains_token(l, version))
            {
                return i + 1;
            }
        }
        first_name.map_or(1, |i| i + 1)
    }
}

/// Whether `token` occurs in `line` not as part of a longer name.
fn contains_token(line: &str, token: &str) -> bool {
    if token.is_empty() {
        return false;
    }
    let inner = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
    line.match_indices(token).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + token.len()..].chars().next();
        !before.is_some_and(inner) && !after.is_some_and(|c| inner(c) && c != '.')
    })
}

/// The band name of a CVSS score or an advisory's severity, for formats
/// that want a number: the score, else the middle of the band.
pub(crate) fn severity_score(score: Option<f64>, severity: zerotrace_advisory::Severity) -> Option<f64> {
    use zerotrace_advisory::Severity;
    score.or(match severity {
        Severity::Critical => Some(9.5),
        Severity::High => Some(8.0),
        Severity::Medium => Some(5.5),
        Severity::Low => Some(2.0),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse_and_plan() {
        assert_eq!(
            Output::parse("sarif=out.sarif").unwrap(),
            Output {
                format: ReportFormat::Sarif,
                path: Some("out.sarif".into())
            }
        );
        assert!(Output::parse("xml").is_err());
        assert!(Output::parse("json=").is_err());
        let two = vec![Output::parse("table").unwrap(), Output::parse("json").unwrap()];
        assert!(plan(two.clone(), None).is_err(), "two to stdout");
        assert!(plan(two, Some("x".into())).is_err(), "--output is ambiguous");
        let planned = plan(vec![Output::parse("sarif").unwrap()], Some("o.sarif".into())).unwrap();
        assert_eq!(planned[0].path, Some(PathBuf::from("o.sarif")));
        assert_eq!(plan(Vec::new(), None).unwrap()[0].format, ReportFormat::Table);
    }

    #[test]
    fn purls_follow_the_specification() {
        assert_eq!(purl(Ecosystem::CratesIo, "serde", "1.0.100"), "pkg:cargo/serde@1.0.100");
        assert_eq!(
            purl(Ecosystem::Npm, "@babel/core", "7.22.5"),
            "pkg:npm/%40babel/core@7.22.5"
        );
        assert_eq!(
            purl(Ecosystem::Maven, "org.apache.logging.log4j:log4j-core", "2.14.1"),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!(
            purl(Ecosystem::Go, "github.com/gin-gonic/gin", "1.9.1"),
            "pkg:golang/github.com/gin-gonic/gin@1.9.1"
        );
        assert_eq!(
            purl(Ecosystem::RubyGems, "rails", "7.0.8+fix"),
            "pkg:gem/rails@7.0.8%2Bfix"
        );
    }

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["ab", ""]), fingerprint(&["a", "b"]));
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
    }

    #[test]
    fn lines_of_package_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.lock"),
            "version = 3\n\n[[package]]\nname = \"time-macros\"\nversion = \"0.1.43\"\n\n[[package]]\nname = \"time\"\nversion = \"0.1.43\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("requirements.txt"), "flask==2.0\ndjango==3.2.1\n").unwrap();
        let mut lines = LineFinder::new(dir.path());
        assert_eq!(lines.line("Cargo.lock", "time", "0.1.43"), 8);
        assert_eq!(lines.line("requirements.txt", "django", "3.2.1"), 2);
        assert_eq!(lines.line("missing.lock", "x", "1"), 1);
    }

    #[test]
    fn locations_are_relative_to_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("repo").join("services").join("app");
        std::fs::create_dir_all(&app).unwrap();
        assert_eq!(repository_prefix(&app), "");
        std::fs::create_dir_all(dir.path().join("repo").join(".git")).unwrap();
        assert_eq!(repository_prefix(&app), "services/app/");
        assert_eq!(repository_prefix(&dir.path().join("repo")), "");
    }
}
