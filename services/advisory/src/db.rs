//! The database: imports, look-ups and matching over the SQLite store.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};
use zerotrace_ecosystem::{Ecosystem, Version};

use crate::Error;
use crate::candidates::CandidateCache;
use crate::feeds::{self, Epss, KevEntry};
use crate::freshness::{Feed, SourceState};
use crate::matcher::PreparedAffected;
use crate::model::{
    Counts, DbInfo, ImportKind, ImportOptions, ImportReport, InvalidFile, PackageQuery, ScoredAdvisory, Verdict,
};
use crate::osv::{Advisory, Affected, parse_advisory};
use crate::scoring::{self, Exploitation, PackageScore};
use crate::store::{self, Store};
use crate::time::now_unix;

/// The largest OSV file (or zip entry) read; larger ones are invalid.
const MAX_ADVISORY_BYTES: u64 = 32 << 20;
/// The largest feed (KEV JSON, EPSS CSV after decompression) read: both
/// are a few MB today.
const MAX_FEED_BYTES: u64 = 256 << 20;
/// A zip may inflate to this many times its own size (OSV JSON compresses
/// about 10:1) ...
const MAX_INFLATION_RATIO: u64 = 100;
/// ... or to this many bytes, whichever is larger; past that it is a zip bomb.
const MIN_INFLATION_CAP: u64 = 256 << 20;

/// The advisory database: OSV advisories with KEV and EPSS data, indexed by
/// package, id and alias, in a SQLite file (or in memory).
///
/// Cloning is cheap (an `Arc`); all methods take `&self` and the type is
/// `Send + Sync`. Each look-up reads only the rows it needs. Any number of
/// processes may read while one imports: an import is one transaction, so a
/// reader sees the data before it or after it, never between.
#[derive(Clone)]
pub struct Database {
    store: Arc<Store>,
    /// What the store knows of each package name asked about, parsed.
    candidates: Arc<CandidateCache>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("persistent", &self.store.is_persistent())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens (or creates) the persistent database in the directory `dir`.
    /// Nothing is loaded: look-ups read the file.
    pub fn open(dir: impl AsRef<Path>) -> Result<Database, Error> {
        let db = Database {
            store: Arc::new(Store::open(dir.as_ref())?),
            candidates: Arc::default(),
        };
        if db.store.read(|tx| needs_backfill(tx))? {
            db.store.write(|tx| backfill_sources(tx))?;
        }
        Ok(db)
    }

    /// Returns whether `dir` holds a persistent database (without creating one).
    pub fn exists(dir: impl AsRef<Path>) -> bool {
        dir.as_ref().join(store::FILE_NAME).is_file()
    }

    /// Returns the file of an earlier format left in `dir`, which this
    /// version no longer reads (its data must be imported again), if any.
    pub fn legacy_file(dir: impl AsRef<Path>) -> Option<PathBuf> {
        Some(dir.as_ref().join(store::LEGACY_FILE_NAME)).filter(|p| p.is_file())
    }

    /// Returns an empty database that lives in memory only (for
    /// `zerotrace scan --db all.zip`): imports are not persisted.
    pub fn in_memory() -> Result<Database, Error> {
        Ok(Database {
            store: Arc::new(Store::in_memory()?),
            candidates: Arc::default(),
        })
    }

    /// Returns an in-memory database loaded from OSV zips/directories and
    /// feeds, stopping at the first path that cannot be imported at all.
    pub fn load<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<(Database, Vec<ImportReport>), Error> {
        let db = Database::in_memory()?;
        let mut reports = Vec::new();
        for p in paths {
            reports.push(db.import_path(p.as_ref())?);
        }
        Ok((db, reports))
    }

    /// Returns a counter that grows with every import (persisted, so it
    /// also grows across restarts and is shared by every process using the
    /// file); caches keyed on it never serve results from older data.
    pub fn generation(&self) -> Result<u64, Error> {
        self.store.read_one(generation)
    }

    /// Returns the advisory with this id, or the first (by id) advisory
    /// naming it as an alias. Withdrawn advisories are returned too.
    pub fn get(&self, id_or_alias: &str) -> Result<Option<Arc<ScoredAdvisory>>, Error> {
        Ok(self.resolve(id_or_alias)?.into_iter().next())
    }

    /// Returns every advisory with this id or alias (a CVE can be aliased
    /// by several advisories, e.g. a GHSA and a PYSEC): the advisory of
    /// that id first, then the ones naming it, by id.
    pub fn resolve(&self, id_or_alias: &str) -> Result<Vec<Arc<ScoredAdvisory>>, Error> {
        let key = id_or_alias.trim();
        self.store.read(|tx| {
            let mut out = Vec::new();
            if let Some(a) = scored_by_id(tx, key)? {
                out.push(a);
            }
            let mut stmt = tx.prepare_cached("SELECT id FROM aliases WHERE alias = ?1 ORDER BY id")?;
            let ids: Vec<String> = stmt.query_map([key], |r| r.get(0))?.collect::<Result<_, _>>()?;
            for id in ids {
                if out.iter().all(|a| a.id != id)
                    && let Some(a) = scored_by_id(tx, &id)?
                {
                    out.push(a);
                }
            }
            Ok(out)
        })
    }

    /// Returns the KEV entry of a CVE, if listed.
    pub fn kev(&self, cve: &str) -> Result<Option<KevEntry>, Error> {
        self.store.read(|tx| kev_entry(tx, cve.trim()))
    }

    /// Returns the EPSS score of a CVE, if known.
    pub fn epss(&self, cve: &str) -> Result<Option<Epss>, Error> {
        self.store.read(|tx| epss_entry(tx, cve.trim()))
    }

    /// Returns counts and metadata, as of the last import.
    pub fn info(&self) -> Result<DbInfo, Error> {
        let persistent = self.store.is_persistent();
        self.store.read(|tx| {
            let mut info: DbInfo = match store::meta(tx, "info")? {
                Some(json) => serde_json::from_str(&json).map_err(|e| Error::Corrupt(format!("meta info: {e}")))?,
                None => DbInfo::default(),
            };
            info.generation = generation(tx)?;
            info.persistent = persistent;
            info.sources = sources(tx, &info)?;
            Ok(info)
        })
    }

    /// Returns the verdict on one package: the advisories affecting its
    /// version, or why it is not matched ([`PackageQuery::matchable`]).
    ///
    /// Names are normalised per ecosystem on both sides. Withdrawn
    /// advisories never match. Informational advisories go to `warnings`.
    /// Range semantics are described in the crate documentation
    /// ("Matching").
    pub fn match_package(&self, package: &PackageQuery<'_>) -> Result<Verdict, Error> {
        self.store.read(|tx| {
            let generation = generation(tx)?;
            self.verdict(tx, generation, package)
        })
    }

    /// Returns the verdicts on several packages, in their order, all read
    /// in one transaction (one committed state, and no per-package
    /// transaction cost): what a scan of a lockfile asks.
    pub fn match_packages(&self, packages: &[PackageQuery<'_>]) -> Result<Vec<Verdict>, Error> {
        self.store.read(|tx| {
            let generation = generation(tx)?;
            packages.iter().map(|p| self.verdict(tx, generation, p)).collect()
        })
    }

    /// The verdict on one package, inside a read transaction at `generation`.
    fn verdict(&self, tx: &Connection, generation: u64, package: &PackageQuery<'_>) -> Result<Verdict, Error> {
        match package.matchable() {
            Ok(eco) => self.affecting(tx, generation, eco, package.name, package.version),
            Err(reason) => Ok(Verdict {
                unmatched_reason: Some(reason),
                ..Verdict::default()
            }),
        }
    }

    /// The advisories of `name` in `eco` that affect `version`.
    fn affecting(
        &self,
        tx: &Connection,
        generation: u64,
        eco: Ecosystem,
        name: &str,
        version: &str,
    ) -> Result<Verdict, Error> {
        let normalized = eco.normalize_name(name);
        let version = version.trim();
        let mut result = Verdict::default();
        let candidates = self.candidates.get(tx, generation, eco, &normalized)?;
        if candidates.advisories.is_empty() {
            // No advisory names the package: an all-clear only if the
            // database has advisories of its ecosystem at all.
            if !candidates.ecosystem_covered {
                result.unmatched_reason = Some(format!("no {} advisories in the database", eco.osv_name()));
            }
            return Ok(result);
        }
        let parsed = Version::parse(eco, version);
        for candidate in &candidates.advisories {
            let hit = candidate.affected.iter().any(|prepared| match &parsed {
                Ok(v) => prepared.affects(v),
                Err(_) => prepared.lists_verbatim(version),
            });
            if !hit {
                continue;
            }
            let advisory = candidate.scored(tx, eco, &normalized)?;
            if advisory.informational.is_some() {
                result.warnings.push(advisory);
            } else {
                result.vulnerabilities.push(advisory);
            }
        }
        if let Err(e) = parsed {
            result.unmatched_reason = Some(format!("{e}; only explicit version lists were checked"));
        }
        let by_risk =
            |a: &Arc<ScoredAdvisory>, b: &Arc<ScoredAdvisory>| b.risk.total_cmp(&a.risk).then_with(|| a.id.cmp(&b.id));
        result.vulnerabilities.sort_by(by_risk);
        result.warnings.sort_by(by_risk);
        Ok(result)
    }

    /// Imports a path, detecting its kind: a directory of OSV JSON files
    /// (recursive, `*.json`), an OSV zip (osv.dev's `all.zip` layout), a
    /// single OSV JSON file, a CISA KEV JSON catalog, or an EPSS CSV
    /// (optionally gzipped).
    ///
    /// Advisories are kept by newest `modified`, so re-importing is
    /// idempotent. Invalid advisory files are reported and skipped. KEV and
    /// EPSS imports replace the previous catalog/scores. Errors only when
    /// the path itself cannot be read or recognised, or the store fails;
    /// then nothing of it is stored.
    pub fn import_path(&self, path: impl AsRef<Path>) -> Result<ImportReport, Error> {
        self.import_with(path.as_ref(), &ImportOptions::default())
    }

    /// Imports a path as [`Database::import_path`] does, with `options`
    /// (what a sync knows of a download, and whether damage refuses it).
    pub fn import_with(&self, path: &Path, options: &ImportOptions) -> Result<ImportReport, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let expect = |found: ImportKind| -> Result<(), Error> {
            match options.feed {
                Some(feed) if !found.carries(feed) => Err(Error::Format {
                    path: path.to_path_buf(),
                    reason: format!("expected {feed} data, found {}", found.describe()),
                }),
                _ => Ok(()),
            }
        };
        if meta.is_dir() {
            expect(ImportKind::OsvDir)?;
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
            return self.import_osv(path, ImportKind::OsvDir, items, options);
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
            expect(ImportKind::OsvZip)?;
            return self.import_zip(path, options);
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
                expect(ImportKind::Kev)?;
                return self.import_kev(path, value, options);
            }
            expect(ImportKind::OsvFile)?;
            let label = path.display().to_string();
            let item = (label, parse_advisory(&bytes));
            return self.import_osv(path, ImportKind::OsvFile, std::iter::once(item), options);
        }
        let text = feeds::maybe_gunzip(bytes, MAX_FEED_BYTES).map_err(|reason| Error::Format {
            path: path.to_path_buf(),
            reason,
        })?;
        if feeds::is_epss(&text) {
            expect(ImportKind::Epss)?;
            return self.import_epss(path, &text, options);
        }
        Err(Error::UnknownKind {
            path: path.to_path_buf(),
        })
    }

    fn import_zip(&self, path: &Path, options: &ImportOptions) -> Result<ImportReport, Error> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let cap = size.saturating_mul(MAX_INFLATION_RATIO).max(MIN_INFLATION_CAP);
        let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|source| Error::Zip {
            path: path.to_path_buf(),
            source,
        })?;
        // Entries are read one at a time inside the import: memory holds
        // one advisory, not the archive.
        let mut i = 0;
        let mut inflated = 0_u64;
        let entries = std::iter::from_fn(move || {
            while i < archive.len() {
                let index = i;
                i += 1;
                let mut entry = match archive.by_index(index) {
                    Ok(e) => e,
                    Err(e) => {
                        return Some(Entry::Damaged(
                            format!("{}!#{index}", path.display()),
                            format!("bad zip entry: {e}"),
                        ));
                    }
                };
                let name = entry
                    .name()
                    .map(|n| n.into_owned())
                    .unwrap_or_else(|_| format!("#{index}"));
                if entry.is_dir() || !name.to_ascii_lowercase().ends_with(".json") {
                    continue;
                }
                let label = format!("{}!{name}", path.display());
                let mut buf = Vec::new();
                let read = (&mut entry).take(MAX_ADVISORY_BYTES + 1).read_to_end(&mut buf);
                inflated = inflated.saturating_add(buf.len() as u64);
                if inflated > cap {
                    return Some(Entry::Fatal(format!(
                        "the archive inflates past {cap} bytes ({MAX_INFLATION_RATIO} times its size): refused as a zip bomb"
                    )));
                }
                return Some(match read {
                    Err(e) => Entry::Damaged(label, format!("cannot read entry: {e}")),
                    Ok(_) if buf.len() as u64 > MAX_ADVISORY_BYTES => {
                        Entry::Damaged(label, format!("entry inflates past {MAX_ADVISORY_BYTES} bytes"))
                    }
                    Ok(_) => Entry::Parsed(label, parse_advisory(&buf)),
                });
            }
            None
        });
        self.import_entries(path, ImportKind::OsvZip, entries, options)
    }

    fn import_osv(
        &self,
        path: &Path,
        kind: ImportKind,
        items: impl IntoIterator<Item = (String, Result<Advisory, String>)>,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let entries = items.into_iter().map(|(label, parsed)| Entry::Parsed(label, parsed));
        self.import_entries(path, kind, entries, options)
    }

    /// Imports advisories one by one in a single transaction: each is
    /// compared with the stored copy by `modified` and written when newer.
    /// The same id twice in one import counts once; the newer copy wins.
    /// A fatal entry (a zip bomb) stores nothing; so does, when
    /// `options.strict`, a damaged entry or an input with no valid advisory.
    fn import_entries(
        &self,
        path: &Path,
        kind: ImportKind,
        entries: impl IntoIterator<Item = Entry>,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let mut report = empty_report(path, kind);
        let refuse = |reason: String| Error::Format {
            path: path.to_path_buf(),
            reason,
        };
        self.store.write(|tx| {
            let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
            let mut newest: std::collections::BTreeMap<Ecosystem, u64> = std::collections::BTreeMap::new();
            for entry in entries {
                let adv = match entry {
                    Entry::Parsed(_, Ok(a)) => a,
                    Entry::Parsed(file, Err(reason)) => {
                        report.invalid.push(InvalidFile { file, reason });
                        continue;
                    }
                    Entry::Damaged(file, reason) if options.strict => {
                        return Err(refuse(format!("damaged: {file}: {reason}")));
                    }
                    Entry::Damaged(file, reason) => {
                        report.invalid.push(InvalidFile { file, reason });
                        continue;
                    }
                    Entry::Fatal(reason) => return Err(refuse(reason)),
                };
                if let Some(modified) = crate::time::parse_unix(&adv.modified) {
                    for eco in scoring::ecosystems_of(&adv).into_iter().filter_map(Ecosystem::from_osv) {
                        let slot = newest.entry(eco).or_insert(0);
                        *slot = (*slot).max(modified);
                    }
                }
                let stored: Option<String> = tx
                    .prepare_cached("SELECT modified FROM advisories WHERE id = ?1")?
                    .query_row([&adv.id], |r| r.get(0))
                    .optional()?;
                let newer = stored
                    .as_deref()
                    .is_none_or(|old| adv.modified_instant() > crate::time::instant_or_min(old));
                if !seen.insert(adv.id.clone()) {
                    report.skipped += 1;
                    if newer {
                        write_advisory(tx, &adv)?;
                    }
                    continue;
                }
                match stored {
                    None => report.imported += 1,
                    Some(old) => match adv.modified_instant().cmp(&crate::time::instant_or_min(&old)) {
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
                write_advisory(tx, &adv)?;
            }
            if options.strict && seen.is_empty() {
                return Err(refuse(format!(
                    "no valid advisory in it ({} invalid files)",
                    report.invalid.len()
                )));
            }
            report.generation = commit(tx)?;
            let origin = origin(path, options);
            if let Some(Feed::Osv(eco)) = options.feed {
                newest.entry(eco).or_insert(0);
            }
            for (eco, data_time) in newest {
                let feed = Feed::Osv(eco);
                let as_of = match options.as_of {
                    Some(t) if options.feed == Some(feed) => Some(t),
                    _ => Some(data_time).filter(|t| *t > 0),
                };
                record_source(tx, feed, as_of, report.generation, &origin)?;
            }
            Ok(())
        })?;
        Ok(report)
    }

    fn import_kev(
        &self,
        path: &Path,
        value: serde_json::Value,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let catalog = feeds::parse_kev(value).map_err(|reason| Error::Format {
            path: path.to_path_buf(),
            reason,
        })?;
        if options.strict && catalog.entries.is_empty() {
            return Err(Error::Format {
                path: path.to_path_buf(),
                reason: "the KEV catalog lists no valid entry".to_string(),
            });
        }
        let as_of = options
            .as_of
            .or_else(|| catalog.released.as_deref().and_then(crate::time::parse_unix));
        let mut report = empty_report(path, ImportKind::Kev);
        report.imported = catalog.entries.len();
        report.invalid = feed_invalid(path, catalog.invalid);
        self.store.write(|tx| {
            tx.execute("DELETE FROM kev", [])?;
            let mut insert = tx.prepare_cached("INSERT INTO kev (cve, entry) VALUES (?1, ?2)")?;
            for (cve, entry) in &catalog.entries {
                insert.execute(params![cve, encode(entry)?])?;
            }
            match &catalog.version {
                Some(v) => store::set_meta(tx, "kev_catalog_version", v)?,
                None => store::clear_meta(tx, "kev_catalog_version")?,
            }
            rescore_all(tx)?;
            report.generation = commit(tx)?;
            record_source(tx, Feed::Kev, as_of, report.generation, &origin(path, options))?;
            Ok(())
        })?;
        Ok(report)
    }

    fn import_epss(&self, path: &Path, text: &str, options: &ImportOptions) -> Result<ImportReport, Error> {
        let file = feeds::parse_epss(text).map_err(|reason| Error::Format {
            path: path.to_path_buf(),
            reason,
        })?;
        if options.strict && file.entries.is_empty() {
            return Err(Error::Format {
                path: path.to_path_buf(),
                reason: "the EPSS file holds no valid score".to_string(),
            });
        }
        let as_of = options
            .as_of
            .or_else(|| file.score_date.as_deref().and_then(crate::time::parse_unix));
        let mut report = empty_report(path, ImportKind::Epss);
        report.imported = file.entries.len();
        report.invalid = feed_invalid(path, file.invalid);
        self.store.write(|tx| {
            tx.execute("DELETE FROM epss", [])?;
            let mut insert = tx.prepare_cached("INSERT INTO epss (cve, score, percentile) VALUES (?1, ?2, ?3)")?;
            for (cve, e) in &file.entries {
                insert.execute(params![cve, e.score, e.percentile])?;
            }
            for (key, value) in [
                ("epss_model_version", &file.model_version),
                ("epss_score_date", &file.score_date),
            ] {
                match value {
                    Some(v) => store::set_meta(tx, key, v)?,
                    None => store::clear_meta(tx, key)?,
                }
            }
            rescore_all(tx)?;
            report.generation = commit(tx)?;
            record_source(tx, Feed::Epss, as_of, report.generation, &origin(path, options))?;
            Ok(())
        })?;
        Ok(report)
    }
}

/// One entry of an OSV archive or directory, as read.
#[allow(
    clippy::large_enum_variant,
    reason = "one entry exists at a time; boxing would allocate per advisory"
)]
enum Entry {
    /// Read whole: the advisory, or why it is invalid (skipped and reported).
    Parsed(String, Result<Advisory, String>),
    /// Could not be read whole (a damaged archive).
    Damaged(String, String),
    /// Ends the import: nothing of it is stored.
    Fatal(String),
}

fn origin(path: &Path, options: &ImportOptions) -> String {
    options.origin.clone().unwrap_or_else(|| path.display().to_string())
}

/// Records an import of one source. Its `as_of` never goes back: the
/// database holds the union of what was imported.
fn record_source(tx: &Connection, feed: Feed, as_of: Option<u64>, generation: u64, origin: &str) -> Result<(), Error> {
    let as_of = as_of.map(|t| i64::try_from(t).unwrap_or(i64::MAX));
    tx.prepare_cached(
        "INSERT INTO sources (name, as_of, imported_at, generation, origin) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (name) DO UPDATE SET
             as_of = CASE WHEN sources.as_of IS NULL OR excluded.as_of > sources.as_of
                          THEN excluded.as_of ELSE sources.as_of END,
             imported_at = excluded.imported_at, generation = excluded.generation, origin = excluded.origin",
    )?
    .execute(params![
        feed.name(),
        as_of,
        i64::try_from(now_unix()).unwrap_or(i64::MAX),
        i64::try_from(generation).unwrap_or(i64::MAX),
        origin
    ])?;
    Ok(())
}

/// Returns the sources of the database, with the entries each holds now.
fn sources(tx: &Connection, info: &DbInfo) -> Result<Vec<SourceState>, Error> {
    let mut stmt =
        tx.prepare_cached("SELECT name, as_of, imported_at, generation, origin FROM sources ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, as_of, imported_at, generation, origin) = row?;
        let entries = match Feed::parse(&name) {
            Some(Feed::Osv(eco)) => info.by_ecosystem.get(eco.osv_name()).map_or(0, |c| c.advisories),
            Some(Feed::Kev) => info.kev_entries,
            Some(Feed::Epss) => info.epss_entries,
            None => 0,
        };
        out.push(SourceState {
            name,
            as_of: as_of.and_then(|t| u64::try_from(t).ok()),
            imported_at: u64::try_from(imported_at).unwrap_or(0),
            generation: u64::try_from(generation).unwrap_or(0),
            entries,
            origin,
        });
    }
    Ok(out)
}

/// Whether the database holds data but no record of its sources (it was
/// written before sources were recorded).
fn needs_backfill(tx: &Connection) -> Result<bool, Error> {
    let recorded = tx.prepare("SELECT 1 FROM sources LIMIT 1")?.exists([])?;
    Ok(!recorded && generation(tx)? > 0)
}

/// Gives a database written before sources were recorded its sources,
/// dated by its data: the newest `modified` per ecosystem; KEV and EPSS
/// by their catalog and score dates where known.
fn backfill_sources(tx: &Connection) -> Result<(), Error> {
    if !needs_backfill(tx)? {
        return Ok(());
    }
    let generation = generation(tx)?;
    let newest: Vec<(String, String)> = tx
        .prepare("SELECT e.value, MAX(a.modified) FROM advisories a, json_each(a.ecosystems) e GROUP BY e.value")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let origin = "an import before this version";
    for (name, modified) in newest {
        if let Some(eco) = Ecosystem::from_osv(&name) {
            record_source(
                tx,
                Feed::Osv(eco),
                crate::time::parse_unix(&modified),
                generation,
                origin,
            )?;
        }
    }
    let count = |table: &str| -> Result<i64, Error> {
        Ok(tx.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
    };
    if count("kev")? > 0 {
        record_source(tx, Feed::Kev, None, generation, origin)?;
    }
    if count("epss")? > 0 {
        let date = store::meta(tx, "epss_score_date")?;
        record_source(
            tx,
            Feed::Epss,
            date.as_deref().and_then(crate::time::parse_unix),
            generation,
            origin,
        )?;
    }
    Ok(())
}

fn generation(tx: &Connection) -> Result<u64, Error> {
    Ok(store::meta_i64(tx, "generation")?.map_or(0, |g| u64::try_from(g).unwrap_or(0)))
}

fn scored_by_id(tx: &Connection, id: &str) -> Result<Option<Arc<ScoredAdvisory>>, Error> {
    let bytes: Option<Vec<u8>> = tx
        .prepare_cached("SELECT scored FROM advisories WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    bytes.map(|b| decode(&b, "advisory").map(Arc::new)).transpose()
}

fn kev_entry(tx: &Connection, cve: &str) -> Result<Option<KevEntry>, Error> {
    let bytes: Option<Vec<u8>> = tx
        .prepare_cached("SELECT entry FROM kev WHERE cve = ?1")?
        .query_row([cve], |r| r.get(0))
        .optional()?;
    bytes.map(|b| decode(&b, "kev entry")).transpose()
}

fn epss_entry(tx: &Connection, cve: &str) -> Result<Option<Epss>, Error> {
    Ok(tx
        .prepare_cached("SELECT score, percentile FROM epss WHERE cve = ?1")?
        .query_row([cve], |r| {
            Ok(Epss {
                score: r.get(0)?,
                percentile: r.get(1)?,
            })
        })
        .optional()?)
}

/// Writes an advisory and everything derived from it (scores, package
/// rows, aliases), replacing what an earlier copy had written.
fn write_advisory(tx: &Connection, adv: &Advisory) -> Result<(), Error> {
    let exploitation = Exploitation::of(adv, |cve| epss_entry(tx, cve), |cve| kev_entry(tx, cve))?;
    tx.prepare_cached("DELETE FROM packages WHERE id = ?1")?
        .execute([&adv.id])?;
    tx.prepare_cached("DELETE FROM aliases WHERE id = ?1")?
        .execute([&adv.id])?;
    let withdrawn = adv.withdrawn.is_some();
    let whole = scoring::score_whole(adv, &exploitation);
    tx.prepare_cached(
        "INSERT INTO advisories (id, modified, source, withdrawn, ecosystems, body, scored)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, source = excluded.source,
             withdrawn = excluded.withdrawn, ecosystems = excluded.ecosystems,
             body = excluded.body, scored = excluded.scored",
    )?
    .execute(params![
        adv.id,
        adv.modified,
        scoring::source_of(&adv.id),
        withdrawn,
        serde_json::to_string(&scoring::ecosystems_of(adv)).map_err(|e| Error::Corrupt(e.to_string()))?,
        encode(adv)?,
        encode(&whole)?,
    ])?;
    let mut alias = tx.prepare_cached("INSERT OR IGNORE INTO aliases (alias, id) VALUES (?1, ?2)")?;
    for a in adv
        .aliases
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty() && *a != adv.id)
    {
        alias.execute(params![a, adv.id])?;
    }
    if withdrawn {
        return Ok(());
    }
    let mut package = tx.prepare_cached(
        "INSERT INTO packages (ecosystem, name, id, informational, ranges, scored, skipped_bounds)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for group in scoring::package_groups(adv) {
        let mut skipped = 0;
        let matchable = group
            .entries
            .iter()
            .any(|a| !PreparedAffected::new(group.ecosystem, a, &mut skipped).is_empty());
        if !matchable {
            continue;
        }
        let entries: Vec<&Affected> = group.entries.clone();
        let scored = PackageScore::of(scoring::score_package(adv, &group, &exploitation));
        package.execute(params![
            group.ecosystem.osv_name(),
            group.normalized,
            adv.id,
            group.informational.as_deref().unwrap_or_default(),
            encode(&entries)?,
            encode(&scored)?,
            i64::try_from(skipped).unwrap_or(i64::MAX),
        ])?;
    }
    Ok(())
}

/// Rewrites every advisory's derived rows: the feeds they were scored with changed.
fn rescore_all(tx: &Connection) -> Result<(), Error> {
    let bodies: Vec<Vec<u8>> = tx
        .prepare("SELECT body FROM advisories ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for body in bodies {
        let adv: Advisory = decode(&body, "advisory body")?;
        write_advisory(tx, &adv)?;
    }
    Ok(())
}

/// Ends an import: recounts, stamps the time and bumps the generation.
/// Returns the new generation.
fn commit(tx: &Connection) -> Result<u64, Error> {
    let generation = generation(tx)? + 1;
    let mut info = DbInfo {
        last_import: Some(now_unix()),
        kev_catalog_version: store::meta(tx, "kev_catalog_version")?,
        epss_model_version: store::meta(tx, "epss_model_version")?,
        epss_score_date: store::meta(tx, "epss_score_date")?,
        ..DbInfo::default()
    };
    let (advisories, withdrawn): (i64, i64) = tx.query_row(
        "SELECT COUNT(*), COALESCE(SUM(withdrawn), 0) FROM advisories",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    info.advisories = count(advisories);
    info.withdrawn = count(withdrawn);
    let grouped = |sql: &str| -> Result<std::collections::BTreeMap<String, Counts>, Error> {
        let mut stmt = tx.prepare(sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Counts {
                    advisories: count(r.get(1)?),
                    withdrawn: count(r.get(2)?),
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    info.by_source = grouped("SELECT source, COUNT(*), SUM(withdrawn) FROM advisories GROUP BY source")?;
    info.by_ecosystem = grouped(
        "SELECT e.value, COUNT(*), SUM(a.withdrawn) FROM advisories a, json_each(a.ecosystems) e GROUP BY e.value",
    )?;
    let (packages, skipped): (i64, i64) = tx.query_row(
        "SELECT (SELECT COUNT(*) FROM (SELECT DISTINCT ecosystem, name FROM packages)),
                (SELECT COALESCE(SUM(skipped_bounds), 0) FROM packages)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    info.packages = count(packages);
    info.skipped_bounds = count(skipped);
    info.kev_entries = count(tx.query_row("SELECT COUNT(*) FROM kev", [], |r| r.get(0))?);
    info.epss_entries = count(tx.query_row("SELECT COUNT(*) FROM epss", [], |r| r.get(0))?);
    store::set_meta(
        tx,
        "info",
        &serde_json::to_string(&info).map_err(|e| Error::Corrupt(e.to_string()))?,
    )?;
    store::set_meta(tx, "generation", &generation.to_string())?;
    Ok(generation)
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Corrupt(format!("cannot encode: {e}")))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("stored {what}: {e}")))
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

/// Reads a regular file of at most `limit` bytes; anything else is an error.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    zerotrace_files::read_limited(path, limit)
        .map(|(bytes, _)| bytes)
        .map_err(|e| e.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Database>();
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn cached_candidates_follow_another_handles_import_and_are_shared_across_versions() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("enrichment");
        let reader = Database::open(&dir).unwrap();
        let writer = Database::open(&dir).unwrap();
        let advisory = |id: &str, fixed: &str| {
            let file = tmp.path().join(format!("{id}.json"));
            std::fs::write(
                &file,
                format!(
                    r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z",
                       "affected":[{{"package":{{"ecosystem":"crates.io","name":"demo"}},
                       "ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}]}}"#
                ),
            )
            .unwrap();
            file
        };
        writer.import_path(advisory("ZT-1", "2.0.0")).unwrap();
        let ids = |version: &str| -> Vec<String> {
            let verdict = reader
                .match_package(&PackageQuery::registry("crates.io", "demo", version))
                .unwrap();
            verdict.vulnerabilities.iter().map(|a| a.id.clone()).collect()
        };
        assert_eq!(ids("1.0.0"), ["ZT-1"]);
        assert_eq!(ids("2.5.0"), Vec::<String>::new());
        // Two versions hit by one advisory share its record.
        let one = reader
            .match_package(&PackageQuery::registry("crates.io", "demo", "1.0.0"))
            .unwrap();
        let two = reader
            .match_package(&PackageQuery::registry("crates.io", "demo", "1.1.0"))
            .unwrap();
        assert!(Arc::ptr_eq(&one.vulnerabilities[0], &two.vulnerabilities[0]));
        // Another handle (another process) imports: the reader's cached
        // candidates of `demo` give way at once.
        writer.import_path(advisory("ZT-2", "3.0.0")).unwrap();
        assert_eq!(ids("2.5.0"), ["ZT-2"]);
        assert_eq!(ids("1.0.0"), ["ZT-1", "ZT-2"]);
    }

    #[cfg(unix)]
    #[test]
    #[allow(clippy::unwrap_used)]
    fn files_are_private_and_every_handle_sees_an_import_at_once() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("enrichment");
        let reader = Database::open(&dir).unwrap();
        let writer = Database::open(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(store::FILE_NAME)), 0o600);
        assert_eq!(reader.generation().unwrap(), 0);

        let file = tmp.path().join("ZT-1.json");
        std::fs::write(
            &file,
            r#"{"id":"ZT-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-0001"],
               "affected":[{"package":{"ecosystem":"PyPI","name":"Demo_Pkg"},
               "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0"}]}]}]}"#,
        )
        .unwrap();
        let report = writer.import_path(&file).unwrap();
        assert_eq!((report.imported, report.generation), (1, 1));
        for wal in ["-wal", "-shm"] {
            let path = dir.join(format!("{}{wal}", store::FILE_NAME));
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
        assert_eq!(reader.generation().unwrap(), 1);
        assert_eq!(reader.info().unwrap().advisories, 1);
        let hit = reader
            .match_package(&PackageQuery::registry("PyPI", "demo-pkg", "1.5"))
            .unwrap();
        assert_eq!(hit.vulnerabilities.len(), 1);
        assert_eq!(hit.vulnerabilities[0].package.as_deref(), Some("Demo_Pkg"));
        assert_eq!(hit.vulnerabilities[0].fixed_versions, ["2.0"]);
        assert!(
            reader
                .match_package(&PackageQuery::registry("PyPI", "demo-pkg", "2.0"))
                .unwrap()
                .vulnerabilities
                .is_empty()
        );
        assert_eq!(reader.get("CVE-2024-0001").unwrap().unwrap().id, "ZT-1");
    }
}
