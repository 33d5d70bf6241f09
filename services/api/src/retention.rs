//! The retention job (`--retention`): what the API stores grows with every
//! report, so old scans and long-resolved findings are deleted once they are
//! older than the retention, at start and then every hour. The newest scan of
//! each agent and every open finding stay whatever their age. Each batch is
//! its own transaction, so reports go on while it runs; replicas on one
//! PostgreSQL database may all run it (the deletes are idempotent). A
//! WatchFindings resume token from before what the job deleted is refused
//! (FAILED_PRECONDITION, `RESUME_TOKEN_EXPIRED`) rather than replayed with
//! gaps.

use crate::store::{Micros, Store};
use crate::time::now_micros;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the job runs.
pub(crate) const INTERVAL: Duration = Duration::from_secs(3600);
/// Rows per delete statement: short transactions between reports.
const BATCH: u32 = 1000;

/// Runs the job every [`INTERVAL`] until `stopping` turns true; a failed run
/// is logged and tried again at the next.
pub(crate) async fn run(store: Arc<dyn Store>, retention: Duration, mut stopping: watch::Receiver<bool>) {
    let keep = Micros::try_from(retention.as_micros()).unwrap_or(Micros::MAX);
    loop {
        let cutoff = now_micros().saturating_sub(keep);
        match store.expire(cutoff, BATCH).await {
            Ok(expired) => tracing::info!(
                scans = expired.scans,
                findings = expired.findings,
                events = expired.events,
                event_floor = expired.floor,
                retention = ?retention,
                "retention: deleted what was older than the retention"
            ),
            Err(error) => tracing::warn!(%error, "retention run failed; trying again at the next"),
        }
        tokio::select! {
            () = tokio::time::sleep(INTERVAL) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}
