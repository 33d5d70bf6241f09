//! A WatchFindings stream on one replica that notes when each finding
//! arrives, to measure how long a report acknowledged by another replica
//! takes to reach a watcher here.

use super::{Ack, MAX_MICROS};
use crate::BoxError;
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Status, Streaming};
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;

/// A finding the stream delivered: which report opened it, and when it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    agent_id: String,
    scan_id: String,
    at: Instant,
}

/// A running watcher.
pub(crate) struct Watcher {
    events: Arc<Mutex<Vec<Event>>>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    /// Starts watching every opened finding from now on, once the stream is
    /// open; a stream that ends later (the replica restarted, or the watcher
    /// fell behind) is resumed from its last token.
    pub(crate) async fn start(client: ApiServiceClient<Channel>, reader_token: String) -> Result<Self, BoxError> {
        let events = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = oneshot::channel();
        let sink = events.clone();
        let first = open(client.clone(), &reader_token, String::new())
            .await
            .map_err(|s| format!("WatchFindings failed: {}: {}", s.code(), s.message()))?;
        let task = tokio::spawn(async move {
            let mut resume_token = String::new();
            let mut stream = Some(first);
            loop {
                if let Some(open) = stream.take() {
                    tokio::select! {
                        _ = &mut stopped => return,
                        () = follow(open, &mut resume_token, &sink) => {}
                    }
                }
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                stream = open(client.clone(), &reader_token, resume_token.clone()).await.ok();
            }
        });
        Ok(Self { events, stop, task })
    }

    /// Waits until `expected` findings arrived or `patience` passed, stops, and returns what arrived.
    pub(crate) async fn finish(self, expected: u64, patience: Duration) -> Vec<Event> {
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline && self.count() < expected {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    fn count(&self) -> u64 {
        self.events.lock().map_or(0, |e| e.len() as u64)
    }
}

/// Opens a stream of opened findings after `resume_token`.
async fn open(
    mut client: ApiServiceClient<Channel>,
    reader_token: &str,
    resume_token: String,
) -> Result<Streaming<pb::WatchFindingsResponse>, Status> {
    let request = pb::WatchFindingsRequest {
        filter: None,
        resume_token,
        include_resolutions: false,
    };
    Ok(client
        .watch_findings(super::authed(request, reader_token)?)
        .await?
        .into_inner())
}

/// Follows one stream until it ends; keeps the last token it handled.
async fn follow(mut stream: Streaming<pb::WatchFindingsResponse>, resume_token: &mut String, sink: &Mutex<Vec<Event>>) {
    while let Ok(Some(message)) = stream.message().await {
        let at = Instant::now();
        let finding = message.finding.unwrap_or_default();
        if let Ok(mut events) = sink.lock() {
            events.push(Event {
                agent_id: finding.agent_id,
                scan_id: finding.scan_id,
                at,
            });
        }
        *resume_token = message.resume_token;
    }
}

/// Returns the delivery lag (µs) of each event whose report another replica
/// than `watched` acknowledged: arrival here minus the acknowledgement there
/// (0 when the event came first).
pub(crate) fn lag(events: &[Event], acks: &[Ack], watched: usize) -> Result<Histogram<u64>, BoxError> {
    let acked: HashMap<(&str, &str), &Ack> = acks
        .iter()
        .map(|a| ((a.agent_id.as_str(), a.scan_id.as_str()), a))
        .collect();
    let mut histogram = Histogram::<u64>::new_with_bounds(1, MAX_MICROS, 3)?;
    for event in events {
        if let Some(ack) = acked.get(&(event.agent_id.as_str(), event.scan_id.as_str()))
            && ack.replica != watched
        {
            let micros = u64::try_from(event.at.saturating_duration_since(ack.at).as_micros()).unwrap_or(MAX_MICROS);
            histogram.saturating_record(micros.clamp(1, MAX_MICROS));
        }
    }
    Ok(histogram)
}
