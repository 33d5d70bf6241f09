//! `zerotrace scan PATH`: an offline scan in one process of a directory, or
//! of one lockfile or SBOM. Walks and parses lockfiles (the inventory crate),
//! matches registry packages against an advisory database (the advisory
//! crate) and reports scored findings.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use zerotrace_advisory::freshness;
use zerotrace_advisory::time::{format_utc, now_unix};
use zerotrace_advisory::{Database, Informational, PackageQuery, ScoredAdvisory, Severity};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::{FileError, Inventory, Package, Paths, Progress, Scope};

use crate::baseline::Baseline;
use crate::common::{DataDirArg, WalkArgs, columns};
use crate::config::Config;
use crate::error::{CliError, EXIT_FAILURE, EXIT_OK, exit, output};
use crate::formats::{self, Output, ReportFormat};
use crate::ignores::{IgnoreOutcome, Ignores, Suppression};

/// The default of `--max-data-age`.
const DEFAULT_MAX_DATA_AGE: Duration = Duration::from_secs(5 * 86_400);

/// Packages the table names per unmatched reason before it summarises.
const UNMATCHED_SHOWN: usize = 5;

/// Flags of `zerotrace scan`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {
    /// The directory to scan, or one lockfile or SBOM (CycloneDX, SPDX).
    path: PathBuf,
    /// Advisory data to scan against, loaded in memory (repeatable): OSV
    /// `all.zip` files or directories, a CISA KEV JSON catalog, an EPSS CSV.
    /// Without it, the persistent database in `<data-dir>/enrichment` is used.
    #[arg(long = "db", value_name = "ZIP_OR_DIR")]
    db: Vec<PathBuf>,
    /// Output format (repeatable): table (default), json, sarif, cyclonedx, spdx, markdown; `FORMAT=FILE`
    /// writes it to a file. At most one goes to stdout.
    #[arg(long, value_name = "FORMAT[=FILE]", value_parser = Output::parse)]
    format: Vec<Output>,
    /// The file of the one --format that names none.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Warn when the advisory data a scan needs is older than this (`5d`, `36h`; default 5d).
    #[arg(long, env = "ZEROTRACE_MAX_DATA_AGE", value_parser = zerotrace_server::parse_duration)]
    max_data_age: Option<Duration>,
    /// Exit 1 when a vulnerability of this severity or higher is found (default `low`);
    /// `none` never fails. Findings of unknown severity fail at `low`.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
    /// The config file (default: the first `zerotrace.toml` from PATH up to the repository root).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Read no config file.
    #[arg(long)]
    no_config: bool,
    /// A JSON report of an earlier scan: its findings are reported but do not count toward --fail-on.
    #[arg(long, value_name = "REPORT.json")]
    baseline: Option<PathBuf>,
    /// Also list the findings that ignores suppressed in the table (JSON always has them).
    #[arg(long)]
    show_suppressed: bool,
    /// Which dependencies to scan: `runtime` (all but development ones), `dev`, or `all` (default).
    #[arg(long, value_enum)]
    scope: Option<ScopeFilter>,
    /// Show in the table how each vulnerable package got in (JSON, SARIF and CycloneDX always carry it).
    #[arg(long)]
    paths: bool,
    #[command(flatten)]
    data: DataDirArg,
    #[command(flatten)]
    walk: WalkArgs,
}

/// The `--scope` filter: which dependencies a scan checks, by the scope
/// their lockfile gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ScopeFilter {
    /// Everything but development dependencies (runtime, optional, and those the file does not mark).
    Runtime,
    /// Development dependencies only.
    Dev,
    /// Every dependency.
    All,
}

impl ScopeFilter {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ScopeFilter::Runtime => "runtime",
            ScopeFilter::Dev => "dev",
            ScopeFilter::All => "all",
        }
    }

    /// Whether a package of `scope` is scanned.
    pub(crate) fn admits(self, scope: Scope) -> bool {
        match self {
            ScopeFilter::All => true,
            ScopeFilter::Runtime => scope != Scope::Development,
            ScopeFilter::Dev => scope == Scope::Development,
        }
    }
}

/// The `--fail-on` threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FailOn {
    /// Never fail on findings.
    None,
    /// Low and above, and findings of unknown severity.
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    High,
    /// Critical only.
    Critical,
}

impl FailOn {
    /// Returns whether a finding of this severity fails the scan. A finding
    /// without any severity fails at `low`: an advisory nobody scored is
    /// still a vulnerability, and hiding it by default would be the wrong
    /// way to err.
    pub(crate) fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::None => false,
            FailOn::Low => severity >= Severity::Low || severity == Severity::Unknown,
            FailOn::Medium => severity >= Severity::Medium,
            FailOn::High => severity >= Severity::High,
            FailOn::Critical => severity >= Severity::Critical,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            FailOn::None => "none",
            FailOn::Low => "low",
            FailOn::Medium => "medium",
            FailOn::High => "high",
            FailOn::Critical => "critical",
        }
    }
}

/// Runs the command: exit 0 when nothing at or above `--fail-on` was found,
/// 1 when something was, 2 on usage and I/O errors.
pub(crate) fn run(args: ScanArgs) -> ExitCode {
    exit(scan(&args))
}

/// What a scan runs with: its flags over its config file over the defaults.
struct Settings {
    fail_on: FailOn,
    scope: ScopeFilter,
    outputs: Vec<Output>,
    max_data_age: Duration,
    walk: zerotrace_inventory::WalkOptions,
    ignores: Ignores,
    baseline: Option<Baseline>,
}

impl Settings {
    fn of(args: &ScanArgs) -> Result<Self, CliError> {
        let config = match crate::config::find(&args.path, args.config.as_deref(), args.no_config) {
            Some(path) => crate::config::load(&path)?,
            None => Config::default(),
        };
        let today = crate::ignores::today().map_err(CliError::Usage)?;
        let baseline = match args.baseline.as_ref().or(config.baseline.as_ref()) {
            Some(path) => Some(Baseline::load(path)?),
            None => None,
        };
        Ok(Self {
            fail_on: args.fail_on.or(config.fail_on).unwrap_or(FailOn::Low),
            scope: args.scope.or(config.scope).unwrap_or(ScopeFilter::All),
            outputs: formats::plan(
                if args.format.is_empty() {
                    config.formats
                } else {
                    args.format.clone()
                },
                args.output.clone(),
            )
            .map_err(CliError::Usage)?,
            max_data_age: args
                .max_data_age
                .or(config.max_data_age)
                .unwrap_or(DEFAULT_MAX_DATA_AGE),
            walk: args.walk.options_over(&config.walk),
            ignores: Ignores::new(config.ignores, today),
            baseline,
        })
    }
}

fn scan(args: &ScanArgs) -> Result<u8, CliError> {
    // Fail fast on a bad root before loading advisories.
    match std::fs::metadata(&args.path) {
        Ok(m) if m.is_dir() || m.is_file() => {}
        Ok(_) => return Err(zerotrace_inventory::InventoryError::NotADirectory(args.path.clone()).into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(zerotrace_inventory::InventoryError::RootNotFound(args.path.clone()).into());
        }
        Err(e) => {
            return Err(CliError::Usage(format!(
                "cannot read scan root {}: {e}",
                args.path.display()
            )));
        }
    }
    let mut settings = Settings::of(args)?;
    let started = Instant::now();
    let progress = Progress::default();
    let done = AtomicBool::new(false);
    let bar = std::io::stderr().is_terminal().then(spinner);
    let options = settings.walk.clone();
    // The walk and the advisory load are independent: run them side by side.
    let (db, inv) = std::thread::scope(|s| {
        let loader = s.spawn(|| open_db(args));
        if let Some(bar) = &bar {
            let (progress, done) = (&progress, &done);
            s.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let p = progress.snapshot();
                    bar.set_message(format!(
                        "walking: {} files, {} lockfiles, {} packages",
                        p.files_walked, p.lockfiles_parsed, p.packages
                    ));
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
        let inv = zerotrace_inventory::scan(&args.path, &options, &progress, None);
        done.store(true, Ordering::Relaxed);
        let db = loader
            .join()
            .unwrap_or_else(|_| Err(CliError::Internal("advisory loading panicked".to_string())));
        (db, inv)
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let db = db?;
    let inv = inv?;
    let report = build_report(&db, &inv, &mut settings, started).map_err(|e| CliError::ScanInput(e.to_string()))?;
    for ignore in &report.ignores.expired {
        eprintln!(
            "zerotrace: warning: the ignore of {} ({}) expired after {}: its findings count again",
            ignore.id,
            ignore.source,
            ignore.until.as_deref().unwrap_or("?")
        );
    }
    for ignore in &report.ignores.unused {
        eprintln!(
            "zerotrace: warning: the ignore of {} ({}) matched no finding",
            ignore.id, ignore.source
        );
    }
    for ignore in &report.ignores.fleet {
        eprintln!(
            "zerotrace: warning: the ignore of {} ({}) names an agent or root: a fleet decision, which a local scan does not apply",
            ignore.id, ignore.source
        );
    }
    // Suppressed findings are apart; those in the baseline do not count.
    let code = if report
        .findings
        .iter()
        .any(|f| !f.baseline && settings.fail_on.fails(f.vulnerability.severity))
    {
        EXIT_FAILURE
    } else {
        EXIT_OK
    };
    for target in &settings.outputs {
        let write = |out: &mut dyn Write| -> std::io::Result<()> {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
            match target.format {
                ReportFormat::Json => serde_json::to_writer(&mut out, &report)
                    .map_err(std::io::Error::from)
                    .and_then(|()| writeln!(out)),
                ReportFormat::Table => write_table(
                    &mut out,
                    &report,
                    settings.fail_on,
                    code,
                    &TableOptions {
                        show_suppressed: args.show_suppressed,
                        paths: args.paths,
                    },
                ),
                ReportFormat::Sarif => formats::sarif::write(&mut out, &report, &args.path),
                ReportFormat::CycloneDx => formats::cyclonedx::write(&mut out, &report, &inv, &args.path),
                ReportFormat::Spdx => formats::spdx::write(&mut out, &inv.packages, &args.path),
                ReportFormat::Markdown => formats::markdown::write(&mut out, &report, code != EXIT_OK),
            }?;
            out.flush()
        };
        match &target.path {
            None => output(write(&mut std::io::stdout().lock()))?,
            Some(path) => {
                let mut file = std::fs::File::create(path).map_err(|e| {
                    CliError::Usage(format!(
                        "cannot write the {} report to {}: {e}",
                        target.format.name(),
                        path.display()
                    ))
                })?;
                write(&mut file).map_err(CliError::Output)?;
            }
        }
    }
    Ok(code)
}

fn spinner() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Loads the `--db` paths in memory, or opens the persistent database.
fn open_db(args: &ScanArgs) -> Result<Database, CliError> {
    if !args.db.is_empty() {
        let (db, reports) = Database::load(&args.db).map_err(|e| CliError::ScanInput(format!("--db {e}")))?;
        for r in reports.iter().filter(|r| !r.invalid.is_empty()) {
            let first = r.invalid.first().map(|i| format!(" (first: {}: {})", i.file, i.reason));
            eprintln!(
                "zerotrace: warning: {} invalid advisory files in {} skipped{}",
                r.invalid.len(),
                r.path.display(),
                first.unwrap_or_default()
            );
        }
        return Ok(db);
    }
    let dir = args.data.enrichment_dir();
    if !Database::exists(&dir) {
        return Err(CliError::EmptyDatabase(dir));
    }
    let unreadable = |e: zerotrace_advisory::Error| CliError::ScanInput(format!("{}: {e}", dir.display()));
    let db = Database::open(&dir).map_err(unreadable)?;
    let info = db.info().map_err(unreadable)?;
    if info.advisories == 0 {
        return Err(CliError::EmptyDatabase(dir));
    }
    Ok(db)
}

/// The JSON report of `zerotrace scan --format json`.
#[derive(Debug, Serialize)]
pub(crate) struct Report<'a> {
    /// Registry packages with a pinned version, all checked against the database.
    pub(crate) packages_scanned: usize,
    /// Every package found, including path/git/workspace and unpinned ones.
    pub(crate) packages_found: usize,
    /// Lockfiles read.
    pub(crate) lockfiles: u64,
    /// Files walked.
    pub(crate) files_walked: u64,
    /// Advisories in the database used.
    pub(crate) advisories: usize,
    /// The advisory data used and how current it was.
    pub(crate) advisory_data: AdvisoryData,
    /// The `--fail-on` threshold.
    pub(crate) fail_on: &'static str,
    /// The `--scope` of the scan, and the packages it left out.
    pub(crate) scope: ScopeFilter,
    pub(crate) packages_out_of_scope: usize,
    /// Wall time of the whole scan, seconds.
    pub(crate) elapsed_seconds: f64,
    /// Findings that count (those in the baseline say so), then those an ignore suppressed.
    pub(crate) findings: Vec<Finding<'a>>,
    pub(crate) suppressed: Vec<Finding<'a>>,
    /// Ignores that expired, and ignores in force that matched nothing.
    pub(crate) ignores: IgnoreOutcome,
    /// Findings of the `--baseline` report, when one is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) baseline_findings: Option<usize>,
    pub(crate) warnings: Vec<Finding<'a>>,
    pub(crate) unmatched: Vec<Unmatched<'a>>,
    pub(crate) errors: &'a [FileError],
}

/// The advisory data a scan used: its generation, each source's age, and
/// what is too old or missing ([`zerotrace_advisory::freshness::notices`]).
#[derive(Debug, Serialize)]
pub(crate) struct AdvisoryData {
    pub(crate) generation: u64,
    max_age_seconds: u64,
    sources: Vec<DataSource>,
    pub(crate) notices: Vec<String>,
}

#[derive(Debug, Serialize)]
struct DataSource {
    name: String,
    entries: usize,
    as_of_utc: Option<String>,
    age_seconds: Option<u64>,
}

impl AdvisoryData {
    fn of(info: &zerotrace_advisory::DbInfo, inv: &Inventory, max_age: Duration) -> Self {
        let now = now_unix();
        let max_age = max_age.as_secs();
        let ecosystems: BTreeSet<Ecosystem> = inv.packages.iter().map(|p| p.ecosystem).collect();
        AdvisoryData {
            generation: info.generation,
            max_age_seconds: max_age,
            sources: info
                .sources
                .iter()
                .map(|s| DataSource {
                    name: s.name.clone(),
                    entries: s.entries,
                    as_of_utc: s.as_of.map(format_utc),
                    age_seconds: s.age(now),
                })
                .collect(),
            notices: freshness::notices(&info.sources, ecosystems, max_age, now),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct PackageRef<'a> {
    pub(crate) ecosystem: &'static str,
    pub(crate) name: &'a str,
    pub(crate) version: &'a str,
    pub(crate) path: &'a str,
    /// `runtime`, `development`, `optional`, or `unspecified` when the file does not say.
    pub(crate) scope: Scope,
}

impl<'a> PackageRef<'a> {
    fn of(p: &'a Package) -> Self {
        PackageRef {
            ecosystem: p.ecosystem.osv_name(),
            name: &p.name,
            version: &p.version,
            path: &p.path,
            scope: p.scope,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Finding<'a> {
    pub(crate) package: PackageRef<'a>,
    pub(crate) vulnerability: Advisory,
    /// In the `--baseline` report: known before, does not count.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) baseline: bool,
    /// Why an ignore suppressed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) suppression: Option<Box<Suppression>>,
    /// How the package got in, where its lockfile records the graph (shared
    /// by the findings of one package).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "shared")]
    pub(crate) dependency: Option<Arc<DependencyPath>>,
}

/// How a package got into its lockfile: whether the project depends on it
/// itself, and one shortest chain from the project to it (`name version`
/// each, the project first).
#[derive(Debug, Serialize)]
pub(crate) struct DependencyPath {
    pub(crate) direct: bool,
    pub(crate) path: Vec<String>,
}

/// Serialises what an [`Arc`] holds.
fn shared<T: Serialize, S: serde::Serializer>(value: &Option<Arc<T>>, s: S) -> Result<S::Ok, S::Error> {
    value.as_deref().serialize(s)
}

impl DependencyPath {
    fn of(paths: &Paths<'_>, p: &Package) -> Option<Self> {
        let direct = p.direct?;
        let chain = paths.path(&p.name, &p.version).unwrap_or_default();
        Some(Self {
            direct,
            path: chain
                .into_iter()
                .map(|(name, version)| {
                    if version.is_empty() {
                        name.to_string()
                    } else {
                        format!("{name} {version}")
                    }
                })
                .collect(),
        })
    }

    /// The chain as one line: `app 0.1.0 → hyper 0.14.1 → h2 0.3.26`, or
    /// what is known when the lockfile marks the package indirect without
    /// the chain (go.mod).
    pub(crate) fn line(&self) -> String {
        if self.path.is_empty() {
            "(indirect; chain not recorded)".to_string()
        } else {
            self.path.join(" → ")
        }
    }
}

/// A matched advisory, shared by every package it matches; serialised
/// through [`Vulnerability`] so nothing is copied per finding.
#[derive(Debug)]
pub(crate) struct Advisory(Arc<ScoredAdvisory>);

impl std::ops::Deref for Advisory {
    type Target = ScoredAdvisory;
    fn deref(&self) -> &ScoredAdvisory {
        &self.0
    }
}

impl Serialize for Advisory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Vulnerability::of(&self.0).serialize(s)
    }
}

/// The `vulnerability` object of a finding or warning in the JSON report.
#[derive(Debug, Serialize)]
struct Vulnerability<'b> {
    id: &'b str,
    aliases: &'b [String],
    summary: Option<&'b str>,
    severity: Severity,
    cvss_score: Option<f64>,
    cvss_vector: Option<&'b str>,
    fixed_versions: &'b [String],
    risk_score: f64,
    known_exploited: bool,
    epss_score: Option<f64>,
    epss_percentile: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    informational: Option<&'b Informational>,
    published: Option<&'b str>,
    modified: &'b str,
    url: Option<&'b str>,
}

impl<'b> Vulnerability<'b> {
    fn of(a: &'b ScoredAdvisory) -> Self {
        let vector = a
            .cvss
            .iter()
            .find(|c| c.score.is_some() && c.score == a.max_score)
            .map(|c| c.vector.as_str());
        let url = a.advisory_url();
        Vulnerability {
            id: &a.id,
            aliases: &a.aliases,
            summary: a.summary.as_deref(),
            severity: a.severity,
            cvss_score: a.max_score,
            cvss_vector: vector,
            fixed_versions: &a.fixed_versions,
            risk_score: a.risk,
            known_exploited: a.is_kev(),
            epss_score: a.epss.map(|e| e.score),
            epss_percentile: a.epss.map(|e| e.percentile),
            informational: a.informational.as_ref(),
            published: a.published.as_deref(),
            modified: &a.modified,
            url,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Unmatched<'a> {
    package: PackageRef<'a>,
    reason: String,
}

/// Asks the database about every package (it applies the matching rule:
/// registry packages with a pinned version are matched, the others come
/// back unmatched with the reason) and collects findings, warnings and the
/// unmatched.
fn build_report<'a>(
    db: &Database,
    inv: &'a Inventory,
    settings: &mut Settings,
    started: Instant,
) -> Result<Report<'a>, zerotrace_advisory::Error> {
    let info = db.info()?;
    let mut report = Report {
        packages_scanned: 0,
        packages_found: inv.packages.len(),
        lockfiles: inv.lockfiles,
        files_walked: inv.files_walked,
        advisories: info.advisories,
        advisory_data: AdvisoryData::of(&info, inv, settings.max_data_age),
        fail_on: settings.fail_on.as_str(),
        scope: settings.scope,
        packages_out_of_scope: 0,
        elapsed_seconds: 0.0,
        findings: Vec::new(),
        suppressed: Vec::new(),
        ignores: IgnoreOutcome::default(),
        baseline_findings: settings.baseline.as_ref().map(Baseline::len),
        warnings: Vec::new(),
        unmatched: Vec::new(),
        errors: &inv.errors,
    };
    // The chains of a lockfile's graph, walked the first time one of its
    // packages has a finding (most lockfiles have none).
    let mut chains: HashMap<&str, Paths<'_>> = HashMap::new();
    let query_of = |p: &'a Package| PackageQuery {
        ecosystem: p.ecosystem.osv_name(),
        name: &p.name,
        version: p.version.trim(),
        source: p.source,
    };
    // Each distinct package once, matched in one read of the database.
    let mut distinct: HashMap<PackageQuery<'a>, usize> = HashMap::new();
    let mut queries = Vec::new();
    for p in inv.packages.iter().filter(|p| settings.scope.admits(p.scope)) {
        distinct.entry(query_of(p)).or_insert_with_key(|query| {
            queries.push(*query);
            queries.len() - 1
        });
    }
    let verdicts = db.match_packages(&queries)?;
    for p in &inv.packages {
        if !settings.scope.admits(p.scope) {
            report.packages_out_of_scope += 1;
            continue;
        }
        let query = query_of(p);
        if query.matchable().is_ok() {
            report.packages_scanned += 1;
        }
        let verdict = &verdicts[distinct[&query]];
        // One chain per package, shared by its findings.
        let dependency = if verdict.vulnerabilities.is_empty() {
            None
        } else {
            let paths = match chains.entry(p.path.as_str()) {
                Entry::Occupied(known) => Some(known.into_mut()),
                Entry::Vacant(new) => inv.graphs.get(&p.path).map(|graph| new.insert(Paths::of(graph))),
            };
            paths.and_then(|paths| DependencyPath::of(paths, p)).map(Arc::new)
        };
        for a in &verdict.vulnerabilities {
            let suppression = settings.ignores.suppression(&a.id, &a.aliases, p).map(Box::new);
            let baseline = settings
                .baseline
                .as_ref()
                .is_some_and(|b| b.contains(p.ecosystem.osv_name(), &p.name, &p.version, &a.id));
            let list = if suppression.is_some() {
                &mut report.suppressed
            } else {
                &mut report.findings
            };
            list.push(Finding {
                package: PackageRef::of(p),
                vulnerability: Advisory(Arc::clone(a)),
                baseline,
                suppression,
                dependency: dependency.clone(),
            });
        }
        report.warnings.extend(verdict.warnings.iter().map(|a| Finding {
            package: PackageRef::of(p),
            vulnerability: Advisory(Arc::clone(a)),
            baseline: false,
            suppression: None,
            dependency: None,
        }));
        if let Some(reason) = &verdict.unmatched_reason {
            report.unmatched.push(Unmatched {
                package: PackageRef::of(p),
                reason: reason.clone(),
            });
        }
    }
    let order = |a: &Finding<'_>, b: &Finding<'_>| {
        a.package
            .path
            .cmp(b.package.path)
            .then_with(|| b.vulnerability.risk.total_cmp(&a.vulnerability.risk))
            .then_with(|| a.vulnerability.id.cmp(&b.vulnerability.id))
            .then_with(|| a.package.name.cmp(b.package.name))
            .then_with(|| a.package.version.cmp(b.package.version))
    };
    report.findings.sort_by(order);
    report.suppressed.sort_by(order);
    report.warnings.sort_by(order);
    report.ignores = settings.ignores.outcome();
    report.elapsed_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn truncate(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default().trim();
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let mut t: String = line.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Returns the summary, or the start of the details when there is none
/// (PyPA advisories often have only details).
fn summary(v: &ScoredAdvisory) -> &str {
    v.summary
        .as_deref()
        .or(v.details.as_deref())
        .map(str::trim)
        .unwrap_or_default()
}

fn exploit_cell(v: &ScoredAdvisory) -> String {
    let mut parts = Vec::new();
    if v.is_kev() {
        parts.push("KEV".to_string());
    }
    if let Some(e) = v.epss {
        parts.push(format!("EPSS {:.2}", e.score));
    }
    parts.join(" ")
}

/// `name version`, with the scope when it is not a runtime one.
pub(crate) fn package_cell(p: &PackageRef<'_>) -> String {
    match p.scope {
        Scope::Development => format!("{} {} (dev)", p.name, p.version),
        Scope::Optional => format!("{} {} (optional)", p.name, p.version),
        _ => format!("{} {}", p.name, p.version),
    }
}

fn fixed_cell(v: &ScoredAdvisory) -> String {
    if v.fixed_versions.is_empty() {
        "no fix".to_string()
    } else {
        v.fixed_versions.join(", ")
    }
}

/// What the table shows beyond the findings.
struct TableOptions {
    show_suppressed: bool,
    paths: bool,
}

fn write_table(
    out: &mut impl Write,
    r: &Report<'_>,
    fail_on: FailOn,
    code: u8,
    opts: &TableOptions,
) -> std::io::Result<()> {
    let show_suppressed = opts.show_suppressed;
    let mut by_file: BTreeMap<&str, Vec<&Finding<'_>>> = BTreeMap::new();
    for f in &r.findings {
        by_file.entry(f.package.path).or_default().push(f);
    }
    for (path, findings) in &by_file {
        writeln!(out, "{path}")?;
        let mut header = ["SEVERITY", "RISK", "ID", "PACKAGE", "FIXED IN", "EXPLOITED", "SUMMARY"]
            .map(String::from)
            .to_vec();
        if opts.paths {
            header.push("PATH".to_string());
        }
        let mut rows = vec![header];
        rows.extend(findings.iter().map(|f| {
            let v = &f.vulnerability;
            let mut row = vec![
                v.severity.to_string(),
                format!("{:.1}", v.risk),
                if f.baseline {
                    format!("{} (baseline)", v.id)
                } else {
                    v.id.clone()
                },
                package_cell(&f.package),
                fixed_cell(v),
                exploit_cell(v),
                truncate(summary(v), 70),
            ];
            if opts.paths {
                row.push(
                    f.dependency
                        .as_ref()
                        .map_or_else(|| "(not recorded)".to_string(), |d| d.line()),
                );
            }
            row
        }));
        for line in columns(&rows) {
            writeln!(out, "  {line}")?;
        }
        writeln!(out)?;
    }
    if show_suppressed && !r.suppressed.is_empty() {
        writeln!(out, "suppressed by ignores (not counted):")?;
        let rows: Vec<Vec<String>> = r
            .suppressed
            .iter()
            .filter_map(|f| {
                let s = f.suppression.as_ref()?;
                Some(vec![
                    f.vulnerability.id.clone(),
                    format!("{} {}", f.package.name, f.package.version),
                    f.package.path.to_string(),
                    s.until.as_ref().map(|u| format!("until {u}")).unwrap_or_default(),
                    s.source.clone(),
                    truncate(&s.reason, 60),
                ])
            })
            .collect();
        for line in columns(&rows) {
            writeln!(out, "  {line}")?;
        }
        writeln!(out)?;
    }
    if !r.ignores.expired.is_empty() || !r.ignores.unused.is_empty() || !r.ignores.fleet.is_empty() {
        writeln!(out, "ignores:")?;
        for i in &r.ignores.expired {
            let until = i.until.as_deref().unwrap_or("?");
            writeln!(out, "  {} ({}): expired after {until}, applies no more", i.id, i.source)?;
        }
        for i in &r.ignores.unused {
            writeln!(out, "  {} ({}): matched no finding", i.id, i.source)?;
        }
        for i in &r.ignores.fleet {
            writeln!(
                out,
                "  {} ({}): a fleet decision (agent or root), not applied here",
                i.id, i.source
            )?;
        }
        writeln!(out)?;
    }
    if !r.warnings.is_empty() {
        writeln!(
            out,
            "warnings (informational advisories, not counted as vulnerabilities):"
        )?;
        let rows: Vec<Vec<String>> = r
            .warnings
            .iter()
            .map(|f| {
                let v = &f.vulnerability;
                vec![
                    v.informational.as_ref().map(|i| i.to_string()).unwrap_or_default(),
                    v.id.clone(),
                    format!("{} {}", f.package.name, f.package.version),
                    f.package.path.to_string(),
                    fixed_cell(v),
                    truncate(summary(v), 60),
                ]
            })
            .collect();
        for line in columns(&rows) {
            writeln!(out, "  {line}")?;
        }
        writeln!(out)?;
    }
    if !r.unmatched.is_empty() {
        writeln!(out, "unmatched (not checked against advisories, or only partly):")?;
        let mut by_reason: BTreeMap<&str, Vec<&Unmatched<'_>>> = BTreeMap::new();
        for u in &r.unmatched {
            by_reason.entry(u.reason.as_str()).or_default().push(u);
        }
        for (reason, packages) in by_reason {
            let shown: Vec<String> = packages
                .iter()
                .take(UNMATCHED_SHOWN)
                .map(|u| {
                    let version = Some(u.package.version).filter(|v| !v.is_empty());
                    let named = [Some(u.package.name), version]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>();
                    format!("{} ({})", named.join(" "), u.package.path)
                })
                .collect();
            let more = packages.len().saturating_sub(UNMATCHED_SHOWN);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            writeln!(out, "  {reason}: {}{more}", shown.join(", "))?;
        }
        writeln!(out)?;
    }
    if !r.advisory_data.notices.is_empty() {
        writeln!(out, "advisory data (generation {}):", r.advisory_data.generation)?;
        for notice in &r.advisory_data.notices {
            writeln!(out, "  {notice}")?;
        }
        writeln!(out)?;
    }
    if !r.errors.is_empty() {
        writeln!(out, "errors:")?;
        for e in r.errors {
            writeln!(out, "  {}: {}", e.path, e.message)?;
        }
        writeln!(out)?;
    }
    let mut by_severity: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in &r.findings {
        *by_severity.entry(f.vulnerability.severity).or_insert(0) += 1;
    }
    let breakdown: Vec<String> = by_severity.iter().rev().map(|(s, n)| format!("{n} {s}")).collect();
    let mut vulns = if r.findings.is_empty() {
        "no vulnerabilities".to_string()
    } else {
        format!("{} vulnerabilities ({})", r.findings.len(), breakdown.join(", "))
    };
    let known = r.findings.iter().filter(|f| f.baseline).count();
    if known > 0 {
        vulns.push_str(&format!(", {known} of them in the baseline"));
    }
    if !r.suppressed.is_empty() {
        let hint = if show_suppressed {
            ""
        } else {
            ", --show-suppressed lists them"
        };
        vulns.push_str(&format!(", {} suppressed by ignores{hint}", r.suppressed.len()));
    }
    let verdict = if code == EXIT_OK {
        format!("pass at --fail-on {}", fail_on.as_str())
    } else {
        format!("FAIL at --fail-on {}", fail_on.as_str())
    };
    if r.packages_out_of_scope > 0 {
        writeln!(
            out,
            "{} packages outside --scope {} were not scanned.",
            r.packages_out_of_scope,
            r.scope.as_str()
        )?;
    }
    writeln!(
        out,
        "{} packages scanned ({} found) in {} lockfiles, {} files walked, {} advisories: {vulns}, {} warnings, {} unmatched, {} errors; {verdict} ({:.2}s)",
        r.packages_scanned,
        r.packages_found,
        r.lockfiles,
        r.files_walked,
        r.advisories,
        r.warnings.len(),
        r.unmatched.len(),
        r.errors.len(),
        r.elapsed_seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_thresholds() {
        assert!(!FailOn::None.fails(Severity::Critical));
        assert!(FailOn::Low.fails(Severity::Unknown));
        assert!(FailOn::Low.fails(Severity::Low));
        assert!(!FailOn::Low.fails(Severity::None));
        assert!(!FailOn::Medium.fails(Severity::Unknown));
        assert!(!FailOn::Medium.fails(Severity::Low));
        assert!(FailOn::Medium.fails(Severity::Medium));
        assert!(FailOn::High.fails(Severity::Critical));
        assert!(!FailOn::High.fails(Severity::Medium));
        assert!(FailOn::Critical.fails(Severity::Critical));
        assert!(!FailOn::Critical.fails(Severity::High));
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(truncate("short\nsecond line", 70), "short");
    }
}
