//! `zerotrace db import|info|sync`: the persistent advisory database in
//! `<data-dir>/enrichment`, the one the enrichment service of `zerotrace up`
//! serves from.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;
use zerotrace_advisory::{Database, DbInfo, ImportKind, ImportReport};
use zerotrace_ecosystem::Ecosystem;

use crate::common::{DataDirArg, Format, columns, format_utc};
use crate::error::{CliError, EXIT_FAILURE, EXIT_OK, exit, output};

/// osv.dev's bucket of per-ecosystem `all.zip` files.
const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";
/// The ecosystems `db sync` fetches by default.
const DEFAULT_ECOSYSTEMS: [&str; 8] = [
    "crates.io",
    "PyPI",
    "npm",
    "Go",
    "Maven",
    "RubyGems",
    "Packagist",
    "NuGet",
];
/// The largest download accepted (npm's all.zip is a few hundred MB).
const MAX_DOWNLOAD_BYTES: u64 = 4 << 30;
/// How many invalid files an import report lists before summarising.
const INVALID_SHOWN: usize = 5;

/// Flags of `zerotrace db`.
#[derive(Debug, clap::Args)]
pub(crate) struct DbArgs {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DbCommand {
    /// Import OSV all.zip files or directories, a CISA KEV JSON catalog or an EPSS CSV.
    Import(ImportArgs),
    /// Show what the database holds.
    Info(InfoArgs),
    /// Download osv.dev's per-ecosystem all.zip files and import them.
    Sync(SyncArgs),
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// Paths to import, any mix of kinds (detected from their contents).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    data: DataDirArg,
}

#[derive(Debug, clap::Args)]
struct InfoArgs {
    /// `table` for people, `json` for one JSON object.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    data: DataDirArg,
}

#[derive(Debug, clap::Args)]
struct SyncArgs {
    /// Where to download from: `{base-url}/{ecosystem}/all.zip`.
    #[arg(long, default_value = DEFAULT_BASE_URL, value_name = "URL")]
    base_url: String,
    /// An OSV ecosystem to fetch (repeatable); default crates.io, PyPI, npm, Go, Maven, RubyGems, Packagist, NuGet.
    #[arg(long = "ecosystem", value_name = "NAME")]
    ecosystems: Vec<String>,
    /// Give up on a download after this many seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    timeout: u64,
    #[command(flatten)]
    data: DataDirArg,
}

/// Runs a `db` subcommand. Exits 0 on success, 1 when an import path or a
/// download failed or the database could not be opened, 2 on usage errors.
pub(crate) fn run(args: DbArgs) -> ExitCode {
    let result = match args.command {
        DbCommand::Import(a) => import(&a),
        DbCommand::Info(a) => info(&a),
        DbCommand::Sync(a) => sync(&a),
    };
    exit(result)
}

fn open(data: &DataDirArg) -> Result<Database, CliError> {
    let dir = data.enrichment_dir();
    Database::open(&dir).map_err(|source| CliError::Database { dir, source })
}

/// Returns what the database holds, or the error naming its directory.
fn describe(db: &Database, data: &DataDirArg) -> Result<DbInfo, CliError> {
    db.info().map_err(|source| CliError::Database {
        dir: data.enrichment_dir(),
        source,
    })
}

fn kind_label(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::OsvZip => "OSV zip",
        ImportKind::OsvDir => "OSV directory",
        ImportKind::OsvFile => "OSV file",
        ImportKind::Kev => "KEV catalog",
        ImportKind::Epss => "EPSS scores",
    }
}

/// Prints the counts of one import and its first few invalid files.
fn print_report(label: &str, r: &ImportReport) {
    let counts = match r.kind {
        ImportKind::Kev | ImportKind::Epss => format!("{} entries loaded", r.imported),
        _ => format!(
            "{} imported, {} updated, {} unchanged, {} skipped",
            r.imported, r.updated, r.unchanged, r.skipped
        ),
    };
    println!("{label}: {}: {counts}, {} invalid", kind_label(r.kind), r.invalid.len());
    for i in r.invalid.iter().take(INVALID_SHOWN) {
        println!("    {}: {}", i.file, i.reason);
    }
    if r.invalid.len() > INVALID_SHOWN {
        println!("    … and {} more invalid files", r.invalid.len() - INVALID_SHOWN);
    }
}

fn import(args: &ImportArgs) -> Result<u8, CliError> {
    let db = open(&args.data)?;
    let mut failed = 0;
    for p in &args.paths {
        match db.import_path(p) {
            Ok(r) => print_report(&p.display().to_string(), &r),
            Err(e) => {
                failed += 1;
                println!("{}: FAILED: {e}", p.display());
            }
        }
    }
    let info = describe(&db, &args.data)?;
    println!(
        "database {}: {} advisories, {} KEV entries, {} EPSS scores, generation {}",
        args.data.enrichment_dir().display(),
        info.advisories,
        info.kev_entries,
        info.epss_entries,
        info.generation
    );
    if failed > 0 {
        eprintln!(
            "zerotrace: {failed} of {} paths could not be imported",
            args.paths.len()
        );
        return Ok(EXIT_FAILURE);
    }
    Ok(EXIT_OK)
}

/// The JSON of `zerotrace db info --format json`.
#[derive(Debug, Serialize)]
struct InfoJson<'a> {
    path: &'a Path,
    exists: bool,
    last_import_utc: Option<String>,
    #[serde(flatten)]
    info: &'a DbInfo,
}

fn info(args: &InfoArgs) -> Result<u8, CliError> {
    let dir = args.data.enrichment_dir();
    let exists = Database::exists(&dir);
    // Do not create an empty database just to describe it.
    let info = if exists {
        describe(&open(&args.data)?, &args.data)?
    } else {
        DbInfo::default()
    };
    if !exists {
        eprintln!(
            "zerotrace: no advisory database in {} yet: run `zerotrace db import PATH` or `zerotrace db sync`",
            dir.display()
        );
    }
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::new(stdout);
    output(match args.format {
        Format::Json => {
            let json = InfoJson {
                path: &dir,
                exists,
                last_import_utc: info.last_import.map(format_utc),
                info: &info,
            };
            serde_json::to_writer(&mut out, &json)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
                .and_then(|()| out.flush())
        }
        Format::Table => write_info(&mut out, &dir, &info).and_then(|()| out.flush()),
    })?;
    Ok(EXIT_OK)
}

fn write_info(out: &mut impl Write, dir: &Path, info: &DbInfo) -> std::io::Result<()> {
    writeln!(out, "advisory database: {}", dir.display())?;
    writeln!(
        out,
        "advisories:        {} ({} withdrawn), {} packages indexed",
        info.advisories, info.withdrawn, info.packages
    )?;
    let last = info.last_import.map(format_utc).unwrap_or_else(|| "never".to_string());
    writeln!(out, "last import:       {last}")?;
    writeln!(out, "generation:        {}", info.generation)?;
    let kev_version = info
        .kev_catalog_version
        .as_deref()
        .map(|v| format!(" (catalog {v})"))
        .unwrap_or_default();
    writeln!(out, "CISA KEV:          {} entries{kev_version}", info.kev_entries)?;
    let epss_version = match (&info.epss_model_version, &info.epss_score_date) {
        (Some(m), Some(d)) => format!(" (model {m}, scores of {d})"),
        (None, Some(d)) => format!(" (scores of {d})"),
        (Some(m), None) => format!(" (model {m})"),
        (None, None) => String::new(),
    };
    writeln!(out, "EPSS:              {} scores{epss_version}", info.epss_entries)?;
    if info.skipped_bounds > 0 {
        writeln!(out, "unparsable bounds: {}", info.skipped_bounds)?;
    }
    for (title, map) in [("ECOSYSTEM", &info.by_ecosystem), ("SOURCE", &info.by_source)] {
        if map.is_empty() {
            continue;
        }
        writeln!(out)?;
        let mut rows = vec![vec![
            title.to_string(),
            "ADVISORIES".to_string(),
            "WITHDRAWN".to_string(),
        ]];
        rows.extend(
            map.iter()
                .map(|(k, c)| vec![k.clone(), c.advisories.to_string(), c.withdrawn.to_string()]),
        );
        for line in columns(&rows) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

fn sync(args: &SyncArgs) -> Result<u8, CliError> {
    let names: Vec<String> = if args.ecosystems.is_empty() {
        DEFAULT_ECOSYSTEMS.iter().map(|s| s.to_string()).collect()
    } else {
        args.ecosystems.clone()
    };
    for name in &names {
        if Ecosystem::from_osv(name).is_none() || name.contains(':') {
            let known: Vec<&str> = Ecosystem::ALL.iter().map(|e| e.osv_name()).collect();
            return Err(CliError::Usage(format!(
                "unknown ecosystem {name:?} (one of: {})",
                known.join(", ")
            )));
        }
    }
    let base = args.base_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(CliError::Usage(format!("--base-url {base:?} is not an http(s) URL")));
    }
    // Open first: a database held by a running service fails before any download.
    let db = open(&args.data)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_global(Some(Duration::from_secs(args.timeout)))
        .user_agent(concat!("zerotrace/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut failed = 0;
    for name in &names {
        let url = format!("{base}/{name}/all.zip");
        match sync_one(&agent, &db, &args.data.data_dir, &url) {
            Ok(r) => print_report(&format!("{name} ({url})"), &r),
            Err(message) => {
                failed += 1;
                println!("{name}: FAILED: {message} (database unchanged for {name})");
            }
        }
    }
    let info = describe(&db, &args.data)?;
    println!(
        "database {}: {} advisories, generation {}",
        args.data.enrichment_dir().display(),
        info.advisories,
        info.generation
    );
    if failed > 0 {
        eprintln!("zerotrace: {failed} of {} ecosystems failed to sync", names.len());
        return Ok(EXIT_FAILURE);
    }
    Ok(EXIT_OK)
}

/// Downloads one zip into a temp file beside the database, checks it in a
/// throw-away in-memory database, and only then imports it. Any failure
/// before the import leaves the persistent database as it was.
fn sync_one(agent: &ureq::Agent, db: &Database, data_dir: &Path, url: &str) -> Result<ImportReport, String> {
    std::fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".zerotrace-sync-")
        .suffix(".zip")
        .tempfile_in(data_dir)
        .map_err(|e| format!("cannot create a temp file in {}: {e}", data_dir.display()))?;
    let bytes = download(agent, url, tmp.as_file_mut())?;
    let check = Database::in_memory()
        .and_then(|scratch| scratch.import_path(tmp.path()))
        .map_err(|e| format!("downloaded file ({bytes} bytes) is not a valid OSV zip: {e}"))?;
    if check.kind != ImportKind::OsvZip {
        return Err("downloaded file is not a zip".to_string());
    }
    // Unreadable entries mean a damaged archive, unlike an advisory that
    // fails the schema (which `db import` reports and skips as well).
    if let Some(bad) = check
        .invalid
        .iter()
        .find(|i| i.reason.starts_with("bad zip entry") || i.reason.starts_with("cannot read entry"))
    {
        return Err(format!("downloaded zip is damaged: {}: {}", bad.file, bad.reason));
    }
    db.import_path(tmp.path()).map_err(|e| e.to_string())
}

/// Streams `url` into `to`; an HTTP error status, a connection closed
/// before `Content-Length` bytes, or an oversized body is an error.
fn download(agent: &ureq::Agent, url: &str, to: &mut std::fs::File) -> Result<u64, String> {
    let response = agent.get(url).call().map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    let expected = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let reader = response
        .into_body()
        .into_with_config()
        .limit(MAX_DOWNLOAD_BYTES)
        .reader();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(expected, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bytes}/{total_bytes} {wide_bar} {msg}") {
            bar.set_style(style);
        }
        bar.set_message(url.to_string());
        bar
    });
    let mut reader: Box<dyn Read> = match &bar {
        Some(bar) => Box::new(bar.wrap_read(reader)),
        None => Box::new(reader),
    };
    let copied = std::io::copy(&mut reader, to);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let n = copied.map_err(|e| format!("GET {url}: download interrupted: {e}"))?;
    if let Some(len) = expected
        && n != len
    {
        return Err(format!("GET {url}: truncated download ({n} of {len} bytes)"));
    }
    to.sync_all().map_err(|e| format!("cannot write the download: {e}"))?;
    Ok(n)
}
