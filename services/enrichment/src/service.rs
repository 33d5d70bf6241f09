//! The `EnrichmentService` gRPC implementation: the advisory database behind
//! two moka caches (vulnerabilities by id, match results by package).

use crate::data::DataState;
use crate::{EnrichmentError, convert};
/// The service's caches, hashing keys with foldhash: a look-up per package
/// of a batch makes the hasher part of every MatchPackages call.
type Cache<K, V> = moka::sync::Cache<K, V, foldhash::fast::RandomState>;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tonic::{Request, Response, Status};
use zerotrace_advisory::PackageQuery;
use zerotrace_ecosystem::Ecosystem;
use zerotrace_proto::advisories::{self, AdvisoryList};
use zerotrace_proto::common::v1 as common;
use zerotrace_proto::encoded::{self, EncodedVulnerability};
use zerotrace_proto::enrichment::v1 as pb;
use zerotrace_telemetry::EnrichmentMetrics;

/// Largest number of ids in one BatchGetVulnerabilities call.
const MAX_IDS: usize = 10_000;
/// Longest advisory id accepted (OSV ids are under 40 bytes).
const MAX_ID_LEN: usize = 256;
/// A miss is remembered only for a key that could be real: an id or a
/// package name and version within these lengths, of a known ecosystem.
/// Misses on anything else are answered afresh and never fill the cache.
const MAX_CACHED_MISS_LEN: usize = 128;
/// Bytes a cache entry costs besides its key and value (moka's bookkeeping).
const ENTRY_OVERHEAD: u32 = 128;
/// Calls ask the database whether an import happened (by this process or by
/// `zerotrace db import` in another) at most this often: the question is a
/// SQLite read with its file locks, which cost more than a cached look-up.
/// An import is therefore served at most this long after it committed.
const GENERATION_CHECK_EVERY: Duration = Duration::from_millis(200);

/// Cache sizing: each cache holds at most `max_entries` entries and about
/// `max_bytes` bytes, whichever is reached first.
#[derive(Debug, Clone, Copy)]
pub struct CacheConfig {
    /// Entries per cache.
    pub max_entries: u64,
    /// Bytes per cache (keys and values as encoded, plus bookkeeping).
    pub max_bytes: u64,
    /// Time to live of an entry.
    pub ttl: Duration,
}

impl CacheConfig {
    /// The least an entry weighs, so that `max_bytes` of weight is never
    /// more than `max_entries` entries.
    fn min_weight(&self) -> u32 {
        u32::try_from(self.max_bytes / self.max_entries.max(1))
            .unwrap_or(u32::MAX)
            .max(1)
    }

    fn build<K, V>(&self, size: fn(&K, &V) -> usize) -> Cache<K, V>
    where
        K: std::hash::Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let min_weight = self.min_weight();
        moka::sync::Cache::builder()
            .max_capacity(self.max_bytes)
            .weigher(move |k: &K, v: &V| {
                let bytes = u32::try_from(size(k, v)).unwrap_or(u32::MAX);
                bytes.saturating_add(ENTRY_OVERHEAD).max(min_weight)
            })
            .time_to_live(self.ttl)
            .build_with_hasher(foldhash::fast::RandomState::default())
    }
}

/// The match cache's key of a package: its ecosystem, name and version,
/// each length-prefixed so that no two packages share one, then its source
/// as four characters (one per byte). Written into a reused buffer, so a
/// look-up allocates nothing.
fn write_match_key(key: &mut String, package: &common::Package) {
    key.clear();
    advisories::push_key_part(key, &package.ecosystem);
    advisories::push_key_part(key, &package.name);
    advisories::push_key_part(key, &package.version);
    key.extend(package.source.to_le_bytes().map(char::from));
}

/// An advisory as the look-up cache keeps it: its id, and its encoding,
/// made once, which GetVulnerability and BatchGetVulnerabilities send as is.
#[derive(Debug)]
struct CachedAdvisory {
    id: String,
    encoded: EncodedVulnerability,
}

impl CachedAdvisory {
    fn new(vulnerability: &common::Vulnerability) -> Self {
        Self {
            id: vulnerability.id.clone(),
            encoded: EncodedVulnerability::new(vulnerability),
        }
    }
}

/// An advisory matched for a package, scored for it: its key in a
/// response's advisory list, and its encodings in both views, made once.
#[derive(Debug)]
struct MatchedAdvisory {
    /// [`advisories::reference_key`] of the package and the advisory.
    key: String,
    full: EncodedVulnerability,
    basic: EncodedVulnerability,
}

impl MatchedAdvisory {
    /// `vulnerability` as scored for `package`, whose name is spelled alike
    /// as `name` (see [`same_package_name`]).
    fn new(package: &common::Package, name: &str, vulnerability: &common::Vulnerability) -> Self {
        Self {
            key: advisories::reference_key(&package.ecosystem, name, &vulnerability.id),
            full: EncodedVulnerability::new(vulnerability),
            basic: EncodedVulnerability::new(&advisories::without_long_text(vulnerability)),
        }
    }

    /// The encoding of `view`.
    fn view(&self, view: View) -> &EncodedVulnerability {
        match view {
            View::Full => &self.full,
            View::Basic => &self.basic,
        }
    }

    /// Bytes it holds.
    fn size(&self) -> usize {
        self.key.len() + self.full.len() + self.basic.len()
    }
}

/// How much of each advisory a response carries (the request's `advisory_view`).
#[derive(Debug, Clone, Copy)]
enum View {
    Full,
    Basic,
}

impl View {
    fn of(requested: i32) -> Self {
        match pb::AdvisoryView::try_from(requested) {
            Ok(pb::AdvisoryView::Basic) => View::Basic,
            // Unspecified, FULL, or a view this build does not know: all of it.
            _ => View::Full,
        }
    }
}

/// The answer for a package as the match cache keeps it (without the
/// package): its advisories as scored for it.
#[derive(Debug, Default)]
struct CachedMatch {
    vulnerabilities: Vec<MatchedAdvisory>,
    warnings: Vec<MatchedAdvisory>,
    unmatched_reason: String,
}

impl CachedMatch {
    /// Bytes it holds.
    fn size(&self) -> usize {
        self.vulnerabilities
            .iter()
            .chain(&self.warnings)
            .map(MatchedAdvisory::size)
            .sum::<usize>()
            + self.unmatched_reason.len()
    }
}

/// `Enrichment::generation` before the first check: no generation is known.
const UNKNOWN_GENERATION: u64 = u64::MAX;
/// `Enrichment::generation_checked` before the first check.
const NEVER_CHECKED: u64 = u64::MAX;

/// Checks an advisory id a client sent; the error quotes none of it.
fn checked_id(field: impl std::fmt::Display, id: &str) -> Result<&str, EnrichmentError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(EnrichmentError::InvalidArgument(format!("{field} must not be empty")));
    }
    if id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
        return Err(EnrichmentError::InvalidArgument(format!(
            "{field} must be at most {MAX_ID_LEN} bytes without control characters (got {} bytes)",
            id.len()
        )));
    }
    Ok(id)
}

/// The enrichment gRPC service.
#[derive(Clone)]
pub struct Enrichment {
    data: Arc<DataState>,
    metrics: EnrichmentMetrics,
    /// Advisories by id or alias, encoded as the look-ups send them.
    vulnerabilities: Cache<String, Option<Arc<CachedAdvisory>>>,
    /// The answer for a package.
    matches: Cache<String, Arc<CachedMatch>>,
    /// The database generation the caches were filled from.
    generation: Arc<AtomicU64>,
    /// When the generation was last read from the database, in milliseconds
    /// since `epoch` (`NEVER_CHECKED` until the first call).
    generation_checked: Arc<AtomicU64>,
    epoch: Instant,
    max_batch_size: u32,
}

impl std::fmt::Debug for Enrichment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrichment")
            .field("db", self.data.database())
            .finish_non_exhaustive()
    }
}

impl Enrichment {
    /// Returns a service over the data of `data`.
    pub(crate) fn new(
        data: Arc<DataState>,
        metrics: EnrichmentMetrics,
        cache: CacheConfig,
        max_batch_size: u32,
    ) -> Self {
        Self {
            // The first request compares with the database and finds the caches fresh.
            generation: Arc::new(AtomicU64::new(UNKNOWN_GENERATION)),
            generation_checked: Arc::new(AtomicU64::new(NEVER_CHECKED)),
            epoch: Instant::now(),
            data,
            metrics,
            vulnerabilities: cache.build(|key: &String, v: &Option<Arc<CachedAdvisory>>| {
                key.len() + v.as_ref().map_or(0, |v| v.id.len() + v.encoded.len())
            }),
            matches: cache.build(|key: &String, m: &Arc<CachedMatch>| key.len() + m.size()),
            max_batch_size,
        }
    }

    /// Drops every cached entry when the database changed since they were
    /// cached (an import by this process or by any other), asking the
    /// database at most once per [`GENERATION_CHECK_EVERY`]; one call asks
    /// while the others go on with the generation known. Returns the
    /// generation the caches hold.
    fn invalidate_if_stale(&self) -> Result<u64, EnrichmentError> {
        let now_ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        let checked = self.generation_checked.load(Ordering::Acquire);
        let due =
            checked == NEVER_CHECKED || now_ms.saturating_sub(checked) >= GENERATION_CHECK_EVERY.as_millis() as u64;
        if !due
            || self
                .generation_checked
                .compare_exchange(checked, now_ms, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            let known = self.generation.load(Ordering::Acquire);
            if known != UNKNOWN_GENERATION {
                return Ok(known);
            }
            // The first check has not finished yet: ask, as it does.
        }
        let now = match self.data.database().generation() {
            Ok(now) => now,
            Err(e) => {
                // The next call asks again.
                self.generation_checked.store(NEVER_CHECKED, Ordering::Release);
                return Err(e.into());
            }
        };
        if self.generation.swap(now, Ordering::AcqRel) != now {
            self.vulnerabilities.invalidate_all();
            self.matches.invalidate_all();
        }
        Ok(now)
    }

    /// Looks up an advisory by a [`checked_id`].
    fn lookup(&self, key: &str) -> Result<Option<Arc<CachedAdvisory>>, EnrichmentError> {
        if let Some(hit) = self.vulnerabilities.get(key) {
            self.metrics.cache_hits(1);
            return Ok(hit);
        }
        self.metrics.cache_misses(1);
        let read_at = self.generation.load(Ordering::Acquire);
        let found = self
            .data
            .database()
            .get(key)?
            .map(|a| Arc::new(CachedAdvisory::new(&convert::vulnerability(&a))));
        if found.is_some() || key.len() <= MAX_CACHED_MISS_LEN {
            fill(
                &self.vulnerabilities,
                &self.generation,
                read_at,
                key.to_string(),
                found.clone(),
            );
        }
        Ok(found)
    }

    /// The match of each package, in order: cached answers as they are, the
    /// others read from the database in one transaction and cached.
    fn match_all(&self, packages: &[common::Package]) -> Result<Vec<Arc<CachedMatch>>, EnrichmentError> {
        let mut key = String::new();
        let mut answers = Vec::with_capacity(packages.len());
        // The indexes of the packages not in the cache; their places hold
        // an empty match until the database's answer replaces it below.
        let mut missing = Vec::new();
        let unanswered = Arc::new(CachedMatch::default());
        for package in packages {
            write_match_key(&mut key, package);
            match self.matches.get(key.as_str()) {
                Some(hit) => answers.push(hit),
                None => {
                    missing.push(answers.len());
                    answers.push(Arc::clone(&unanswered));
                }
            }
        }
        self.metrics.cache_hits((packages.len() - missing.len()) as u64);
        if missing.is_empty() {
            return Ok(answers);
        }
        self.metrics.cache_misses(missing.len() as u64);
        let queries: Vec<PackageQuery<'_>> = missing
            .iter()
            .map(|&i| {
                let package = &packages[i];
                PackageQuery {
                    ecosystem: &package.ecosystem,
                    name: &package.name,
                    version: &package.version,
                    source: convert::source(package.source),
                }
            })
            .collect();
        let read_at = self.generation.load(Ordering::Acquire);
        let verdicts = self.data.database().match_packages(&queries)?;
        for (&i, verdict) in missing.iter().zip(verdicts) {
            let package = &packages[i];
            let name = same_package_name(package);
            let cached = |a: &Arc<zerotrace_advisory::ScoredAdvisory>| {
                MatchedAdvisory::new(package, &name, &convert::vulnerability(a))
            };
            let answer = Arc::new(CachedMatch {
                vulnerabilities: verdict.vulnerabilities.iter().map(cached).collect(),
                warnings: verdict.warnings.iter().map(cached).collect(),
                unmatched_reason: verdict.unmatched_reason.unwrap_or_default(),
            });
            let plausible = Ecosystem::from_osv(package.ecosystem.trim()).is_some()
                && package.name.len() <= MAX_CACHED_MISS_LEN
                && package.version.len() <= MAX_CACHED_MISS_LEN;
            if plausible || !answer.vulnerabilities.is_empty() || !answer.warnings.is_empty() {
                write_match_key(&mut key, package);
                fill(&self.matches, &self.generation, read_at, key.clone(), answer.clone());
            }
            answers[i] = answer;
        }
        Ok(answers)
    }
}

/// Caches `value`, read from the database when the caches held generation
/// `read_at`, unless they have been dropped since: an answer read before an
/// import must not outlive the drop that follows it. The check comes after
/// the insert, so a drop between the two removes the entry as well.
fn fill<V>(cache: &Cache<String, V>, generation: &AtomicU64, read_at: u64, key: String, value: V)
where
    V: Clone + Send + Sync + 'static,
{
    cache.insert(key.clone(), value);
    if generation.load(Ordering::Acquire) != read_at {
        cache.invalidate(&key);
    }
}

/// The name of `package` as its ecosystem spells names alike: the versions
/// of one package share an advisory's entry in a response.
fn same_package_name(package: &common::Package) -> String {
    match Ecosystem::from_osv(package.ecosystem.trim()) {
        Some(ecosystem) => ecosystem.normalize_name(&package.name),
        None => package.name.clone(),
    }
}

/// The matches of a batch with each advisory once: a match refers to its
/// advisories by position in the returned list. An advisory is scored per
/// package name, so the versions of one package share its entry (the key
/// each cached advisory carries).
fn by_reference<'a>(
    packages: Vec<common::Package>,
    answers: &'a [Arc<CachedMatch>],
    view: View,
) -> (Vec<encoded::PackageMatch>, Vec<EncodedVulnerability>) {
    // At most every advisory of every answer, when no two share an entry.
    let entries = answers.iter().map(|a| a.vulnerabilities.len() + a.warnings.len()).sum();
    let mut advisories = AdvisoryList::with_capacity(entries);
    let matches = packages
        .into_iter()
        .zip(answers)
        .map(|(package, answer)| {
            let mut refer = |a: &'a MatchedAdvisory| advisories.position_by_key(&a.key, || a.view(view).clone());
            let vulnerability_refs = answer.vulnerabilities.iter().map(&mut refer).collect();
            let warning_refs = answer.warnings.iter().map(&mut refer).collect();
            encoded::PackageMatch {
                package: Some(package),
                unmatched_reason: answer.unmatched_reason.clone(),
                vulnerability_refs,
                warning_refs,
                ..Default::default()
            }
        })
        .collect();
    (matches, advisories.into_vec())
}

#[tonic::async_trait]
impl pb::encoded_server::enrichment_service_server::EnrichmentService for Enrichment {
    async fn match_packages(
        &self,
        request: Request<pb::MatchPackagesRequest>,
    ) -> Result<Response<encoded::MatchPackagesResponse>, Status> {
        let pb::MatchPackagesRequest {
            packages,
            advisories_by_reference,
            advisory_view,
        } = request.into_inner();
        let view = View::of(advisory_view);
        if packages.len() > self.max_batch_size as usize {
            return Err(EnrichmentError::TooLarge {
                what: "packages",
                count: packages.len(),
                limit: self.max_batch_size as usize,
            }
            .into());
        }
        let generation = self.invalidate_if_stale()?;
        let info = self.data.info_at(generation)?;
        self.data.require_data(&info)?;
        let ecosystems: std::collections::BTreeSet<Ecosystem> = packages
            .iter()
            .filter_map(|p| Ecosystem::from_osv(p.ecosystem.trim()))
            .collect();
        let answers = self.match_all(&packages)?;
        let (matches, advisories) = if advisories_by_reference {
            by_reference(packages, &answers, view)
        } else {
            let embedded = packages
                .into_iter()
                .zip(answers)
                .map(|(package, answer)| encoded::PackageMatch {
                    package: Some(package),
                    vulnerabilities: answer.vulnerabilities.iter().map(|a| a.view(view).clone()).collect(),
                    warnings: answer.warnings.iter().map(|a| a.view(view).clone()).collect(),
                    unmatched_reason: answer.unmatched_reason.clone(),
                    ..Default::default()
                })
                .collect();
            (embedded, Vec::new())
        };
        Ok(Response::new(encoded::MatchPackagesResponse {
            matches,
            advisory_data: Some(self.data.advisory_data(&info, ecosystems)),
            advisories,
        }))
    }

    async fn get_vulnerability(
        &self,
        request: Request<pb::GetVulnerabilityRequest>,
    ) -> Result<Response<encoded::GetVulnerabilityResponse>, Status> {
        let request = request.into_inner();
        let id = checked_id("id", &request.id)?;
        self.invalidate_if_stale()?;
        match self.lookup(id)? {
            Some(advisory) => Ok(Response::new(encoded::GetVulnerabilityResponse::new(
                advisory.encoded.clone(),
            ))),
            None => Err(EnrichmentError::NotFound(id.to_string()).into()),
        }
    }

    async fn batch_get_vulnerabilities(
        &self,
        request: Request<pb::BatchGetVulnerabilitiesRequest>,
    ) -> Result<Response<encoded::BatchGetVulnerabilitiesResponse>, Status> {
        let ids = request.into_inner().ids;
        if ids.len() > MAX_IDS {
            return Err(EnrichmentError::TooLarge {
                what: "ids",
                count: ids.len(),
                limit: MAX_IDS,
            }
            .into());
        }
        self.invalidate_if_stale()?;
        let mut response = encoded::BatchGetVulnerabilitiesResponse::default();
        let ids = ids
            .iter()
            .enumerate()
            .map(|(i, id)| checked_id(format_args!("ids[{i}]"), id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            match self.lookup(id)? {
                Some(advisory) => {
                    if seen.insert(advisory.id.clone()) {
                        response.vulnerabilities.push(advisory.encoded.clone());
                    }
                }
                None => response.not_found.push(id.to_string()),
            }
        }
        Ok(Response::new(response))
    }

    async fn get_database_info(
        &self,
        _request: Request<pb::GetDatabaseInfoRequest>,
    ) -> Result<Response<pb::GetDatabaseInfoResponse>, Status> {
        let info = self.data.info()?;
        let mut counts: Vec<pb::EcosystemCount> = info
            .by_ecosystem
            .iter()
            .map(|(ecosystem, c)| pb::EcosystemCount {
                ecosystem: ecosystem.clone(),
                source: String::new(),
                advisories: c.advisories as u64,
                withdrawn: c.withdrawn as u64,
            })
            .collect();
        counts.extend(info.by_source.iter().map(|(source, c)| pb::EcosystemCount {
            ecosystem: String::new(),
            source: source.clone(),
            advisories: c.advisories as u64,
            withdrawn: c.withdrawn as u64,
        }));
        Ok(Response::new(pb::GetDatabaseInfoResponse {
            counts,
            total_advisories: info.advisories as u64,
            last_import: info.last_import.map(crate::data::timestamp),
            kev_entries: info.kev_entries as u64,
            epss_entries: info.epss_entries as u64,
            max_batch_size: self.max_batch_size,
            advisory_data: Some(self.data.overview(&info)),
            sync: Some(self.data.sync_status()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache of strings of 1,000 entries and 1 MiB, as the service builds its caches.
    fn string_cache() -> Cache<String, String> {
        let config = CacheConfig {
            max_entries: 1000,
            max_bytes: 1 << 20,
            ttl: Duration::from_secs(60),
        };
        config.build(|k: &String, v: &String| k.len() + v.len())
    }

    #[test]
    fn a_cache_holds_its_bytes_and_its_entries() {
        let cache = string_cache();
        for i in 0..200 {
            cache.insert(format!("big-{i}"), "v".repeat(64 << 10));
        }
        cache.run_pending_tasks();
        assert!(cache.weighted_size() <= 1 << 20, "{} bytes", cache.weighted_size());
        assert!(cache.entry_count() <= 16, "{} entries of 64 KiB", cache.entry_count());
        let small = string_cache();
        for i in 0..5000 {
            small.insert(format!("{i}"), String::new());
        }
        small.run_pending_tasks();
        assert!(small.entry_count() <= 1000, "{} small entries", small.entry_count());
    }

    #[test]
    fn an_answer_read_before_the_caches_were_dropped_is_not_kept() {
        let cache = string_cache();
        let generation = AtomicU64::new(7);
        fill(&cache, &generation, 7, "fresh".into(), "read at 7".into());
        // Read while the caches held 6; an import and a drop came meanwhile.
        fill(&cache, &generation, 6, "stale".into(), "read at 6".into());
        assert_eq!(cache.get("fresh").as_deref(), Some("read at 7"));
        assert_eq!(cache.get("stale"), None);
    }

    #[test]
    fn ids_are_checked_without_quoting_them() {
        assert_eq!(checked_id("id", " CVE-2021-1 ").unwrap(), "CVE-2021-1");
        let err = checked_id("id", &"Z".repeat(5000)).unwrap_err().to_string();
        assert!(!err.contains("ZZZ") && err.contains("5000 bytes"), "{err}");
        assert!(checked_id("id", "a\nb").is_err());
        assert!(checked_id("id", "  ").is_err());
    }

    #[test]
    fn packages_that_differ_in_any_part_have_different_match_keys() {
        let package = |ecosystem: &str, name: &str, version: &str, source: i32| common::Package {
            ecosystem: ecosystem.into(),
            name: name.into(),
            version: version.into(),
            source,
            ..Default::default()
        };
        let packages = [
            package("crates.io", "ab", "1.0.0", 0),
            package("crates.io", "a", "b1.0.0", 0),
            package("crates.ioa", "b", "1.0.0", 0),
            package("crates.io", "ab", "1.0.0", 1),
            package("crates.io", "ab", "1.0.01", 0),
            package("crates.io", "ab", "1.0.0", 10),
            package("crates.io", "ab", "1.0.0", 256),
            package("crates.io", "ab", "1.0.0", -1),
        ];
        let mut keys = std::collections::HashSet::new();
        let mut key = String::new();
        for p in &packages {
            write_match_key(&mut key, p);
            assert!(keys.insert(key.clone()), "{key} twice");
        }
        write_match_key(&mut key, &packages[0]);
        assert!(keys.contains(&key), "the same package, the same key");
    }
}
