//! Helpers shared by the Cargo, JavaScript and Python lockfile parsers:
//! one-line errors from the TOML, YAML and JSON libraries, `name@version`
//! splitting and JSON-with-commas cleanup.

use crate::ParseError;
use crate::parsers::collect::error;
use serde::de::DeserializeOwned;

/// Most TOML tokens a lockfile may hold. The TOML library holds every token
/// of a document at once (about 48 bytes each), so this bounds its memory
/// near 200 MB; a large real `uv.lock` of 5 MB has about a million.
const MAX_TOML_TOKENS: usize = 4_000_000;
/// Deepest nesting of TOML arrays and inline tables (real lockfiles: 3).
const MAX_TOML_DEPTH: usize = 128;

/// Parses TOML, turning an error into one line with its line number. A
/// document with more tokens or deeper nesting than any lockfile has is
/// refused before the library sees it.
pub(crate) fn toml<T: DeserializeOwned>(format: &str, contents: &str) -> Result<T, ParseError> {
    let shape = toml_shape(contents);
    if shape.tokens > MAX_TOML_TOKENS {
        return Err(error(
            format,
            format!("more than {MAX_TOML_TOKENS} TOML tokens; not a lockfile this scanner reads"),
        ));
    }
    if let Some(line) = shape.too_deep_at {
        return Err(error(
            format,
            format!("line {line}: arrays or inline tables nest deeper than {MAX_TOML_DEPTH}"),
        ));
    }
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

/// What [`toml_shape`] measures.
#[derive(Debug, PartialEq, Eq)]
struct TomlShape {
    /// Tokens, counted as a TOML lexer splits them (a string, a bare word, a
    /// run of blanks, a comment, a newline, each punctuation mark).
    tokens: usize,
    /// The line where nesting first passes [`MAX_TOML_DEPTH`].
    too_deep_at: Option<usize>,
}

/// Measures a TOML document in one pass without allocating; it stops
/// counting once past a limit.
fn toml_shape(contents: &str) -> TomlShape {
    let bytes = contents.as_bytes();
    let (mut i, mut tokens, mut depth, mut line) = (0, 0usize, 0usize, 1usize);
    while i < bytes.len() && tokens <= MAX_TOML_TOKENS {
        tokens += 1;
        let b = bytes.get(i).copied().unwrap_or(0);
        i += 1;
        match b {
            b'\n' => line += 1,
            b' ' | b'\t' | b'\r' => {
                while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\r')) {
                    i += 1;
                }
            }
            b'#' => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                let triple = bytes.get(i..i + 2) == Some(&[b, b][..]);
                if triple {
                    i += 2;
                }
                while let Some(&c) = bytes.get(i) {
                    i += 1;
                    if c == b'\n' {
                        line += 1;
                        if !triple {
                            break;
                        }
                    } else if c == b'\\' && b == b'"' {
                        i += 1;
                    } else if c == b && (!triple || bytes.get(i..i + 2) == Some(&[b, b][..])) {
                        if triple {
                            i += 2;
                        }
                        break;
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_TOML_DEPTH {
                    return TomlShape {
                        tokens,
                        too_deep_at: Some(line),
                    };
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'=' | b',' | b'.' => {}
            _ => {
                while bytes.get(i).is_some_and(|c| !b" \t\r\n#\"'[]{}=,.".contains(c)) {
                    i += 1;
                }
            }
        }
    }
    TomlShape {
        tokens,
        too_deep_at: None,
    }
}

/// Returns an XML element's attributes as (local name, trimmed value with
/// entities resolved); a malformed attribute is an error for `line`.
pub(crate) fn xml_attributes(
    format: &str,
    start: &quick_xml::events::BytesStart<'_>,
    line: usize,
) -> Result<Vec<(Vec<u8>, String)>, ParseError> {
    let bad = |e: &dyn std::fmt::Display| error(format, format!("line {line}: {e}"));
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| bad(&e))?;
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| bad(&e))?
            .trim()
            .to_string();
        attributes.push((attribute.key.local_name().as_ref().to_vec(), value));
    }
    Ok(attributes)
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
    fn toml_shape_counts_tokens_and_nesting_outside_strings() {
        let doc = "[[package]]\nname = \"a[b\" # [[[\ndeps = [\n \"x\",\n]\n";
        let shape = toml_shape(doc);
        assert_eq!(shape.too_deep_at, None);
        assert!((20..40).contains(&shape.tokens), "{shape:?}");
        let multi = format!(
            "s = \"\"\"\n{}\n\"\"\"\nt = '''{}'''\n",
            "[".repeat(500),
            "{".repeat(500)
        );
        assert_eq!(toml_shape(&multi).too_deep_at, None);
        let deep = format!("a = 1\nb = {}", "[".repeat(MAX_TOML_DEPTH + 1));
        assert_eq!(toml_shape(&deep).too_deep_at, Some(2));
    }

    #[test]
    fn hostile_toml_is_refused_before_the_library_holds_it() {
        #[derive(serde::Deserialize)]
        struct Any {}
        let deep = "[".repeat(10_000);
        let err = toml::<Any>("Cargo.lock", &deep).err().expect("refused");
        assert!(err.0.contains("deeper than 128"), "{}", err.0);
        let many = "x\n".repeat(MAX_TOML_TOKENS);
        let err = toml::<Any>("Cargo.lock", &many).err().expect("refused");
        assert!(err.0.contains("TOML tokens"), "{}", err.0);
    }

    #[test]
    fn real_lockfiles_are_far_inside_the_toml_limits() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
        let text = std::fs::read_to_string(path).expect("the workspace's Cargo.lock");
        let shape = toml_shape(&text);
        assert_eq!(shape.too_deep_at, None);
        assert!(
            shape.tokens * 4 < text.len(),
            "{} tokens in {} bytes",
            shape.tokens,
            text.len()
        );
    }

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
