//! `zerotrace db import|info|sync`: the persistent advisory database in
//! `<data-dir>/enrichment`, the one the enrichment service of `zerotrace up`
//! serves from.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;
use zerotrace_advisory::sync::{self, Sources, Synced};
use zerotrace_advisory::time::{format_age, format_utc, now_unix};
use zerotrace_advisory::{Database, DbInfo, ImportKind, ImportReport};
use zerotrace_ecosystem::Ecosystem;

use crate::common::{DataDirArg, Format, columns};
use crate::error::{CliError, EXIT_FAILURE, EXIT_OK, exit, output};

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
    /// Download osv.dev's per-ecosystem all.zip files, the CISA KEV catalog and the EPSS scores, and import them.
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
    /// Where OSV zips come from: `{URL}/{ecosystem}/all.zip` (https://, http:// or file://).
    #[arg(long = "osv-base-url", alias = "base-url", default_value = sync::DEFAULT_OSV_BASE_URL, value_name = "URL")]
    osv_base_url: String,
    /// An OSV ecosystem to fetch (repeatable); default every ecosystem ZeroTrace reads.
    #[arg(long = "ecosystem", value_name = "NAME")]
    ecosystems: Vec<String>,
    /// Where the CISA KEV catalog comes from.
    #[arg(long, default_value = sync::DEFAULT_KEV_URL, value_name = "URL")]
    kev_url: String,
    /// Where the EPSS scores come from (CSV, optionally gzipped).
    #[arg(long, default_value = sync::DEFAULT_EPSS_URL, value_name = "URL")]
    epss_url: String,
    /// Do not fetch the KEV catalog.
    #[arg(long)]
    no_kev: bool,
    /// Do not fetch the EPSS scores.
    #[arg(long)]
    no_epss: bool,
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

/// Prints the counts of one import and its first few invalid files.
fn print_report(label: &str, r: &ImportReport) {
    let counts = match r.kind {
        ImportKind::Kev | ImportKind::Epss => format!("{} entries loaded", r.imported),
        _ => format!(
            "{} imported, {} updated, {} unchanged, {} skipped",
            r.imported, r.updated, r.unchanged, r.skipped
        ),
    };
    println!("{label}: {}: {counts}, {} invalid", r.kind.describe(), r.invalid.len());
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
    sources: Vec<SourceJson<'a>>,
}

/// A source in `zerotrace db info --format json`: its state and its age now.
#[derive(Debug, Serialize)]
struct SourceJson<'a> {
    #[serde(flatten)]
    state: &'a zerotrace_advisory::SourceState,
    as_of_utc: Option<String>,
    age_seconds: Option<u64>,
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
                sources: info
                    .sources
                    .iter()
                    .map(|state| SourceJson {
                        state,
                        as_of_utc: state.as_of.map(format_utc),
                        age_seconds: state.age(now_unix()),
                    })
                    .collect(),
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
    if !info.sources.is_empty() {
        writeln!(out)?;
        let now = now_unix();
        let mut rows = vec![
            ["SOURCE", "ENTRIES", "DATA AS OF", "AGE", "GENERATION", "FROM"]
                .map(String::from)
                .to_vec(),
        ];
        rows.extend(info.sources.iter().map(|s| {
            vec![
                s.name.clone(),
                s.entries.to_string(),
                s.as_of.map(format_utc).unwrap_or_else(|| "unknown".to_string()),
                s.age(now).map(format_age).unwrap_or_else(|| "unknown".to_string()),
                s.generation.to_string(),
                s.origin.clone(),
            ]
        }));
        for line in columns(&rows) {
            writeln!(out, "{line}")?;
        }
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
    let mut ecosystems = Vec::new();
    for name in &args.ecosystems {
        match Ecosystem::from_osv(name).filter(|_| !name.contains(':')) {
            Some(eco) => ecosystems.push(eco),
            None => {
                let known: Vec<&str> = Ecosystem::ALL.iter().map(|e| e.osv_name()).collect();
                return Err(CliError::Usage(format!(
                    "unknown ecosystem {name:?} (one of: {})",
                    known.join(", ")
                )));
            }
        }
    }
    let sources = Sources {
        osv_base_url: args.osv_base_url.trim_end_matches('/').to_string(),
        ecosystems: if ecosystems.is_empty() {
            Ecosystem::ALL.to_vec()
        } else {
            ecosystems
        },
        kev_url: (!args.no_kev).then(|| args.kev_url.clone()),
        epss_url: (!args.no_epss).then(|| args.epss_url.clone()),
        timeout: Duration::from_secs(args.timeout),
        ..Sources::default()
    };
    sources.validate().map_err(CliError::Usage)?;
    let db = open(&args.data)?;
    let scratch = sync::scratch_dir(&args.data.enrichment_dir());
    let outcomes = sync::sync(&db, &sources, &scratch, &ProgressBar::default());
    let mut failed = 0;
    for outcome in &outcomes {
        let name = outcome.feed.name();
        match &outcome.result {
            Ok(Synced::Imported(r)) => print_report(&format!("{name} ({})", outcome.url), r),
            Ok(Synced::NotModified) => println!("{name} ({}): not modified since the last sync", outcome.url),
            Err(message) => {
                failed += 1;
                println!("{name}: FAILED: {message} (database unchanged for {name})");
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
        eprintln!("zerotrace: {failed} of {} sources failed to sync", outcomes.len());
        return Ok(EXIT_FAILURE);
    }
    Ok(EXIT_OK)
}

/// Draws each download as a progress bar on a terminal; silent otherwise.
#[derive(Default)]
struct ProgressBar {
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

impl sync::Observer for ProgressBar {
    fn started(&self, url: &str, total: Option<u64>) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = indicatif::ProgressBar::with_draw_target(total, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bytes}/{total_bytes} {wide_bar} {msg}") {
            bar.set_style(style);
        }
        bar.set_message(url.to_string());
        *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    }

    fn advanced(&self, bytes: u64) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            bar.inc(bytes);
        }
    }

    fn finished(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}
