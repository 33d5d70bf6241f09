//! `zerotrace`: the user's front door.
//!
//! - `zerotrace up` runs the agent, enrichment and API services in one process.
//! - `zerotrace inventory PATH` lists the packages of every lockfile under PATH.
//! - `zerotrace scan PATH` matches them against advisories, offline, in one process.
//! - `zerotrace db import|info|sync` manages the persistent advisory database.
//! - `zerotrace agents|scans|findings|summary|watch` read what the fleet
//!   reported to the API; `zerotrace trigger PATH` has an agent scan a tree.

mod baseline;
mod common;
mod config;
mod db;
mod error;
mod fleet;
mod formats;
mod ignores;
mod inventory;
mod scan;
mod triage;
mod up;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// ZeroTrace: a self-hosted vulnerability scanner.
#[derive(Debug, Parser)]
#[command(name = "zerotrace", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent, enrichment and API services in one process.
    Up(up::UpArgs),
    /// List every package of every lockfile under a directory.
    Inventory(inventory::InventoryArgs),
    /// Scan a directory for vulnerable packages, offline.
    Scan(scan::ScanArgs),
    /// Manage the persistent advisory database (import, info, sync).
    Db(db::DbArgs),
    /// List the agents registered with the API, with their open findings.
    Agents(fleet::AgentsArgs),
    /// List the scans agents reported, newest first.
    Scans(fleet::ScansArgs),
    /// List the fleet's findings, highest risk first, with filters.
    Findings(fleet::FindingsArgs),
    /// Count the fleet's open findings by severity, its agents by status, and the top packages.
    Summary(fleet::SummaryArgs),
    /// Have an agent scan a tree, follow the scan to its end, and list the agent's findings.
    Trigger(fleet::TriggerArgs),
    /// Print new findings as the API stores them, one line each, until interrupted.
    Watch(fleet::WatchArgs),
    /// Export or import the fleet's decisions on findings, as `[[ignore]]` entries.
    Decisions(fleet::DecisionsArgs),
}

#[global_allocator]
static ALLOCATOR: zerotrace_server::Allocator = zerotrace_server::Allocator;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return bad_arguments(&e),
    };
    zerotrace_telemetry::init_logging();
    match cli.command {
        Command::Up(args) => up::run(args),
        Command::Inventory(args) => inventory::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Db(args) => db::run(args),
        Command::Agents(args) => fleet::agents(args),
        Command::Scans(args) => fleet::scans(args),
        Command::Findings(args) => fleet::findings(args),
        Command::Summary(args) => fleet::summary(args),
        Command::Trigger(args) => fleet::trigger(args),
        Command::Watch(args) => fleet::watch(args),
        Command::Decisions(args) => fleet::decisions(args),
    }
}

/// Answers arguments clap refused. `--help` and `--version` print as usual;
/// a bad setting of `up` is one line and exit 64, as the service binaries
/// say it; the other commands keep clap's usage message and exit 2.
fn bad_arguments(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let is_up = std::env::args().nth(1).as_deref() == Some("up");
    if !is_up || matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let message = e.to_string();
    let line = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments");
    error::report(&error::CliError::Config(format!(
        "up: {}",
        line.trim().trim_start_matches("error: ")
    )))
}
