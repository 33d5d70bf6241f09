//! The database: import, the in-memory index, matching and lookups.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use zerotrace_ecosystem::{Ecosystem, Version};

use crate::Error;
use crate::feeds::{self, Epss, KevEntry, is_cve};
use crate::matcher::PreparedAffected;
use crate::model::{
    Counts, CvssScore, DbInfo, ImportKind, ImportReport, Informational, InvalidFile, MatchResult, Reference,
    ScoredAdvisory,
};
use crate::osv::{Advisory, EventKind, SeverityEntry, parse_advisory};
use crate::score::{Severity, risk_score, score_vector};
use crate::store::{Data, Store};
use crate::time::now_unix;

/// The largest OSV file (or zip entry) read; larger ones are invalid.
const MAX_ADVISORY_BYTES: u64 = 32 << 20;
/// The largest feed (KEV JSON, EPSS CSV after decompression) read.
const MAX_FEED_BYTES: u64 = 1 << 30;

/// The advisory database: OSV advisories with KEV and EPSS data, an
/// in-memory match index, and optionally a `redb` store on disk.
///
/// Cloning is cheap (an `Arc`); all methods take `&self` and the type is
/// `Send + Sync`. Reads take a read lock only long enough to clone an `Arc`
/// of the current index; an import builds a new index beside the old one
/// and swaps it in, so readers never wait for an import.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    store: Option<Store>,
    snapshot: RwLock<Arc<Snapshot>>,
    generation: AtomicU64,
    /// Serialises imports (one writer at a time).
    import_lock: Mutex<()>,
}

/// One advisory as it applies to one package.
struct PackageAdvisory {
    scored: Arc<ScoredAdvisory>,
    entries: Vec<PreparedAffected>,
}

/// An immutable view: the source data and the indexes derived from it.
#[derive(Default)]
struct Snapshot {
    data: Data,
    by_id: HashMap<String, Arc<ScoredAdvisory>>,
    /// Alias → ids of the advisories naming it, sorted.
    aliases: HashMap<String, Vec<String>>,
    packages: HashMap<Ecosystem, HashMap<String, Vec<PackageAdvisory>>>,
    info: DbInfo,
}

impl std::fmt::Debug for Database {
    // The contents would flood a log line: show the shape only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snap = self.snapshot();
        f.debug_struct("Database")
            .field("persistent", &self.inner.store.is_some())
            .field("generation", &self.generation())
            .field("advisories", &snap.info.advisories)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens (or creates) a persistent database in the directory `dir`,
    /// loading it into memory and building the match index.
    pub fn open(dir: impl AsRef<Path>) -> Result<Database, Error> {
        let (store, data) = Store::open(dir.as_ref())?;
        let generation = data.meta.generation;
        Ok(Database::with(Some(store), data, generation))
    }

    /// Returns an empty database that lives in memory only (for
    /// `zerotrace scan --db all.zip`): imports are not persisted.
    pub fn in_memory() -> Database {
        Database::with(None, Data::default(), 0)
    }

    /// Returns an in-memory database loaded from OSV zips/directories and
    /// feeds, stopping at the first path that cannot be imported at all.
    pub fn load<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<(Database, Vec<ImportReport>), Error> {
        let db = Database::in_memory();
        let mut reports = Vec::new();
        for p in paths {
            reports.push(db.import_path(p.as_ref())?);
        }
        Ok((db, reports))
    }

    fn with(store: Option<Store>, data: Data, generation: u64) -> Database {
        let snapshot = Snapshot::build(data, store.is_some());
        Database {
            inner: Arc::new(Inner {
                store,
                snapshot: RwLock::new(Arc::new(snapshot)),
                generation: AtomicU64::new(generation),
                import_lock: Mutex::new(()),
            }),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        match self.inner.snapshot.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Returns a counter that changes on every import (persisted, so it
    /// also grows across restarts); caches keyed on it never serve results
    /// from older data.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Returns the advisory with this id, or the first (by id) advisory
    /// naming it as an alias. Withdrawn advisories are returned too.
    pub fn get(&self, id_or_alias: &str) -> Option<Arc<ScoredAdvisory>> {
        let snap = self.snapshot();
        let key = id_or_alias.trim();
        if let Some(a) = snap.by_id.get(key) {
            return Some(Arc::clone(a));
        }
        let id = snap.aliases.get(key)?.first()?;
        snap.by_id.get(id).cloned()
    }

    /// Returns every advisory with this id or alias (a CVE can be aliased
    /// by several advisories, e.g. a GHSA and a PYSEC), sorted by id.
    pub fn resolve(&self, id_or_alias: &str) -> Vec<Arc<ScoredAdvisory>> {
        let snap = self.snapshot();
        let key = id_or_alias.trim();
        let mut out: Vec<Arc<ScoredAdvisory>> = snap.by_id.get(key).cloned().into_iter().collect();
        for id in snap.aliases.get(key).map(Vec::as_slice).unwrap_or_default() {
            if let Some(a) = snap.by_id.get(id)
                && !out.iter().any(|o| o.id == a.id)
            {
                out.push(Arc::clone(a));
            }
        }
        out
    }

    /// Returns the KEV entry of a CVE, if listed.
    pub fn kev(&self, cve: &str) -> Option<KevEntry> {
        self.snapshot().data.kev.get(cve.trim()).cloned()
    }

    /// Returns the EPSS score of a CVE, if known.
    pub fn epss(&self, cve: &str) -> Option<Epss> {
        self.snapshot().data.epss.get(cve.trim()).copied()
    }

    /// Returns counts and metadata.
    pub fn info(&self) -> DbInfo {
        let mut info = self.snapshot().info.clone();
        info.generation = self.generation();
        info
    }

    /// Returns the advisories affecting `version` of package `name` in the
    /// OSV ecosystem `ecosystem` (`"crates.io"`, `"PyPI"`, ...).
    ///
    /// Names are normalised per ecosystem on both sides. Withdrawn
    /// advisories never match. Informational advisories go to `warnings`.
    /// Range semantics are described in the crate documentation
    /// ("Matching").
    /// The caller decides which packages to ask about: cargo-audit checks
    /// only crates.io registry packages (not path or git dependencies).
    pub fn match_package(&self, ecosystem: &str, name: &str, version: &str) -> MatchResult {
        match Ecosystem::from_osv(ecosystem.trim()) {
            Some(eco) => self.match_in(eco, name, version),
            None => MatchResult {
                unmatched_reason: Some(format!("unknown ecosystem {ecosystem:?}")),
                ..MatchResult::default()
            },
        }
    }

    /// Same as [`Database::match_package`] with a parsed ecosystem.
    pub fn match_in(&self, eco: Ecosystem, name: &str, version: &str) -> MatchResult {
        let snap = self.snapshot();
        let mut result = MatchResult::default();
        let normalized = eco.normalize_name(name);
        let Some(candidates) = snap.packages.get(&eco).and_then(|m| m.get(normalized.as_str())) else {
            return result;
        };
        let version = version.trim();
        let parsed = Version::parse(eco, version);
        for candidate in candidates {
            let hit = match &parsed {
                Ok(v) => candidate.entries.iter().any(|e| e.affects(v)),
                Err(_) => candidate.entries.iter().any(|e| e.lists_verbatim(version)),
            };
            if hit {
                let list = if candidate.scored.informational.is_some() {
                    &mut result.warnings
                } else {
                    &mut result.vulnerabilities
                };
                list.push(Arc::clone(&candidate.scored));
            }
        }
        if let Err(e) = parsed {
            result.unmatched_reason = Some(format!("{e}; only explicit version lists were checked"));
        }
        let by_risk =
            |a: &Arc<ScoredAdvisory>, b: &Arc<ScoredAdvisory>| b.risk.total_cmp(&a.risk).then_with(|| a.id.cmp(&b.id));
        result.vulnerabilities.sort_by(by_risk);
        result.warnings.sort_by(by_risk);
        result
    }

    /// Imports a path, detecting its kind: a directory of OSV JSON files
    /// (recursive, `*.json`), an OSV zip (osv.dev's `all.zip` layout), a
    /// single OSV JSON file, a CISA KEV JSON catalog, or an EPSS CSV
    /// (optionally gzipped).
    ///
    /// Advisories are kept by newest `modified`, so re-importing is
    /// idempotent. Invalid advisory files are reported and skipped. KEV and
    /// EPSS imports replace the previous catalog/scores. Errors only when
    /// the path itself cannot be read or recognised, or the store fails.
    pub fn import_path(&self, path: impl AsRef<Path>) -> Result<ImportReport, Error> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk_json(path, &mut files).map_err(io)?;
            files.sort();
            let items = files.into_iter().map(|f| {
                let label = f.display().to_string();
                (
                    label,
                    read_limited(&f, MAX_ADVISORY_BYTES).and_then(|b| parse_advisory(&b)),
                )
            });
            return self.import_osv(path, ImportKind::OsvDir, items);
        }
        let mut head = [0_u8; 4];
        let n = File::open(path).and_then(|mut f| f.read(&mut head)).map_err(io)?;
        let head = head.get(..n).unwrap_or_default();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") || ext == "zip" {
            return self.import_zip(path);
        }
        let bytes = read_limited(path, MAX_FEED_BYTES).map_err(|reason| Error::Format {
            path: path.to_path_buf(),
            reason,
        })?;
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if first == Some(b'{') {
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::Format {
                path: path.to_path_buf(),
                reason: format!("invalid JSON: {e}"),
            })?;
            if feeds::is_kev(&value) {
                return self.import_kev(path, value);
            }
            let label = path.display().to_string();
            let item = (label, parse_advisory(&bytes));
            return self.import_osv(path, ImportKind::OsvFile, std::iter::once(item));
        }
        let text = feeds::maybe_gunzip(bytes).map_err(|reason| Error::Format {
            path: path.to_path_buf(),
            reason,
        })?;
        if feeds::is_epss(&text) {
            return self.import_epss(path, &text);
        }
        Err(Error::UnknownKind {
            path: path.to_path_buf(),
        })
    }

    fn import_zip(&self, path: &Path) -> Result<ImportReport, Error> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|source| Error::Zip {
            path: path.to_path_buf(),
            source,
        })?;
        let mut items = Vec::new();
        for i in 0..archive.len() {
            let mut entry = match archive.by_index(i) {
                Ok(e) => e,
                Err(e) => {
                    items.push((format!("{}!#{i}", path.display()), Err(format!("bad zip entry: {e}"))));
                    continue;
                }
            };
            let name = entry.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("#{i}"));
            if entry.is_dir() || !name.to_ascii_lowercase().ends_with(".json") {
                continue;
            }
            let label = format!("{}!{name}", path.display());
            let mut buf = Vec::new();
            let read = (&mut entry).take(MAX_ADVISORY_BYTES + 1).read_to_end(&mut buf);
            let parsed = match read {
                Err(e) => Err(format!("cannot read entry: {e}")),
                Ok(_) if buf.len() as u64 > MAX_ADVISORY_BYTES => Err("entry too large".to_string()),
                Ok(_) => parse_advisory(&buf),
            };
            items.push((label, parsed));
        }
        self.import_osv(path, ImportKind::OsvZip, items)
    }

    fn import_osv(
        &self,
        path: &Path,
        kind: ImportKind,
        items: impl IntoIterator<Item = (String, Result<Advisory, String>)>,
    ) -> Result<ImportReport, Error> {
        let _guard = self.inner.import_lock.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.snapshot();
        let mut report = empty_report(path, kind);
        let mut staged: HashMap<String, Arc<Advisory>> = HashMap::new();
        for (label, parsed) in items {
            let adv = match parsed {
                Ok(a) => a,
                Err(reason) => {
                    report.invalid.push(InvalidFile { file: label, reason });
                    continue;
                }
            };
            let new_time = adv.modified_instant();
            if let Some(prev) = staged.get(&adv.id) {
                // The same id twice in one import: keep the newer, count the other.
                report.skipped += 1;
                if new_time > prev.modified_instant() {
                    staged.insert(adv.id.clone(), Arc::new(adv));
                }
                continue;
            }
            match current.data.advisories.get(&adv.id) {
                None => report.imported += 1,
                Some(old) => match new_time.cmp(&old.modified_instant()) {
                    std::cmp::Ordering::Greater => report.updated += 1,
                    std::cmp::Ordering::Equal => {
                        report.unchanged += 1;
                        continue;
                    }
                    std::cmp::Ordering::Less => {
                        report.skipped += 1;
                        continue;
                    }
                },
            }
            staged.insert(adv.id.clone(), Arc::new(adv));
        }
        let mut data = current.data.clone();
        let changed: Vec<Arc<Advisory>> = staged.into_values().collect();
        let advisories = Arc::make_mut(&mut data.advisories);
        for adv in &changed {
            advisories.insert(adv.id.clone(), Arc::clone(adv));
        }
        self.commit(data, &changed, None, None, report)
    }

    fn import_kev(&self, path: &Path, value: serde_json::Value) -> Result<ImportReport, Error> {
        let catalog = feeds::parse_kev(value).map_err(|reason| Error::Format {
            path: path.to_path_buf(),
            reason,
        })?;
        let _guard = self.inner.import_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut report = empty_report(path, ImportKind::Kev);
        report.imported = catalog.entries.len();
        report.invalid = feed_invalid(path, catalog.invalid);
        let mut data = self.snapshot().data.clone();
        data.kev = Arc::new(catalog.entries);
        data.meta.kev_catalog_version = catalog.version;
        let kev = Arc::clone(&data.kev);
        self.commit(data, &[], Some(&kev), None, report)
    }

    fn import_epss(&self, path: &Path, text: &str) -> Result<ImportReport, Error> {
        let file = feeds::parse_epss(text).map_err(|reason| Error::Format {
            path: path.to_path_buf(),
            reason,
        })?;
        let _guard = self.inner.import_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut report = empty_report(path, ImportKind::Epss);
        report.imported = file.entries.len();
        report.invalid = feed_invalid(path, file.invalid);
        let mut data = self.snapshot().data.clone();
        data.epss = Arc::new(file.entries);
        data.meta.epss_model_version = file.model_version;
        data.meta.epss_score_date = file.score_date;
        let epss = Arc::clone(&data.epss);
        self.commit(data, &[], None, Some(&epss), report)
    }

    /// Persists the change (if persistent), builds and swaps in the new
    /// index, and bumps the generation. Called with the import lock held.
    fn commit(
        &self,
        mut data: Data,
        changed: &[Arc<Advisory>],
        kev: Option<&HashMap<String, KevEntry>>,
        epss: Option<&HashMap<String, Epss>>,
        mut report: ImportReport,
    ) -> Result<ImportReport, Error> {
        let generation = self.generation() + 1;
        data.meta.generation = generation;
        data.meta.last_import = Some(now_unix());
        if let Some(store) = &self.inner.store {
            store.write(changed, kev, epss, &data.meta)?;
        }
        let snapshot = Arc::new(Snapshot::build(data, self.inner.store.is_some()));
        match self.inner.snapshot.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        self.inner.generation.store(generation, Ordering::Release);
        report.generation = generation;
        Ok(report)
    }
}

fn empty_report(path: &Path, kind: ImportKind) -> ImportReport {
    ImportReport {
        path: path.to_path_buf(),
        kind,
        imported: 0,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        invalid: Vec::new(),
        generation: 0,
    }
}

fn feed_invalid(path: &Path, reasons: Vec<String>) -> Vec<InvalidFile> {
    reasons
        .into_iter()
        .map(|reason| InvalidFile {
            file: path.display().to_string(),
            reason,
        })
        .collect()
}

/// Reads at most `limit` bytes of a file; a larger file is an error.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() as u64 > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    Ok(buf)
}

/// Collects `*.json` files under `dir`, not following symlinked directories.
fn walk_json(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let path = entry.path();
        if ty.is_dir() {
            walk_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) && (ty.is_file() || path.is_file()) {
            out.push(path);
        }
    }
    Ok(())
}

/// Returns the CVSS entries of severity strings.
fn cvss_scores<'a>(entries: impl Iterator<Item = &'a SeverityEntry>) -> Vec<CvssScore> {
    entries
        .map(|s| {
            let (score, error) = match s.kind.as_str() {
                "CVSS_V3" | "CVSS_V4" => match score_vector(s.score.trim()) {
                    Ok(v) => (Some(v), None),
                    Err(e) => (None, Some(e.to_string())),
                },
                other => (None, Some(format!("severity type {other} is not scored"))),
            };
            CvssScore {
                kind: s.kind.clone(),
                vector: s.score.clone(),
                score,
                error,
            }
        })
        .collect()
}

/// What scoring needs besides the advisory itself.
struct Scoring<'a> {
    epss: Option<Epss>,
    kev: Option<&'a KevEntry>,
}

impl Scoring<'_> {
    fn score(
        &self,
        adv: &Advisory,
        package: Option<(&str, &str)>,
        extra: &[&crate::osv::Affected],
        fixed_versions: Vec<String>,
        informational: Option<Informational>,
    ) -> ScoredAdvisory {
        let cvss = cvss_scores(adv.severity.iter().chain(extra.iter().flat_map(|a| a.severity.iter())));
        let max_score = cvss.iter().filter_map(|c| c.score).reduce(f64::max);
        let severity = match max_score {
            Some(s) => Severity::from_score(s),
            None => adv
                .label
                .iter()
                .chain(extra.iter().filter_map(|a| a.label.as_ref()))
                .filter_map(|l| Severity::from_label(l))
                .max()
                .unwrap_or(Severity::Unknown),
        };
        let risk = risk_score(max_score, severity, self.epss.map(|e| e.score), self.kev.is_some());
        ScoredAdvisory {
            id: adv.id.clone(),
            aliases: adv.aliases.clone(),
            summary: adv.summary.clone(),
            details: adv.details.clone(),
            ecosystem: package.map(|(e, _)| e.to_string()),
            package: package.map(|(_, n)| n.to_string()),
            severity,
            cvss,
            max_score,
            epss: self.epss,
            kev: self.kev.cloned(),
            fixed_versions,
            references: adv
                .references
                .iter()
                .map(|r| Reference {
                    kind: r.kind.clone(),
                    url: r.url.clone(),
                })
                .collect(),
            published: adv.published.clone(),
            modified: adv.modified.clone(),
            withdrawn: adv.withdrawn.clone(),
            risk,
            informational,
        }
    }
}

/// Returns the `fixed` versions of the SEMVER/ECOSYSTEM ranges of entries,
/// in order, without duplicates.
fn fixed_of<'a>(entries: impl Iterator<Item = &'a crate::osv::Affected>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in entries {
        for r in a.ranges.iter().filter(|r| r.kind == "SEMVER" || r.kind == "ECOSYSTEM") {
            for e in r.events.iter().filter(|e| e.kind == EventKind::Fixed) {
                if !out.contains(&e.version) {
                    out.push(e.version.clone());
                }
            }
        }
    }
    out
}

/// Returns the id prefix that names the advisory's source.
fn source_of(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

impl Snapshot {
    /// Builds the indexes from the data in one pass.
    fn build(data: Data, persistent: bool) -> Snapshot {
        let mut snap = Snapshot::default();
        let mut info = DbInfo {
            persistent,
            kev_entries: data.kev.len(),
            kev_catalog_version: data.meta.kev_catalog_version.clone(),
            epss_entries: data.epss.len(),
            epss_model_version: data.meta.epss_model_version.clone(),
            epss_score_date: data.meta.epss_score_date.clone(),
            last_import: data.meta.last_import,
            generation: data.meta.generation,
            ..DbInfo::default()
        };
        let mut ids: Vec<&String> = data.advisories.keys().collect();
        ids.sort();
        for id in ids {
            let Some(adv) = data.advisories.get(id) else { continue };
            let withdrawn = adv.withdrawn.is_some();
            let bump = |c: &mut Counts| {
                c.advisories += 1;
                c.withdrawn += usize::from(withdrawn);
            };
            info.advisories += 1;
            info.withdrawn += usize::from(withdrawn);
            bump(info.by_source.entry(source_of(&adv.id).to_string()).or_default());
            let mut ecos: Vec<&str> = adv
                .affected
                .iter()
                .filter_map(|a| a.ecosystem.as_deref())
                .map(|e| e.split(':').next().unwrap_or(e))
                .collect();
            ecos.sort_unstable();
            ecos.dedup();
            for e in ecos {
                bump(info.by_ecosystem.entry(e.to_string()).or_default());
            }

            let cves = std::iter::once(&adv.id).chain(adv.aliases.iter()).filter(|a| is_cve(a));
            let scoring = Scoring {
                epss: cves
                    .clone()
                    .filter_map(|c| data.epss.get(c.as_str()).copied())
                    .reduce(|a, b| if b.score > a.score { b } else { a }),
                kev: cves.clone().find_map(|c| data.kev.get(c.as_str())),
            };

            let first_info = adv
                .affected
                .iter()
                .find_map(|a| a.informational.as_deref())
                .map(Informational::parse);
            let whole = scoring.score(adv, None, &[], fixed_of(adv.affected.iter()), first_info);
            snap.by_id.insert(adv.id.clone(), Arc::new(whole));
            for alias in &adv.aliases {
                let alias = alias.trim();
                if alias != adv.id {
                    let list = snap.aliases.entry(alias.to_string()).or_default();
                    if !list.contains(&adv.id) {
                        list.push(adv.id.clone());
                    }
                }
            }
            if withdrawn {
                continue;
            }

            // Group the affected entries by package and informational kind.
            let mut groups: BTreeMap<(Ecosystem, String, Option<String>), Vec<&crate::osv::Affected>> = BTreeMap::new();
            for a in &adv.affected {
                let (Some(eco_name), Some(name)) = (a.ecosystem.as_deref(), a.name.as_deref()) else {
                    continue;
                };
                let Some(eco) = Ecosystem::from_osv(eco_name) else {
                    continue;
                };
                groups
                    .entry((eco, eco.normalize_name(name), a.informational.clone()))
                    .or_default()
                    .push(a);
            }
            for ((eco, normalized, informational), entries) in groups {
                let prepared: Vec<PreparedAffected> = entries
                    .iter()
                    .map(|a| PreparedAffected::new(eco, a, &mut info.skipped_bounds))
                    .filter(|p| !p.is_empty())
                    .collect();
                if prepared.is_empty() {
                    continue;
                }
                let display_name = entries
                    .first()
                    .and_then(|a| a.name.as_deref())
                    .unwrap_or(normalized.as_str());
                let scored = scoring.score(
                    adv,
                    Some((eco.osv_name(), display_name)),
                    &entries,
                    fixed_of(entries.iter().copied()),
                    informational.as_deref().map(Informational::parse),
                );
                snap.packages
                    .entry(eco)
                    .or_default()
                    .entry(normalized)
                    .or_default()
                    .push(PackageAdvisory {
                        scored: Arc::new(scored),
                        entries: prepared,
                    });
            }
        }
        for ids in snap.aliases.values_mut() {
            ids.sort();
        }
        info.packages = snap.packages.values().map(HashMap::len).sum();
        snap.info = info;
        snap.data = data;
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Database>();
    }
}
