//! The `AgentService` gRPC implementation.

use crate::AgentError;
use crate::scan::Scanner;
use crate::upstream::Upstream;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use zerotrace_proto::agent::v1 as pb;
use zerotrace_proto::common::v1 as common;

/// How often WatchScan sends progress while the status does not change.
const WATCH_TICK: Duration = Duration::from_millis(250);

/// The agent gRPC service.
#[derive(Debug, Clone)]
pub struct Agent {
    pub(crate) agent_id: String,
    pub(crate) scan_interval: Duration,
    pub(crate) scanner: Arc<Scanner>,
    pub(crate) upstream: Arc<Upstream>,
}

pub(crate) type ScanStream = Pin<Box<dyn Stream<Item = Result<pb::WatchScanResponse, Status>> + Send + 'static>>;

fn is_terminal(status: i32) -> bool {
    matches!(
        common::ScanStatus::try_from(status),
        Ok(common::ScanStatus::Succeeded | common::ScanStatus::Failed | common::ScanStatus::Cancelled)
    )
}

#[tonic::async_trait]
impl pb::agent_service_server::AgentService for Agent {
    async fn trigger_scan(
        &self,
        request: Request<pb::TriggerScanRequest>,
    ) -> Result<Response<pb::TriggerScanResponse>, Status> {
        let request = request.into_inner();
        let kind = match common::ScanType::try_from(request.scan_type) {
            Ok(common::ScanType::Full) => common::ScanType::Full,
            Ok(common::ScanType::Incremental) => common::ScanType::Incremental,
            _ => {
                return Err(AgentError::InvalidArgument(
                    "scan_type must be SCAN_TYPE_FULL or SCAN_TYPE_INCREMENTAL".to_string(),
                )
                .into());
            }
        };
        let root = self.scanner.authorize(&request.path)?;
        let handle = self.scanner.start(root, kind)?;
        Ok(Response::new(pb::TriggerScanResponse {
            scan_id: handle.id.clone(),
        }))
    }

    async fn get_scan_status(
        &self,
        request: Request<pb::GetScanStatusRequest>,
    ) -> Result<Response<pb::GetScanStatusResponse>, Status> {
        let id = request.into_inner().scan_id;
        let handle = self.scanner.get(&id).ok_or(AgentError::NotFound(id))?;
        Ok(Response::new(pb::GetScanStatusResponse {
            scan: Some(handle.snapshot()),
        }))
    }

    type WatchScanStream = ScanStream;

    async fn watch_scan(
        &self,
        request: Request<pb::WatchScanRequest>,
    ) -> Result<Response<Self::WatchScanStream>, Status> {
        let id = request.into_inner().scan_id;
        let handle = self.scanner.get(&id).ok_or(AgentError::NotFound(id))?;
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            let mut changes = handle.subscribe();
            loop {
                let state = handle.snapshot();
                let done = is_terminal(state.status);
                if tx.send(Ok(pb::WatchScanResponse { scan: Some(state) })).await.is_err() || done {
                    break;
                }
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { break },
                    () = tokio::time::sleep(WATCH_TICK) => {}
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }

    async fn get_agent_info(
        &self,
        _request: Request<pb::GetAgentInfoRequest>,
    ) -> Result<Response<pb::GetAgentInfoResponse>, Status> {
        Ok(Response::new(pb::GetAgentInfoResponse {
            agent_id: self.agent_id.clone(),
            hostname: crate::identity::hostname(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            allowed_roots: self
                .scanner
                .allowed_roots()
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            scan_interval_seconds: self.scan_interval.as_secs(),
            registered: self.upstream.is_registered(),
            last_scan: self.scanner.last().map(|h| h.snapshot()),
        }))
    }
}
