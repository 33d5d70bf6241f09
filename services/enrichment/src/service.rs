//! The `EnrichmentService` gRPC implementation: the advisory database behind
//! two moka caches (vulnerabilities by id, match results by package).

use crate::data::DataState;
use crate::{EnrichmentError, convert};
use moka::future::Cache;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tonic::{Request, Response, Status};
use zerotrace_advisory::PackageQuery;
use zerotrace_ecosystem::Ecosystem;
use zerotrace_proto::common::v1 as common;
use zerotrace_proto::enrichment::v1 as pb;
use zerotrace_telemetry::EnrichmentMetrics;

/// Largest number of ids in one BatchGetVulnerabilities call.
const MAX_IDS: usize = 10_000;

/// Cache sizing.
#[derive(Debug, Clone, Copy)]
pub struct CacheConfig {
    /// Entries per cache.
    pub max_entries: u64,
    /// Time to live of an entry.
    pub ttl: Duration,
}

/// The enrichment gRPC service.
#[derive(Clone)]
pub struct Enrichment {
    data: Arc<DataState>,
    metrics: EnrichmentMetrics,
    vulnerabilities: Cache<String, Option<Arc<common::Vulnerability>>>,
    /// The answer for a package, in the contract's form (without the package itself).
    matches: Cache<(String, String, String, i32), Arc<pb::PackageMatch>>,
    /// The database generation the caches were filled from.
    generation: Arc<AtomicU64>,
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
            generation: Arc::new(AtomicU64::new(u64::MAX)),
            data,
            metrics,
            vulnerabilities: Cache::builder()
                .max_capacity(cache.max_entries)
                .time_to_live(cache.ttl)
                .build(),
            matches: Cache::builder()
                .max_capacity(cache.max_entries)
                .time_to_live(cache.ttl)
                .build(),
            max_batch_size,
        }
    }

    /// Drops every cached entry when the database changed since they were
    /// cached (an import by this process or by any other). Returns the
    /// current generation.
    fn invalidate_if_stale(&self) -> Result<u64, EnrichmentError> {
        let now = self.data.database().generation()?;
        if self.generation.swap(now, Ordering::AcqRel) != now {
            self.vulnerabilities.invalidate_all();
            self.matches.invalidate_all();
        }
        Ok(now)
    }

    async fn lookup(&self, id: &str) -> Result<Option<Arc<common::Vulnerability>>, EnrichmentError> {
        let key = id.trim().to_string();
        if let Some(hit) = self.vulnerabilities.get(&key).await {
            self.metrics.cache_hits(1);
            return Ok(hit);
        }
        self.metrics.cache_misses(1);
        let found = self
            .data
            .database()
            .get(&key)?
            .map(|a| Arc::new(convert::vulnerability(&a)));
        self.vulnerabilities.insert(key, found.clone()).await;
        Ok(found)
    }

    async fn match_one(&self, package: &common::Package) -> Result<Arc<pb::PackageMatch>, EnrichmentError> {
        let key = (
            package.ecosystem.clone(),
            package.name.clone(),
            package.version.clone(),
            package.source,
        );
        if let Some(hit) = self.matches.get(&key).await {
            self.metrics.cache_hits(1);
            return Ok(hit);
        }
        self.metrics.cache_misses(1);
        let query = PackageQuery {
            ecosystem: &package.ecosystem,
            name: &package.name,
            version: &package.version,
            source: convert::source(package.source),
        };
        let verdict = self.data.database().match_package(&query)?;
        let answer = Arc::new(pb::PackageMatch {
            package: None,
            vulnerabilities: verdict
                .vulnerabilities
                .iter()
                .map(|a| convert::vulnerability(a))
                .collect(),
            warnings: verdict.warnings.iter().map(|a| convert::vulnerability(a)).collect(),
            unmatched_reason: verdict.unmatched_reason.unwrap_or_default(),
        });
        self.matches.insert(key, answer.clone()).await;
        Ok(answer)
    }
}

#[tonic::async_trait]
impl pb::enrichment_service_server::EnrichmentService for Enrichment {
    async fn match_packages(
        &self,
        request: Request<pb::MatchPackagesRequest>,
    ) -> Result<Response<pb::MatchPackagesResponse>, Status> {
        let packages = request.into_inner().packages;
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
        let mut matches = Vec::with_capacity(packages.len());
        for package in packages {
            let answer = self.match_one(&package).await?;
            matches.push(pb::PackageMatch {
                package: Some(package),
                ..(*answer).clone()
            });
        }
        Ok(Response::new(pb::MatchPackagesResponse {
            matches,
            advisory_data: Some(self.data.advisory_data(&info, ecosystems)),
        }))
    }

    async fn get_vulnerability(
        &self,
        request: Request<pb::GetVulnerabilityRequest>,
    ) -> Result<Response<pb::GetVulnerabilityResponse>, Status> {
        let id = request.into_inner().id;
        if id.trim().is_empty() {
            return Err(EnrichmentError::InvalidArgument("id must not be empty".to_string()).into());
        }
        self.invalidate_if_stale()?;
        match self.lookup(&id).await? {
            Some(vulnerability) => Ok(Response::new(pb::GetVulnerabilityResponse {
                vulnerability: Some((*vulnerability).clone()),
            })),
            None => Err(EnrichmentError::NotFound(id).into()),
        }
    }

    async fn batch_get_vulnerabilities(
        &self,
        request: Request<pb::BatchGetVulnerabilitiesRequest>,
    ) -> Result<Response<pb::BatchGetVulnerabilitiesResponse>, Status> {
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
        let mut response = pb::BatchGetVulnerabilitiesResponse::default();
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            match self.lookup(&id).await? {
                Some(v) => {
                    if seen.insert(v.id.clone()) {
                        response.vulnerabilities.push((*v).clone());
                    }
                }
                None => response.not_found.push(id),
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
