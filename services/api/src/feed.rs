//! WatchFindings: the findings reports open (and, if asked, those full scans
//! resolve), in the order the reports committed, each response with a resume
//! token. A stream given a token first replays what committed after it from
//! the store's event log, then goes on with the live feed (reports stored
//! through this replica or, on PostgreSQL, another one). A gap in the live
//! feed (an event out of order, or events nobody published) is read from the
//! store, so a stream never skips an event and never sends one twice. It
//! ends with RESOURCE_EXHAUSTED when it falls more than the buffer behind
//! and with UNAVAILABLE at shutdown: either way the client resumes from its
//! last token.

use crate::ApiError;
use crate::store::{FindingEvent, FindingSelector, ReplicaEvent, ReplicaEvents, Store};
use futures_util::StreamExt as _;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use tokio_stream::Stream;
use tonic::Status;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::common::v1 as common;

/// Events read from the store at a time while replaying.
const REPLAY_BATCH: u32 = 16;

/// What the live feed of WatchFindings carries.
#[derive(Debug)]
pub(crate) enum FeedEvent {
    /// A report's event, stored through this replica or another one.
    Changed(FindingEvent),
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
    /// Returns whether a finding passes the filter, as the SQL would decide
    /// (resolved or not: the stream says which; decided by the decision the
    /// store read with it).
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
            && (self.include_decided || finding.decision.is_empty())
    }
}

/// A place in the stream: after the item `item` (kind, finding id) of the
/// event at `position`, or after the whole event when `item` is `None`.
/// Items of an event go opened before resolved, each by id, so places order
/// like the stream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ResumePoint {
    position: i64,
    item: Option<(ItemKind, String)>,
}

/// What happened to a finding, in the order an event's items are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ItemKind {
    Opened,
    Resolved,
}

impl ItemKind {
    fn letter(self) -> char {
        match self {
            ItemKind::Opened => 'o',
            ItemKind::Resolved => 'r',
        }
    }

    fn proto(self) -> pb::FindingEventKind {
        match self {
            ItemKind::Opened => pb::FindingEventKind::Opened,
            ItemKind::Resolved => pb::FindingEventKind::Resolved,
        }
    }
}

impl ResumePoint {
    /// The resume token of this place: `1.<position>.<o|r>.<finding id>`.
    fn token(&self) -> String {
        match &self.item {
            Some((kind, id)) => format!("1.{}.{}.{id}", self.position, kind.letter()),
            None => format!("1.{}", self.position),
        }
    }

    /// Reads a resume token.
    pub(crate) fn parse(token: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::invalid("resume_token is not a resume token of WatchFindings");
        let mut parts = token.split('.');
        if parts.next() != Some("1") {
            return Err(bad());
        }
        let position: i64 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .filter(|p| *p >= 0)
            .ok_or_else(bad)?;
        let item = match (parts.next(), parts.next()) {
            (None, None) => None,
            (Some(kind), Some(id)) if id.len() <= 64 && !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
                let kind = match kind {
                    "o" => ItemKind::Opened,
                    "r" => ItemKind::Resolved,
                    _ => return Err(bad()),
                };
                Some((kind, id.to_string()))
            }
            _ => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Self { position, item })
    }
}

/// Feeds the events of reports stored through other API replicas to this
/// replica's WatchFindings streams, until the server stops.
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
            Some(ReplicaEvent::Committed { position }) => {
                match store.events_after(position.saturating_sub(1), 1).await {
                    Ok(mut read) if read.first().is_some_and(|e| e.position == position) => {
                        FeedEvent::Changed(read.swap_remove(0))
                    }
                    // Not there (yet): the streams read it when they see the gap.
                    Ok(_) => continue,
                    Err(error) => {
                        tracing::warn!(%error, position, "cannot read the event of another replica's report");
                        FeedEvent::Missed
                    }
                }
            }
        };
        // No receiver is not an error: nobody is watching.
        let _ = feed.send(Arc::new(event));
    }
}

/// How a stream starts.
pub(crate) struct WatchStart {
    /// Which findings.
    pub(crate) filter: FindingSelector,
    /// Also resolutions.
    pub(crate) include_resolutions: bool,
    /// The place to go on from, from the request's token; `None`: from now on.
    pub(crate) resume: Option<ResumePoint>,
}

/// One WatchFindings stream.
struct Watch {
    store: Arc<dyn Store>,
    feed: broadcast::Receiver<Arc<FeedEvent>>,
    stopping: watch::Receiver<bool>,
    filter: FindingSelector,
    include_resolutions: bool,
    /// The last place sent (or resumed from): nothing at or before it is sent.
    sent: ResumePoint,
    /// The last event position taken in (read from the store or the feed).
    read_to: i64,
    /// Whether events after `read_to` are read from the store (a resume, or
    /// a gap in the live feed) rather than taken from the feed.
    replaying: bool,
    pending: VecDeque<(ResumePoint, ItemKind, common::Finding)>,
    done: bool,
}

impl Watch {
    /// Queues the items of `event` the stream has not sent and the filter passes.
    fn take(&mut self, event: &FindingEvent) {
        let resolved = if self.include_resolutions {
            event.resolved.as_slice()
        } else {
            &[]
        };
        let items = event
            .opened
            .iter()
            .map(|f| (ItemKind::Opened, f))
            .chain(resolved.iter().map(|f| (ItemKind::Resolved, f)));
        for (kind, finding) in items {
            let place = ResumePoint {
                position: event.position,
                item: Some((kind, finding.id.clone())),
            };
            if place > self.sent && self.filter.matches(finding) {
                self.pending.push_back((place, kind, finding.clone()));
            }
        }
        self.read_to = self.read_to.max(event.position);
    }

    fn end(mut self, error: ApiError) -> Option<(Result<pb::WatchFindingsResponse, Status>, Self)> {
        self.done = true;
        Some((Err(error.into()), self))
    }

    async fn next(mut self) -> Option<(Result<pb::WatchFindingsResponse, Status>, Self)> {
        loop {
            if let Some((place, kind, finding)) = self.pending.pop_front() {
                let response = pb::WatchFindingsResponse {
                    finding: Some(finding),
                    resume_token: place.token(),
                    kind: kind.proto() as i32,
                };
                self.sent = place;
                return Some((Ok(response), self));
            }
            if self.done {
                return None;
            }
            if *self.stopping.borrow() {
                return self.end(ApiError::Unavailable {
                    reason: "SHUTTING_DOWN",
                    message: "server is shutting down; resume with the last resume_token",
                });
            }
            if self.replaying {
                match self.store.events_after(self.read_to, REPLAY_BATCH).await {
                    Ok(events) if events.is_empty() => self.replaying = false,
                    Ok(events) => events.iter().for_each(|event| self.take(event)),
                    Err(e) => return self.end(ApiError::from(e)),
                }
                continue;
            }
            let event = tokio::select! {
                received = self.feed.recv() => Some(received),
                _ = self.stopping.wait_for(|stop| *stop) => None,
            };
            match event {
                Some(Ok(event)) => match event.as_ref() {
                    FeedEvent::Changed(event) if event.position <= self.read_to => {}
                    FeedEvent::Changed(event) if event.position == self.read_to + 1 => self.take(event),
                    // Events before it went by unpublished or out of order: read them.
                    FeedEvent::Changed(_) => self.replaying = true,
                    FeedEvent::Missed => {
                        return self.end(ApiError::Unavailable {
                            reason: "REPLICA_FEED_LOST",
                            message: "lost track of reports stored through other API replicas; \
                                      resume with the last resume_token",
                        });
                    }
                },
                Some(Err(broadcast::error::RecvError::Lagged(missed))) => {
                    tracing::info!(missed_reports = missed, "watch stream fell behind, ending it");
                    return self.end(ApiError::StreamLagged);
                }
                Some(Err(broadcast::error::RecvError::Closed)) => return None,
                None => {} // stopping: said at the top of the loop
            }
        }
    }
}

/// Returns a WatchFindings stream: subscribed to `feed` before anything is
/// read, so that no event falls between the replay and the live feed.
pub(crate) async fn watch_stream(
    store: Arc<dyn Store>,
    feed: &broadcast::Sender<Arc<FeedEvent>>,
    stopping: watch::Receiver<bool>,
    start: WatchStart,
) -> Result<FindingStream, ApiError> {
    let feed = feed.subscribe();
    let (sent, read_to, replaying) = match start.resume {
        Some(place) => {
            let read_to = if place.item.is_some() {
                place.position - 1
            } else {
                place.position
            };
            // The retention job may have deleted what comes up to the floor:
            // a replay from before it would have gaps.
            let floor = store.event_floor().await?;
            if read_to < floor {
                return Err(ApiError::ResumeTokenExpired { floor });
            }
            (place, read_to.max(0), true)
        }
        None => {
            let last = store.last_event_position().await?;
            let place = ResumePoint {
                position: last,
                item: None,
            };
            (place, last, false)
        }
    };
    let state = Watch {
        store,
        feed,
        stopping,
        filter: start.filter,
        include_resolutions: start.include_resolutions,
        sent,
        read_to,
        replaying,
        pending: VecDeque::new(),
        done: false,
    };
    Ok(futures_util::stream::unfold(state, Watch::next).boxed())
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

    #[test]
    fn resume_tokens_round_trip_and_order_like_the_stream() {
        let at = |position, item: Option<(ItemKind, &str)>| ResumePoint {
            position,
            item: item.map(|(k, id)| (k, id.to_string())),
        };
        for place in [
            at(7, None),
            at(7, Some((ItemKind::Opened, "00ff"))),
            at(7, Some((ItemKind::Resolved, "0a"))),
        ] {
            assert_eq!(ResumePoint::parse(&place.token()).unwrap(), place);
        }
        assert!(at(7, Some((ItemKind::Opened, "ff"))) < at(7, Some((ItemKind::Resolved, "00"))));
        assert!(at(7, Some((ItemKind::Resolved, "ff"))) < at(8, Some((ItemKind::Opened, "00"))));
        assert!(at(6, None) < at(7, Some((ItemKind::Opened, "00"))));
        for bad in ["", "2.7", "1.-1", "1.x", "1.7.o", "1.7.x.00", "1.7.o.zz", "1.7.o.00.1"] {
            assert!(ResumePoint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
