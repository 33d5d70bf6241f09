//! Time as the advisory data writes it: RFC 3339 timestamps (OSV `modified`,
//! KEV `dateReleased`, EPSS `score_date`), HTTP dates (`Last-Modified`), and
//! Unix seconds formatted for people.
//!
//! OSV timestamps are RFC 3339 strings; comparing them as strings goes wrong
//! as soon as two sources use different offsets or fraction lengths, and a
//! date crate would be a heavy dependency for these few conversions.

use std::time::{SystemTime, UNIX_EPOCH};

/// An instant as seconds since the Unix epoch plus nanoseconds.
pub type Instant = (i64, u32);

/// Returns the instant of a timestamp validated earlier, or the earliest
/// instant for one that does not parse (only a damaged store holds such).
pub(crate) fn instant_or_min(s: &str) -> Instant {
    parse_rfc3339(s).unwrap_or((i64::MIN, 0))
}

/// Parses an RFC 3339 timestamp (`2024-01-02T03:04:05.678Z`, `+01:00`
/// offsets, a space instead of `T`, a missing fraction) into an [`Instant`].
///
/// Returns `None` for anything else, including out-of-range fields.
pub fn parse_rfc3339(s: &str) -> Option<Instant> {
    let b = s.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        let mut n = 0_i64;
        for &d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(d - b'0');
        }
        Some(n)
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = num(11, 2)?;
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let minute = num(14, 2)?;
    let second = num(17, 2)?;
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut pos = 19;
    let mut nanos = 0_u32;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        let mut scale = 100_000_000_u32;
        while let Some(d) = b.get(pos).filter(|d| d.is_ascii_digit()) {
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
            pos += 1;
        }
        if pos == start {
            return None;
        }
    }
    let offset = match b.get(pos) {
        Some(b'Z' | b'z') if pos + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if pos + 6 == b.len() && b.get(pos + 3) == Some(&b':') => {
            let oh = num(pos + 1, 2)?;
            let om = num(pos + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset;
    Some((secs, nanos))
}

/// Parses an RFC 3339 timestamp or a bare date (`2025-08-25`, read as
/// midnight UTC) into Unix seconds; `None` for anything else or a time
/// before 1970.
pub fn parse_unix(s: &str) -> Option<u64> {
    let s = s.trim();
    let instant = if s.len() == 10 {
        parse_rfc3339(&format!("{s}T00:00:00Z"))
    } else {
        parse_rfc3339(s)
    };
    instant.and_then(|(secs, _)| u64::try_from(secs).ok())
}

/// Parses an HTTP date in its preferred form (`Sun, 06 Nov 1994 08:49:37
/// GMT`, RFC 9110 IMF-fixdate) into Unix seconds; the obsolete forms give
/// `None`.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let mut words = s.split_whitespace();
    let (_weekday, day, month, year, time, zone) = (
        words.next()?,
        words.next()?,
        words.next()?,
        words.next()?,
        words.next()?,
        words.next()?,
    );
    if zone != "GMT" || words.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let (day, year): (u32, u32) = (day.parse().ok()?, year.parse().ok()?);
    parse_unix(&format!("{year:04}-{month:02}-{day:02}T{time}Z"))
}

/// Formats Unix seconds as an HTTP date (IMF-fixdate, RFC 9110).
pub fn format_http_date(unix: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix / 86_400;
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX / 2));
    let secs = unix % 86_400;
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS.get((days % 7) as usize).copied().unwrap_or("Thu"),
        usize::try_from(m - 1)
            .ok()
            .and_then(|i| MONTHS.get(i))
            .copied()
            .unwrap_or("Jan"),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(unix: u64) -> String {
    let secs = unix % 86_400;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        format_date(unix),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Formats Unix seconds as RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(unix: u64) -> String {
    let secs = unix % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(unix),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Formats Unix seconds as the date `YYYY-MM-DD` (UTC).
pub fn format_date(unix: u64) -> String {
    let days = i64::try_from(unix / 86_400).unwrap_or(i64::MAX / 2);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Formats a length of time for people, in its largest whole unit:
/// `45 s`, `12 min`, `5 h`, `105 days`.
pub fn format_age(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs} s"),
        120..7_200 => format!("{} min", secs / 60),
        7_200..172_800 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

/// Returns the current time as seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Returns the proleptic Gregorian date of a day count since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_shapes() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some((951_868_800, 0)));
        assert_eq!(
            parse_rfc3339("2024-05-06T07:08:09.5Z"),
            Some((1_714_979_289, 500_000_000))
        );
        assert_eq!(
            parse_rfc3339("2024-05-06T09:08:09+02:00"),
            parse_rfc3339("2024-05-06T07:08:09Z")
        );
        assert_eq!(
            parse_rfc3339("2024-05-06T07:08:09.123456789Z"),
            Some((1_714_979_289, 123_456_789))
        );
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "2024",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00Zjunk",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }

    #[test]
    fn dates_round_trip_and_http_dates_parse() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_868_800), "2000-03-01 00:00:00 UTC");
        assert_eq!(format_utc(1_714_979_289), "2024-05-06 07:08:09 UTC");
        assert_eq!(format_rfc3339(1_714_979_289), "2024-05-06T07:08:09Z");
        assert_eq!(parse_unix("2024-05-06"), Some(1_714_953_600));
        assert_eq!(format_date(1_714_953_600), "2024-05-06");
        assert_eq!(parse_unix("2024-05-06T07:08:09Z"), Some(1_714_979_289));
        assert_eq!(parse_unix("1969-12-31T23:59:59Z"), None);
        assert_eq!(parse_http_date("Mon, 06 May 2024 07:08:09 GMT"), Some(1_714_979_289));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(format_http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(format_http_date(1_714_979_289), "Mon, 06 May 2024 07:08:09 GMT");
        for bad in [
            "",
            "Mon, 06 May 2024 07:08:09 UTC",
            "Monday, 06-May-24 07:08:09 GMT",
            "Mon, 32 May 2024 07:08:09 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
        assert_eq!(format_age(59), "59 s");
        assert_eq!(format_age(3_600), "60 min");
        assert_eq!(format_age(18_000), "5 h");
        assert_eq!(format_age(9_072_000), "105 days");
    }
}
