//! The `AgentService` gRPC implementation.

use crate::AgentError;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use zerotrace_proto::agent::v1 as pb;

/// The agent gRPC service.
#[derive(Debug, Clone)]
pub struct Agent {
    pub(crate) agent_id: String,
    pub(crate) allowed_roots: Vec<PathBuf>,
    pub(crate) scan_interval: Duration,
}

pub(crate) type ScanStream = Pin<Box<dyn Stream<Item = Result<pb::WatchScanResponse, Status>> + Send + 'static>>;

fn later(method: &'static str) -> Status {
    AgentError::Unimplemented(method).into()
}

#[tonic::async_trait]
impl pb::agent_service_server::AgentService for Agent {
    async fn trigger_scan(
        &self,
        _request: Request<pb::TriggerScanRequest>,
    ) -> Result<Response<pb::TriggerScanResponse>, Status> {
        Err(later("TriggerScan (the agent issue)"))
    }

    async fn get_scan_status(
        &self,
        _request: Request<pb::GetScanStatusRequest>,
    ) -> Result<Response<pb::GetScanStatusResponse>, Status> {
        Err(later("GetScanStatus (the agent issue)"))
    }

    type WatchScanStream = ScanStream;

    async fn watch_scan(
        &self,
        _request: Request<pb::WatchScanRequest>,
    ) -> Result<Response<Self::WatchScanStream>, Status> {
        Err(later("WatchScan (the agent issue)"))
    }

    async fn get_agent_info(
        &self,
        _request: Request<pb::GetAgentInfoRequest>,
    ) -> Result<Response<pb::GetAgentInfoResponse>, Status> {
        Ok(Response::new(pb::GetAgentInfoResponse {
            agent_id: self.agent_id.clone(),
            hostname: hostname(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            allowed_roots: self.allowed_roots.iter().map(|p| p.display().to_string()).collect(),
            scan_interval_seconds: self.scan_interval.as_secs(),
            registered: false,
            last_scan: None,
        }))
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}
