//! `zerotrace inventory PATH`: every package of every lockfile under a
//! directory, as a table or one JSON object.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use zerotrace_inventory::{Inventory, Package, Progress, Scope, Source};

use crate::common::{Format, WalkArgs};
use crate::error::{CliError, output, report};

/// Flags of `zerotrace inventory`.
#[derive(Debug, clap::Args)]
pub(crate) struct InventoryArgs {
    /// The directory to scan, or one lockfile or SBOM (CycloneDX, SPDX).
    path: PathBuf,
    /// `table` for people, `json` for one JSON object (`{"packages":[…],"errors":[…],…}`).
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    walk: WalkArgs,
}

/// Runs the command. Exits 0 even when some lockfiles failed to parse
/// (they are listed); 2 when the root or a glob is unusable.
pub(crate) fn run(args: InventoryArgs) -> ExitCode {
    match inventory(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

fn inventory(args: &InventoryArgs) -> Result<(), CliError> {
    let progress = Progress::default();
    let inv = zerotrace_inventory::scan(&args.path, &args.walk.options(), &progress, None)?;
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    output(match args.format {
        Format::Json => serde_json::to_writer(&mut out, &inv)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
            .and_then(|()| out.flush()),
        Format::Table => write_table(&mut out, &inv).and_then(|()| out.flush()),
    })
}

/// Returns the markers of a package that are not the default: whether the
/// project depends on it `direct`ly or through others (`transitive`), where
/// its lockfile says, its scope (`dev`, `optional`, `runtime`) and a
/// non-registry source.
fn markers(p: &Package) -> String {
    let mut m: Vec<&str> = Vec::new();
    match p.direct {
        Some(true) => m.push("direct"),
        Some(false) => m.push("transitive"),
        None => {}
    }
    match p.scope {
        Scope::Unspecified => {}
        Scope::Runtime => m.push("runtime"),
        Scope::Development => m.push("dev"),
        Scope::Optional => m.push("optional"),
    }
    match p.source {
        Source::Registry => {}
        Source::Git => m.push("git"),
        Source::Path => m.push("path"),
        Source::Workspace => m.push("workspace"),
    }
    m.join(",")
}

/// Returns the version, or the unpinned requirement in parentheses.
fn version_cell(p: &Package) -> std::borrow::Cow<'_, str> {
    match (&p.requirement, p.version.is_empty()) {
        (Some(req), true) => format!("({req})").into(),
        _ => p.version.as_str().into(),
    }
}

/// Writes the table row by row: widths come from a first pass, so no
/// per-row strings are kept (an inventory can hold 100k packages).
fn write_table(out: &mut impl Write, inv: &Inventory) -> std::io::Result<()> {
    if !inv.packages.is_empty() {
        let header = ["ECOSYSTEM", "NAME", "VERSION", "MARKERS"];
        let mut widths = header.map(str::len);
        for p in &inv.packages {
            let cells = [
                p.ecosystem.osv_name().chars().count(),
                p.name.chars().count(),
                version_cell(p).chars().count(),
                markers(p).len(),
            ];
            for (w, c) in widths.iter_mut().zip(cells) {
                *w = (*w).max(c);
            }
        }
        let [we, wn, wv, wm] = widths;
        writeln!(
            out,
            "{:<we$}  {:<wn$}  {:<wv$}  {:<wm$}  PATH",
            header[0], header[1], header[2], header[3]
        )?;
        for p in &inv.packages {
            writeln!(
                out,
                "{:<we$}  {:<wn$}  {:<wv$}  {:<wm$}  {}",
                p.ecosystem.osv_name(),
                p.name,
                version_cell(p),
                markers(p),
                p.path
            )?;
        }
    }
    if !inv.errors.is_empty() {
        writeln!(out)?;
        writeln!(out, "errors:")?;
        for e in &inv.errors {
            writeln!(out, "  {}: {}", e.path, e.message)?;
        }
    }
    if !inv.packages.is_empty() || !inv.errors.is_empty() {
        writeln!(out)?;
    }
    writeln!(
        out,
        "{} files walked, {} lockfiles, {} packages, {} errors",
        inv.files_walked,
        inv.lockfiles,
        inv.packages.len(),
        inv.errors.len()
    )
}
