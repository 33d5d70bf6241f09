//! What the service knows of its advisory data: the database summary
//! (re-read when the generation changes, whoever imported), how current
//! each source is, and the state of the background sync. Requests,
//! `GetDatabaseInfo` and the data gauges all read it from here.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use zerotrace_advisory::time::now_unix;
use zerotrace_advisory::{Database, DbInfo, Feed, SourceState, freshness};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_proto::common::v1 as common;
use zerotrace_proto::enrichment::v1 as pb;
use zerotrace_telemetry::DataSourcePoint;

use crate::EnrichmentError;

/// The advisory data of one service.
#[derive(Debug)]
pub(crate) struct DataState {
    db: Database,
    /// The ecosystems the service keeps data for.
    ecosystems: Vec<Ecosystem>,
    /// Data older than this, in seconds, is stale.
    max_age: u64,
    /// The summary of the generation it was read at.
    info: Mutex<Option<Arc<DbInfo>>>,
    sync: Mutex<SyncState>,
}

/// The background sync's state, as `GetDatabaseInfo` reports it.
#[derive(Debug, Clone, Default)]
pub(crate) struct SyncState {
    pub(crate) interval: Option<Duration>,
    pub(crate) running: bool,
    pub(crate) last_attempt: Option<u64>,
    pub(crate) last_success: Option<u64>,
    pub(crate) last_errors: Vec<String>,
    pub(crate) next_attempt: Option<u64>,
}

impl DataState {
    pub(crate) fn new(db: Database, ecosystems: Vec<Ecosystem>, max_age: Duration, interval: Option<Duration>) -> Self {
        Self {
            db,
            ecosystems,
            max_age: max_age.as_secs(),
            info: Mutex::new(None),
            sync: Mutex::new(SyncState {
                interval,
                ..SyncState::default()
            }),
        }
    }

    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    /// The sources the service keeps: each configured ecosystem, KEV and EPSS.
    pub(crate) fn feeds(&self) -> Vec<Feed> {
        self.ecosystems
            .iter()
            .map(|e| Feed::Osv(*e))
            .chain([Feed::Kev, Feed::Epss])
            .collect()
    }

    /// Returns the summary of the database at `generation`, reading it
    /// again only when the generation moved.
    pub(crate) fn info_at(&self, generation: u64) -> Result<Arc<DbInfo>, EnrichmentError> {
        let mut cached = self.info.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(info) = cached.as_ref().filter(|i| i.generation == generation) {
            return Ok(info.clone());
        }
        let info = Arc::new(self.db.info()?);
        *cached = Some(info.clone());
        Ok(info)
    }

    /// Returns the current summary.
    pub(crate) fn info(&self) -> Result<Arc<DbInfo>, EnrichmentError> {
        self.info_at(self.db.generation()?)
    }

    /// Refuses to match against an empty database: that answer would be a
    /// false all-clear.
    pub(crate) fn require_data(&self, info: &DbInfo) -> Result<(), EnrichmentError> {
        if info.advisories > 0 {
            return Ok(());
        }
        let sync = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        let how = match (&sync.interval, sync.running, sync.last_errors.first()) {
            (None, _, _) => "the background sync is off; import data with `zerotrace db import`".to_string(),
            (Some(_), true, _) => "a sync is running; retry when it has finished".to_string(),
            (Some(_), false, Some(error)) => {
                format!("the last sync failed ({error}); import data offline with `zerotrace db import`")
            }
            (Some(_), false, None) => "a sync is due; retry when it has finished".to_string(),
        };
        Err(EnrichmentError::NoData(how))
    }

    /// The contract's view of the data, with notices judged for `ecosystems`.
    pub(crate) fn advisory_data(
        &self,
        info: &DbInfo,
        ecosystems: impl IntoIterator<Item = Ecosystem>,
    ) -> common::AdvisoryData {
        common::AdvisoryData {
            generation: info.generation,
            sources: info.sources.iter().map(source).collect(),
            notices: freshness::notices(&info.sources, ecosystems, self.max_age, now_unix()),
            max_age_seconds: self.max_age,
        }
    }

    /// `GetDatabaseInfo`'s view: notices for every ecosystem the service keeps.
    pub(crate) fn overview(&self, info: &DbInfo) -> common::AdvisoryData {
        self.advisory_data(info, self.ecosystems.iter().copied())
    }

    /// Whether the data should be synced now: a source the service keeps is
    /// missing, undated or older than the maximum age.
    pub(crate) fn needs_sync(&self) -> Result<bool, EnrichmentError> {
        let info = self.info()?;
        let now = now_unix();
        Ok(self.feeds().into_iter().any(|feed| {
            let name = feed.name();
            info.sources
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.age(now))
                .is_none_or(|age| age > self.max_age)
        }))
    }

    /// One point per source the service keeps (missing ones included), for the gauges.
    pub(crate) fn points(&self) -> Vec<DataSourcePoint> {
        let info = match self.info() {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(error = %e, "advisory data gauges not read");
                return Vec::new();
            }
        };
        let now = now_unix();
        self.feeds()
            .into_iter()
            .map(|feed| {
                let name = feed.name();
                let state = info.sources.iter().find(|s| s.name == name);
                // Undated data is as old as its import.
                DataSourcePoint {
                    age_seconds: state
                        .filter(|s| s.entries > 0)
                        .map(|s| s.age(now).unwrap_or_else(|| now.saturating_sub(s.imported_at)) as f64),
                    entries: state.map_or(0, |s| s.entries as u64),
                    source: name,
                }
            })
            .collect()
    }

    pub(crate) fn update_sync(&self, change: impl FnOnce(&mut SyncState)) {
        change(&mut self.sync.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub(crate) fn sync_status(&self) -> pb::SyncStatus {
        let sync = self.sync.lock().unwrap_or_else(|p| p.into_inner()).clone();
        pb::SyncStatus {
            enabled: sync.interval.is_some(),
            interval_seconds: sync.interval.map_or(0, |i| i.as_secs()),
            last_attempt: sync.last_attempt.map(timestamp),
            last_success: sync.last_success.map(timestamp),
            last_errors: sync.last_errors,
            next_attempt: sync.next_attempt.map(timestamp),
            running: sync.running,
        }
    }
}

fn source(state: &SourceState) -> common::AdvisorySource {
    common::AdvisorySource {
        name: state.name.clone(),
        as_of: state.as_of.map(timestamp),
        imported_at: Some(timestamp(state.imported_at)),
        generation: state.generation,
        entries: state.entries as u64,
    }
}

/// Returns the contract's timestamp of Unix seconds.
pub(crate) fn timestamp(unix: u64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: i64::try_from(unix).unwrap_or(i64::MAX),
        nanos: 0,
    }
}
