//! Parsing a binary's configuration: one clear line and exit 64 on a bad value.

use clap::Parser;
use clap::error::ErrorKind;

/// Exit code of a bad configuration (`EX_USAGE` of sysexits.h).
pub const CONFIG_ERROR_EXIT: i32 = 64;

/// Parses `T` from the command line and `ZEROTRACE_*` variables. `--help` and
/// `--version` print and exit 0; any other error prints one line and exits 64.
pub fn parse_config<T: Parser>() -> T {
    match T::try_parse() {
        Ok(config) => config,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => e.exit(),
        Err(e) => {
            let message = e.to_string();
            let line = message
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid configuration");
            eprintln!("{}", line.trim());
            std::process::exit(CONFIG_ERROR_EXIT);
        }
    }
}

/// A credential from a flag or the environment. Debug output shows only
/// whether it is set, so a logged configuration never carries it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Returns the credential, or `None` when it is empty.
    pub fn get(&self) -> Option<&str> {
        Some(self.0.trim()).filter(|s| !s.is_empty())
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.get().is_some() { "<redacted>" } else { "<unset>" })
    }
}

/// Parses a duration such as `250ms`, `10s`, `5m`, `1h` or `2d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?} (try 30s, 5m, 1h)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86400.0,
        other => {
            return Err(format!(
                "invalid duration unit {other:?} in {text:?} (use ms, s, m, h or d)"
            ));
        }
    };
    if !(0.0..=10.0 * 365.0 * 86400.0).contains(&seconds) {
        return Err(format!("duration {text:?} is out of range"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("99999999999d").is_err());
    }
}
