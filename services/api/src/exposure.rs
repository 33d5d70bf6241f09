//! The fleet's exposure as the API's gauges show it
//! (`zerotrace_findings_open`, `zerotrace_agents`): a point read from the
//! counts every report keeps in its transaction ([`Store::exposure`]), never
//! by counting findings. It is read again after every report this replica
//! stores and every [`REFRESH`] otherwise, which also brings in what other
//! replicas of a PostgreSQL database stored and agents going stale.

use crate::store::Store;
use crate::time::now_micros;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use zerotrace_proto::common::v1::Severity;
use zerotrace_telemetry::ExposurePoint;
use zerotrace_telemetry::instruments::SeverityLabel;

/// How often the point is read when no report arrives.
pub(crate) const REFRESH: Duration = Duration::from_secs(2);

/// The latest exposure point and the means to have it read again.
#[derive(Debug, Clone)]
pub struct Exposure {
    latest: Arc<Mutex<ExposurePoint>>,
    changed: Arc<Notify>,
    resolved: Arc<AtomicU64>,
}

impl Exposure {
    /// Starts reading the point from `store` (at once, then after every
    /// [`Exposure::changed`] and every [`REFRESH`]) until `stopping` turns
    /// true. Agents seen within `online_window` are online, those not seen
    /// for `offline_after` offline.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        online_window: Duration,
        offline_after: Duration,
        mut stopping: watch::Receiver<bool>,
    ) -> Self {
        let exposure = Self {
            latest: Arc::new(Mutex::new(ExposurePoint::default())),
            changed: Arc::new(Notify::new()),
            resolved: Arc::new(AtomicU64::new(0)),
        };
        let this = exposure.clone();
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                let now = now_micros();
                let window = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
                let read = store
                    .exposure(
                        now.saturating_sub(window(online_window)),
                        now.saturating_sub(window(offline_after)),
                    )
                    .await;
                match read {
                    Ok(read) => {
                        failing = false;
                        let mut point = ExposurePoint {
                            agents: read.agents,
                            ..Default::default()
                        };
                        for (severity, kev, n) in read.open_by_class {
                            let label = SeverityLabel::from(Severity::try_from(severity).unwrap_or(Severity::Unknown));
                            point.add_open(label, kev, n);
                        }
                        if let Ok(mut latest) = this.latest.lock() {
                            *latest = point;
                        }
                    }
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "exposure gauges not updated: the store could not be read");
                    }
                    Err(_) => {}
                }
                tokio::select! {
                    () = this.changed.notified() => {}
                    () = tokio::time::sleep(REFRESH) => {}
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
            }
        });
        exposure
    }

    /// Asks for the point to be read again (an agent registered).
    pub(crate) fn changed(&self) {
        self.changed.notify_one();
    }

    /// Counts a report this replica stored, with the findings it resolved,
    /// and has the point read again.
    pub(crate) fn stored(&self, resolved_findings: u32) {
        self.resolved.fetch_add(u64::from(resolved_findings), Ordering::Relaxed);
        self.changed.notify_one();
    }

    /// Returns a reader of the latest point, for the gauges' callbacks.
    pub fn reader(&self) -> impl Fn() -> ExposurePoint + Send + Sync + 'static {
        let latest = Arc::clone(&self.latest);
        let resolved = Arc::clone(&self.resolved);
        move || ExposurePoint {
            findings_resolved: resolved.load(Ordering::Relaxed),
            ..latest.lock().map(|p| *p).unwrap_or_default()
        }
    }
}
