//! `go.mod`: the modules of `require` directives, after `replace`.
//!
//! Decisions:
//! - Every required module is reported, `// indirect` or not, with
//!   [`Scope::Unspecified`]: since Go 1.17 the file lists the whole build
//!   list, and it records neither which modules only tests use nor whether a
//!   direct requirement is for tests. `// indirect` only says the main module
//!   does not import the module itself, which is no scope.
//! - Versions are written as OSV's Go advisories write them, without the
//!   leading `v` (`1.2.3`, `0.0.0-20191109021931-daa7c04131f5`,
//!   `2.0.0+incompatible`); matching orders both spellings alike.
//! - `replace old => new vX` renames and re-versions the requirement;
//!   `replace old vY => ...` applies only to `old` at `vY` and wins over a
//!   version-less replacement of the same module; `replace old => ./dir`
//!   keeps the required name and version and marks [`Source::Path`]: the
//!   code is a local directory, not what the registry serves at that version.
//! - The standard library is reported as the package `stdlib`, the name OSV's
//!   Go advisories give it, at the release of the `toolchain` directive, or
//!   else of the `go` directive (`go 1.22` is `1.22.0`, `go1.22rc1` is
//!   `1.22.0-rc.1`). Since Go 1.21 both are minimums: the go command refuses
//!   or switches away from an older toolchain, so the library in use is that
//!   release or a newer one. A newer local toolchain may have fixes the
//!   minimum lacks; reporting the minimum can then flag a fixed
//!   vulnerability, but never hides one the declared toolchain has. A file
//!   with neither directive has no `stdlib`; a directive that names no Go
//!   release is an error for its line.
//! - `godebug`, `exclude`, `retract`, `tool` and `ignore` add nothing.
//! - The graph: the main module (`module`) depends directly on the
//!   requirements without `// indirect` (the comment is `indirect`, or starts
//!   `indirect;`, as the go command reads it); the others are marked
//!   indirect, through modules go.mod does not name.
//! - Unknown lowercase directives (future Go versions add some) are skipped
//!   with their blocks; a block left open or a malformed `require`/`replace`
//!   line is an error, as it is for the go command.

use super::collect::{Collector, error, text};
use super::{ParseInput, Parsed};
use crate::graph::GraphBuilder;
use crate::{ParseError, Scope, Source};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_ecosystem::version::go_toolchain_version;

const FORMAT: &str = "go.mod";
/// Tokens a line may hold; past it the line is an error, not gigabytes.
const MAX_TOKENS_PER_LINE: usize = 16;

/// What a `replace` directive points to.
#[derive(Debug, Clone)]
enum Target {
    Module { path: String, version: String },
    Dir,
}

#[derive(Debug)]
struct Replace {
    path: String,
    version: Option<String>,
    target: Target,
}

/// What the directives of one file say.
#[derive(Default)]
struct Directives {
    /// Path, version, and whether the line is marked `// indirect`.
    requires: Vec<(String, String, bool)>,
    /// The main module's path.
    module: Option<String>,
    replaces: Vec<Replace>,
    /// The argument and line of the last `go` directive.
    go: Option<(String, usize)>,
    /// The argument and line of the last `toolchain` directive.
    toolchain: Option<(String, usize)>,
}

/// Parses a `go.mod` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut found = Directives::default();
    let mut block: Option<(String, usize)> = None;

    for (i, raw) in text(input).lines().enumerate() {
        let line_no = i + 1;
        let Line { tokens, comment } = lex(raw).map_err(|m| error(FORMAT, format!("line {line_no}: {m}")))?;
        let indirect = comment.as_deref().is_some_and(is_indirect);
        let Some(first) = tokens.first() else { continue };
        if let Some((verb, _)) = &block {
            if tokens.len() == 1 && first == ")" {
                block = None;
                continue;
            }
            let verb = verb.clone();
            directive(&verb, &tokens, line_no, indirect, &mut found)?;
            continue;
        }
        let args = tokens.get(1..).unwrap_or_default();
        match args {
            [open] if open == "(" => {
                check_verb(first, line_no)?;
                block = Some((first.clone(), line_no));
            }
            [open, close] if open == "(" && close == ")" => check_verb(first, line_no)?,
            _ => directive(first, args, line_no, indirect, &mut found)?,
        }
    }
    if let Some((verb, line_no)) = block {
        return Err(error(FORMAT, format!("line {line_no}: {verb} block is never closed")));
    }

    let mut out = Collector::new(Ecosystem::Go, input.rel_path);
    let Directives {
        requires,
        module,
        replaces,
        go,
        toolchain,
    } = found;
    let mut graph = GraphBuilder::default();
    let main = graph.node(module.as_deref().unwrap_or("(module)"), "");
    graph.root(main);
    for (path, version, indirect) in &requires {
        let exact = replaces
            .iter()
            .rev()
            .find(|r| &r.path == path && r.version.as_ref() == Some(version));
        let any = replaces.iter().rev().find(|r| &r.path == path && r.version.is_none());
        let (name, version, source) = match exact.or(any).map(|r| &r.target) {
            None => (path, osv_version(version), Source::Registry),
            Some(Target::Module { path, version }) => (path, osv_version(version), Source::Registry),
            Some(Target::Dir) => (path, osv_version(version), Source::Path),
        };
        out.add(name, version, Scope::Unspecified, source);
        let node = graph.node(name, version);
        if *indirect {
            graph.indirect(node);
        } else {
            graph.edge(main, node);
        }
    }
    let mut release = |directive: &str, found: Option<(String, usize)>| {
        let (name, line_no) = found?;
        let version = go_toolchain_version(&name);
        if version.is_none() {
            out.entry_error(error(
                FORMAT,
                format!("line {line_no}: {directive} {name:?} names no Go release; stdlib is not reported from it"),
            ));
        }
        version
    };
    let toolchain = release("toolchain", toolchain);
    let go = release("go", go);
    if let Some(version) = toolchain.or(go) {
        out.add(STDLIB, &version, Scope::Unspecified, Source::Registry);
    }
    let mut parsed = out.finish();
    parsed.graph = graph.finish();
    Ok(parsed)
}

/// Whether a line's comment marks a requirement indirect: `indirect`, or
/// `indirect;` followed by more.
fn is_indirect(comment: &str) -> bool {
    let comment = comment.trim();
    comment == "indirect" || comment.starts_with("indirect;")
}

/// The name OSV's Go advisories give the standard library.
const STDLIB: &str = "stdlib";

/// Returns a module version as OSV writes it: without the leading `v`.
fn osv_version(version: &str) -> &str {
    match version.strip_prefix('v') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => version,
    }
}

fn check_verb(verb: &str, line_no: usize) -> Result<(), ParseError> {
    if verb.chars().all(|c| c.is_ascii_lowercase()) && !verb.is_empty() {
        Ok(())
    } else {
        Err(error(FORMAT, format!("line {line_no}: unknown directive {verb:?}")))
    }
}

/// Handles one directive: `args` excludes the verb.
fn directive(
    verb: &str,
    args: &[String],
    line_no: usize,
    indirect: bool,
    found: &mut Directives,
) -> Result<(), ParseError> {
    match verb {
        "require" => match args {
            [path, version] if is_word(path) && is_word(version) => {
                found.requires.push((path.clone(), version.clone(), indirect));
                Ok(())
            }
            _ => Err(error(
                FORMAT,
                format!("line {line_no}: expected `require module/path version`"),
            )),
        },
        "replace" => {
            let usage = || {
                error(
                    FORMAT,
                    format!("line {line_no}: expected `replace module [version] => module version` or `=> ./dir`"),
                )
            };
            let arrow = args.iter().position(|a| a == "=>").ok_or_else(usage)?;
            let (left, right) = (
                args.get(..arrow).unwrap_or_default(),
                args.get(arrow + 1..).unwrap_or_default(),
            );
            let (path, version) = match left {
                [p] if is_word(p) => (p.clone(), None),
                [p, v] if is_word(p) && is_word(v) => (p.clone(), Some(v.clone())),
                _ => return Err(usage()),
            };
            let target = match right {
                [dir] if is_word(dir) => Target::Dir,
                [p, v] if is_word(p) && is_word(v) => Target::Module {
                    path: p.clone(),
                    version: v.clone(),
                },
                _ => return Err(usage()),
            };
            found.replaces.push(Replace { path, version, target });
            Ok(())
        }
        "go" | "toolchain" => match args {
            [name] if is_word(name) => {
                let slot = if verb == "go" {
                    &mut found.go
                } else {
                    &mut found.toolchain
                };
                *slot = Some((name.clone(), line_no));
                Ok(())
            }
            _ => Err(error(FORMAT, format!("line {line_no}: expected `{verb} version`"))),
        },
        "module" => {
            if let [path] = args {
                found.module = Some(path.clone());
            }
            Ok(())
        }
        "godebug" | "exclude" | "retract" | "tool" | "ignore" => Ok(()),
        other => check_verb(other, line_no),
    }
}

/// A module path or version: not empty and not punctuation.
fn is_word(s: &str) -> bool {
    !s.is_empty() && s != "(" && s != ")" && s != "=>"
}

/// One line, split.
struct Line {
    tokens: Vec<String>,
    /// What follows `//`, if the line has a comment.
    comment: Option<String>,
}

/// Splits one line into tokens and its `//` comment. `(`, `)` and `=>` are
/// tokens of their own; `"..."` and `` `...` `` strings are unquoted.
fn lex(line: &str) -> Result<Line, String> {
    let mut tokens = Vec::new();
    let mut comment = None;
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        // The longest directive, `replace old v => new v`, has 5 tokens.
        if tokens.len() >= MAX_TOKENS_PER_LINE {
            return Err(format!("more than {MAX_TOKENS_PER_LINE} tokens on one line"));
        }
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '/' if line_rest_starts_comment(&mut chars.clone()) => {
                comment = Some(chars.skip(2).collect());
                break;
            }
            '(' | ')' => {
                chars.next();
                tokens.push(c.to_string());
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated quoted string".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(other) => s.push(other),
                            None => return Err("unterminated quoted string".into()),
                        },
                        Some(other) => s.push(other),
                    }
                }
                tokens.push(s);
            }
            '`' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated raw string".into()),
                        Some('`') => break,
                        Some(other) => s.push(other),
                    }
                }
                tokens.push(s);
            }
            '=' if chars.clone().nth(1) == Some('>') => {
                chars.next();
                chars.next();
                tokens.push("=>".into());
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace()
                        || matches!(c, '(' | ')' | '"' | '`')
                        || (c == '=' && chars.clone().nth(1) == Some('>'))
                        || (c == '/' && line_rest_starts_comment(&mut chars.clone()))
                    {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                tokens.push(s);
            }
        }
    }
    Ok(Line { tokens, comment })
}

fn line_rest_starts_comment(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    chars.next() == Some('/') && chars.next() == Some('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_quotes_comments_and_arrows() {
        let line = lex(r#"require "example.com/a b" v1.0.0 // indirect"#).unwrap();
        assert_eq!(line.tokens, vec!["require", "example.com/a b", "v1.0.0"]);
        assert_eq!(line.comment.as_deref(), Some(" indirect"));
        assert_eq!(
            lex("replace a=>b v1").unwrap().tokens,
            vec!["replace", "a", "=>", "b", "v1"]
        );
        assert_eq!(lex("require (").unwrap().tokens, vec!["require", "("]);
        assert_eq!(lex("  // only a comment").unwrap().tokens, Vec::<String>::new());
        assert!(lex("require \"oops").is_err());
    }

    #[test]
    fn indirect_is_the_comments_first_word() {
        assert!(is_indirect(" indirect"));
        assert!(is_indirect("indirect; used by tests"));
        assert!(!is_indirect(" indirectly"));
        assert!(!is_indirect(" see issue 12, indirect"));
    }
}
