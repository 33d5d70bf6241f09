//! `stack.yaml.lock`: what Stack resolved the `extra-deps` of a Haskell
//! project to.
//!
//! Each `packages` entry's `completed` side is reported: `hackage:
//! name-1.2.3@sha256:…` is a Hackage release ([`Source::Registry`]);
//! `git`/`commit` (with `name`) is [`Source::Git`] at the commit, with the
//! repository as the requirement; `url` or `archive` is [`Source::Path`]. An
//! entry that is none of these is an error for that entry.
//!
//! The packages of the snapshot (`lts-21.25`, the resolver) are not in this
//! file: each snapshot is listed as an error saying so, because reporting
//! only the extra dependencies would look like a complete inventory.

use super::collect::{Collector, error, text};
use super::{ParseInput, Parsed, textutil};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "stack.yaml.lock";

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    packages: Vec<Entry>,
    #[serde(default)]
    snapshots: Vec<Snapshot>,
}

#[derive(Deserialize)]
struct Entry {
    completed: Option<Completed>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Completed {
    hackage: Option<String>,
    git: Option<String>,
    commit: Option<String>,
    name: Option<String>,
    url: Option<String>,
    archive: Option<String>,
}

#[derive(Deserialize)]
struct Snapshot {
    original: Option<serde_json::Value>,
}

/// Parses a `stack.yaml.lock` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let contents = text(input);
    if contents
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Parsed::default());
    }
    let lock: Lock = textutil::yaml(FORMAT, contents)?;
    let mut out = Collector::new(Ecosystem::Hackage, input.rel_path);
    let none = Completed::default();
    for (i, entry) in lock.packages.iter().enumerate() {
        let completed = entry.completed.as_ref().unwrap_or(&none);
        if let Some(hackage) = &completed.hackage {
            let release = hackage.split('@').next().unwrap_or("").trim();
            match split_release(release) {
                Some((name, version)) => out.add(name, version, Scope::Unspecified, Source::Registry),
                None => out.entry_error(error(
                    FORMAT,
                    format!("package {}: expected name-version in {hackage:?}", i + 1),
                )),
            }
        } else if let (Some(repo), Some(name)) = (&completed.git, &completed.name) {
            let commit = completed.commit.as_deref().unwrap_or("");
            out.add_located(name, commit, repo, Scope::Unspecified, Source::Git);
        } else if let (Some(location), Some(name)) =
            (completed.url.as_ref().or(completed.archive.as_ref()), &completed.name)
        {
            out.add_located(name, "", location, Scope::Unspecified, Source::Path);
        } else {
            out.entry_error(error(
                FORMAT,
                format!(
                    "package {}: neither a hackage release nor a named git or archive source",
                    i + 1
                ),
            ));
        }
    }
    for snapshot in &lock.snapshots {
        let name = match &snapshot.original {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Object(o)) => o
                .get("url")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?")
                .to_string(),
            _ => "?".to_string(),
        };
        out.entry_error(error(
            FORMAT,
            format!("snapshot {name}: its packages are not listed in this file and are not reported"),
        ));
    }
    Ok(out.finish())
}

/// Splits `aeson-2.1.2.1` into `aeson` and `2.1.2.1`.
fn split_release(release: &str) -> Option<(&str, &str)> {
    let (name, version) = release.rsplit_once('-')?;
    let is_version = !version.is_empty()
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    (is_version && !name.is_empty()).then_some((name, version))
}
