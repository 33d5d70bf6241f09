//! Load benchmark of the API (run by `scripts/api-performance-test.sh`).
//!
//! In one process, on loopback: a bare tonic echo server (a GetSummary that
//! returns an empty response: the floor of a unary gRPC call here), then the
//! real API on SQLite and on PostgreSQL. For each backend it times
//! SubmitScanReport with 1,000 new findings per report until 100,000 findings
//! are stored, then 30 rescans (reports of 1,000 findings seen before), then
//! ListFindings over those 100,000: the first page of 100 by risk with the
//! total count, a later page through a page token, and the first pages of two
//! filters (known exploited only; one package).
//! Prints a Markdown table: requests/s and p50/p95/p99 latency.
//!
//! ```sh
//! cargo run --release -p zerotrace-api --example api_load -- --backend both
//! ```

use std::pin::Pin;
use std::sync::Arc;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use zerotrace_api::ApiConfig;
use zerotrace_loadgen::{BoxError, Budget, Stats, measure};
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_proto::api::v1::api_service_server::{ApiService, ApiServiceServer};
use zerotrace_proto::common::v1 as common;
use zerotrace_server::Listeners;

const READER: &str = "bench-reader-token";

struct Options {
    backend: String,
    pg_url: String,
    findings_per_report: usize,
    stored: usize,
    lists: usize,
    echoes: usize,
    submit_concurrency: usize,
    list_concurrency: usize,
    rescans: usize,
}

fn options() -> Result<Options, BoxError> {
    let mut o = Options {
        backend: "both".to_string(),
        pg_url: std::env::var("ZEROTRACE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string()),
        findings_per_report: 1000,
        stored: 100_000,
        lists: 3000,
        echoes: 10_000,
        submit_concurrency: 1,
        list_concurrency: 2,
        rescans: 30,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--backend" => o.backend = value()?,
            "--pg-url" => o.pg_url = value()?,
            "--stored" => o.stored = value()?.parse()?,
            "--lists" => o.lists = value()?.parse()?,
            "--echoes" => o.echoes = value()?.parse()?,
            "--submit-concurrency" => o.submit_concurrency = value()?.parse()?,
            "--list-concurrency" => o.list_concurrency = value()?.parse()?,
            "--rescans" => o.rescans = value()?.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(o)
}

fn row(stats: &Stats, echo_p50: Option<f64>) -> String {
    let ratio = echo_p50.map_or("1".to_string(), |e| format!("{:.0}×", stats.ms(0.5) / e));
    format!("{} {ratio} |", stats.cells())
}

/// The anchor: a unary gRPC call that does nothing.
#[derive(Debug, Default)]
struct Echo;

type Unimplemented<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl ApiService for Echo {
    async fn register_agent(&self, _: Request<pb::RegisterAgentRequest>) -> Unimplemented<pb::RegisterAgentResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn heartbeat(&self, _: Request<pb::HeartbeatRequest>) -> Unimplemented<pb::HeartbeatResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn submit_scan_report(
        &self,
        _: Request<pb::SubmitScanReportRequest>,
    ) -> Unimplemented<pb::SubmitScanReportResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn list_scans(&self, _: Request<pb::ListScansRequest>) -> Unimplemented<pb::ListScansResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn get_scan(&self, _: Request<pb::GetScanRequest>) -> Unimplemented<pb::GetScanResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn list_findings(&self, _: Request<pb::ListFindingsRequest>) -> Unimplemented<pb::ListFindingsResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn get_summary(&self, _: Request<pb::GetSummaryRequest>) -> Unimplemented<pb::GetSummaryResponse> {
        Ok(Response::new(pb::GetSummaryResponse::default()))
    }
    async fn list_agents(&self, _: Request<pb::ListAgentsRequest>) -> Unimplemented<pb::ListAgentsResponse> {
        Err(Status::unimplemented("echo"))
    }
    type WatchFindingsStream =
        Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::WatchFindingsResponse, Status>> + Send + 'static>>;
    async fn watch_findings(&self, _: Request<pb::WatchFindingsRequest>) -> Unimplemented<Self::WatchFindingsStream> {
        Err(Status::unimplemented("echo"))
    }
    async fn reset_agent_token(
        &self,
        _: Request<pb::ResetAgentTokenRequest>,
    ) -> Unimplemented<pb::ResetAgentTokenResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn get_finding(&self, _: Request<pb::GetFindingRequest>) -> Unimplemented<pb::GetFindingResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn create_decision(
        &self,
        _: Request<pb::CreateDecisionRequest>,
    ) -> Unimplemented<pb::CreateDecisionResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn get_decision(&self, _: Request<pb::GetDecisionRequest>) -> Unimplemented<pb::GetDecisionResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn list_decisions(&self, _: Request<pb::ListDecisionsRequest>) -> Unimplemented<pb::ListDecisionsResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn update_decision(
        &self,
        _: Request<pb::UpdateDecisionRequest>,
    ) -> Unimplemented<pb::UpdateDecisionResponse> {
        Err(Status::unimplemented("echo"))
    }
    async fn delete_decision(
        &self,
        _: Request<pb::DeleteDecisionRequest>,
    ) -> Unimplemented<pb::DeleteDecisionResponse> {
        Err(Status::unimplemented("echo"))
    }
}

async fn connect(addr: std::net::SocketAddr) -> Result<ApiServiceClient<Channel>, BoxError> {
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    Ok(ApiServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024))
}

fn authed<T>(message: T, token: &str) -> Result<Request<T>, BoxError> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

async fn echo(o: &Options) -> Result<Stats, BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ApiServiceServer::new(Echo))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                async {
                    let _ = stopped.await;
                },
            ),
    );
    let client = connect(addr).await?;
    let stats = measure(
        "echo (bare tonic unary)",
        Budget::requests(o.echoes),
        o.list_concurrency,
        move |_| {
            let mut client = client.clone();
            async move { client.get_summary(pb::GetSummaryRequest::default()).await.map(|_| ()) }
        },
    )
    .await?;
    let _ = stop.send(());
    server.await??;
    Ok(stats)
}

fn report(agent: usize, seq: usize, n: usize) -> pb::ScanReport {
    let severities = [
        common::Severity::Low,
        common::Severity::Medium,
        common::Severity::High,
        common::Severity::Critical,
    ];
    let findings = (0..n)
        .map(|i| common::Finding {
            package: Some(common::Package {
                ecosystem: if i % 3 == 0 { "npm" } else { "crates.io" }.to_string(),
                name: format!("package-{}", i % 500),
                version: format!("1.{}.{}", seq % 100, i % 10),
                purl: String::new(),
                source_path: format!("services/s{}/Cargo.lock", i % 20),
                scope: common::DependencyScope::Runtime as i32,
                source: common::PackageSource::Registry as i32,
            }),
            vulnerability: Some(common::Vulnerability {
                id: format!("GHSA-{agent}-{seq}-{i}"),
                aliases: vec![format!("CVE-2026-{agent}{seq:04}{i:04}")],
                summary: "A vulnerability in a package".to_string(),
                details: "Details of the vulnerability, as an advisory would have them.".repeat(4),
                severity: severities[i % severities.len()] as i32,
                cvss_score: (i % 100) as f64 / 10.0,
                epss_score: 0.01,
                known_exploited: i % 50 == 0,
                fixed_versions: vec!["9.9.9".to_string()],
                risk_score: ((i * 7919 + seq * 31) % 10_000) as f64 / 100.0,
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    pb::ScanReport {
        scan_id: format!("bench-{agent}-{seq}"),
        scan_type: common::ScanType::Incremental as i32,
        status: common::ScanStatus::Succeeded as i32,
        root: format!("/srv/repo-{agent}"),
        started_at: None,
        finished_at: None,
        packages_scanned: n as u64 * 4,
        files_scanned: 20,
        findings,
        ..Default::default()
    }
}

async fn api(o: &Options, label: &str, database_url: &str, echo_p50: f64) -> Result<Vec<String>, BoxError> {
    let dir = tempfile::tempdir()?;
    let mut config = ApiConfig::with_data_dir(dir.path());
    config.database_url = database_url.to_string();
    config.reader_token = READER.to_string();
    config.rate_limit_per_agent = 0;
    config.registrations_per_peer = 0;
    config.max_concurrent_requests = 1024;
    let listeners = Listeners::bind("127.0.0.1:0".parse()?, "127.0.0.1:0".parse()?).await?;
    let addr = listeners.grpc_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(zerotrace_api::serve(config, listeners, async {
        let _ = stopped.await;
    }));
    let mut client = connect(addr).await?;

    let reports = o.stored.div_ceil(o.findings_per_report);
    let mut agents = Vec::new();
    for i in 0..o.submit_concurrency.max(1) {
        let r = client
            .register_agent(pb::RegisterAgentRequest {
                hostname: format!("bench-{i}"),
                version: "bench".to_string(),
                agent_id: String::new(),
            })
            .await?
            .into_inner();
        agents.push((r.agent_id, r.token));
    }
    let per_report = o.findings_per_report;
    let submit = submit_reports(
        &client,
        &agents,
        &format!("{label}: SubmitScanReport, {per_report} new findings"),
        (0..reports).map(|seq| (seq, format!("bench-{seq}"))).collect(),
        per_report,
        o.submit_concurrency,
        Expect::AllNew,
    )
    .await?;
    // A periodic rescan: the same findings again under new scan ids, so every
    // finding of the report takes the update path instead of the insert.
    let rescans = o.rescans.min(reports);
    let rescan = submit_reports(
        &client,
        &agents,
        &format!("{label}: SubmitScanReport, {per_report} findings seen before"),
        (0..rescans).map(|seq| (seq, format!("bench-{seq}-again"))).collect(),
        per_report,
        o.submit_concurrency,
        Expect::NoneNew,
    )
    .await?;

    let first = client
        .list_findings(authed(pb::ListFindingsRequest::default(), READER)?)
        .await?
        .into_inner();
    if (first.total_size as usize) < o.stored {
        return Err(format!("only {} findings stored", first.total_size).into());
    }
    let page = |filter: Option<pb::FindingFilter>, page_token: String| pb::ListFindingsRequest {
        filter,
        page_token,
        ..Default::default()
    };
    let first_page = page(None, String::new());
    let list_first = time_list(
        o,
        &client,
        format!(
            "{label}: ListFindings, first page of 100 by risk + total, over {}",
            first.total_size
        ),
        first_page,
    )
    .await?;
    let next_page = page(None, first.next_page_token);
    let list_next = time_list(
        o,
        &client,
        format!("{label}: ListFindings, next page (page token)"),
        next_page,
    )
    .await?;
    // Filters narrow what a page walks: 2 % of the findings are known exploited,
    // 0.2 % are of one package.
    let kev = pb::FindingFilter {
        known_exploited_only: true,
        ..Default::default()
    };
    let kev_page = page(Some(kev), String::new());
    let label_kev = format!("{label}: ListFindings, first page, known exploited only + total");
    let list_kev = time_list(o, &client, label_kev, kev_page).await?;
    let package = pb::FindingFilter {
        package_name: "package-7".to_string(),
        ..Default::default()
    };
    let package_page = page(Some(package), String::new());
    let label_package = format!("{label}: ListFindings, first page, one package + total");
    let list_package = time_list(o, &client, label_package, package_page).await?;
    let _ = stop.send(());
    server.await??;
    Ok(vec![
        row(&submit, Some(echo_p50)),
        row(&rescan, Some(echo_p50)),
        row(&list_first, Some(echo_p50)),
        row(&list_next, Some(echo_p50)),
        row(&list_kev, Some(echo_p50)),
        row(&list_package, Some(echo_p50)),
    ])
}

/// Times ListFindings of one `request` over and over; every answer must be a
/// full page of 100.
async fn time_list(
    o: &Options,
    client: &ApiServiceClient<Channel>,
    label: String,
    request: pb::ListFindingsRequest,
) -> Result<Stats, BoxError> {
    let client = client.clone();
    measure(&label, Budget::requests(o.lists), o.list_concurrency, move |_| {
        let mut client = client.clone();
        let request = authed(request.clone(), READER).map_err(|e| Status::internal(e.to_string()));
        async move {
            let page = client.list_findings(request?).await?.into_inner();
            if page.findings.len() != 100 {
                return Err(Status::internal(format!(
                    "{} findings, not a page of 100",
                    page.findings.len()
                )));
            }
            Ok(())
        }
    })
    .await
}

/// What a timed report must answer, so that the row measures what it says.
#[derive(Clone, Copy)]
enum Expect {
    /// Every finding is new.
    AllNew,
    /// No finding is new.
    NoneNew,
}

/// Times SubmitScanReport of `reports` ((seq, scan id) each: `seq` picks the
/// findings, as [`report`] makes them), each sent by agent `seq % agents`.
async fn submit_reports(
    client: &ApiServiceClient<Channel>,
    agents: &[(String, String)],
    label: &str,
    reports: Vec<(usize, String)>,
    per_report: usize,
    concurrency: usize,
    expect: Expect,
) -> Result<Stats, BoxError> {
    // Requests are built before timing: the clock measures the API, not the client.
    let count = reports.len();
    let mut requests = Vec::with_capacity(count);
    for (seq, scan_id) in reports {
        let worker = seq % agents.len();
        let (agent_id, token) = agents.get(worker).ok_or("no agent")?;
        let mut report = report(worker, seq, per_report);
        report.scan_id = scan_id;
        let request = pb::SubmitScanReportRequest {
            agent_id: agent_id.clone(),
            report: Some(report),
        };
        requests.push(Some((request, token.clone())));
    }
    let requests = Arc::new(std::sync::Mutex::new(requests));
    let submit_client = client.clone();
    measure(label, Budget::requests(count), concurrency, move |call| {
        let taken = requests
            .lock()
            .ok()
            .and_then(|mut r| r.get_mut(call.seq).and_then(Option::take));
        let mut client = submit_client.clone();
        async move {
            let (request, token) = taken.ok_or_else(|| Status::internal("request taken twice"))?;
            let findings = request.report.as_ref().map_or(0, |r| r.findings.len());
            let request = authed(request, &token).map_err(|e| Status::internal(e.to_string()))?;
            let response = client.submit_scan_report(request).await?.into_inner();
            let new = response.new_findings as usize;
            let expected = match expect {
                Expect::AllNew => findings,
                Expect::NoneNew => 0,
            };
            if !response.created || new != expected {
                return Err(Status::internal(format!(
                    "report stored {}, {new} new findings, expected {expected}",
                    response.created
                )));
            }
            Ok(())
        }
    })
    .await
}

async fn pg_schema(base: &str) -> Result<(sqlx::PgPool, String, String), BoxError> {
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(base)
        .await?;
    let name = format!("zt_bench_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&admin)
        .await?;
    let url = format!("{base}?options[search_path]={name}");
    Ok((admin, name, url))
}

/// As the service binaries, so that the figures are theirs.
#[global_allocator]
static ALLOCATOR: zerotrace_server::Allocator = zerotrace_server::Allocator;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let o = options()?;
    let echo = echo(&o).await?;
    let echo_p50 = echo.ms(0.5);
    println!(
        "| operation | requests | req/s | p50 ms | p95 ms | p99 ms | p50 / echo p50 |\n|---|---|---|---|---|---|---|"
    );
    println!("{}", row(&echo, None));
    if o.backend == "sqlite" || o.backend == "both" {
        for row in api(&o, "SQLite", "", echo_p50).await? {
            println!("{row}");
        }
    }
    if o.backend == "postgres" || o.backend == "both" {
        let (admin, schema, url) = pg_schema(&o.pg_url).await?;
        let rows = api(&o, "PostgreSQL", &url, echo_p50).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
            .execute(&admin)
            .await?;
        for row in rows? {
            println!("{row}");
        }
    }
    Ok(())
}
