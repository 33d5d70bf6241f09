//! Packagist (Composer) versions: Composer's `VersionParser::normalize`,
//! then PHP's `version_compare` on the normalised strings.
//!
//! Normalisation pads to four numbers and spells stabilities one way
//! (`v1.0RC1` becomes `1.0.0.0-RC1`, `1.0-dev` becomes `1.0.0.0-dev`,
//! `1.x-dev` becomes `1.9999999.9999999.9999999-dev`). `version_compare`
//! then splits on `.`, `-`, `_`, `+` and digit/letter switches and orders
//! `dev < alpha = a < beta = b < RC = rc < (number) < pl = p`, any other
//! word below `dev`.
//!
//! Named branches (`dev-main`, `dev-feature`, and `master`/`trunk`/`default`)
//! are rejected: Composer never orders a branch against a version (its
//! constraints treat them as incomparable), so they have no place in a total
//! order.

use std::cmp::Ordering;

use super::Reason;
use super::digits::Digits;

/// The ordering key: the tokens of the normalised version as
/// `version_compare` sees them.
///
/// Tokens order equal only when identical (a `#` token, the one spelling
/// that would break this, cannot survive normalisation), so the derived
/// `Hash` agrees with the order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ComposerKey(Vec<Token>);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Token {
    /// A word, ranked by `version_compare`'s special forms: -1 unknown,
    /// 0 dev, 1 alpha, 2 beta, 3 RC, 5 patch.
    Word(i8),
    Number(Digits),
}

/// The rank `version_compare` gives a number when it meets a word (`#N#`).
const NUMBER_RANK: i8 = 4;

/// The stability words of Composer's modifier, in the order its regex
/// alternation tries them.
const STABILITIES: [&str; 9] = ["stable", "beta", "b", "RC", "alpha", "a", "patch", "pl", "p"];

/// Parses a Composer version into its ordering key.
pub(crate) fn parse(s: &str) -> Result<ComposerKey, Reason> {
    let normalized = normalize(s)?;
    Ok(ComposerKey(tokens(&normalized)))
}

/// Returns Composer's normalised form of a version.
fn normalize(s: &str) -> Result<String, Reason> {
    let mut v = s.trim();

    // `1.0.x-dev as 1.0.0` is an inline alias: the first version is the real one.
    let words: Vec<&str> = v.split(' ').filter(|w| !w.is_empty()).collect();
    if let [real, "as", _] = words.as_slice() {
        v = real;
    }
    // `1.0@beta` carries a stability flag that is not part of the version.
    if let Some((head, flag)) = v.rsplit_once('@') {
        let known = ["stable", "rc", "beta", "alpha", "dev"];
        if !head.is_empty() && known.contains(&flag.to_ascii_lowercase().as_str()) {
            v = head;
        }
    }
    let lower = v.to_ascii_lowercase();
    if matches!(lower.as_str(), "master" | "trunk" | "default") || lower.starts_with("dev-") {
        return Err(Reason::Borrowed(
            "a branch name, not a version: Composer does not order branches",
        ));
    }
    // Build metadata (`+build`) does not order.
    if let Some((head, build)) = v.split_once('+')
        && !head.is_empty()
        && !build.is_empty()
        && !build.contains(char::is_whitespace)
    {
        v = head;
    }
    if v.contains([',', ' ', '\t', '\n', '\r']) {
        return Err(Reason::Borrowed("contains a separator of a constraint"));
    }

    if let Some(n) = classical(v).or_else(|| date_based(v)) {
        return Ok(n);
    }
    if let Some(n) = dev_branch_of_numbers(v) {
        return Ok(n);
    }
    Err(Reason::Borrowed("not a version Composer can normalise"))
}

/// Strips an optional `v` or `V`.
fn strip_v(v: &str) -> &str {
    v.strip_prefix(['v', 'V']).unwrap_or(v)
}

/// Returns the byte length of the leading ASCII digits of `s`.
fn digits_len(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// Matches `^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?<modifier>$` and pads the
/// numbers to four.
fn classical(v: &str) -> Option<String> {
    let body = strip_v(v);
    let first = digits_len(body);
    if first == 0 || first > 5 {
        return None;
    }
    let mut numbers = vec![body.get(..first)?];
    let mut rest = body.get(first..)?;
    while numbers.len() < 4 {
        let Some(after_dot) = rest.strip_prefix('.') else { break };
        let n = digits_len(after_dot);
        if n == 0 {
            break;
        }
        numbers.push(after_dot.get(..n)?);
        rest = after_dot.get(n..)?;
    }
    let modifier = modifier(rest)?;
    while numbers.len() < 4 {
        numbers.push("0");
    }
    Some(with_modifier(numbers.join("."), &modifier))
}

/// Matches the date-based form
/// `^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})<modifier>$` and
/// writes every non-digit of the date as `.`.
fn date_based(v: &str) -> Option<String> {
    let body = strip_v(v);
    // The date is made of digits and `.:-`; the modifier that follows starts
    // with a letter, with `_`, or with one separator before a letter, so
    // only two places can end the date.
    let end = body
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ':' | '-')))
        .unwrap_or(body.len());
    let candidates = [Some(end), end.checked_sub(1)];
    for cut in candidates.into_iter().flatten() {
        let (date, rest) = (body.get(..cut)?, body.get(cut..)?);
        if !date_matches(date.as_bytes()) {
            continue;
        }
        if let Some(m) = modifier(rest) {
            let dotted: String = date.chars().map(|c| if c.is_ascii_digit() { c } else { '.' }).collect();
            return Some(with_modifier(dotted, &m));
        }
    }
    None
}

/// Whether `d` is `\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2}` exactly.
fn date_matches(d: &[u8]) -> bool {
    let is_sep = |b: u8| matches!(b, b'.' | b':' | b'-');
    // Returns where an optionally separated group of `len` digits starting
    // at `pos` ends.
    let group = |pos: usize, len: usize| -> Option<usize> {
        let start = if d.get(pos).copied().is_some_and(is_sep) {
            pos + 1
        } else {
            pos
        };
        let digits = d.get(start..start + len)?;
        digits.iter().all(u8::is_ascii_digit).then_some(start + len)
    };
    fn tail(d: &[u8], pos: usize, count: usize, group: &dyn Fn(usize, usize) -> Option<usize>) -> bool {
        pos == d.len()
            || (count < 2 && (1..=3).any(|len| group(pos, len).is_some_and(|p| tail(d, p, count + 1, group))))
    }
    fn pairs(d: &[u8], pos: usize, count: usize, group: &dyn Fn(usize, usize) -> Option<usize>) -> bool {
        (count < 6 && group(pos, 2).is_some_and(|p| pairs(d, p, count + 1, group)))
            || (count >= 1 && tail(d, pos, 0, group))
    }
    d.len() >= 4 && d.iter().take(4).all(u8::is_ascii_digit) && pairs(d, 4, 0, &group)
}

/// The parts of Composer's modifier
/// `[._-]?(?:(stability)((?:[.-]?\d+)*+)?)?([.-]?dev)?`.
struct Modifier<'a> {
    stability: Option<(&'a str, &'a str)>,
    dev: bool,
}

/// Matches the whole of `rest` as a modifier, trying alternatives in the
/// order PCRE's backtracking would, so the captures are the same.
fn modifier(rest: &str) -> Option<Modifier<'_>> {
    let mut starts = Vec::with_capacity(2);
    if let Some(after) = rest.strip_prefix(['.', '_', '-']) {
        starts.push(after);
    }
    starts.push(rest);
    for s in starts {
        for word in STABILITIES {
            let Some(head) = s.get(..word.len()) else { continue };
            if !head.eq_ignore_ascii_case(word) {
                continue;
            }
            let after_word = s.get(word.len()..).unwrap_or_default();
            let number_len = stability_number_len(after_word);
            let (number, after_number) = after_word.split_at(number_len);
            if let Some(dev) = dev_suffix(after_number) {
                return Some(Modifier {
                    stability: Some((head, number)),
                    dev,
                });
            }
        }
        if let Some(dev) = dev_suffix(s) {
            return Some(Modifier { stability: None, dev });
        }
    }
    None
}

/// Returns the length of `(?:[.-]?\d+)*+` at the start of `s`.
fn stability_number_len(s: &str) -> usize {
    let mut len = 0;
    loop {
        let rest = s.get(len..).unwrap_or_default();
        let sep = usize::from(rest.starts_with(['.', '-']));
        let n = digits_len(rest.get(sep..).unwrap_or_default());
        if n == 0 {
            return len;
        }
        len += sep + n;
    }
}

/// Matches `([.-]?dev)?$`: returns whether `dev` is there, or `None` when
/// something else is left.
fn dev_suffix(s: &str) -> Option<bool> {
    if s.is_empty() {
        return Some(false);
    }
    let dev = s.strip_prefix(['.', '-']).unwrap_or(s);
    dev.eq_ignore_ascii_case("dev").then_some(true)
}

/// Appends a matched modifier as Composer does.
fn with_modifier(mut version: String, m: &Modifier<'_>) -> String {
    if let Some((stability, number)) = m.stability {
        // Composer tests `'stable' === $match` case-sensitively; `STABLE`
        // falls through and is kept as a word.
        if stability == "stable" {
            return version;
        }
        version.push('-');
        version.push_str(match stability.to_ascii_lowercase().as_str() {
            "a" | "alpha" => "alpha",
            "b" | "beta" => "beta",
            "p" | "pl" | "patch" => "patch",
            "rc" => "RC",
            _ => "stable",
        });
        version.push_str(number.trim_start_matches(['.', '-']));
    }
    if m.dev {
        version.push_str("-dev");
    }
    version
}

/// Handles `(.*?)[.-]?dev` whose head is a numeric branch (`1.x-dev`,
/// `2.1.*-dev`): each missing or wildcard part becomes `9999999`.
fn dev_branch_of_numbers(v: &str) -> Option<String> {
    let cut = v.len().checked_sub(3)?;
    if !v.get(cut..)?.eq_ignore_ascii_case("dev") {
        return None;
    }
    let head = v.get(..cut)?;
    let head = head.strip_suffix(['.', '-']).unwrap_or(head).trim();
    let body = strip_v(head);
    let mut parts = body.split('.');
    let first = parts.next()?;
    if first.is_empty() || digits_len(first) != first.len() {
        return None;
    }
    let mut out = vec![first.to_string()];
    for part in parts {
        let numeric = !part.is_empty() && digits_len(part) == part.len();
        let wildcard = matches!(part, "x" | "X" | "*");
        if out.len() == 4 || !(numeric || wildcard) {
            return None;
        }
        out.push(if wildcard {
            "9999999".to_string()
        } else {
            part.to_string()
        });
    }
    while out.len() < 4 {
        out.push("9999999".to_string());
    }
    Some(format!("{}-dev", out.join(".")))
}

/// Splits a version as PHP's `php_canonicalize_version` and
/// `version_compare` do: `-`, `_`, `+` and any other non-alphanumeric
/// character separate, as does a switch between digits and non-digits.
fn tokens(v: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut last_was_digit: Option<bool> = None;
    let flush = |current: &mut String, out: &mut Vec<Token>| {
        if !current.is_empty() {
            out.push(token(current));
            current.clear();
        }
    };
    for c in v.chars() {
        if !c.is_ascii_alphanumeric() {
            flush(&mut current, &mut out);
            last_was_digit = None;
            continue;
        }
        let digit = c.is_ascii_digit();
        if last_was_digit.is_some_and(|d| d != digit) {
            flush(&mut current, &mut out);
        }
        current.push(c);
        last_was_digit = Some(digit);
    }
    flush(&mut current, &mut out);
    out
}

fn token(s: &str) -> Token {
    if let Some(n) = Digits::parse(s) {
        return Token::Number(n);
    }
    // `compare_special_version_forms` matches by prefix, case-sensitively.
    let forms: [(&str, i8); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", NUMBER_RANK),
        ("pl", 5),
        ("p", 5),
    ];
    let rank = forms
        .iter()
        .find(|(form, _)| s.starts_with(form))
        .map_or(-1, |(_, rank)| *rank);
    Token::Word(rank)
}

/// Where a token sits in `version_compare`'s order, with "no more tokens"
/// (`None`) between the words below a number and the numbers: `1.0` <
/// `1.0.1` and `1.0` > `1.0-beta` but `1.0` < `1.0-patch1`.
fn rank(t: Option<&Token>) -> (u8, i8, Option<&Digits>) {
    match t {
        Some(Token::Word(r)) if *r < NUMBER_RANK => (0, *r, None),
        None => (1, 0, None),
        Some(Token::Number(n)) => (2, 0, Some(n)),
        Some(Token::Word(r)) => (3, *r, None),
    }
}

impl Ord for ComposerKey {
    fn cmp(&self, other: &Self) -> Ordering {
        for i in 0..self.0.len().max(other.0.len()) {
            let o = rank(self.0.get(i)).cmp(&rank(other.0.get(i)));
            if o.is_ne() {
                return o;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for ComposerKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ecosystem;
    use crate::version::test_support::*;

    const PHP: Ecosystem = Ecosystem::Packagist;

    #[test]
    fn normalizes_as_composer() {
        // From composer/semver's VersionParserTest::successfulNormalizedVersions.
        let cases = [
            ("1.0.0", "1.0.0.0"),
            ("1.2.3.4", "1.2.3.4"),
            ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
            ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0-rc1", "1.0.0.0-RC1"),
            ("1.0.0.pl3-dev", "1.0.0.0-patch3-dev"),
            ("1.0-dev", "1.0.0.0-dev"),
            ("0", "0.0.0.0"),
            ("10.4.13-beta", "10.4.13.0-beta"),
            ("10.4.13beta2", "10.4.13.0-beta2"),
            ("10.4.13beta.2", "10.4.13.0-beta2"),
            ("v1.13.11-beta.0", "1.13.11.0-beta0"),
            ("1.13.11.0-beta0", "1.13.11.0-beta0"),
            ("10.4.13-b", "10.4.13.0-beta"),
            ("10.4.13-b5", "10.4.13.0-beta5"),
            ("v1.0.0", "1.0.0.0"),
            ("v20100102", "20100102"),
            ("2010.01", "2010.01.0.0"),
            ("2010.01.02", "2010.01.02.0"),
            ("2010-01-02", "2010.01.02"),
            ("2010-01-02.5", "2010.01.02.5"),
            ("20100102-203040", "20100102.203040"),
            ("20100102203040-10", "20100102203040.10"),
            ("20100102-203040-p1", "20100102.203040-patch1"),
            ("1.0.0-beta.5+foo", "1.0.0.0-beta5"),
            ("1.0.0+foo", "1.0.0.0"),
            ("1.0.0-alpha.3.1+foo", "1.0.0.0-alpha3.1"),
            ("1.0.0-alpha2.1+foo", "1.0.0.0-alpha2.1"),
            ("1.0.0-alpha-2.1-3+foo", "1.0.0.0-alpha2.1-3"),
            ("123456.1", "123456.1"),
            ("00.01.03.04", "00.01.03.04"),
            ("000.001.003.004", "000.001.003.004"),
            ("0.0.0", "0.0.0.0"),
            ("1.0.0-stable", "1.0.0.0"),
            ("1.0.0-STABLE", "1.0.0.0-stable"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("2.1.x-dev", "2.1.9999999.9999999-dev"),
            ("2.1.*-dev", "2.1.9999999.9999999-dev"),
            ("v2.1.X-dev", "2.1.9999999.9999999-dev"),
            ("1.0.0@beta", "1.0.0.0"),
            ("1.0.x-dev as 1.0.0", "1.0.9999999.9999999-dev"),
            (" 1.0.0", "1.0.0.0"),
            ("1.0.0 ", "1.0.0.0"),
            ("1.0.0-p1", "1.0.0.0-patch1"),
            ("1.0.0-patch", "1.0.0.0-patch"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn rejects_what_composer_rejects() {
        // From VersionParserTest::failingNormalizedVersions, plus branches.
        assert_invalid(
            PHP,
            &[
                "a",
                "1.0.0-meh",
                "1.0.0.0.0",
                "feature-foo",
                "1.0.0-0.3.7",
                "1.0.0+foo bar",
                "1.0.0-SNAPSHOT",
                "1.0.0 as",
                "^1.0",
                "1.0,2.0",
                "dev-master",
                "dev-main",
                "dev-feature/foo",
                "master",
                "trunk",
                "1.x",
                "v",
            ],
        );
    }

    #[test]
    fn orders_as_version_compare() {
        assert_ascending(
            PHP,
            &[
                "1.0.0-dev",
                "1.0.0-alpha",
                "1.0.0-alpha1",
                "1.0.0-alpha2",
                "1.0.0-a3",
                "1.0.0-beta",
                "1.0.0-beta1",
                "1.0.0-b2",
                "1.0.0-beta.10",
                "1.0.0-RC1",
                "1.0.0-rc2",
                "1.0.0",
                "1.0.0-p1",
                "1.0.0-pl2",
                "1.0.0-patch3",
                "1.0.0.1",
                "1.0.1",
                "1.0.10",
                "1.1-dev",
                "1.1",
                "1.x-dev",
                "2.0",
                "2010.01.02",
            ],
        );
        assert_lt(
            PHP,
            &[
                ("1.0.0-beta2-dev", "1.0.0-beta2"),
                ("1.0.0-alpha3.1", "1.0.0-alpha3.2"),
                ("1.0.0-alpha3", "1.0.0-alpha3.1"),
                ("2.1.x-dev", "2.2.0"),
                ("2.1.9", "2.1.x-dev"),
            ],
        );
    }

    #[test]
    fn padding_and_spellings_compare_equal() {
        assert_eq_versions(
            PHP,
            &[
                ("1.0", "1.0.0"),
                ("1", "1.0.0.0"),
                ("v1.0.0", "1.0.0"),
                ("1.0.0RC1", "1.0.0-rc1"),
                ("1.0.0-a1", "1.0.0-alpha.1"),
                ("1.0.0-pl1", "1.0.0-patch1"),
                ("1.0.0+build", "1.0.0"),
                ("1.0.0-stable", "1.0.0"),
                ("01.2", "1.2"),
                ("1.0@dev", "1.0"),
            ],
        );
    }

    #[test]
    fn version_compare_edge_cases() {
        // What `version_compare` itself does beyond Composer's output.
        let key = |s: &str| ComposerKey(tokens(s));
        assert!(key("1.0") < key("1.0.0"));
        assert!(key("1.0") > key("1.0-beta"));
        assert!(key("1.0") < key("1.0-pl1"));
        assert!(key("1.0-foo") < key("1.0-dev"));
        assert!(key("1.0-dev") < key("1.0-alpha"));
        assert_eq!(key("1.0alpha"), key("1.0.a"));
        assert_eq!(key("1.0-RC1"), key("1.0.rc.1"));
        assert!(key("1.0-Rc1") < key("1.0-dev"));
        assert!(date_matches(b"20100102"));
        assert!(date_matches(b"2010-01-02.5"));
        assert!(!date_matches(b"2010"));
        assert!(!date_matches(b"2010-1-2"));
    }
}
