//! Keeping the database current: each source (the OSV zip of an ecosystem,
//! the CISA KEV catalog, the EPSS scores) is fetched from a configurable
//! URL and imported, one source at a time, so a failure of one leaves the
//! others synced. `zerotrace db sync` and the enrichment service's
//! background sync both run this code.
//!
//! A download is streamed to a private temp file beside the database, with
//! a size cap and a time limit, then imported strictly
//! ([`ImportOptions::strict`]): a truncated, damaged or garbage file, or an
//! archive that inflates past its cap, is refused and nothing it holds is
//! stored. The import is one transaction, so readers (the running service
//! included) see the old data or the new, never half of it.
//!
//! URLs may be `https://`, `http://` (a mirror) or `file://` (an air-gapped
//! copy, read in place).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zerotrace_ecosystem::Ecosystem;

use crate::{Database, Error, Feed, ImportOptions, ImportReport};

/// osv.dev's bucket of per-ecosystem `all.zip` files.
pub const DEFAULT_OSV_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";
/// The CISA KEV catalog.
pub const DEFAULT_KEV_URL: &str = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
/// FIRST's current EPSS scores.
pub const DEFAULT_EPSS_URL: &str = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz";
/// The largest OSV zip downloaded (npm's is a few hundred MB).
pub const DEFAULT_MAX_ZIP_BYTES: u64 = 4 << 30;
/// The largest KEV or EPSS download (both are a few MB).
const MAX_FEED_DOWNLOAD_BYTES: u64 = 256 << 20;

/// Where each source comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// Base of the OSV zips: `{base}/{ecosystem}/all.zip`.
    pub osv_base_url: String,
    /// The ecosystems whose OSV data is synced.
    pub ecosystems: Vec<Ecosystem>,
    /// The KEV catalog's URL; `None` skips it.
    pub kev_url: Option<String>,
    /// The EPSS scores' URL (CSV, optionally gzipped); `None` skips it.
    pub epss_url: Option<String>,
    /// The longest one download may take.
    pub timeout: Duration,
    /// The largest OSV zip accepted, in bytes.
    pub max_zip_bytes: u64,
}

impl Default for Sources {
    /// Every ecosystem from osv.dev, KEV from CISA, EPSS from FIRST.
    fn default() -> Self {
        Sources {
            osv_base_url: DEFAULT_OSV_BASE_URL.to_string(),
            ecosystems: Ecosystem::ALL.to_vec(),
            kev_url: Some(DEFAULT_KEV_URL.to_string()),
            epss_url: Some(DEFAULT_EPSS_URL.to_string()),
            timeout: Duration::from_secs(600),
            max_zip_bytes: DEFAULT_MAX_ZIP_BYTES,
        }
    }
}

impl Sources {
    /// Checks that every URL is `http(s)://` or `file://` with an absolute path.
    pub fn validate(&self) -> Result<(), String> {
        for (_, url) in self.feeds() {
            check_url(&url)?;
        }
        check_url(&self.osv_base_url)
    }

    /// Each source to sync with its URL, in sync order: OSV first, then
    /// KEV and EPSS (whose import rescores the advisories).
    pub fn feeds(&self) -> Vec<(Feed, String)> {
        let base = self.osv_base_url.trim_end_matches('/');
        let mut out: Vec<(Feed, String)> = self
            .ecosystems
            .iter()
            .map(|eco| (Feed::Osv(*eco), format!("{base}/{}/all.zip", eco.osv_name())))
            .collect();
        out.extend(self.kev_url.clone().map(|url| (Feed::Kev, url)));
        out.extend(self.epss_url.clone().map(|url| (Feed::Epss, url)));
        out
    }
}

fn check_url(url: &str) -> Result<(), String> {
    if let Some(path) = url.strip_prefix("file://") {
        if !Path::new(path).is_absolute() {
            return Err(format!(
                "{url:?}: a file:// URL needs an absolute path (file:///srv/mirror)"
            ));
        }
        return Ok(());
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(());
    }
    Err(format!("{url:?} is not an http(s):// or file:// URL"))
}

/// Told about downloads as they happen (the CLI draws a progress bar).
pub trait Observer {
    /// A download starts; `total` is its length when the server says it.
    fn started(&self, _url: &str, _total: Option<u64>) {}
    /// `bytes` more arrived.
    fn advanced(&self, _bytes: u64) {}
    /// The download ended, however it ended.
    fn finished(&self) {}
    /// Whether to give up: a download in flight stops at its next chunk.
    fn cancelled(&self) -> bool {
        false
    }
}

/// An [`Observer`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// What syncing one source did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// The source was downloaded and imported.
    Imported(ImportReport),
    /// The server said the data has not changed since the last sync.
    NotModified,
}

/// The outcome of syncing one source.
#[derive(Debug)]
pub struct Outcome {
    /// The source.
    pub feed: Feed,
    /// Where it was fetched from.
    pub url: String,
    /// What happened; an error leaves the source as it was.
    pub result: Result<Synced, String>,
}

/// Syncs every source of `sources`, one after the other, downloading into
/// `scratch` (a directory beside the database). Never stops at a failed
/// source: each outcome says what happened to its own.
pub fn sync(db: &Database, sources: &Sources, scratch: &Path, observer: &dyn Observer) -> Vec<Outcome> {
    remove_leftovers(scratch);
    let agent = agent(sources.timeout);
    sources
        .feeds()
        .into_iter()
        .map(|(feed, url)| {
            let cap = match feed {
                Feed::Osv(_) => sources.max_zip_bytes,
                Feed::Kev | Feed::Epss => MAX_FEED_DOWNLOAD_BYTES,
            };
            let result = if observer.cancelled() {
                Err("cancelled".to_string())
            } else {
                sync_one(db, &agent, feed, &url, cap, scratch, observer)
            };
            Outcome { feed, url, result }
        })
        .collect()
}

/// Removes downloads a sync cut short (by a crash or a stop) left behind:
/// those untouched for an hour, so another process's download in flight
/// is left alone.
fn remove_leftovers(scratch: &Path) {
    let Ok(entries) = std::fs::read_dir(scratch) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600));
        if name.starts_with(".zerotrace-sync-") && name.ends_with(".part") && stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30).min(timeout)))
        .timeout_global(Some(timeout))
        .user_agent(concat!("zerotrace/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn sync_one(
    db: &Database,
    agent: &ureq::Agent,
    feed: Feed,
    url: &str,
    cap: u64,
    scratch: &Path,
    observer: &dyn Observer,
) -> Result<Synced, String> {
    check_url(url)?;
    let mut options = ImportOptions {
        strict: true,
        feed: Some(feed),
        as_of: None,
        origin: Some(url.to_string()),
    };
    if let Some(path) = url.strip_prefix("file://") {
        // A local copy is read in place; it is as current as its data.
        return import(db, Path::new(path), url, &options).map(Synced::Imported);
    }
    let since = last_synced_from(db, feed, url)?;
    zerotrace_files::create_private_dir(scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let mut part = tempfile::Builder::new()
        .prefix(".zerotrace-sync-")
        .suffix(".part")
        .tempfile_in(scratch)
        .map_err(|e| format!("cannot create a temp file in {}: {e}", scratch.display()))?;
    match download(agent, url, since, cap, part.as_file_mut(), observer)? {
        Fetched::NotModified => Ok(Synced::NotModified),
        Fetched::Body { last_modified } => {
            options.as_of = last_modified;
            import(db, part.path(), url, &options).map(Synced::Imported)
        }
    }
}

/// Imports what was fetched from `url`; an error names the URL, not the temp file.
fn import(db: &Database, path: &Path, url: &str, options: &ImportOptions) -> Result<ImportReport, String> {
    db.import_with(path, options).map_err(|e| {
        let reason = match e {
            Error::Format { reason, .. } => reason,
            Error::Zip { source, .. } => format!("not a valid zip: {source}"),
            Error::UnknownKind { .. } => "not an OSV zip, a KEV catalog or an EPSS CSV".to_string(),
            Error::Io { source, .. } => source.to_string(),
            other => other.to_string(),
        };
        format!("{url}: {reason}")
    })
}

/// The `as_of` of the source's last sync from this very URL, for
/// `If-Modified-Since`.
fn last_synced_from(db: &Database, feed: Feed, url: &str) -> Result<Option<u64>, String> {
    let info = db.info().map_err(|e| e.to_string())?;
    Ok(info
        .sources
        .iter()
        .find(|s| s.name == feed.name() && s.origin == url && s.entries > 0)
        .and_then(|s| s.as_of))
}

enum Fetched {
    NotModified,
    Body { last_modified: Option<u64> },
}

/// Streams `url` into `to`. An HTTP error status, a body over `cap`, a
/// connection closed before `Content-Length` bytes, or the time limit is
/// an error.
fn download(
    agent: &ureq::Agent,
    url: &str,
    since: Option<u64>,
    cap: u64,
    to: &mut std::fs::File,
    observer: &dyn Observer,
) -> Result<Fetched, String> {
    let mut request = agent.get(url);
    if let Some(since) = since {
        request = request.header("If-Modified-Since", crate::time::format_http_date(since));
    }
    let response = request.call().map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if status.as_u16() == 304 {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let expected = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(len) = expected
        && len > cap
    {
        return Err(format!("GET {url}: {len} bytes is over the limit of {cap}"));
    }
    let last_modified = header("last-modified").and_then(|v| crate::time::parse_http_date(&v));
    let mut reader = response.into_body().into_with_config().limit(cap).reader();
    observer.started(url, expected);
    let copied = copy_observed(&mut reader, to, observer);
    observer.finished();
    let n = copied.map_err(|e| format!("GET {url}: download interrupted: {e}"))?;
    if let Some(len) = expected
        && n != len
    {
        return Err(format!("GET {url}: truncated download ({n} of {len} bytes)"));
    }
    to.sync_all().map_err(|e| format!("cannot write the download: {e}"))?;
    Ok(Fetched::Body { last_modified })
}

fn copy_observed(from: &mut impl Read, to: &mut std::fs::File, observer: &dyn Observer) -> std::io::Result<u64> {
    use std::io::Write as _;
    let mut buf = vec![0_u8; 64 * 1024];
    let mut total = 0_u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(buf.get(..n).unwrap_or_default())?;
        total += n as u64;
        observer.advanced(n as u64);
        if observer.cancelled() {
            return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "cancelled"));
        }
    }
}

/// The directory downloads go to before they are imported: beside the
/// database, so a download never fills another file system.
pub fn scratch_dir(database_dir: &Path) -> PathBuf {
    database_dir.join("downloads")
}
