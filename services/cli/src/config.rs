//! `zerotrace.toml`: the scan settings a repository checks in. It is found
//! from the scan root upward to the repository root (the first directory with
//! a `.git`), or given with `--config PATH`; `--no-config` ignores it. It sets
//! what the flags of `zerotrace scan` set, and holds the `[[ignore]]` entries
//! ([`crate::ignores`]); a flag on the command line wins over the file.
//!
//! ```toml
//! fail-on = "high"              # none | low | medium | high | critical
//! scope = "runtime"             # runtime | dev | all
//! format = ["table", "sarif=zerotrace.sarif"]   # table | json | sarif | cyclonedx | spdx | markdown
//! max-data-age = "7d"
//! baseline = "zerotrace-baseline.json"
//! exclude = ["node_modules", "vendor/**"]
//! include = []
//! max-depth = 12
//! max-file-size = "64M"
//! hidden = false
//! no-ignore = false             # true: also scan gitignored files
//! follow-symlinks = false
//! binaries = false
//!
//! [[ignore]]
//! id = "RUSTSEC-2020-0071"      # the advisory id or any of its aliases
//! reason = "time 0.1 is only used by a build script; no untrusted input"
//! until = "2027-01-31"          # optional: after this day it applies no more
//! ecosystem = "crates.io"       # optional scope: ecosystem, package (+ version), lockfile path glob
//! package = "time"
//! version = "<0.2"
//! path = "tools/**"
//! ```
//!
//! Any mistake (an unknown key, a wrong type, a bad value) is one error
//! naming the file, the line and the key, and exit code 2.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::common::parse_size;
use crate::error::CliError;
use crate::formats::Output;
use crate::ignores::{Ignore, IgnoreSpec};
use crate::scan::{FailOn, ScopeFilter};

/// The file's name.
pub(crate) const FILE_NAME: &str = "zerotrace.toml";
/// The largest config file read.
const MAX_SIZE: u64 = 1 << 20;

/// The settings of a config file, checked.
#[derive(Debug, Default)]
pub(crate) struct Config {
    /// The file they came from, for messages.
    pub(crate) path: Option<PathBuf>,
    pub(crate) fail_on: Option<FailOn>,
    pub(crate) scope: Option<ScopeFilter>,
    /// The outputs (`format = "sarif=out.sarif"` or a list of them).
    pub(crate) formats: Vec<Output>,
    pub(crate) max_data_age: Option<std::time::Duration>,
    pub(crate) baseline: Option<PathBuf>,
    pub(crate) walk: WalkSettings,
    pub(crate) ignores: Vec<Ignore>,
}

/// The walk settings a config file may set (flags win).
#[derive(Debug, Default, Clone)]
pub(crate) struct WalkSettings {
    pub(crate) include: Option<Vec<String>>,
    pub(crate) exclude: Option<Vec<String>>,
    pub(crate) max_depth: Option<usize>,
    pub(crate) max_file_size: Option<u64>,
    pub(crate) hidden: Option<bool>,
    pub(crate) no_ignore: Option<bool>,
    pub(crate) follow_symlinks: Option<bool>,
    pub(crate) binaries: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileDoc {
    fail_on: Option<FailOn>,
    scope: Option<ScopeFilter>,
    format: Option<Spanned<Formats>>,
    max_data_age: Option<Spanned<String>>,
    baseline: Option<PathBuf>,
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
    max_depth: Option<usize>,
    max_file_size: Option<Spanned<String>>,
    hidden: Option<bool>,
    no_ignore: Option<bool>,
    follow_symlinks: Option<bool>,
    binaries: Option<bool>,
    #[serde(default)]
    ignore: Vec<Spanned<IgnoreDoc>>,
}

/// `format = "json"` or `format = ["table", "sarif=out.sarif"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Formats {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreDoc {
    id: Spanned<String>,
    reason: Spanned<String>,
    until: Option<Spanned<String>>,
    ecosystem: Option<Spanned<String>>,
    package: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
    justification: Option<Spanned<String>>,
    responses: Option<Spanned<Vec<String>>>,
    author: Option<Spanned<String>>,
    agent: Option<Spanned<String>>,
    root: Option<Spanned<String>>,
}

/// Finds the config of a scan of `root`: `explicit` if given, none with
/// `disabled`, else the first `zerotrace.toml` from the root (or the
/// directory of a root file) up to the repository root.
pub(crate) fn find(root: &Path, explicit: Option<&Path>, disabled: bool) -> Option<PathBuf> {
    if disabled {
        return None;
    }
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let start = std::path::absolute(root).ok()?;
    let start = if start.is_file() {
        start.parent()?.to_path_buf()
    } else {
        start
    };
    let mut dir = Some(start.as_path());
    while let Some(d) = dir {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if d.join(".git").exists() {
            return None;
        }
        dir = d.parent();
    }
    None
}

/// Reads and checks a config file.
pub(crate) fn load(path: &Path) -> Result<Config, CliError> {
    let name = path.display().to_string();
    let (text, _) =
        zerotrace_files::read_limited(path, MAX_SIZE).map_err(|e| CliError::Usage(format!("config {name}: {e}")))?;
    let text = String::from_utf8(text).map_err(|_| CliError::Usage(format!("config {name}: not UTF-8")))?;
    parse(&text, &name).map(|mut config| {
        config.path = Some(path.to_path_buf());
        config
    })
}

/// Parses the text of a config file named `name`.
fn parse(text: &str, name: &str) -> Result<Config, CliError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let at = |span: std::ops::Range<usize>, key: &str, message: &str| {
        CliError::Usage(format!("{name}:{}: `{key}`: {message}", line_of(span.start)))
    };
    let doc: FileDoc = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(s.start)).unwrap_or(1);
        CliError::Usage(format!("{name}:{line}: {}", e.message().trim()))
    })?;
    let mut config = Config {
        fail_on: doc.fail_on,
        scope: doc.scope,
        baseline: doc.baseline,
        ..Config::default()
    };
    if let Some(formats) = doc.format {
        let span = formats.span();
        let list = match formats.into_inner() {
            Formats::One(one) => vec![one],
            Formats::Many(many) => many,
        };
        for text in list {
            config
                .formats
                .push(Output::parse(&text).map_err(|e| at(span.clone(), "format", &e))?);
        }
    }
    if let Some(age) = doc.max_data_age {
        config.max_data_age =
            Some(zerotrace_server::parse_duration(age.get_ref()).map_err(|e| at(age.span(), "max-data-age", &e))?);
    }
    config.walk = WalkSettings {
        include: doc.include,
        exclude: doc.exclude,
        max_depth: doc.max_depth,
        max_file_size: match doc.max_file_size {
            Some(size) => Some(parse_size(size.get_ref()).map_err(|e| at(size.span(), "max-file-size", &e))?),
            None => None,
        },
        hidden: doc.hidden,
        no_ignore: doc.no_ignore,
        follow_symlinks: doc.follow_symlinks,
        binaries: doc.binaries,
    };
    for entry in doc.ignore {
        let entry_line = line_of(entry.span().start);
        let entry = entry.into_inner();
        let spans = [
            ("id", Some(entry.id.span())),
            ("reason", Some(entry.reason.span())),
            ("until", entry.until.as_ref().map(Spanned::span)),
            ("ecosystem", entry.ecosystem.as_ref().map(Spanned::span)),
            ("package", entry.package.as_ref().map(Spanned::span)),
            ("version", entry.version.as_ref().map(Spanned::span)),
            ("path", entry.path.as_ref().map(Spanned::span)),
            ("kind", entry.kind.as_ref().map(Spanned::span)),
            ("justification", entry.justification.as_ref().map(Spanned::span)),
            ("responses", entry.responses.as_ref().map(Spanned::span)),
            ("author", entry.author.as_ref().map(Spanned::span)),
            ("agent", entry.agent.as_ref().map(Spanned::span)),
            ("root", entry.root.as_ref().map(Spanned::span)),
        ];
        let spec = IgnoreSpec {
            id: entry.id.into_inner(),
            reason: entry.reason.into_inner(),
            until: entry.until.map(Spanned::into_inner),
            ecosystem: entry.ecosystem.map(Spanned::into_inner),
            package: entry.package.map(Spanned::into_inner),
            version: entry.version.map(Spanned::into_inner),
            path: entry.path.map(Spanned::into_inner),
            kind: entry.kind.map(Spanned::into_inner),
            justification: entry.justification.map(Spanned::into_inner),
            responses: entry.responses.map(Spanned::into_inner).unwrap_or_default(),
            author: entry.author.map(Spanned::into_inner),
            agent: entry.agent.map(Spanned::into_inner),
            root: entry.root.map(Spanned::into_inner),
        };
        let ignore = Ignore::check(spec, format!("{name}:{entry_line}")).map_err(|e| {
            let span = spans
                .iter()
                .find(|(key, _)| *key == e.key)
                .and_then(|(_, span)| span.clone())
                .unwrap_or(0..0);
            at(span, &format!("ignore.{}", e.key), &e.message)
        })?;
        config.ignores.push(ignore);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text, "zerotrace.toml").unwrap_err().to_string()
    }

    #[test]
    fn a_full_file_reads() {
        let config = parse(
            "fail-on = \"high\"\nformat = \"json\"\nmax-data-age = \"7d\"\nexclude = [\"vendor\"]\n\
             max-file-size = \"1M\"\nhidden = true\n\n[[ignore]]\nid = \"X-1\"\nreason = \"ok\"\n\
             until = \"2027-01-31\"\npackage = \"time\"\nversion = \"<0.2\"\n",
            "zerotrace.toml",
        )
        .unwrap();
        assert_eq!(config.fail_on, Some(FailOn::High));
        assert_eq!(config.formats, [Output::parse("json").unwrap()]);
        assert_eq!(config.max_data_age, Some(std::time::Duration::from_secs(7 * 86_400)));
        assert_eq!(config.walk.exclude, Some(vec!["vendor".to_string()]));
        assert_eq!(config.walk.max_file_size, Some(1 << 20));
        assert_eq!(config.ignores.len(), 1);
        assert_eq!(config.ignores[0].at, "zerotrace.toml:8");
    }

    #[test]
    fn mistakes_name_the_file_line_and_key() {
        let unknown = error("fail-on = \"high\"\nfail_on = \"low\"\n");
        assert!(
            unknown.starts_with("zerotrace.toml:2:") && unknown.contains("fail_on"),
            "{unknown}"
        );
        let value = error("\n\nfail-on = \"hihg\"\n");
        assert!(
            value.starts_with("zerotrace.toml:3:") && value.contains("hihg"),
            "{value}"
        );
        let age = error("max-data-age = \"soon\"\n");
        assert!(age.starts_with("zerotrace.toml:1: `max-data-age`"), "{age}");
        let reason = error("[[ignore]]\nid = \"X-1\"\nreason = \"\"\n");
        assert!(reason.starts_with("zerotrace.toml:3: `ignore.reason`"), "{reason}");
        let missing = error("[[ignore]]\nid = \"X-1\"\n");
        assert!(missing.contains("reason"), "{missing}");
        let key = error("[[ignore]]\nid = \"X-1\"\nreason = \"r\"\nexpires = \"2027-01-01\"\n");
        assert!(key.starts_with("zerotrace.toml:4:") && key.contains("expires"), "{key}");
    }

    #[test]
    fn the_file_is_found_up_to_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let deep = repo.join("a").join("b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        assert_eq!(find(&deep, None, false), None);
        std::fs::write(repo.join(FILE_NAME), "").unwrap();
        assert_eq!(find(&deep, None, false), Some(repo.join(FILE_NAME)));
        std::fs::write(repo.join("a").join(FILE_NAME), "").unwrap();
        assert_eq!(find(&deep, None, false), Some(repo.join("a").join(FILE_NAME)));
        assert_eq!(find(&deep, None, true), None, "--no-config");
        // Above the repository root nothing is looked at.
        std::fs::remove_file(repo.join("a").join(FILE_NAME)).unwrap();
        std::fs::remove_file(repo.join(FILE_NAME)).unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "").unwrap();
        assert_eq!(find(&deep, None, false), None);
    }
}
