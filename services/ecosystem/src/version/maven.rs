//! Maven versions, ordered as Maven's `ComparableVersion` orders them.
//!
//! A version is split into a list of items: numbers, qualifiers (strings) and
//! sublists, a new sublist starting at every `-` and at every switch between
//! digits and letters. Trailing "null" items (`0`, the empty qualifier and
//! its aliases `ga`/`final`/`release`, empty sublists) are dropped, so
//! `1` == `1.0.0` == `1-ga`. Qualifiers order
//! `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp`,
//! then unknown qualifiers lexically; `a`, `b`, `m` directly followed by a
//! digit mean `alpha`, `beta`, `milestone`. Comparison is case-insensitive.
//!
//! Parsing and normalisation are those of maven-artifact 3.8, with the
//! MNG-6964 fix (a sublist compares with "nothing" by all of its items, so
//! `1-0.alpha` < `1`). Digits are ASCII digits; Java's `Character.isDigit`
//! also accepts other scripts' digits, which no published version uses.
//!
//! # Where this deliberately differs from Maven
//!
//! `ComparableVersion` is not transitive: a number beats a sublist and a
//! sublist beats a qualifier whatever they hold, while "nothing" sits
//! between them depending on content. So `2.0.0.RC1` > `2.0.0-1` (a `0`
//! beats the sublist `-1`), yet `2.0.0.RC1` < `2.0.0` < `2.0.0-1`. A sort, a
//! `BTreeMap` or a range check cannot work on such an order. Here, the
//! version is read as a flat sequence of tokens (a sublist becomes a marker
//! followed by its items), and at each position the question Maven asks
//! against "nothing" (is the rest of this version above or below the plain
//! release?) is asked first; Maven's type rule only decides between two
//! remainders on the same side of the release. Every pair of Maven's
//! ComparableVersionTest keeps its order; only pairs that Maven orders
//! inconsistently change, so `2.0.0.RC1` < `2.0.0` < `2.0.0-1` and
//! `1-alpha` < `1` < `1.sp`.

use std::cmp::Ordering;

use super::digits::Digits;

/// The ordering key of a Maven version: its normalised items as a flat
/// token sequence, each token paired with the side of the release its
/// remainder falls on.
///
/// Flattening is one-to-one on normalised versions, and equal keys are
/// exactly those that order equal, so the derived `Hash` agrees with the
/// order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct MavenKey(Vec<Entry>);

/// A token and how the version from this token on compares with nothing.
///
/// Derived order: side first (`Less` below the release, `Greater` above),
/// then the token. The side is never `Equal`: the last token of a
/// normalised version is never null.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Entry {
    side: Ordering,
    token: Token,
}

/// A flattened item; the variant order is Maven's type rule: a qualifier
/// below a sublist below a number (`1.a` < `1-1` < `1.1`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Token {
    Qualifier(Qualifier),
    SublistStart,
    Number(Digits),
}

/// One item of a version while it is parsed and normalised.
#[derive(Debug)]
enum Item {
    Number(Digits),
    Qualifier(Qualifier),
    List(Vec<Item>),
}

/// A qualifier as `ComparableVersion.comparableQualifier` ranks it.
///
/// Known qualifiers rank by their index in the list below; unknown ones come
/// after all of them, lexically. The derived order (variant, then content)
/// is exactly that.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Qualifier {
    Known(u8),
    Unknown(String),
}

/// The known qualifiers in ascending order; `""` is a release.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

/// The rank of the empty qualifier: a qualifier below it makes a version
/// older than the plain release, one above it newer.
const RELEASE: Qualifier = Qualifier::Known(5);

impl Qualifier {
    fn new(raw: &str, followed_by_digit: bool) -> Qualifier {
        let name = match raw {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            "ga" | "final" | "release" => "",
            "cr" => "rc",
            other => other,
        };
        match QUALIFIERS.iter().position(|q| *q == name) {
            Some(i) => Qualifier::Known(u8::try_from(i).unwrap_or(u8::MAX)),
            None => Qualifier::Unknown(name.to_string()),
        }
    }
}

impl Item {
    fn number(digits: &str) -> Item {
        Item::Number(Digits::parse(digits).unwrap_or_else(Digits::zero))
    }

    fn is_null(&self) -> bool {
        match self {
            Item::Number(n) => n.is_zero(),
            Item::Qualifier(q) => *q == RELEASE,
            Item::List(items) => items.is_empty(),
        }
    }
}

impl Token {
    /// Compares the token alone with nothing; a sublist marker is neutral,
    /// as Maven compares a sublist with nothing by its items.
    fn cmp_to_nothing(&self) -> Ordering {
        match self {
            Token::Number(n) if n.is_zero() => Ordering::Equal,
            Token::Number(_) => Ordering::Greater,
            Token::Qualifier(q) => q.cmp(&RELEASE),
            Token::SublistStart => Ordering::Equal,
        }
    }
}

/// Flattens a normalised list (a chain: only the last item can be a list)
/// and computes each token's side of the release, from the end backwards.
fn flatten(root: Vec<Item>) -> MavenKey {
    let mut tokens = Vec::new();
    let mut pending = root;
    loop {
        let mut next = None;
        for item in pending {
            match item {
                Item::Number(n) => tokens.push(Token::Number(n)),
                Item::Qualifier(q) => tokens.push(Token::Qualifier(q)),
                Item::List(inner) => {
                    tokens.push(Token::SublistStart);
                    next = Some(inner);
                }
            }
        }
        match next {
            Some(inner) => pending = inner,
            None => break,
        }
    }
    let mut side = Ordering::Equal;
    let mut entries: Vec<Entry> = tokens
        .into_iter()
        .rev()
        .map(|token| {
            side = match token.cmp_to_nothing() {
                Ordering::Equal => side,
                own => own,
            };
            Entry { side, token }
        })
        .collect();
    entries.reverse();
    MavenKey(entries)
}

impl Ord for MavenKey {
    fn cmp(&self, other: &Self) -> Ordering {
        for i in 0..self.0.len().max(other.0.len()) {
            let o = match (self.0.get(i), other.0.get(i)) {
                (Some(a), Some(b)) => a.cmp(b),
                // The shorter version is "nothing" here: the longer one's
                // remainder is above or below it by its side.
                (Some(a), None) => a.side,
                (None, Some(b)) => b.side.reverse(),
                (None, None) => Ordering::Equal,
            };
            if o.is_ne() {
                return o;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for MavenKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Drops trailing null items, looking through non-null sublists as
/// `ListItem.normalize` does: `[1, 0, [alpha]]` becomes `[1, [alpha]]`.
fn normalize(items: &mut Vec<Item>) {
    let mut i = items.len();
    while i > 0 {
        i -= 1;
        let Some(item) = items.get(i) else { break };
        if item.is_null() {
            items.remove(i);
        } else if !matches!(item, Item::List(_)) {
            break;
        }
    }
}

/// Parses any string into its Maven ordering key (Maven rejects nothing).
pub(crate) fn parse(s: &str) -> MavenKey {
    let lower = s.to_lowercase();
    // Each new sublist is appended to the current list and becomes the
    // current one, so the tree is a chain: every list's last item is the next
    // list. It is built flat (`outer` holds the unfinished ancestors) and
    // nested at the end, innermost first, normalising each list as Maven
    // does when it unwinds its stack.
    let mut outer: Vec<Vec<Item>> = Vec::new();
    let mut list: Vec<Item> = Vec::new();
    let mut is_digit = false;
    let mut start = 0;

    let item = |digit: bool, text: &str, followed_by_digit: bool| {
        if digit {
            Item::number(text)
        } else {
            Item::Qualifier(Qualifier::new(text, followed_by_digit))
        }
    };

    for (i, c) in lower.char_indices() {
        let text = lower.get(start..i).unwrap_or_default();
        match c {
            '.' | '-' => {
                list.push(if text.is_empty() {
                    Item::number("0")
                } else {
                    item(is_digit, text, false)
                });
                start = i + 1;
                if c == '-' {
                    outer.push(std::mem::take(&mut list));
                }
            }
            '0'..='9' => {
                if !is_digit && !text.is_empty() {
                    list.push(item(false, text, true));
                    start = i;
                    outer.push(std::mem::take(&mut list));
                }
                is_digit = true;
            }
            _ => {
                if is_digit && !text.is_empty() {
                    list.push(item(true, text, false));
                    start = i;
                    outer.push(std::mem::take(&mut list));
                }
                is_digit = false;
            }
        }
    }
    let rest = lower.get(start..).unwrap_or_default();
    if !rest.is_empty() {
        list.push(item(is_digit, rest, false));
    }

    normalize(&mut list);
    while let Some(mut parent) = outer.pop() {
        parent.push(Item::List(list));
        normalize(&mut parent);
        list = parent;
    }
    flatten(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ecosystem;
    use crate::version::test_support::*;

    const MVN: Ecosystem = Ecosystem::Maven;

    // The tables below are those of Maven's ComparableVersionTest.

    #[test]
    fn qualifiers_order() {
        assert_ascending(
            MVN,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
    }

    #[test]
    fn numbers_order() {
        assert_ascending(
            MVN,
            &[
                "2.0", "2-1", "2.0.a", "2.0.0.a", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
                "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a",
                "11b", "11c", "11m",
            ],
        );
    }

    #[test]
    fn equal_versions() {
        assert_eq_versions(
            MVN,
            &[
                ("1", "1"),
                ("1", "1.0"),
                ("1", "1.0.0"),
                ("1.0", "1.0.0"),
                ("1", "1-0"),
                ("1", "1.0-0"),
                ("1.0", "1.0-0"),
                ("1a", "1-a"),
                ("1a", "1.0-a"),
                ("1a", "1.0.0-a"),
                ("1.0a", "1-a"),
                ("1.0.0a", "1-a"),
                ("1x", "1-x"),
                ("1x", "1.0-x"),
                ("1x", "1.0.0-x"),
                ("1.0x", "1-x"),
                ("1.0.0x", "1-x"),
                ("1cr", "1rc"),
                ("1a1", "1-alpha-1"),
                ("1b2", "1-beta-2"),
                ("1m3", "1-milestone-3"),
                ("1X", "1x"),
                ("1A", "1a"),
                ("1B", "1b"),
                ("1M", "1m"),
                ("1Ga", "1"),
                ("1GA", "1"),
                ("1RELEASE", "1"),
                ("1release", "1"),
                ("1RELeaSE", "1"),
                ("1Final", "1"),
                ("1FinaL", "1"),
                ("1FINAL", "1"),
                ("1Cr", "1Rc"),
                ("1cR", "1rC"),
                ("1m3", "1Milestone3"),
                ("1m3", "1MileStone3"),
                ("1m3", "1MILESTONE3"),
                ("1.0.0-ga", "1"),
                ("1.0-final", "1.0.0.Final"),
                ("2.0.0.RELEASE", "2"),
            ],
        );
    }

    #[test]
    fn version_comparing() {
        assert_lt(
            MVN,
            &[
                ("1", "2"),
                ("1.5", "2"),
                ("1", "2.5"),
                ("1.0", "1.1"),
                ("1.1", "1.2"),
                ("1.0.0", "1.1"),
                ("1.0.1", "1.1"),
                ("1.1", "1.2.0"),
                ("1.0-alpha-1", "1.0"),
                ("1.0-alpha-1", "1.0-alpha-2"),
                ("1.0-alpha-1", "1.0-beta-1"),
                ("1.0-beta-1", "1.0-SNAPSHOT"),
                ("1.0-SNAPSHOT", "1.0"),
                ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"),
                ("1.0", "1.0-1"),
                ("1.0-1", "1.0-2"),
                ("1.0.0", "1.0-1"),
                ("2.0-1", "2.0.1"),
                ("2.0.1-klm", "2.0.1-lmn"),
                ("2.0.1", "2.0.1-xyz"),
                ("2.0.1", "2.0.1-123"),
                ("2.0.1-xyz", "2.0.1-123"),
            ],
        );
    }

    #[test]
    fn mng_5568_and_6964_edge_cases() {
        // MNG-5568: transitivity around "rc" and an unknown qualifier.
        assert_ascending(MVN, &["6.1.0rc3", "6.1.0", "6.1H.5-beta"]);
        // MNG-6964: a sublist compares with "nothing" by all its items.
        assert_lt(MVN, &[("1-0.alpha", "1"), ("1-0.beta", "1"), ("1-0.alpha", "1-0.beta")]);
    }

    #[test]
    fn large_numbers_compare_numerically() {
        // MNG-6572: numbers beyond int and long.
        assert_ascending(
            MVN,
            &[
                "20190126.230843",
                "1234567890.12345",
                "123456789012345.1H.5-beta",
                "12345678901234567890.1H.5-beta",
                "99999999999999999999999999999999999999",
            ],
        );
    }

    #[test]
    fn common_release_trains() {
        assert_ascending(
            MVN,
            &[
                "2.9.10",
                "2.9.10.1",
                "2.9.10.8",
                "2.10.0",
                "2.12.7.1",
                "2.13.0-rc1",
                "2.13.0",
            ],
        );
        assert_lt(
            MVN,
            &[
                ("5.3.0-M1", "5.3.0-RC1"),
                ("5.3.0-RC1", "5.3.0"),
                ("5.3.0", "5.3.0-SP1"),
                ("4.1.68.Final", "4.1.69.Final"),
                ("1.0.0-SNAPSHOT", "1.0.0"),
                // Unknown qualifiers sort above the release, as in Maven
                // itself: Jackson's `2.10.0.pr1` is newer than `2.10.0`.
                ("2.10.0", "2.10.0.pr1"),
                ("31.1-android", "31.1-jre"),
                ("31.1-jre", "32.0.0-android"),
            ],
        );
    }

    #[test]
    fn odd_inputs_parse_without_panicking() {
        for s in ["-", ".", "..", "--1", "1..2", "a", "1-", "1.", "é1ü", "1+2", "-0-0.0"] {
            let _ = parse(s);
        }
        assert_eq_versions(MVN, &[("1..0", "1"), ("1.", "1")]);
    }

    #[test]
    fn orders_totally_where_maven_contradicts_itself() {
        assert_ascending(MVN, &["2.0.0.RC1", "2.0.0", "2.0.0-1"]);
        assert_ascending(MVN, &["1-alpha", "1", "1.sp"]);
        assert_ascending(MVN, &["0.0.0-alpha.alpha", "final", "a"]);
        assert_ascending(MVN, &["1.0.alpha", "1", "1-1"]);
        // Remainders on the same side of the release keep Maven's type
        // rule: a number beats a sublist, a sublist beats a qualifier.
        assert_ascending(MVN, &["1.sp", "1-1", "1.0.1"]);
    }
}
