//! `renv.lock`: the R packages of a project, as renv records them.
//!
//! Every entry of `Packages` is reported as a CRAN package by its
//! `Package` name (the map key when absent). `Source` decides where it
//! comes from: `Repository` (CRAN, or a CRAN-like mirror such as RSPM) is
//! [`Source::Registry`] at its `Version`; `GitHub`, `GitLab`, `Bitbucket`
//! and `git` are [`Source::Git`] at the `RemoteSha` commit, with the
//! repository as the requirement; `Local` and `URL` are [`Source::Path`]
//! with the path or URL. A `Bioconductor` package is not a CRAN package and
//! no Bioconductor advisories are matched, so it is an error for that entry
//! rather than a silent skip; so is an entry without a version.
//! The `R` section (the interpreter's own version) is not a package.

use super::collect::{Collector, error, json_object, text};
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use std::collections::BTreeMap;
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "renv.lock";

#[derive(Deserialize)]
struct Lock {
    #[serde(rename = "Packages", default)]
    packages: BTreeMap<String, Entry>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entry {
    #[serde(rename = "Package")]
    package: Option<String>,
    #[serde(rename = "Version")]
    version: Option<String>,
    #[serde(rename = "Source")]
    source: Option<String>,
    #[serde(rename = "RemoteSha")]
    remote_sha: Option<String>,
    #[serde(rename = "RemoteUrl")]
    remote_url: Option<String>,
    #[serde(rename = "RemoteHost")]
    remote_host: Option<String>,
    #[serde(rename = "RemoteUsername")]
    remote_username: Option<String>,
    #[serde(rename = "RemoteRepo")]
    remote_repo: Option<String>,
}

/// Parses a `renv.lock` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let lock: Lock = json_object(FORMAT, text(input))?;
    let mut out = Collector::new(Ecosystem::Cran, input.rel_path);
    for (key, entry) in &lock.packages {
        let name = entry.package.as_deref().unwrap_or(key).trim();
        let version = entry.version.as_deref().unwrap_or("").trim();
        let remote = || {
            entry.remote_url.clone().or_else(|| {
                let parts = [&entry.remote_host, &entry.remote_username, &entry.remote_repo];
                let parts: Vec<&str> = parts.iter().filter_map(|p| p.as_deref()).collect();
                (!parts.is_empty()).then(|| parts.join("/"))
            })
        };
        match entry.source.as_deref().unwrap_or("Repository") {
            "Bioconductor" => out.entry_error(error(
                FORMAT,
                format!("package {name}: comes from Bioconductor, whose advisories are not matched"),
            )),
            _ if version.is_empty() && entry.remote_sha.is_none() => {
                out.entry_error(error(FORMAT, format!("package {name}: no Version")));
            }
            "GitHub" | "GitLab" | "Bitbucket" | "git" => {
                let commit = entry.remote_sha.as_deref().unwrap_or("");
                out.add_located(
                    name,
                    commit,
                    &remote().unwrap_or_default(),
                    Scope::Unspecified,
                    Source::Git,
                );
            }
            "Local" | "URL" => out.add_located(
                name,
                "",
                &remote().unwrap_or_default(),
                Scope::Unspecified,
                Source::Path,
            ),
            _ => out.add(name, version, Scope::Unspecified, Source::Registry),
        }
    }
    Ok(out.finish())
}
