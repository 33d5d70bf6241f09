//! The API over TLS and mutual TLS with certificates made in the test: a
//! client that trusts the CA and presents a certificate is served; one
//! without a certificate, or in plaintext, is not; and no service serves
//! plaintext beyond loopback unless told to.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use std::path::{Path, PathBuf};
use tokio::sync::oneshot;
use tonic::Request;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use zerotrace_api::ApiConfig;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_server::Listeners;

const READER: &str = "tls-reader-token";

struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: String,
    client_key: String,
}

/// A CA, a server certificate for localhost and 127.0.0.1, and a client
/// certificate, written as PEM files under `dir`.
fn pki(dir: &Path) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ZeroTrace test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issue = |names: Vec<String>, cn: &str| {
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = issue(vec!["localhost".into(), "127.0.0.1".into()], "api");
    let (client_cert, client_key) = issue(vec!["agent-1".into()], "agent-1");
    let write = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    Pki {
        ca: write("ca.pem", &ca.pem()),
        server_cert: write("server.pem", &server_cert),
        server_key: write("server.key", &server_key),
        client_cert,
        client_key,
    }
}

fn config(dir: &Path, extra: &[&str]) -> ApiConfig {
    let mut args = vec!["zerotrace-api", "--reader-token", READER];
    args.extend_from_slice(extra);
    ApiConfig {
        data_dir: dir.join("api"),
        ..<ApiConfig as clap::Parser>::parse_from(args)
    }
}

fn reader<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {READER}").parse().unwrap());
    request
}

async fn list_agents(channel: Result<Channel, tonic::transport::Error>) -> Result<(), String> {
    let channel = channel.map_err(|e| format!("connect: {e:?}"))?;
    ApiServiceClient::new(channel)
        .list_agents(reader(pb::ListAgentsRequest::default()))
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_serves_only_clients_with_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let any = "127.0.0.1:0".parse().unwrap();
    let listeners = Listeners::bind(any, any).await.unwrap();
    let addr = listeners.grpc_addr().unwrap();
    let paths = [&pki.server_cert, &pki.server_key, &pki.ca].map(|p| p.display().to_string());
    let config = config(
        dir.path(),
        &[
            "--tls-cert",
            &paths[0],
            "--tls-key",
            &paths[1],
            "--tls-client-ca",
            &paths[2],
        ],
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(zerotrace_api::serve(config, listeners, async {
        let _ = stopped.await;
    }));
    let ca = Certificate::from_pem(std::fs::read(&pki.ca).unwrap());
    let endpoint = |tls: Option<ClientTlsConfig>| {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://localhost:{}", addr.port())).unwrap();
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).unwrap();
        }
        endpoint
    };

    // With the CA and a client certificate: served (retried while the API starts).
    let mutual = ClientTlsConfig::new()
        .ca_certificate(ca.clone())
        .identity(Identity::from_pem(&pki.client_cert, &pki.client_key))
        .domain_name("localhost");
    let mut served = Err(String::new());
    for _ in 0..100 {
        served = list_agents(endpoint(Some(mutual.clone())).connect().await).await;
        if served.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    served.expect("a client with a certificate is served");

    // Without a client certificate, or in plaintext: refused.
    let one_way = ClientTlsConfig::new().ca_certificate(ca).domain_name("localhost");
    let without = list_agents(endpoint(Some(one_way)).connect().await).await;
    assert!(without.is_err(), "a client without a certificate was served");
    let plaintext = list_agents(endpoint(None).connect().await).await;
    assert!(plaintext.is_err(), "a plaintext client was served");

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn plaintext_beyond_loopback_needs_to_be_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let any = "0.0.0.0:0".parse().unwrap();
    let listeners = Listeners::bind(any, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let refused = zerotrace_api::serve(config(dir.path(), &[]), listeners, async {})
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("--insecure-listen"), "{refused}");
    assert!(
        !dir.path().join("api").exists(),
        "refused before touching the data directory"
    );

    let listeners = Listeners::bind(any, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    zerotrace_api::serve(config(dir.path(), &["--insecure-listen"]), listeners, async {})
        .await
        .expect("served when asked for, and stopped at once");
}

#[tokio::test]
async fn postgres_is_reached_over_tls_when_the_url_asks() {
    let Some(schema) = common::PgSchema::create().await else {
        return;
    };
    let url = format!("{}&sslmode=require", schema.url);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("sslmode=require connects (Debian's PostgreSQL serves TLS by default)");
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(ssl, "the connection is encrypted");
    pool.close().await;
    let dir = tempfile::tempdir().unwrap();
    let store = zerotrace_api::store::open(&url, dir.path())
        .await
        .expect("the store opens over TLS");
    assert!(!store.agent_exists("nobody").await.unwrap());
    drop(store);
    schema.drop_schema().await;
}
