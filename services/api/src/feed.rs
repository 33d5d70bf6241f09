//! The live feed of WatchFindings: findings that reports opened (stored
//! through this replica or, on PostgreSQL, through another one), filtered
//! per stream, each stream ending with RESOURCE_EXHAUSTED when it falls more
//! than the buffer behind and with UNAVAILABLE at shutdown.

use crate::ApiError;
use crate::store::{FindingSelector, ReplicaEvent, ReplicaEvents, Store};
use futures_util::StreamExt as _;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use tokio_stream::Stream;
use tonic::Status;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::common::v1 as common;

/// What the live feed of WatchFindings carries.
#[derive(Debug)]
pub(crate) enum FeedEvent {
    /// Findings a report opened (new or reopened), stored through this
    /// replica or another one.
    Opened(Vec<common::Finding>),
    /// Reports of other replicas may have gone unheard (the connection that
    /// hears of them was lost): streams end, so that clients resume.
    Missed,
}

/// Ends every WatchFindings stream when dropped or told to.
#[derive(Debug)]
pub struct StreamStopper(pub(crate) watch::Sender<bool>);

impl StreamStopper {
    /// Ends the live streams (the server is shutting down).
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

/// The stream type of WatchFindings.
pub(crate) type FindingStream = Pin<Box<dyn Stream<Item = Result<pb::WatchFindingsResponse, Status>> + Send + 'static>>;

impl FindingSelector {
    /// Returns whether a new (open) finding passes the filter, as the SQL would decide.
    fn matches(&self, finding: &common::Finding) -> bool {
        let (Some(package), Some(vuln)) = (&finding.package, &finding.vulnerability) else {
            return false;
        };
        self.min_severity.is_none_or(|min| vuln.severity >= min)
            && self.ecosystem.as_ref().is_none_or(|e| *e == package.ecosystem)
            && self.package_name.as_ref().is_none_or(|n| *n == package.name)
            && self
                .vulnerability_id
                .as_ref()
                .is_none_or(|id| *id == vuln.id || vuln.aliases.contains(id))
            && self.agent_id.as_ref().is_none_or(|a| *a == finding.agent_id)
            && (!self.known_exploited_only || vuln.known_exploited)
            && (!self.fix_available_only || !vuln.fixed_versions.is_empty())
    }
}

/// Feeds the findings that reports stored through other API replicas opened
/// to this replica's WatchFindings streams, until the server stops.
pub(crate) async fn relay_other_replicas(
    store: Arc<dyn Store>,
    mut events: ReplicaEvents,
    feed: broadcast::Sender<Arc<FeedEvent>>,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            _ = stopping.wait_for(|stop| *stop) => None,
        };
        let event = match event {
            None => return,
            // Nobody watching: nothing to read.
            Some(_) if feed.receiver_count() == 0 => continue,
            Some(ReplicaEvent::Missed) => FeedEvent::Missed,
            Some(ReplicaEvent::Opened { scan_seq }) => match store.opened_by(scan_seq).await {
                Ok(findings) if findings.is_empty() => continue,
                Ok(findings) => FeedEvent::Opened(findings),
                Err(error) => {
                    tracing::warn!(%error, scan_seq, "cannot read the findings of another replica's report");
                    FeedEvent::Missed
                }
            },
        };
        // No receiver is not an error: nobody is watching.
        let _ = feed.send(Arc::new(event));
    }
}

/// One WatchFindings stream: the shared feed, filtered, ending with
/// RESOURCE_EXHAUSTED when it falls more than the buffer behind.
pub(crate) struct Watch {
    feed: broadcast::Receiver<Arc<FeedEvent>>,
    stopping: watch::Receiver<bool>,
    filter: FindingSelector,
    pending: VecDeque<common::Finding>,
    done: bool,
}

impl Watch {
    async fn next(mut self) -> Option<(Result<pb::WatchFindingsResponse, Status>, Self)> {
        loop {
            if let Some(finding) = self.pending.pop_front() {
                return Some((Ok(pb::WatchFindingsResponse { finding: Some(finding) }), self));
            }
            if self.done {
                return None;
            }
            let event = tokio::select! {
                received = self.feed.recv() => Some(received),
                _ = self.stopping.wait_for(|stop| *stop) => None,
            };
            match event {
                Some(Ok(event)) => match event.as_ref() {
                    FeedEvent::Opened(batch) => {
                        let filter = &self.filter;
                        self.pending.extend(batch.iter().filter(|f| filter.matches(f)).cloned());
                    }
                    FeedEvent::Missed => {
                        self.done = true;
                        let error = ApiError::Unavailable {
                            reason: "REPLICA_FEED_LOST",
                            message: "lost track of reports stored through other API replicas; resume with \
                                      ListFindings (sort by time) and watch again",
                        };
                        return Some((Err(error.into()), self));
                    }
                },
                Some(Err(broadcast::error::RecvError::Lagged(missed))) => {
                    tracing::info!(missed_reports = missed, "watch stream fell behind, ending it");
                    self.done = true;
                    return Some((Err(ApiError::StreamLagged.into()), self));
                }
                Some(Err(broadcast::error::RecvError::Closed)) => return None,
                None => {
                    self.done = true;
                    let error = ApiError::Unavailable {
                        reason: "SHUTTING_DOWN",
                        message: "server is shutting down",
                    };
                    return Some((Err(error.into()), self));
                }
            }
        }
    }
}

/// Returns a WatchFindings stream of `feed`, filtered by `filter`, until
/// `stopping` turns true.
pub(crate) fn watch_stream(
    feed: broadcast::Receiver<Arc<FeedEvent>>,
    stopping: watch::Receiver<bool>,
    filter: FindingSelector,
) -> FindingStream {
    let state = Watch {
        feed,
        stopping,
        filter,
        pending: VecDeque::new(),
        done: false,
    };
    futures_util::stream::unfold(state, Watch::next).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: common::Severity, kev: bool) -> common::Finding {
        common::Finding {
            agent_id: "a".to_string(),
            package: Some(common::Package {
                ecosystem: "npm".to_string(),
                name: "left-pad".to_string(),
                ..Default::default()
            }),
            vulnerability: Some(common::Vulnerability {
                id: "GHSA-1".to_string(),
                aliases: vec!["CVE-2024-1".to_string()],
                severity: severity as i32,
                known_exploited: kev,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_live_filter_matches_like_the_sql_one() {
        let high = finding(common::Severity::High, false);
        let all = FindingSelector::default();
        assert!(all.matches(&high));
        let by_alias = FindingSelector {
            vulnerability_id: Some("CVE-2024-1".to_string()),
            ..Default::default()
        };
        assert!(by_alias.matches(&high));
        let critical = FindingSelector {
            min_severity: Some(common::Severity::Critical as i32),
            ..Default::default()
        };
        assert!(!critical.matches(&high));
        let kev = FindingSelector {
            known_exploited_only: true,
            ..Default::default()
        };
        assert!(!kev.matches(&high));
        assert!(kev.matches(&finding(common::Severity::Low, true)));
    }
}
