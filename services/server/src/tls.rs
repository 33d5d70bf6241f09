//! TLS of every gRPC server and client: the flags, loading PEM files, and
//! the rule that a service never serves plaintext gRPC beyond loopback
//! unless told to.

use crate::ServerError;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// How a service serves gRPC: plaintext, TLS, or mutual TLS.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// PEM certificate chain the service presents; with --tls-key, gRPC is served over TLS only.
    #[arg(long = "tls-cert", env = "ZEROTRACE_TLS_CERT", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long = "tls-key", env = "ZEROTRACE_TLS_KEY", requires = "cert")]
    pub key: Option<PathBuf>,
    /// PEM CA certificates that client certificates must chain to; with it every client must present one (mutual TLS).
    #[arg(long = "tls-client-ca", env = "ZEROTRACE_TLS_CLIENT_CA", requires = "cert")]
    pub client_ca: Option<PathBuf>,
    /// Serve plaintext gRPC on an address beyond loopback (behind a TLS-terminating proxy, inside a private network).
    #[arg(long, env = "ZEROTRACE_INSECURE_LISTEN")]
    pub insecure_listen: bool,
}

impl TlsArgs {
    /// Returns the TLS configuration of a server listening on `listen`, or
    /// `None` for plaintext, which only loopback gets unless
    /// `--insecure-listen` says otherwise.
    pub fn server_config(&self, listen: SocketAddr) -> Result<Option<ServerTlsConfig>, ServerError> {
        let (Some(cert), Some(key)) = (&self.cert, &self.key) else {
            if !listen.ip().is_loopback() && !self.insecure_listen {
                return Err(ServerError::Tls(format!(
                    "refusing to serve plaintext gRPC on {listen}, beyond loopback: pass --tls-cert and --tls-key, \
                     or --insecure-listen when a proxy or a private network protects it"
                )));
            }
            return Ok(None);
        };
        let identity = Identity::from_pem(read_pem(cert)?, read_pem(key)?);
        let mut config = ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &self.client_ca {
            config = config.client_ca_root(Certificate::from_pem(read_pem(ca)?));
        }
        Ok(Some(config))
    }
}

/// How a service's clients reach `https://` upstreams.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsClientArgs {
    /// PEM CA certificates to trust for https:// service URLs (default: the public web roots).
    #[arg(long = "tls-ca", env = "ZEROTRACE_TLS_CA")]
    pub ca: Option<PathBuf>,
    /// PEM client certificate to present to services that require one (mutual TLS).
    #[arg(long = "tls-client-cert", env = "ZEROTRACE_TLS_CLIENT_CERT", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of --tls-client-cert.
    #[arg(long = "tls-client-key", env = "ZEROTRACE_TLS_CLIENT_KEY", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

impl TlsClientArgs {
    /// Returns the TLS configuration of a client of `url`: `None` for
    /// `http://`, which only a loopback host gets (a token must not cross a
    /// network in plaintext).
    pub fn client_config(&self, url: &str) -> Result<Option<ClientTlsConfig>, ServerError> {
        let uri: tonic::codegen::http::Uri = url
            .parse()
            .map_err(|e| ServerError::Tls(format!("invalid service URL {url:?}: {e}")))?;
        if uri.scheme_str() != Some("https") {
            let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
            let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if !loopback && (self.ca.is_some() || self.client_cert.is_some()) {
                return Err(ServerError::Tls(format!(
                    "{url} is plaintext but TLS is configured: use https://"
                )));
            }
            return Ok(None);
        }
        let mut config = ClientTlsConfig::new();
        config = match &self.ca {
            Some(ca) => config.ca_certificate(Certificate::from_pem(read_pem(ca)?)),
            None => config.with_webpki_roots(),
        };
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            config = config.identity(Identity::from_pem(read_pem(cert)?, read_pem(key)?));
        }
        Ok(Some(config))
    }
}

fn read_pem(path: &Path) -> Result<Vec<u8>, ServerError> {
    let bytes = std::fs::read(path).map_err(|e| ServerError::Tls(format!("cannot read {}: {e}", path.display())))?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(ServerError::Tls(format!("{} is not a PEM file", path.display())));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_is_for_loopback_unless_told() {
        let plain = TlsArgs::default();
        assert!(plain.server_config("127.0.0.1:1".parse().unwrap()).unwrap().is_none());
        assert!(plain.server_config("[::1]:1".parse().unwrap()).unwrap().is_none());
        let err = plain.server_config("0.0.0.0:1".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("--insecure-listen"), "{err}");
        let told = TlsArgs {
            insecure_listen: true,
            ..TlsArgs::default()
        };
        assert!(told.server_config("0.0.0.0:1".parse().unwrap()).unwrap().is_none());
    }

    #[test]
    fn clients_use_tls_for_https_and_refuse_mixed_set_ups() {
        let client = TlsClientArgs::default();
        assert!(client.client_config("http://127.0.0.1:50053").unwrap().is_none());
        assert!(client.client_config("https://api.example:50053").unwrap().is_some());
        let with_ca = TlsClientArgs {
            ca: Some(PathBuf::from("/nonexistent/ca.pem")),
            ..TlsClientArgs::default()
        };
        assert!(with_ca.client_config("http://api.example:50053").is_err());
        let missing = with_ca.client_config("https://api.example:50053").unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/ca.pem"), "{missing}");
    }
}
