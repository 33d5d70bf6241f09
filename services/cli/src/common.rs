//! Flags and helpers shared by `inventory`, `scan` and `db`.

use std::path::PathBuf;

use crate::config::WalkSettings;
use zerotrace_inventory::WalkOptions;

/// The output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON object on stdout.
    Json,
}

/// Where `zerotrace` keeps its data: the same layout as `zerotrace up`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DataDirArg {
    /// Directory for all service data; the advisory database is in its `enrichment` folder.
    #[arg(long, env = "ZEROTRACE_DATA_DIR", default_value = "./zerotrace-data")]
    pub(crate) data_dir: PathBuf,
}

impl DataDirArg {
    /// Returns the directory of the persistent advisory database (the one
    /// the enrichment service of `zerotrace up` opens).
    pub(crate) fn enrichment_dir(&self) -> PathBuf {
        self.data_dir.join("enrichment")
    }
}

/// How to walk the tree (the flags map one to one onto [`WalkOptions`]).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct WalkArgs {
    /// Only consider files matching this glob (repeatable); globs without `/` match the file name.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Skip files and directories matching this glob (repeatable), e.g. `node_modules`.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// How deep to descend; the root's own entries are depth 1.
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,
    /// Lockfiles larger than this are reported as errors (bytes, or with a K/M/G suffix; default 64M).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_file_size: Option<u64>,
    /// Walk hidden files and directories (`.git` is always skipped).
    #[arg(long)]
    hidden: bool,
    /// Also scan files that .gitignore/.ignore exclude.
    #[arg(long)]
    no_ignore: bool,
    /// Follow symbolic links (loops are reported).
    #[arg(long)]
    follow_symlinks: bool,
    /// Walker threads; 0 means one per CPU.
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Also read executables (ELF, Mach-O, PE) for embedded Go build info and `cargo auditable` data.
    #[arg(long)]
    binaries: bool,
    /// Executables larger than this are reported as errors (with --binaries).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    max_binary_size: u64,
}

/// The default of `--max-file-size`.
const DEFAULT_MAX_FILE_SIZE: u64 = 64 << 20;

impl WalkArgs {
    /// Returns the walk options these flags ask for.
    pub(crate) fn options(&self) -> WalkOptions {
        self.options_over(&WalkSettings::default())
    }

    /// Returns the walk options of these flags over a config file's
    /// settings: a flag given wins, the file fills in the rest.
    pub(crate) fn options_over(&self, file: &WalkSettings) -> WalkOptions {
        let list = |flag: &Vec<String>, file: &Option<Vec<String>>| {
            if flag.is_empty() {
                file.clone().unwrap_or_default()
            } else {
                flag.clone()
            }
        };
        WalkOptions {
            include: list(&self.include, &file.include),
            exclude: list(&self.exclude, &file.exclude),
            max_depth: self.max_depth.or(file.max_depth),
            max_file_size: self
                .max_file_size
                .or(file.max_file_size)
                .unwrap_or(DEFAULT_MAX_FILE_SIZE),
            follow_symlinks: self.follow_symlinks || file.follow_symlinks.unwrap_or(false),
            hidden: self.hidden || file.hidden.unwrap_or(false),
            respect_gitignore: !(self.no_ignore || file.no_ignore.unwrap_or(false)),
            threads: self.threads,
            binaries: self.binaries || file.binaries.unwrap_or(false),
            max_binary_size: self.max_binary_size,
        }
    }
}

/// Parses a size: bytes, or a number with a `K`, `M` or `G` suffix (powers
/// of 1024; `KB`, `KiB`, `MB`, ... are accepted too).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = t.split_at(digits);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a size (bytes, or a number with K, M or G)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("{s:?} has an unknown unit (use K, M or G)")),
    };
    n.checked_mul(1 << shift).ok_or_else(|| format!("{s:?} is too large"))
}

/// Pads cells into aligned columns separated by two spaces; the last
/// column is not padded.
pub(crate) fn columns(rows: &[Vec<String>]) -> Vec<String> {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; n];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("2 KiB"), Ok(2048));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn aligned_columns() {
        let rows = vec![
            vec!["a".to_string(), "bbb".to_string(), "c".to_string()],
            vec!["aaaa".to_string(), "b".to_string(), "c".to_string()],
        ];
        assert_eq!(columns(&rows), vec!["a     bbb  c", "aaaa  b    c"]);
    }
}
