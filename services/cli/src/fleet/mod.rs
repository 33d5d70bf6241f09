//! The fleet commands, for people: `agents`, `scans`, `findings`, `summary`
//! and `watch` read what the agents reported to the API; `trigger` asks an
//! agent to scan a tree and follows the scan to its end; `decisions` exports
//! and imports the fleet's decisions on findings.
//!
//! This module holds what they share: how to reach a service (URL, token,
//! TLS), what a refusal says on one line, and how values print (times,
//! severities, colour only on a terminal). [`read`] holds the listing
//! commands, [`follow`] the two that stream.

mod decisions;
mod follow;
mod read;

pub(crate) use decisions::{DecisionsArgs, decisions};
pub(crate) use follow::{TriggerArgs, WatchArgs, trigger, watch};
pub(crate) use read::{AgentsArgs, FindingsArgs, ScansArgs, SummaryArgs, agents, findings, scans, summary};

use crate::common::{DataDirArg, Format};
use crate::error::CliError;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use zerotrace_proto::common::v1 as common_pb;
use zerotrace_server::TlsClientArgs;

/// The API `zerotrace up` and `zerotrace-api` serve by default.
const DEFAULT_API_URL: &str = "http://127.0.0.1:50053";
/// The agent `zerotrace up` and `zerotrace-agent` serve by default.
const DEFAULT_AGENT_URL: &str = "http://127.0.0.1:50051";
/// The page size the listing commands ask of the API.
const PAGE_SIZE: usize = 500;
/// How long a connection may take before the service counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How to reach the API, and how to print what it says.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ApiArgs {
    /// URL of the API (`http://` on loopback only, else `https://`).
    #[arg(long, env = "ZEROTRACE_API_URL", default_value = DEFAULT_API_URL)]
    api_url: String,
    /// Bearer token of the API's read calls; default the reader token `zerotrace up` keeps in
    /// `<data-dir>/api/reader_token`.
    #[arg(long, env = "ZEROTRACE_API_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    data: DataDirArg,
    #[command(flatten)]
    tls: TlsClientArgs,
    /// Output format: aligned columns for people, or one JSON document.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

impl ApiArgs {
    /// The token to present: the flag or variable, else the file `up` keeps.
    fn token(&self) -> Option<String> {
        if let Some(token) = self.token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            return Some(token.to_string());
        }
        let path = self.reader_token_file();
        std::fs::read_to_string(path)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    }

    fn reader_token_file(&self) -> PathBuf {
        self.data.data_dir.join("api").join(zerotrace_api::READER_TOKEN_FILE)
    }

    /// Connects to the API.
    pub(crate) async fn connect(&self) -> Result<Service, CliError> {
        let hint = format!(
            "set --token or ZEROTRACE_API_TOKEN, or run where {} is readable",
            self.reader_token_file().display()
        );
        Service::connect("API", &self.api_url, self.token(), &hint, &self.tls).await
    }
}

/// A connected service: its channel, the token every call presents, and
/// what to say when it refuses.
pub(crate) struct Service {
    name: &'static str,
    url: String,
    pub(crate) channel: Channel,
    token: Option<AsciiMetadataValue>,
    token_hint: String,
}

impl Service {
    async fn connect(
        name: &'static str,
        url: &str,
        token: Option<String>,
        token_hint: &str,
        tls: &TlsClientArgs,
    ) -> Result<Self, CliError> {
        let token = match token {
            Some(token) => Some(
                MetadataValue::try_from(format!("Bearer {token}"))
                    .map_err(|_| CliError::Usage(format!("the {name} token is not printable ASCII")))?,
            ),
            None => None,
        };
        let mut endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| CliError::Usage(format!("{name} URL {url:?} is invalid: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT);
        if let Some(config) = tls.client_config(url).map_err(|e| CliError::Usage(e.to_string()))? {
            endpoint = endpoint
                .tls_config(config)
                .map_err(|e| CliError::Usage(format!("TLS for {url}: {e}")))?;
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| CliError::Failed(format!("cannot reach the {name} at {url}: {}", root_cause(&e))))?;
        Ok(Self {
            name,
            url: url.to_string(),
            channel,
            token,
            token_hint: token_hint.to_string(),
        })
    }

    /// Wraps a request message with the token.
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            request.metadata_mut().insert("authorization", token.clone());
        }
        request
    }

    /// Says on one line why the service refused a call: a bad token or
    /// filter is the user's to fix (exit 2 for what they typed), anything
    /// else a failure of the call (exit 1).
    pub(crate) fn refused(&self, status: &tonic::Status) -> CliError {
        use tonic::Code;
        let name = self.name;
        match status.code() {
            Code::Unauthenticated => CliError::Failed(format!("{name} token missing or wrong ({})", self.token_hint)),
            Code::PermissionDenied => CliError::Failed(format!("the {name} refused: {}", status.message())),
            Code::InvalidArgument | Code::NotFound | Code::AlreadyExists | Code::FailedPrecondition => {
                CliError::Usage(format!("the {name} refused: {}", status.message()))
            }
            Code::Unavailable => {
                CliError::Failed(format!("cannot reach the {name} at {}: {}", self.url, status.message()))
            }
            code => CliError::Failed(format!(
                "the {name} at {} answered {code:?}: {}",
                self.url,
                status.message()
            )),
        }
    }
}

/// The innermost cause of a transport error (tonic's outer one says only
/// "transport error").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Runs a command's future on a runtime of its own.
pub(crate) fn block_on<F: std::future::Future<Output = Result<u8, CliError>>>(work: F) -> Result<u8, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Internal(format!("no async runtime: {e}")))?;
    runtime.block_on(work)
}

/// Whether table output may use colour: stdout is a terminal and
/// `NO_COLOR` is not set.
pub(crate) fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A severity's name: `critical`, `high`, `medium`, `low`, `none`, `unknown`.
pub(crate) fn severity_name(severity: i32) -> &'static str {
    match common_pb::Severity::try_from(severity) {
        Ok(common_pb::Severity::Critical) => "critical",
        Ok(common_pb::Severity::High) => "high",
        Ok(common_pb::Severity::Medium) => "medium",
        Ok(common_pb::Severity::Low) => "low",
        Ok(common_pb::Severity::None) => "none",
        _ => "unknown",
    }
}

/// A severity's name in its colour (bold red, red, yellow, blue), for a
/// terminal.
pub(crate) fn painted(name: &str) -> String {
    let code = match name {
        "critical" => "1;31",
        "high" => "31",
        "medium" => "33",
        "low" => "34",
        _ => return name.to_string(),
    };
    format!("\x1b[{code}m{name}\x1b[0m")
}

/// A timestamp as RFC 3339, or `None` when unset.
pub(crate) fn rfc3339(t: Option<&prost_types::Timestamp>) -> Option<String> {
    let seconds = u64::try_from(t?.seconds).ok()?;
    Some(zerotrace_advisory::time::format_rfc3339(seconds))
}

/// A timestamp as an age (`5 min ago`), `-` when unset.
pub(crate) fn ago(t: Option<&prost_types::Timestamp>) -> String {
    let Some(seconds) = t.and_then(|t| u64::try_from(t.seconds).ok()) else {
        return "-".to_string();
    };
    let now = zerotrace_advisory::time::now_unix();
    format!(
        "{} ago",
        zerotrace_advisory::time::format_age(now.saturating_sub(seconds))
    )
}

/// `s` cut to `max` characters, with `…` when cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `n` and the noun, plural unless `n` is 1: `1 scan`, `3 scans`.
pub(crate) fn counted(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Writes a JSON document to stdout, with a newline.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| CliError::Internal(e.to_string()))?;
    text.push('\n');
    crate::error::output(std::io::Write::write_all(
        &mut std::io::stdout().lock(),
        text.as_bytes(),
    ))
}

/// Writes lines to stdout.
pub(crate) fn print_lines(lines: &[String]) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    crate::error::output(lines.iter().try_for_each(|line| writeln!(out, "{line}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_urls_are_the_services_defaults() {
        assert_eq!(DEFAULT_API_URL, format!("http://{}", zerotrace_api::DEFAULT_GRPC_ADDR));
        assert_eq!(
            DEFAULT_AGENT_URL,
            format!("http://{}", zerotrace_agent::DEFAULT_GRPC_ADDR)
        );
    }

    #[test]
    fn cells() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(counted(1u64, "scan"), "1 scan");
        assert_eq!(counted(0u64, "open finding"), "0 open findings");
        assert_eq!(severity_name(common_pb::Severity::High as i32), "high");
        assert_eq!(painted("high"), "\x1b[31mhigh\x1b[0m");
        assert_eq!(painted("unknown"), "unknown");
        assert_eq!(severity_name(99), "unknown");
    }
}
