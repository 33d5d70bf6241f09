//! The background sync: keeps the advisory data current by itself.
//!
//! At start it syncs at once when a source the service keeps is missing,
//! undated or older than the maximum age; then every interval (with 10%
//! jitter, so a fleet of services does not hit the mirrors at once). A
//! failed source keeps its data and is retried with backoff: one minute,
//! doubling, at most the interval. Each sync runs on its own thread: a
//! download in flight never holds up shutdown (an import cut short is
//! rolled back by SQLite, and a leftover download is removed by a later
//! sync).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use zerotrace_advisory::sync::{self, Observer, Outcome, Sources, Synced};
use zerotrace_advisory::time::now_unix;
use zerotrace_telemetry::{AdvisoryDataMetrics, SyncOutcome};

use crate::data::DataState;

/// The first retry after a failed sync.
const FIRST_RETRY: Duration = Duration::from_secs(60);

/// A running background sync; stopping it cancels a download in flight.
#[derive(Debug)]
pub(crate) struct BackgroundSync {
    task: tokio::task::JoinHandle<()>,
    cancelled: Arc<AtomicBool>,
}

impl BackgroundSync {
    /// Starts syncing `sources` into the state's database every `interval`.
    pub(crate) fn start(
        state: Arc<DataState>,
        sources: Sources,
        scratch: PathBuf,
        interval: Duration,
        metrics: AdvisoryDataMetrics,
    ) -> Self {
        let cancelled = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(state, sources, scratch, interval, metrics, cancelled.clone()));
        Self { task, cancelled }
    }

    /// Stops the loop and cancels a download in flight.
    pub(crate) fn stop(self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.task.abort();
    }
}

/// Cancels downloads once the service stops.
struct Cancel(Arc<AtomicBool>);

impl Observer for Cancel {
    fn cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

async fn run(
    state: Arc<DataState>,
    sources: Sources,
    scratch: PathBuf,
    interval: Duration,
    metrics: AdvisoryDataMetrics,
    cancelled: Arc<AtomicBool>,
) {
    let mut delay = match state.needs_sync() {
        Ok(true) => {
            let empty = state.info().map(|i| i.advisories == 0).unwrap_or(true);
            tracing::info!(
                sources = sources.feeds().len(),
                osv = %sources.osv_base_url,
                "{}: syncing now",
                if empty {
                    "the advisory database is empty"
                } else {
                    "advisory data is missing or older than the maximum age"
                }
            );
            Duration::ZERO
        }
        Ok(false) => jittered(interval),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the advisory database; syncing now");
            Duration::ZERO
        }
    };
    let mut backoff = FIRST_RETRY;
    loop {
        state.update_sync(|s| s.next_attempt = Some(now_unix() + delay.as_secs()));
        tokio::time::sleep(delay).await;
        let started = now_unix();
        state.update_sync(|s| {
            s.running = true;
            s.last_attempt = Some(started);
            s.next_attempt = None;
        });
        let outcomes = sync_on_thread(&state, &sources, &scratch, &cancelled).await;
        let mut errors = Vec::new();
        for outcome in &outcomes {
            let source = outcome.feed.name();
            match &outcome.result {
                Ok(Synced::Imported(report)) => {
                    metrics.record_sync(&source, SyncOutcome::Success);
                    tracing::info!(
                        source,
                        imported = report.imported,
                        updated = report.updated,
                        invalid = report.invalid.len(),
                        generation = report.generation,
                        "advisory source synced"
                    );
                }
                Ok(Synced::NotModified) => {
                    metrics.record_sync(&source, SyncOutcome::NotModified);
                    tracing::debug!(source, "advisory source not modified");
                }
                Err(error) => {
                    metrics.record_sync(&source, SyncOutcome::Failure);
                    tracing::warn!(source, error = %error, "advisory source not synced; it keeps its data");
                    errors.push(format!("{source}: {error}"));
                }
            }
        }
        let empty = state.info().map(|i| i.advisories == 0).unwrap_or(true);
        if empty && !errors.is_empty() {
            tracing::warn!(
                "no advisory data: scans fail until some exists; offline, import it with \
                 `zerotrace db import all.zip known_exploited_vulnerabilities.json epss_scores.csv.gz`"
            );
        }
        delay = if errors.is_empty() {
            backoff = FIRST_RETRY;
            jittered(interval)
        } else {
            let wait = backoff.min(interval);
            backoff = (backoff * 2).min(interval);
            wait
        };
        let finished = now_unix();
        state.update_sync(|s| {
            s.running = false;
            if errors.is_empty() {
                s.last_success = Some(finished);
            }
            s.last_errors = errors;
        });
    }
}

/// Runs one sync on a thread of its own and waits for it.
async fn sync_on_thread(
    state: &Arc<DataState>,
    sources: &Sources,
    scratch: &std::path::Path,
    cancelled: &Arc<AtomicBool>,
) -> Vec<Outcome> {
    let (done, result) = tokio::sync::oneshot::channel();
    let db = state.database().clone();
    let (sources, scratch, cancel) = (sources.clone(), scratch.to_path_buf(), Cancel(cancelled.clone()));
    let spawned = std::thread::Builder::new()
        .name("advisory-sync".to_string())
        .spawn(move || {
            let _ = done.send(sync::sync(&db, &sources, &scratch, &cancel));
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the sync thread");
        return Vec::new();
    }
    result.await.unwrap_or_default()
}

/// `interval` give or take 10%, so that many services spread their syncs.
fn jittered(interval: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    // A fraction in [-0.1, 0.1) from the clock's low bits: enough to spread a fleet.
    let fraction = (f64::from(nanos % 2_000) / 10_000.0) - 0.1;
    interval.mul_f64(1.0 + fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(3600));
            assert!(
                d >= Duration::from_secs(3240) && d <= Duration::from_secs(3960),
                "{d:?}"
            );
        }
    }
}
