//! `zerotrace`: the user's front door.
//!
//! - `zerotrace up` runs the agent, enrichment and API services in one process.
//! - `zerotrace inventory PATH` lists the packages of every lockfile under PATH.
//! - `zerotrace scan PATH` matches them against advisories, offline, in one process.
//! - `zerotrace db import|info|sync` manages the persistent advisory database.

mod common;
mod db;
mod error;
mod inventory;
mod scan;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    zerotrace_telemetry::init_logging();
    let result = match cli.command {
        Command::Up(args) => up::run(args),
        Command::Inventory(args) => Ok(inventory::run(args)),
        Command::Scan(args) => Ok(scan::run(args)),
        Command::Db(args) => Ok(db::run(args)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zerotrace: {e:#}");
            ExitCode::FAILURE
        }
    }
}
