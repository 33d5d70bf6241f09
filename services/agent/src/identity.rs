//! Who the agent is: its stable id, kept in its data directory, and its host name.

use crate::StartError;
use std::path::Path;

const ID_FILE: &str = "agent_id";

/// Returns the agent id stored in `data_dir`, creating it on first start.
///
/// The file is replaced atomically, so a crash never leaves a half-written
/// id behind.
pub(crate) fn load_or_create(data_dir: &Path) -> Result<String, StartError> {
    let path = data_dir.join(ID_FILE);
    let io = |source| StartError::DataDir {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if is_valid(text.trim()) => return Ok(text.trim().to_string()),
        Ok(_) => tracing::warn!(path = %path.display(), "agent id file is corrupt, creating a new id"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let id = uuid::Uuid::new_v4().to_string();
    zerotrace_files::write_private(&path, format!("{id}\n").as_bytes()).map_err(io)?;
    Ok(id)
}

fn is_valid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

/// Returns the host name the agent reports to the API and to callers.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_survives_restarts_and_corruption_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
        std::fs::write(dir.path().join(ID_FILE), "garbage").unwrap();
        let replaced = load_or_create(dir.path()).unwrap();
        assert_ne!(replaced, first);
        assert!(is_valid(&replaced));
    }
}
