//! `zerotrace`: the user's front door.
//!
//! - `zerotrace up` runs the agent, enrichment and API services in one process.

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    zerotrace_telemetry::init_logging();
    let result = match cli.command {
        Command::Up(args) => up::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zerotrace: {e:#}");
            ExitCode::FAILURE
        }
    }
}
