//! `mix.lock`: the Elixir map literal Mix writes, one entry per dependency.
//!
//! `"name": {:hex, :package, "1.2.3", "hash", [:mix], [deps], "hexpm", "hash"}`
//! is the Hex package `package` (the second element: the key is the
//! application name, which can differ) at `1.2.3`; shorter tuples of older
//! Mix versions read the same. `"name": {:git, "url", "ref", [opts]}` is a
//! [`Source::Git`] package with no version (a commit is no release version).
//! Other SCMs are skipped. The lockfile does not record `only: :dev`/`:test`,
//! so every scope is [`Scope::Unspecified`].
//!
//! The literal is read by a small recursive-descent parser of the Elixir
//! subset Mix emits (maps, tuples, lists, keyword lists, strings, atoms),
//! with a nesting limit so no input can exhaust the stack.

use super::collect::{Collector, error, text};
use super::{ParseInput, Parsed};
use crate::{ParseError, Scope, Source};
use zerotrace_ecosystem::Ecosystem;

const FORMAT: &str = "mix.lock";
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Map(Vec<(Term, Term)>),
    Tuple(Vec<Term>),
    List(Vec<Term>),
    Str(String),
    Atom(String),
    /// Numbers, `true`, `false`, `nil` and other bare words.
    Word(String),
}

/// Parses a `mix.lock` file.
pub(crate) fn parse(input: &ParseInput<'_>) -> Result<Parsed, ParseError> {
    let mut parser = Parser {
        src: text(input).as_bytes(),
        pos: 0,
    };
    parser.skip_space();
    if parser.at_end() {
        return Ok(Parsed::default());
    }
    let term = parser.term(0).map_err(|m| error(FORMAT, m))?;
    parser.skip_space();
    if !parser.at_end() {
        return Err(error(
            FORMAT,
            format!("unexpected text after the map at byte {}", parser.pos),
        ));
    }
    let Term::Map(entries) = term else {
        return Err(error(FORMAT, "the file is not a map literal"));
    };
    let mut out = Collector::new(Ecosystem::Hex, input.rel_path);
    for (key, value) in &entries {
        let key = match key {
            Term::Str(s) | Term::Atom(s) => s.as_str(),
            _ => return Err(error(FORMAT, "a key is not a string or an atom")),
        };
        let Term::Tuple(items) = value else {
            return Err(error(FORMAT, format!("entry {key:?} is not a tuple")));
        };
        match items.as_slice() {
            [Term::Atom(scm), Term::Atom(name), Term::Str(version), ..] if scm == "hex" => {
                out.add(name, version, Scope::Unspecified, Source::Registry)
            }
            [Term::Atom(scm), ..] if scm == "hex" => {
                return Err(error(
                    FORMAT,
                    format!("entry {key:?}: expected {{:hex, :name, \"version\", ...}}"),
                ));
            }
            [Term::Atom(scm), Term::Str(_), ..] if scm == "git" => out.add(key, "", Scope::Unspecified, Source::Git),
            [Term::Atom(scm), ..] if scm == "git" => {
                return Err(error(
                    FORMAT,
                    format!("entry {key:?}: expected {{:git, \"url\", \"ref\", opts}}"),
                ));
            }
            _ => {}
        }
    }
    Ok(out.finish())
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.src.get(self.pos + offset).copied()
    }

    /// Skips whitespace and `#` comments.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.pos += 1;
            } else if c == b'#' {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{}`", c as char)))
        }
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.peek() {
            None => format!("unexpected end of file, expected {wanted}"),
            Some(c) => format!("unexpected {:?} at byte {}, expected {wanted}", c as char, self.pos),
        }
    }

    fn term(&mut self, depth: usize) -> Result<Term, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        self.skip_space();
        match self.peek() {
            Some(b'%') => {
                self.pos += 1;
                self.expect(b'{')?;
                let mut entries = Vec::new();
                self.sequence(b'}', depth, |p, depth| {
                    let entry = p.map_entry(depth)?;
                    entries.push(entry);
                    Ok(())
                })?;
                Ok(Term::Map(entries))
            }
            Some(b'{') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.sequence(b'}', depth, |p, depth| {
                    items.push(p.term(depth + 1)?);
                    Ok(())
                })?;
                Ok(Term::Tuple(items))
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.sequence(b']', depth, |p, depth| {
                    let item = match p.keyword_key()? {
                        Some(key) => Term::Tuple(vec![Term::Atom(key), p.term(depth + 1)?]),
                        None => p.term(depth + 1)?,
                    };
                    items.push(item);
                    Ok(())
                })?;
                Ok(Term::List(items))
            }
            Some(b'"') => Ok(Term::Str(self.string()?)),
            Some(b':') => {
                self.pos += 1;
                if self.peek() == Some(b'"') {
                    Ok(Term::Atom(self.string()?))
                } else {
                    let word = self.word();
                    if word.is_empty() {
                        Err(self.unexpected("an atom name"))
                    } else {
                        Ok(Term::Atom(word))
                    }
                }
            }
            _ => {
                let word = self.word();
                if word.is_empty() {
                    Err(self.unexpected("a value"))
                } else {
                    Ok(Term::Word(word))
                }
            }
        }
    }

    /// Reads `item, item, ... [,] close`, the opening bracket already consumed.
    fn sequence(
        &mut self,
        close: u8,
        depth: usize,
        mut item: impl FnMut(&mut Self, usize) -> Result<(), String>,
    ) -> Result<(), String> {
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(());
            }
            item(self, depth)?;
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => return Err(self.unexpected(&format!("`,` or `{}`", close as char))),
            }
        }
    }

    /// Reads `"key": value`, `key: value` or `key => value`.
    fn map_entry(&mut self, depth: usize) -> Result<(Term, Term), String> {
        if let Some(key) = self.keyword_key()? {
            return Ok((Term::Str(key), self.term(depth + 1)?));
        }
        let key = self.term(depth + 1)?;
        self.skip_space();
        if self.peek() == Some(b'=') && self.peek_at(1) == Some(b'>') {
            self.pos += 2;
            Ok((key, self.term(depth + 1)?))
        } else {
            Err(self.unexpected("`=>`"))
        }
    }

    /// Reads a keyword key (`name:` or `"name":` followed by whitespace) if
    /// one is next, leaving the position unchanged otherwise.
    fn keyword_key(&mut self) -> Result<Option<String>, String> {
        self.skip_space();
        let start = self.pos;
        let key = match self.peek() {
            Some(b'"') => self.string()?,
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.word(),
            _ => return Ok(None),
        };
        if self.peek() == Some(b':') && self.peek_at(1).is_none_or(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
            Ok(Some(key))
        } else {
            self.pos = start;
            Ok(None)
        }
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'?' | b'!' | b'@' | b'-' | b'+'))
        {
            self.pos += 1;
        }
        String::from_utf8_lossy(self.src.get(start..self.pos).unwrap_or_default()).into_owned()
    }

    /// Reads a double-quoted string with backslash escapes.
    fn string(&mut self) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        let mut bytes = Vec::new();
        loop {
            match self.peek() {
                None => return Err(format!("unterminated string starting at byte {start}")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&bytes).into_owned());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => return Err(format!("unterminated string starting at byte {start}")),
                        Some(b'n') => bytes.push(b'\n'),
                        Some(b't') => bytes.push(b'\t'),
                        Some(c) => bytes.push(c),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    bytes.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<Term, String> {
        Parser {
            src: s.as_bytes(),
            pos: 0,
        }
        .term(0)
    }

    #[test]
    fn reads_the_elixir_subset() {
        assert_eq!(
            read(r#"{:hex, :"a-b", "1", [opt: true, repo: "x"], %{"k" => nil}}"#).unwrap(),
            Term::Tuple(vec![
                Term::Atom("hex".into()),
                Term::Atom("a-b".into()),
                Term::Str("1".into()),
                Term::List(vec![
                    Term::Tuple(vec![Term::Atom("opt".into()), Term::Word("true".into())]),
                    Term::Tuple(vec![Term::Atom("repo".into()), Term::Str("x".into())])
                ]),
                Term::Map(vec![(Term::Str("k".into()), Term::Word("nil".into()))])
            ])
        );
        assert_eq!(
            read(r#"%{"a": {}, }"#).unwrap(),
            Term::Map(vec![(Term::Str("a".into()), Term::Tuple(vec![]))])
        );
        assert!(read(&"[".repeat(10_000)).is_err());
        assert!(read(r#"{"x"#).is_err());
        assert!(read("{:a :b}").is_err());
    }
}
