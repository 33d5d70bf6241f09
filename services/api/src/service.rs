//! The `ApiService` gRPC implementation.

use crate::ApiError;
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use zerotrace_proto::api::v1 as pb;

/// The API gRPC service.
#[derive(Debug, Clone, Default)]
pub struct Api {}

/// The stream type of WatchFindings.
pub(crate) type FindingStream = Pin<Box<dyn Stream<Item = Result<pb::WatchFindingsResponse, Status>> + Send + 'static>>;

fn later(method: &'static str) -> Status {
    ApiError::Unimplemented(method).into()
}

#[tonic::async_trait]
impl pb::api_service_server::ApiService for Api {
    async fn register_agent(
        &self,
        _request: Request<pb::RegisterAgentRequest>,
    ) -> Result<Response<pb::RegisterAgentResponse>, Status> {
        Err(later("RegisterAgent (the API issue)"))
    }

    async fn heartbeat(
        &self,
        _request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        Err(later("Heartbeat (the API issue)"))
    }

    async fn submit_scan_report(
        &self,
        _request: Request<pb::SubmitScanReportRequest>,
    ) -> Result<Response<pb::SubmitScanReportResponse>, Status> {
        Err(later("SubmitScanReport (the API issue)"))
    }

    async fn list_scans(
        &self,
        _request: Request<pb::ListScansRequest>,
    ) -> Result<Response<pb::ListScansResponse>, Status> {
        Err(later("ListScans (the API issue)"))
    }

    async fn get_scan(&self, _request: Request<pb::GetScanRequest>) -> Result<Response<pb::GetScanResponse>, Status> {
        Err(later("GetScan (the API issue)"))
    }

    async fn list_findings(
        &self,
        _request: Request<pb::ListFindingsRequest>,
    ) -> Result<Response<pb::ListFindingsResponse>, Status> {
        Err(later("ListFindings (the API issue)"))
    }

    async fn get_summary(
        &self,
        _request: Request<pb::GetSummaryRequest>,
    ) -> Result<Response<pb::GetSummaryResponse>, Status> {
        Err(later("GetSummary (the API issue)"))
    }

    async fn list_agents(
        &self,
        _request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        Err(later("ListAgents (the API issue)"))
    }

    type WatchFindingsStream = FindingStream;

    async fn watch_findings(
        &self,
        _request: Request<pb::WatchFindingsRequest>,
    ) -> Result<Response<Self::WatchFindingsStream>, Status> {
        Err(later("WatchFindings (the API issue)"))
    }
}
