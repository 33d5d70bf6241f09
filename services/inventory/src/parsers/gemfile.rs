//! `Gemfile.lock` (and `gems.locked`): the gems of Bundler's source sections.
//!
//! `GEM`, `GIT` and `PATH` sections list their gems under `specs:` at four
//! spaces as `name (version)` or `name (version-platform)`; the platform is
//! dropped (Bundler itself splits at the first `-`: RubyGems stores
//! prerelease versions with `.pre.`, never `-`), so a gem locked for several
//! platforms is reported once. Six-space lines (a spec's own requirements),
//! `PLATFORMS`, `DEPENDENCIES`, `CHECKSUMS`, `RUBY VERSION` and
//! `BUNDLED WITH` add nothing. `GIT` gems are [`Source::Git`], `PATH` gems
//! [`Source::Path`]; gems of a `PLUGIN SOURCE` (a Bundler plugin's own source
//! type) are skipped, as nothing says where they come from. The lockfile does
//! not record Gemfile groups, so every scope is [`Scope::Unspecified`].
//!
//! The graph: the Gemfile (one root node) depends on the gems of
//! `DEPENDENCIES` (two spaces: `name`, `name (constraints)`, `name!`), and
//! each spec on the gems its six-space lines name.

use super::collect::{Collector, error, text};
use super::{ParseInput, Parsed};
use crate::graph::ByName;
use crate::{ParseError, Scope, Source};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "Gemfile.lock";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// A source section whose gems are reported with this source.
    Gems(Source),
    /// A source section whose gems are skipped.
    Skipped,
    /// Any other section.
    Other,
}

/// Parses a `Gemfile.lock`.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut out = Collector::new(Ecosystem::RubyGems, input.rel_path);
    let mut section: Option<Section> = None;
    let mut in_specs = false;
    // For the graph: each spec's (name, version) and the names it requires,
    // and the names the Gemfile itself asks for.
    let mut specs: Vec<((String, String), Vec<String>)> = Vec::new();
    let mut direct: Vec<String> = Vec::new();
    let mut in_dependencies = false;

    for (i, raw) in text(input).lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent == 0 {
            if line.starts_with('\t') {
                return Err(error(FORMAT, format!("line {line_no}: unexpected tab indentation")));
            }
            section = Some(match line {
                "GEM" => Section::Gems(Source::Registry),
                "GIT" => Section::Gems(Source::Git),
                "PATH" => Section::Gems(Source::Path),
                "PLUGIN SOURCE" => Section::Skipped,
                _ => Section::Other,
            });
            in_specs = false;
            in_dependencies = line == "DEPENDENCIES";
            continue;
        }
        let Some(current) = section else {
            return Err(error(
                FORMAT,
                format!("line {line_no}: indented line before any section"),
            ));
        };
        let body = line.trim_start_matches(' ');
        match (current, indent) {
            (Section::Gems(_) | Section::Skipped, 2) => in_specs = body == "specs:",
            (Section::Gems(source), 4) if in_specs => {
                let (name, version) = spec(body).ok_or_else(|| {
                    error(
                        FORMAT,
                        format!("line {line_no}: expected `name (version)`, got {body:?}"),
                    )
                })?;
                out.add(name, version, Scope::Unspecified, source);
                specs.push(((name.to_string(), version.to_string()), Vec::new()));
            }
            (Section::Gems(_), 6) if in_specs => {
                if let (Some(name), Some((_, requires))) = (gem_name(body), specs.last_mut()) {
                    requires.push(name.to_string());
                }
            }
            (Section::Other, 2) if in_dependencies => {
                if let Some(name) = gem_name(body) {
                    direct.push(name.to_string());
                }
            }
            _ => {}
        }
    }
    let mut parsed = out.finish();
    parsed.graph = graph(&specs, &direct);
    Ok(parsed)
}

/// The gem a requirement line names: `name`, `name (>= 1.0)`, `name!`.
fn gem_name(body: &str) -> Option<&str> {
    let name = body.split_whitespace().next()?.trim_end_matches('!');
    (!name.is_empty()).then_some(name)
}

/// The dependency graph of the specs, rooted at the Gemfile.
fn graph(specs: &[((String, String), Vec<String>)], direct: &[String]) -> Option<crate::DependencyGraph> {
    let mut graph = ByName::default();
    let gemfile = graph.project("(Gemfile)");
    for name in direct {
        graph.depends(gemfile, name.clone());
    }
    for ((name, version), requires) in specs {
        let from = graph.package(name.clone(), name, version);
        for required in requires {
            graph.depends(from, required.clone());
        }
    }
    graph.finish()
}

/// Splits `name (version[-platform])` into the name and the bare version.
fn spec(body: &str) -> Option<(&str, &str)> {
    let (name, rest) = body.split_once(" (")?;
    let inside = rest.strip_suffix(')')?;
    let version = inside.split('-').next().unwrap_or(inside).trim();
    if name.is_empty()
        || name.contains(char::is_whitespace)
        || version.is_empty()
        || version.contains(char::is_whitespace)
    {
        return None;
    }
    Some((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_drop_the_platform() {
        assert_eq!(spec("nokogiri (1.15.4-x86_64-linux)"), Some(("nokogiri", "1.15.4")));
        assert_eq!(
            spec("nokogiri (1.15.4-x86_64-linux-musl)"),
            Some(("nokogiri", "1.15.4"))
        );
        assert_eq!(spec("rails (7.1.0.beta1)"), Some(("rails", "7.1.0.beta1")));
        assert_eq!(spec("rails"), None);
        assert_eq!(spec("rails ()"), None);
        assert_eq!(spec("rails (1.0"), None);
    }
}
