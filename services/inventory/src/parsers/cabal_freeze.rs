//! `cabal.project.freeze`: the constraints `cabal freeze` writes to pin a
//! Haskell project's build plan.
//!
//! The `constraints:` field (continued on indented lines, comma-separated)
//! holds one constraint per package: `any.aeson ==2.1.2.1` pins a Hackage
//! version ([`Source::Registry`]); `any.base installed` names a library
//! that ships with the compiler, whose version the file does not say — it
//! is reported without a version and `installed` as its requirement, so it
//! shows as unmatched rather than vanishing; `aeson +flag -flag` only sets
//! flags and adds nothing. Qualifiers (`any.`, `setup.`, `pkg:setup.`) are
//! dropped: package names have no dots. Other ranges are reported as
//! requirements. Other fields (`index-state:`, `with-compiler:`) add
//! nothing. A constraint that is none of these is an error for that
//! constraint. Scope is not recorded.

use super::collect::{Collector, error, text};
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "cabal.project.freeze";

/// Parses a `cabal.project.freeze` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut out = Collector::new(Ecosystem::Hackage, input.rel_path);
    let mut in_constraints = false;
    for (i, raw) in text(input).lines().enumerate() {
        let line_no = i + 1;
        let line = raw.split("--").next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        let value = if line.starts_with([' ', '\t']) {
            if !in_constraints {
                continue;
            }
            line
        } else {
            let Some((field, value)) = line.split_once(':') else {
                return Err(error(FORMAT, format!("line {line_no}: expected `field: value`")));
            };
            in_constraints = field.trim().eq_ignore_ascii_case("constraints");
            if !in_constraints {
                continue;
            }
            value
        };
        for constraint in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            constraint_of(constraint, line_no, &mut out);
        }
    }
    Ok(out.finish())
}

/// Adds the package one constraint pins, if it pins one.
fn constraint_of(constraint: &str, line_no: usize, out: &mut Collector<'_>) {
    let (target, rest) = constraint
        .split_once(char::is_whitespace)
        .map_or((constraint, ""), |(t, r)| (t, r.trim()));
    let name = target.rsplit('.').next().unwrap_or(target);
    let is_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !is_name {
        out.entry_error(error(
            FORMAT,
            format!("line {line_no}: no package name in constraint {constraint:?}"),
        ));
        return;
    }
    if let Some(version) = rest.strip_prefix("==") {
        let version = version.trim();
        if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') {
            out.add(name, version, Scope::Unspecified, Source::Registry);
            return;
        }
    }
    match rest {
        "installed" => out.add_unresolved(name, "installed", Scope::Unspecified, Source::Registry),
        _ if rest.starts_with(['+', '-']) => {}
        _ if rest.starts_with(['<', '>', '=', '^']) => {
            out.add_unresolved(name, rest, Scope::Unspecified, Source::Registry);
        }
        _ => out.entry_error(error(
            FORMAT,
            format!("line {line_no}: unrecognised constraint {constraint:?}"),
        )),
    }
}
