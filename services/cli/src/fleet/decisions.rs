//! `zerotrace decisions export` and `import`: the API's fleet decisions as
//! `[[ignore]]` entries, the shape of `zerotrace.toml` ([`crate::ignores`]),
//! with the keys only a fleet decision has (`agent`, `root`). An export
//! imports into another API as it is, and its entries without `agent` or
//! `root` work in a repository's `zerotrace.toml` too.
//!
//! Import records each entry as the decision of its scope (advisory,
//! ecosystem, package, version, agent, root): a scope the API has is updated
//! with the etag it was read with, a new one created, so importing a file
//! twice changes nothing the second time.

use super::read::page_size;
use super::{ApiArgs, Service, block_on, counted, rfc3339};
use crate::error::{CliError, EXIT_OK};
use crate::ignores::Ignore;
use crate::triage::Analysis;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;

/// Seconds in a day: an entry's `until` is a day, a decision's expiry a time.
const DAY: i64 = 86_400;

/// Flags of `zerotrace decisions`.
#[derive(Debug, clap::Args)]
pub(crate) struct DecisionsArgs {
    #[command(subcommand)]
    command: DecisionsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DecisionsCommand {
    /// Print every decision of the API as `[[ignore]]` entries (TOML).
    Export(ExportArgs),
    /// Record the `[[ignore]]` entries of a file as decisions: new scopes are
    /// created, known ones updated. Needs the admin token (`--token`).
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// Write the entries to this file instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// A `zerotrace.toml`, or a file `zerotrace decisions export` wrote.
    file: PathBuf,
    /// Who decided, for the entries without `author`.
    #[arg(long)]
    author: Option<String>,
    /// Say what would change, and change nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn decisions(args: DecisionsArgs) -> ExitCode {
    crate::error::exit(block_on(async move {
        match args.command {
            DecisionsCommand::Export(args) => export(args).await,
            DecisionsCommand::Import(args) => import(args).await,
        }
    }))
}

/// An `[[ignore]]` entry as the export writes it (the keys of `zerotrace.toml`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Entry {
    id: String,
    reason: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    responses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    ecosystem: String,
    package: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root: Option<String>,
    author: String,
}

/// The file the export writes.
#[derive(Debug, Serialize)]
struct Export {
    ignore: Vec<Entry>,
}

impl Entry {
    fn of(decision: &pb::Decision) -> Self {
        let scope = decision.scope.clone().unwrap_or_default();
        let (kind, justification, responses) = Analysis::of_decision(decision).config_words();
        let given = |text: String| Some(text).filter(|t| !t.is_empty());
        Self {
            id: scope.advisory_id,
            reason: decision.reason.clone(),
            kind,
            justification,
            responses,
            until: decision.expire_time.as_ref().and_then(|t| until(t.seconds)),
            ecosystem: scope.ecosystem,
            package: scope.package_name,
            version: given(scope.version),
            agent: given(scope.agent_id),
            root: given(scope.root),
            author: decision.author.clone(),
        }
    }
}

/// The `until` day of an expiry: the last whole day before it (an entry
/// applies through its day), so an expiry at midnight round-trips and any
/// other ends a few hours early rather than late.
fn until(expiry: i64) -> Option<String> {
    let day = expiry.div_euclid(DAY) - 1;
    let date = rfc3339(Some(&prost_types::Timestamp {
        seconds: day.checked_mul(DAY)?,
        nanos: 0,
    }))?;
    Some(date.get(..10)?.to_string())
}

/// Every decision of the API, page by page.
async fn all_decisions(api: &Service) -> Result<Vec<pb::Decision>, CliError> {
    let mut client = ApiServiceClient::new(api.channel.clone());
    let mut decisions = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_decisions(api.request(pb::ListDecisionsRequest {
                page_size: page_size(0, decisions.len()),
                page_token,
            }))
            .await
            .map_err(|s| api.refused(&s))?
            .into_inner();
        decisions.extend(page.decisions);
        if page.next_page_token.is_empty() {
            return Ok(decisions);
        }
        page_token = page.next_page_token;
    }
}

async fn export(args: ExportArgs) -> Result<u8, CliError> {
    let api = args.api.connect().await?;
    let decisions = all_decisions(&api).await?;
    let entries = Export {
        ignore: decisions.iter().map(Entry::of).collect(),
    };
    let body = toml::to_string(&entries).map_err(|e| CliError::Internal(format!("TOML: {e}")))?;
    let text = format!(
        "# {} of the ZeroTrace API, as `[[ignore]]` entries.\n\
         # `zerotrace decisions import FILE` records them in an API; the entries without\n\
         # `agent` or `root` also work in a repository's zerotrace.toml.\n\n{body}",
        counted(entries.ignore.len() as u64, "fleet decision")
    );
    match &args.output {
        Some(path) => {
            // Whole or not at all: beside it first, then renamed over it.
            let partial = path.with_extension("partial");
            std::fs::write(&partial, text.as_bytes())
                .and_then(|()| std::fs::rename(&partial, path))
                .map_err(|e| {
                    let _ = std::fs::remove_file(&partial);
                    CliError::Usage(format!("cannot write {}: {e}", path.display()))
                })?;
        }
        None => crate::error::output(std::io::Write::write_all(
            &mut std::io::stdout().lock(),
            text.as_bytes(),
        ))?,
    }
    Ok(EXIT_OK)
}

/// What identifies a decision: its scope.
fn scope_key(decision: &pb::Decision) -> pb::DecisionScope {
    decision.scope.clone().unwrap_or_default()
}

/// Whether a stored decision already says what `wanted` says.
fn same_content(stored: &pb::Decision, wanted: &pb::Decision) -> bool {
    stored.kind == wanted.kind
        && stored.reason == wanted.reason
        && stored.justification == wanted.justification
        && stored.responses == wanted.responses
        && stored.expire_time == wanted.expire_time
        && stored.author == wanted.author
}

async fn import(args: ImportArgs) -> Result<u8, CliError> {
    let config = crate::config::load(&args.file)?;
    // Every entry is checked before anything is written.
    let wanted: Vec<(&Ignore, pb::Decision)> = config
        .ignores
        .iter()
        .map(|ignore| {
            ignore
                .decision(args.author.as_deref())
                .map(|decision| (ignore, decision))
                .map_err(|e| CliError::Usage(format!("{}: `ignore.{}`: {}", ignore.at, e.key, e.message)))
        })
        .collect::<Result<_, _>>()?;
    let api = args.api.connect().await?;
    let stored: HashMap<pb::DecisionScope, pb::Decision> = all_decisions(&api)
        .await?
        .into_iter()
        .map(|d| (scope_key(&d), d))
        .collect();
    let mut client = ApiServiceClient::new(api.channel.clone());
    let (mut created, mut updated, mut unchanged) = (0usize, 0usize, 0usize);
    for (ignore, mut decision) in wanted {
        match stored.get(&scope_key(&decision)) {
            Some(old) if same_content(old, &decision) => unchanged += 1,
            Some(old) => {
                updated += 1;
                if args.dry_run {
                    println!("would update {} ({})", old.name, ignore.at);
                    continue;
                }
                decision.name = old.name.clone();
                decision.etag = old.etag.clone();
                client
                    .update_decision(api.request(pb::UpdateDecisionRequest {
                        decision: Some(decision),
                    }))
                    .await
                    .map_err(|s| api.refused(&s))?;
            }
            None => {
                created += 1;
                if args.dry_run {
                    println!("would create the decision of {} ({})", ignore.id, ignore.at);
                    continue;
                }
                client
                    .create_decision(api.request(pb::CreateDecisionRequest {
                        decision: Some(decision),
                        decision_id: String::new(),
                    }))
                    .await
                    .map_err(|s| api.refused(&s))?;
            }
        }
    }
    let mode = if args.dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    println!(
        "{}: {created} created, {updated} updated, {unchanged} unchanged{mode}",
        args.file.display()
    );
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_becomes_the_last_whole_day_before_it() {
        // 2027-02-01T00:00:00Z: through 2027-01-31.
        assert_eq!(until(1_801_440_000).as_deref(), Some("2027-01-31"));
        // Noon of 2027-02-01: through 2027-01-31 still (ends 12 h early).
        assert_eq!(until(1_801_440_000 + DAY / 2).as_deref(), Some("2027-01-31"));
    }
}
