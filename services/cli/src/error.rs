//! The errors of the `inventory`, `scan` and `db` commands and their exit
//! codes.

use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code: success (and, for `scan`, no finding at or above `--fail-on`).
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: `scan` found something at or above `--fail-on`; a `db`
/// command failed (an import path, a download, the database itself).
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code: a usage error (bad flag, missing root, bad `--db` path),
/// clap's own code for bad arguments; for `scan`, any I/O error too.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Why a command could not do its work. Each variant prints as one line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Something given on the command line is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The scan root could not be walked, or a glob is invalid (exit 2).
    #[error(transparent)]
    Walk(#[from] zerotrace_inventory::InventoryError),
    /// The persistent advisory database could not be opened, read or written.
    #[error("advisory database in {}: {source}", dir.display())]
    Database {
        /// The database directory.
        dir: PathBuf,
        /// The cause.
        source: zerotrace_advisory::Error,
    },
    /// The persistent database holds no advisories.
    #[error(
        "the advisory database in {} is empty: run `zerotrace db import PATH` or `zerotrace db sync`, or pass --db", .0.display()
    )]
    EmptyDatabase(PathBuf),
    /// Writing the report failed (other than a closed pipe).
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
}

impl CliError {
    /// Returns the process exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::Walk(_) | CliError::EmptyDatabase(_) => EXIT_USAGE,
            CliError::Database { .. } | CliError::Output(_) => EXIT_FAILURE,
        }
    }
}

/// Prints an error as one line on stderr and returns its exit code.
pub(crate) fn report(e: &CliError) -> ExitCode {
    eprintln!("zerotrace: {e}");
    ExitCode::from(e.exit_code())
}

/// Runs a write to stdout; a closed pipe (`zerotrace inventory | head`) is
/// not an error, the reader simply wanted no more.
pub(crate) fn output(result: std::io::Result<()>) -> Result<(), CliError> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(e)),
    }
}
