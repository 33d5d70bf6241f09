//! Process-wide log output.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the process's log subscriber once: `RUST_LOG` filters (default
/// `info`), lines go to stderr. Later calls are no-ops, so every binary and
/// `zerotrace up` (three services, one process) may call it.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
