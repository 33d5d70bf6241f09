//! Files read and written safely, in one place for every crate.
//!
//! - [`read_limited`]: reads a regular file whole, up to a limit. The file is
//!   opened without blocking and checked on the open handle, so a FIFO, a
//!   device or a directory is an error, never a hang or an endless read, and
//!   nothing can swap the file between the check and the read. The limit is
//!   enforced while reading (`take`), so a file that grows meanwhile cannot
//!   exceed it either.
//! - [`write_private`]: replaces a file atomically with owner-only contents
//!   (tokens, ids): written to a temporary file (0600) in the same directory,
//!   synced, renamed over the target, and the directory synced, so a crash
//!   leaves either the old contents or the new, never a mix or nothing.
//! - [`create_private_dir`]: a directory only its owner can enter (0700).

use std::fs::{File, Metadata, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading failed.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The path is not a regular file (a directory, FIFO, socket or device).
    #[error("not a regular file ({0})")]
    NotRegular(&'static str),
    /// The file is larger than the limit.
    #[error("file is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Its size (or the bytes read before stopping).
        size: u64,
        /// The limit.
        limit: u64,
    },
}

/// Reads the regular file at `path` whole, refusing anything over `limit`
/// bytes, and returns its bytes with the open file's metadata.
pub fn read_limited(path: &Path, limit: u64) -> Result<(Vec<u8>, Metadata), ReadError> {
    let mut file = open_regular(path)?;
    let meta = file.metadata()?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
    // One byte more than the limit notices a file that grew meanwhile.
    (&mut file).take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok((bytes, meta))
}

/// Opens `path` for reading if it is a regular file, checked on the handle.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // O_NONBLOCK: opening a FIFO without a writer returns at once
        // instead of waiting; regular files read as usual.
        options.custom_flags(O_NONBLOCK);
    }
    let file = options.open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    Err(ReadError::NotRegular(describe(&kind)))
}

#[cfg(all(unix, any(target_os = "linux", target_os = "android")))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
const O_NONBLOCK: i32 = 0x0004;

fn describe(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    if kind.is_dir() { "a directory" } else { "a special file" }
}

/// Replaces the file at `path` with `contents`, atomically and readable by
/// its owner only (0600).
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Makes the rename durable: the directory entry is on disk too.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates the file at `path` empty if it does not exist, readable by its
/// owner only (0600); an existing file loses any group or other access. For
/// a database about to be opened: SQLite gives its WAL the file's mode.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let mode = std::fs::metadata(path)?.permissions().mode();
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        OpenOptions::new().write(true).create(true).open(path).map(|_| ())
    }
}

/// Creates `dir` (and its parents) if needed, and makes it private (0700).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        if !dir.is_dir() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_stop_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_limited(&path, 5).unwrap().0, b"12345");
        assert!(matches!(
            read_limited(&path, 4),
            Err(ReadError::TooLarge { size: 5, limit: 4 })
        ));
        assert!(matches!(
            read_limited(dir.path(), 10),
            Err(ReadError::NotRegular("a directory"))
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn fifos_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // Without O_NONBLOCK this open would wait for a writer forever.
            assert!(matches!(read_limited(&fifo, 10), Err(ReadError::NotRegular("a FIFO"))));
        }
        assert!(matches!(
            read_limited(Path::new("/dev/zero"), 10),
            Err(ReadError::NotRegular("a device"))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn private_writes_replace_whole_files_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("private");
        create_private_dir(&private).unwrap();
        assert_eq!(std::fs::metadata(&private).unwrap().permissions().mode() & 0o777, 0o700);
        let token = private.join("token");
        write_private(&token, b"first").unwrap();
        write_private(&token, b"second").unwrap();
        assert_eq!(std::fs::read(&token).unwrap(), b"second");
        assert_eq!(std::fs::metadata(&token).unwrap().permissions().mode() & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(&private).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }
}
