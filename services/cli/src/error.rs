//! The errors of every `zerotrace` command and the one map from an error to
//! the process's exit code ([`CliError::exit_code`]).
//!
//! | Code | Meaning |
//! |---|---|
//! | 0 | done; for `scan`, nothing at or above `--fail-on` |
//! | 1 | `scan` found something at or above `--fail-on`; a `db` command or `up` failed at its work |
//! | 2 | bad input: a flag, a path, a root, the advisory data a scan reads (clap's own code for bad arguments) |
//! | 64 | `up`: a bad setting (`EX_USAGE`, as the service binaries) |
//! | 70 | a bug: a worker thread panicked (`EX_SOFTWARE`) |

use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code: success (and, for `scan`, no finding at or above `--fail-on`).
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: `scan` found something at or above `--fail-on`; a `db`
/// command or `up` failed at its work.
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code: bad input (flag, path, root, the data a scan reads).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code of a bad setting of `up`, as the service binaries use it.
pub(crate) const EXIT_CONFIG: u8 = 64;
/// Exit code of a bug (`EX_SOFTWARE`): never 1, which `scan` gives findings.
pub(crate) const EXIT_INTERNAL: u8 = 70;

/// Why a command could not do its work. Each variant prints as one line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Something given on the command line is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The scan root could not be walked, or a glob is invalid (exit 2).
    #[error(transparent)]
    Walk(#[from] zerotrace_inventory::InventoryError),
    /// The advisory data a scan reads could not be read (exit 2: an input of
    /// the scan, like a bad `--db` path; never 1, which means findings).
    #[error("advisory data: {0}")]
    ScanInput(String),
    /// The persistent database holds no advisories (exit 2).
    #[error(
        "the advisory database in {} is empty: run `zerotrace db import PATH` or `zerotrace db sync`, or pass --db", .0.display()
    )]
    EmptyDatabase(PathBuf),
    /// The persistent advisory database could not be opened, read or
    /// written by a `db` command (exit 1).
    #[error("advisory database in {}: {source}", dir.display())]
    Database {
        /// The database directory.
        dir: PathBuf,
        /// The cause.
        source: zerotrace_advisory::Error,
    },
    /// A setting of `up` is unusable (exit 64).
    #[error("{0}")]
    Config(String),
    /// A service of `up` failed while running (exit 1).
    #[error("{0}")]
    Failed(String),
    /// The command failed by a bug (a worker thread panicked; exit 70).
    #[error("internal error: {0}")]
    Internal(String),
    /// Writing the report failed (other than a closed pipe; exit 1).
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
}

impl CliError {
    /// Returns the process exit code for this error: the one map.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::Walk(_) | CliError::ScanInput(_) | CliError::EmptyDatabase(_) => EXIT_USAGE,
            CliError::Config(_) => EXIT_CONFIG,
            CliError::Internal(_) => EXIT_INTERNAL,
            CliError::Database { .. } | CliError::Failed(_) | CliError::Output(_) => EXIT_FAILURE,
        }
    }
}

/// Prints an error as one line on stderr and returns its exit code.
pub(crate) fn report(e: &CliError) -> ExitCode {
    eprintln!("zerotrace: {e}");
    ExitCode::from(e.exit_code())
}

/// Turns a command's result into the process's exit code.
pub(crate) fn exit(result: Result<u8, CliError>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => report(&e),
    }
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
