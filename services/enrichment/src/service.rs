//! The `EnrichmentService` gRPC implementation.

use crate::EnrichmentError;
use tonic::{Request, Response, Status};
use zerotrace_proto::enrichment::v1 as pb;

/// The enrichment gRPC service.
#[derive(Debug, Clone, Default)]
pub struct Enrichment {}

#[tonic::async_trait]
impl pb::enrichment_service_server::EnrichmentService for Enrichment {
    async fn match_packages(
        &self,
        _request: Request<pb::MatchPackagesRequest>,
    ) -> Result<Response<pb::MatchPackagesResponse>, Status> {
        Err(EnrichmentError::Unimplemented("MatchPackages (the enrichment issue)").into())
    }

    async fn get_vulnerability(
        &self,
        _request: Request<pb::GetVulnerabilityRequest>,
    ) -> Result<Response<pb::GetVulnerabilityResponse>, Status> {
        Err(EnrichmentError::Unimplemented("GetVulnerability (the enrichment issue)").into())
    }

    async fn batch_get_vulnerabilities(
        &self,
        _request: Request<pb::BatchGetVulnerabilitiesRequest>,
    ) -> Result<Response<pb::BatchGetVulnerabilitiesResponse>, Status> {
        Err(EnrichmentError::Unimplemented("BatchGetVulnerabilities (the enrichment issue)").into())
    }

    async fn get_database_info(
        &self,
        _request: Request<pb::GetDatabaseInfoRequest>,
    ) -> Result<Response<pb::GetDatabaseInfoResponse>, Status> {
        Err(EnrichmentError::Unimplemented("GetDatabaseInfo (the enrichment issue)").into())
    }
}
