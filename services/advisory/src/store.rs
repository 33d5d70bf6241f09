//! Persistence in one SQLite file, shared by every process that opens it.
//!
//! Why SQLite: several processes use one advisory database at once (the
//! enrichment service serving, `zerotrace db import` or a sync writing,
//! `zerotrace scan` and `db info` reading). In WAL mode readers never block
//! the writer nor each other, a reader's transaction sees one committed
//! import or the next, never half of one, and nothing holds an exclusive
//! lock on the file. Lookups go through indexes, so a scan reads only the
//! rows of the packages it asks about, whatever the size of the database.
//!
//! Layout (`SCHEMA`):
//! - `advisories`: the trimmed advisory (`body`, JSON of [`Advisory`]) and its
//!   whole-advisory scoring (`scored`, JSON of [`ScoredAdvisory`]);
//! - `packages`: per (ecosystem, normalised name, advisory, informational
//!   kind), the affected entries that match versions (`ranges`) and what
//!   scoring for that package changes of the whole record (`scored`), read
//!   only on a hit;
//! - `aliases`, `kev`, `epss`, and `meta` (generation, counts, feed versions);
//! - `sources`: per source of data (`osv:<ecosystem>`, `kev`, `epss`), when
//!   its data was current, when and from where it was imported
//!   (see [`crate::freshness`]).
//!
//! Everything derived (`scored`, `packages`, `aliases`) is rewritten from
//! `body` and the feeds inside the transaction that changes them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::Error;

/// The database file name inside the data directory.
pub(crate) const FILE_NAME: &str = "advisories.sqlite3";

/// The file of the earlier redb format, no longer read.
pub(crate) const LEGACY_FILE_NAME: &str = "advisories.redb";

/// The schema version this crate writes; a file of another version is refused.
pub(crate) const FORMAT_VERSION: i64 = 2;

/// How long a writer waits for another process's write to finish.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Idle connections kept for reuse.
const POOL_SIZE: usize = 8;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS advisories (
    id         TEXT PRIMARY KEY,
    modified   TEXT NOT NULL,
    source     TEXT NOT NULL,
    withdrawn  INTEGER NOT NULL,
    ecosystems TEXT NOT NULL,
    body       BLOB NOT NULL,
    scored     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS packages (
    ecosystem     TEXT NOT NULL,
    name          TEXT NOT NULL,
    id            TEXT NOT NULL,
    informational TEXT NOT NULL,
    ranges        BLOB NOT NULL,
    scored        BLOB NOT NULL,
    skipped_bounds INTEGER NOT NULL,
    PRIMARY KEY (ecosystem, name, id, informational)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS packages_by_id ON packages (id);
CREATE TABLE IF NOT EXISTS aliases (
    alias TEXT NOT NULL,
    id    TEXT NOT NULL,
    PRIMARY KEY (alias, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aliases_by_id ON aliases (id);
CREATE TABLE IF NOT EXISTS kev (
    cve   TEXT PRIMARY KEY,
    entry BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sources (
    name        TEXT PRIMARY KEY,
    as_of       INTEGER,
    imported_at INTEGER NOT NULL,
    generation  INTEGER NOT NULL,
    origin      TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epss (
    cve        TEXT PRIMARY KEY,
    score      REAL NOT NULL,
    percentile REAL NOT NULL
) WITHOUT ROWID;
";

/// Where the database lives.
#[derive(Debug, Clone)]
enum Location {
    /// A file, opened by path.
    File(PathBuf),
    /// A private in-memory database, named so that every connection of
    /// this process reaches the same one.
    Memory(String),
}

/// The SQLite database and a small pool of connections to it.
pub(crate) struct Store {
    location: Location,
    idle: Mutex<Vec<Connection>>,
    /// Keeps an in-memory database alive while no other connection is open.
    _anchor: Option<Mutex<Connection>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir`: the directory is made
    /// private (0700) and the file is created readable by its owner only.
    pub(crate) fn open(dir: &Path) -> Result<Store, Error> {
        let io = |source| Error::Io {
            path: dir.to_path_buf(),
            source,
        };
        zerotrace_files::create_private_dir(dir).map_err(io)?;
        let path = dir.join(FILE_NAME);
        zerotrace_files::create_private_file(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let store = Store {
            location: Location::File(path),
            idle: Mutex::new(Vec::new()),
            _anchor: None,
        };
        store.initialise()?;
        Ok(store)
    }

    /// Returns an empty store that lives in this process's memory only.
    pub(crate) fn in_memory() -> Result<Store, Error> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "file:zerotrace-advisories-{}-{}?mode=memory&cache=shared",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let location = Location::Memory(name);
        let anchor = connect(&location)?;
        let store = Store {
            location,
            idle: Mutex::new(Vec::new()),
            _anchor: Some(Mutex::new(anchor)),
        };
        store.initialise()?;
        Ok(store)
    }

    /// Whether the store is a file (as opposed to memory).
    pub(crate) fn is_persistent(&self) -> bool {
        matches!(self.location, Location::File(_))
    }

    /// Creates the schema unless the file already has this format: opening
    /// an existing database only reads (no write lock, so it never waits for
    /// an import another process is running).
    fn initialise(&self) -> Result<(), Error> {
        let current = self.read(|tx| {
            let has_meta = tx
                .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")?
                .exists([])?;
            if has_meta { meta_i64(tx, "format") } else { Ok(None) }
        })?;
        match current {
            Some(FORMAT_VERSION) => return Ok(()),
            Some(found) => {
                return Err(Error::IncompatibleStore {
                    found,
                    expected: FORMAT_VERSION,
                });
            }
            None => {}
        }
        self.write(|tx| {
            tx.execute_batch(SCHEMA)?;
            match meta_i64(tx, "format")? {
                None => set_meta(tx, "format", &FORMAT_VERSION.to_string())?,
                Some(FORMAT_VERSION) => {}
                Some(found) => {
                    return Err(Error::IncompatibleStore {
                        found,
                        expected: FORMAT_VERSION,
                    });
                }
            }
            Ok(())
        })
    }

    fn checkout(&self) -> Result<Connection, Error> {
        let reused = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match reused {
            Some(conn) => Ok(conn),
            None => connect(&self.location),
        }
    }

    fn checkin(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < POOL_SIZE {
            idle.push(conn);
        }
    }

    /// Runs one statement's worth of reading, `f`, outside a transaction: a
    /// single statement sees one committed state by itself, and this spares
    /// the BEGIN and COMMIT of [`Store::read`] (what a per-call check such as
    /// the generation costs).
    pub(crate) fn read_one<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let conn = self.checkout()?;
        let result = f(&conn);
        self.checkin(conn);
        result
    }

    /// Runs `f` in a read transaction: it sees one committed state throughout.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<T, Error> {
        self.with_transaction(TransactionBehavior::Deferred, f)
    }

    /// Runs `f` in a write transaction, committed when `f` succeeds and
    /// rolled back otherwise. Writers of every process take turns.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<T, Error> {
        self.with_transaction(TransactionBehavior::Immediate, f)
    }

    fn with_transaction<T>(
        &self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut conn = self.checkout()?;
        let result = (|| {
            let tx = conn.transaction_with_behavior(behavior)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        // A connection whose transaction failed is rolled back by the drop
        // of `tx`; it is as good as new.
        self.checkin(conn);
        result
    }
}

fn connect(location: &Location) -> Result<Connection, Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match location {
        Location::File(path) => Connection::open_with_flags(path, flags)?,
        Location::Memory(name) => Connection::open_with_flags(name, flags)?,
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if matches!(location, Location::File(_)) {
        // WAL: readers and the writer do not block each other. FULL: an
        // import is on disk when it commits.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // An import writes tens of MB of WAL; cut the file back after checkpoints.
        conn.pragma_update(None, "journal_size_limit", 16 * 1024 * 1024)?;
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    Ok(conn)
}

/// Creates the database file owner-only before SQLite opens it (SQLite
/// gives its `-wal` and `-shm` files the same mode).
/// Returns a `meta` value.
pub(crate) fn meta(tx: &Connection, key: &str) -> Result<Option<String>, Error> {
    Ok(tx
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Returns a `meta` value that is a number.
pub(crate) fn meta_i64(tx: &Connection, key: &str) -> Result<Option<i64>, Error> {
    meta(tx, key)?
        .map(|v| {
            v.parse()
                .map_err(|_| Error::Corrupt(format!("meta {key} is not a number: {v:?}")))
        })
        .transpose()
}

/// Sets a `meta` value.
pub(crate) fn set_meta(tx: &Connection, key: &str, value: &str) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Removes a `meta` value.
pub(crate) fn clear_meta(tx: &Connection, key: &str) -> Result<(), Error> {
    tx.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}
