//! Helpers shared by the Cargo, JavaScript and Python lockfile parsers:
//! one-line errors from the TOML, YAML and JSON libraries, `name@version`
//! splitting and JSON-with-commas cleanup.

use crate::ParseError;
use crate::parsers::collect::error;
use serde::de::DeserializeOwned;

/// Parses TOML, turning an error into one line with its line number.
pub(crate) fn toml<T: DeserializeOwned>(format: &str, contents: &str) -> Result<T, ParseError> {
    toml::from_str(contents).map_err(|e| {
        let line = e.span().map(|s| line_of(contents, s.start));
        match line {
            Some(line) => error(format, format!("line {line}: {}", e.message())),
            None => error(format, e.message()),
        }
    })
}

/// Parses JSON, turning an error into one line.
pub(crate) fn json<T: DeserializeOwned>(format: &str, contents: &str) -> Result<T, ParseError> {
    serde_json::from_str(contents).map_err(|e| error(format, e))
}

/// Parses YAML with a budget large enough for monorepo lockfiles yet bounded
/// (alias bombs and absurd nesting are refused), turning an error into one line.
pub(crate) fn yaml<T: DeserializeOwned>(format: &str, contents: &str) -> Result<T, ParseError> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 50_000_000;
    budget.max_nodes = 20_000_000;
    budget.max_total_scalar_bytes = 512 * 1024 * 1024;
    budget.max_reader_input_bytes = None;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    serde_saphyr::from_str_with_options(contents, options).map_err(|e| error(format, e))
}

/// Returns the 1-based line of a byte offset.
pub(crate) fn line_of(contents: &str, offset: usize) -> usize {
    contents.as_bytes().iter().take(offset).filter(|&&b| b == b'\n').count() + 1
}

/// Splits `name@rest` at the `@` that ends the name (a scope's leading `@`
/// belongs to the name). Returns `None` when there is no such `@`.
pub(crate) fn split_at_name(spec: &str) -> Option<(&str, &str)> {
    let start = usize::from(spec.starts_with('@'));
    let at = spec.get(start..)?.find('@')? + start;
    Some((spec.get(..at)?, spec.get(at + 1..)?))
}

/// Turns JSONC (comments, trailing commas, as `bun.lock` has) into JSON.
pub(crate) fn jsonc_to_json(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut chars = input.char_indices().peekable();
    let mut in_string = false;
    while let Some((i, c)) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '/' if bytes.get(i + 1) == Some(&b'/') => {
                while let Some(&(_, n)) = chars.peek() {
                    if n == '\n' {
                        break;
                    }
                    chars.next();
                }
            }
            '/' if bytes.get(i + 1) == Some(&b'*') => {
                chars.next();
                let mut prev = ' ';
                for (_, n) in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            ',' => {
                // Drop the comma if the next significant character closes a container.
                let rest = input.get(i + 1..).unwrap_or("");
                let next = next_significant(rest);
                if !matches!(next, Some('}') | Some(']')) {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Returns the next character that is not whitespace or inside a comment.
fn next_significant(s: &str) -> Option<char> {
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').and_then(|i| r.get(i..)).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").and_then(|i| r.get(i + 2..)).unwrap_or("");
        } else {
            return rest.chars().next();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_after_the_scope() {
        assert_eq!(split_at_name("@babel/core@^7.0.0"), Some(("@babel/core", "^7.0.0")));
        assert_eq!(split_at_name("lodash@npm:4.17.21"), Some(("lodash", "npm:4.17.21")));
        assert_eq!(
            split_at_name("a@git+ssh://git@github.com/x"),
            Some(("a", "git+ssh://git@github.com/x"))
        );
        assert_eq!(split_at_name("@scope"), None);
        assert_eq!(split_at_name("plain"), None);
    }

    #[test]
    fn jsonc_loses_comments_and_trailing_commas() {
        let j = jsonc_to_json("{\n // c\n \"a\": [1, 2, /* x */],\n \"b\": \"//,]\",\n}");
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v, serde_json::json!({"a": [1, 2], "b": "//,]"}));
    }
}

/// A YAML or TOML scalar of any type, kept as text (`version: 1.0` arrives
/// as a float from an untyped YAML scalar).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Scalar(pub(crate) String);

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Decodes `%XX` escapes (yarn berry's `patch:` locators); bad escapes stay as they are.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(decoded) = hex {
                out.push(decoded);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
