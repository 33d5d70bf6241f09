//! pip requirements files (`requirements.txt`, `requirements-dev.txt`, ...).
//!
//! - `name==1.2.3` and `name===1.2.3` pin the version; every other form
//!   (`>=`, `~=`, `==1.*`, several clauses, no specifier) leaves the version
//!   empty and puts the specifier in `requirement` (`*` for none). Versions
//!   are never guessed.
//! - Extras (`pkg[a,b]==1`), environment markers (`; python_version < "3.8"`),
//!   per-requirement options (`--hash=…`), backslash continuations and
//!   `#` comments are understood; option lines (`-i`, `--index-url`,
//!   `--extra-index-url`, `-f`, `--pre`, …) are ignored.
//! - `-r`/`--requirement` includes another file, relative to the including
//!   file's directory; its packages are reported under the including file's
//!   path. `-c`/`--constraint` files do not add packages, but a `==` pin in
//!   one fills in the version of a requirement that has none (that is what
//!   pip would install). Includes nest at most 16 deep and each file is read
//!   once (cycles are harmless). A missing or unreadable include is a
//!   [`ParseError`] naming it: silently scanning less than pip would install
//!   is the worse failure for a vulnerability scanner. Includes by URL are
//!   ignored (nothing here touches the network).
//! - `-e`/`--editable` and direct references (`name @ url`, bare URLs or
//!   paths with `#egg=name`, wheel files) are [`Source::Git`] for `git+`
//!   URLs and [`Source::Path`] otherwise, with the URL as `requirement`; a
//!   local wheel's file name gives an exact version.
//!
//! Names keep the file's spelling (matching applies PEP 503). Scope is unspecified.

use crate::parsers::collect::{Collector, error};
use crate::parsers::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "requirements";
const MAX_DEPTH: usize = 16;
const MAX_INCLUDE_BYTES: u64 = 16 * 1024 * 1024;
/// Bytes all the includes of one file may read together.
const MAX_TOTAL_INCLUDE_BYTES: u64 = 64 * 1024 * 1024;
/// Requirements of one file with its includes (real files list hundreds).
const MAX_REQUIREMENTS: usize = 100_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Requirements,
    Constraints,
}

struct Requirement {
    name: String,
    version: String,
    requirement: Option<String>,
    source: Source,
}

struct State {
    /// The scanned tree, resolved: includes must stay inside it.
    root: PathBuf,
    /// Bytes of includes still allowed.
    budget: u64,
    visited: HashSet<PathBuf>,
    requirements: Vec<Requirement>,
    pins: HashMap<String, String>,
}

pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut state = State {
        root: std::fs::canonicalize(input.root).unwrap_or_else(|_| input.root.to_path_buf()),
        budget: MAX_TOTAL_INCLUDE_BYTES,
        visited: HashSet::new(),
        requirements: Vec::new(),
        pins: HashMap::new(),
    };
    state
        .visited
        .insert(std::fs::canonicalize(input.fs_path).unwrap_or_else(|_| input.fs_path.to_path_buf()));
    parse_text(input.contents, input.fs_path, Kind::Requirements, 0, &mut state)?;
    let mut out = Collector::new(Ecosystem::PyPI, input.rel_path);
    for r in state.requirements {
        let pinned = if r.version.is_empty() && r.source == Source::Registry {
            state.pins.get(&Ecosystem::PyPI.normalize_name(&r.name))
        } else {
            None
        };
        match (pinned, r.requirement) {
            (Some(pin), _) => out.add(&r.name, pin, Scope::Unspecified, r.source),
            (None, Some(req)) if r.version.is_empty() => {
                out.add_unresolved(&r.name, &req, Scope::Unspecified, r.source)
            }
            (None, _) => out.add(&r.name, &r.version, Scope::Unspecified, r.source),
        }
    }
    Ok(out.finish())
}

/// Yields the logical lines (continuations joined) with their first line
/// number, one at a time: a file of millions of lines is never held twice.
fn logical_lines(contents: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut lines = contents.lines().enumerate();
    std::iter::from_fn(move || {
        let mut current = String::new();
        let mut start = None;
        for (n, line) in lines.by_ref() {
            let first = *start.get_or_insert(n + 1);
            match line.strip_suffix('\\') {
                Some(head) => {
                    current.push_str(head);
                    current.push(' ');
                }
                None => {
                    current.push_str(line);
                    return Some((first, current));
                }
            }
        }
        start.map(|first| (first, current))
    })
}

/// Removes a `#` comment: one at the start of the line or after whitespace
/// (a `#` inside a URL, as in `#egg=`, is not a comment).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes.get(i - 1).is_some_and(|p| p.is_ascii_whitespace())) {
            return line.get(..i).unwrap_or(line);
        }
    }
    line
}

fn parse_text(contents: &str, fs_path: &Path, kind: Kind, depth: usize, state: &mut State) -> Result<(), ParseError> {
    for (line_no, raw) in logical_lines(contents) {
        let line = strip_comment(&raw).trim();
        if line.is_empty() {
            continue;
        }
        if state.requirements.len() + state.pins.len() >= MAX_REQUIREMENTS {
            return Err(error(
                FORMAT,
                format!("line {line_no}: more than {MAX_REQUIREMENTS} requirements and constraints"),
            ));
        }
        if line.starts_with('-') {
            let (option, arg) = split_option(line);
            match option {
                "-r" | "--requirement" => {
                    include(arg, fs_path, Kind::Requirements.min_with(kind), depth, line_no, state)?
                }
                "-c" | "--constraint" => include(arg, fs_path, Kind::Constraints, depth, line_no, state)?,
                "-e" | "--editable" if kind == Kind::Requirements => {
                    if let Some(r) = direct_reference(arg) {
                        state.requirements.push(r);
                    }
                }
                _ => {}
            }
            continue;
        }
        let requirement = parse_requirement(line).ok_or_else(|| {
            error(
                FORMAT,
                format!("line {line_no}: invalid requirement {:?}", truncate(line)),
            )
        })?;
        match kind {
            Kind::Requirements => state.requirements.push(requirement),
            Kind::Constraints => {
                if !requirement.version.is_empty() && requirement.source == Source::Registry {
                    state
                        .pins
                        .insert(Ecosystem::PyPI.normalize_name(&requirement.name), requirement.version);
                }
            }
        }
    }
    Ok(())
}

impl Kind {
    /// A `-r` inside a constraints file includes more constraints.
    fn min_with(self, parent: Kind) -> Kind {
        if parent == Kind::Constraints {
            Kind::Constraints
        } else {
            self
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Splits `-r file`, `-rfile`, `--requirement=file`, `--requirement file`.
fn split_option(line: &str) -> (&str, &str) {
    if line.starts_with("--") {
        let end = line.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(line.len());
        let option = line.get(..end).unwrap_or(line);
        let rest = line.get(end..).unwrap_or("");
        let rest = rest.strip_prefix('=').unwrap_or(rest);
        (option, rest.trim())
    } else {
        let end = line.char_indices().nth(2).map(|(i, _)| i).unwrap_or(line.len());
        let option = line.get(..end).unwrap_or(line);
        (option, line.get(end..).unwrap_or("").trim())
    }
}

fn include(
    arg: &str,
    fs_path: &Path,
    kind: Kind,
    depth: usize,
    line_no: usize,
    state: &mut State,
) -> Result<(), ParseError> {
    if arg.is_empty() {
        return Err(error(FORMAT, format!("line {line_no}: include without a file name")));
    }
    if arg.contains("://") {
        return Ok(());
    }
    if depth + 1 > MAX_DEPTH {
        return Err(error(
            FORMAT,
            format!("line {line_no}: includes nest deeper than {MAX_DEPTH} at {arg}"),
        ));
    }
    let outside = || {
        error(
            FORMAT,
            format!("line {line_no}: included file {arg} is outside the scanned tree; not read"),
        )
    };
    if Path::new(arg).is_absolute() || arg.starts_with('~') {
        return Err(outside());
    }
    let base = fs_path.parent().unwrap_or(Path::new("."));
    let target = base.join(arg);
    let canonical = std::fs::canonicalize(&target)
        .map_err(|e| error(FORMAT, format!("line {line_no}: cannot read included file {arg}: {e}")))?;
    if !canonical.starts_with(&state.root) {
        return Err(outside());
    }
    if !state.visited.insert(canonical.clone()) {
        return Ok(());
    }
    let limit = MAX_INCLUDE_BYTES.min(state.budget);
    let (bytes, _) = zerotrace_files::read_limited(&canonical, limit).map_err(|e| {
        let e = if limit < MAX_INCLUDE_BYTES {
            format!("{e} (all includes together are read up to {MAX_TOTAL_INCLUDE_BYTES} bytes)")
        } else {
            e.to_string()
        };
        error(FORMAT, format!("line {line_no}: included file {arg}: {e}"))
    })?;
    state.budget -= bytes.len() as u64;
    let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes)).into_owned();
    parse_text(&text, &target, kind, depth + 1, state)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn looks_like_reference(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("git+")
        || s.starts_with('.')
        || s.starts_with('/')
        || s.starts_with('~')
        || s.ends_with(".whl")
        || s.ends_with(".zip")
        || s.ends_with(".tar.gz")
        || s.ends_with(".tgz")
}

/// Parses one requirement line; `None` if it is not a requirement.
fn parse_requirement(line: &str) -> Option<Requirement> {
    // Per-requirement options (`--hash=…`) follow the requirement.
    let line = match line.find(" --").or_else(|| line.find("\t--")) {
        Some(i) => line.get(..i).unwrap_or(line).trim(),
        None => line,
    };
    let name_end = line.find(|c: char| !is_name_char(c)).unwrap_or(line.len());
    let name = line.get(..name_end).unwrap_or("");
    let mut rest = line.get(name_end..).unwrap_or("").trim_start();
    if rest.starts_with('[') {
        let close = rest.find(']')?;
        rest = rest.get(close + 1..).unwrap_or("").trim_start();
    }
    if let Some(url) = rest.strip_prefix('@') {
        // PEP 508 direct reference: `name[extra] @ url ; marker`.
        if name.is_empty() {
            return None;
        }
        let url = url.split(" ;").next().unwrap_or(url).trim();
        return Some(Requirement {
            name: name.to_string(),
            version: String::new(),
            requirement: Some(url.to_string()),
            source: reference_source(url),
        });
    }
    let first = line.split_whitespace().next().unwrap_or("");
    if looks_like_reference(first) {
        return direct_reference(line);
    }
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let rest = rest.split(';').next().unwrap_or(rest);
    let spec = rest.trim().trim_start_matches('(').trim_end_matches(')').trim();
    if !spec.is_empty() && !spec.starts_with(['=', '<', '>', '!', '~']) {
        return None;
    }
    let clauses: Vec<&str> = spec.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
    let pin = match clauses.as_slice() {
        [only] => only
            .strip_prefix("===")
            .or_else(|| only.strip_prefix("=="))
            .map(str::trim)
            .filter(|v| !v.is_empty() && !v.contains('*')),
        _ => None,
    };
    let spec_text = clauses.join(",");
    Some(match pin {
        Some(v) => Requirement {
            name: name.to_string(),
            version: v.to_string(),
            requirement: None,
            source: Source::Registry,
        },
        None => Requirement {
            name: name.to_string(),
            version: String::new(),
            requirement: Some(if spec_text.is_empty() {
                "*".to_string()
            } else {
                spec_text
            }),
            source: Source::Registry,
        },
    })
}

fn reference_source(url: &str) -> Source {
    if url.starts_with("git+") || url.starts_with("git://") {
        Source::Git
    } else {
        Source::Path
    }
}

/// A URL or path requirement (`-e` argument, bare URL, local archive).
fn direct_reference(arg: &str) -> Option<Requirement> {
    let target = arg.split(" ;").next().unwrap_or(arg).split_whitespace().next()?;
    let source = reference_source(target);
    let egg = target.split(['#', '&']).find_map(|part| part.strip_prefix("egg="));
    if let Some(egg) = egg {
        let name: String = egg.chars().take_while(|&c| is_name_char(c)).collect();
        if name.is_empty() {
            return None;
        }
        return Some(Requirement {
            name,
            version: String::new(),
            requirement: Some(target.to_string()),
            source,
        });
    }
    let path = target.split(['#', '?']).next().unwrap_or(target).trim_end_matches('/');
    let file = path.rsplit('/').next().unwrap_or(path);
    if let Some(stem) = file.strip_suffix(".whl") {
        // `name-version(-build)?-python-abi-platform.whl`
        let mut parts = stem.split('-');
        let name = parts.next().filter(|n| !n.is_empty())?;
        let version = parts.next().unwrap_or("");
        return Some(Requirement {
            name: name.to_string(),
            version: version.to_string(),
            requirement: None,
            source,
        });
    }
    let stem = [".tar.gz", ".zip", ".tgz", ".tar.bz2"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext));
    if let Some((name, version)) = stem
        .and_then(|s| s.rsplit_once('-'))
        .filter(|(_, v)| v.starts_with(|c: char| c.is_ascii_digit()))
    {
        return Some(Requirement {
            name: name.to_string(),
            version: version.to_string(),
            requirement: None,
            source,
        });
    }
    if source == Source::Git {
        // `git+https://host/org/repo.git@ref` without an egg: the repository name.
        let name = file.split('@').next().unwrap_or(file).trim_end_matches(".git");
        if name.is_empty() || !name.chars().all(is_name_char) {
            return None;
        }
        return Some(Requirement {
            name: name.to_string(),
            version: String::new(),
            requirement: Some(target.to_string()),
            source,
        });
    }
    // A local project directory: its name is the directory's, when it has one.
    let name = file.trim();
    if name.is_empty() || name == "." || name == ".." || !name.chars().all(is_name_char) || target.contains("://") {
        return None;
    }
    Some(Requirement {
        name: name.to_string(),
        version: String::new(),
        requirement: Some(target.to_string()),
        source: Source::Path,
    })
}
