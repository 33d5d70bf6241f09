//! The embedded backend: SQLite in WAL mode with `synchronous=FULL`, so a
//! committed transaction is on disk before the call that made it returns.
//!
//! SQLite allows one writer at a time: writes go through a one-connection
//! pool (no `SQLITE_BUSY` upgrades between writers), reads through a small
//! pool of their own that WAL lets run beside the writer.
//!
//! Checkpoints (copying the WAL back into the database file) run on a
//! connection of their own after commits, beside the writer, instead of
//! inside the commit that crosses `wal_autocheckpoint`: a report's commit then
//! costs its WAL append and fsync only. Commits made while a checkpoint runs
//! are covered by the next one. Durability is the WAL's either way.
//!
//! A WAL can only start over from its beginning when it has been copied whole
//! at the moment the next write begins, which reports arriving back to back
//! never leave time for; the writer's own checkpoint at 128 MiB
//! ([`WRITER_AUTOCHECKPOINT_BYTES`]) bounds it then. The WAL file keeps its
//! size after that (no `journal_size_limit`): cutting a large WAL file back
//! cost one commit in 25 about 80 ms, rewriting it in place costs nothing.
//!
//! New databases use 16 KiB pages (SQLite's default is 4 KiB). A report's
//! findings land at scattered places of several indexes; with bigger pages
//! those inserts split and rebalance fewer pages and walk shallower trees,
//! which measured faster on submit at 100,000 and at 400,000 stored findings
//! (`docs/performance.md`). A database created with other pages keeps them.

use super::queries::{self, unknown_hole};
use super::sql::{Backend, FINDING_CHUNK};
use super::{ReplicaEvents, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Sqlite, SqliteConnection, SqlitePool};
use std::path::Path;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// SQLite-backed [`super::Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Wakes the checkpointer; it stops when the last clone of the store goes.
    checkpoint: tokio::sync::mpsc::Sender<()>,
}

/// Page size of a new database file.
const PAGE_SIZE: &str = "16384";

/// WAL size after which the writer checkpoints by itself, inside a commit
/// (SQLite's default of 1,000 pages is less than one report of 1,000 findings
/// writes). The checkpointer has copied most of the WAL by then, so this
/// copies the rest and lets the WAL start over.
const WRITER_AUTOCHECKPOINT_BYTES: i64 = 128 << 20;

/// Copies the WAL into the database file after each wake-up (coalesced),
/// without blocking the writer or the readers (`PASSIVE`).
async fn checkpointer(mut conn: SqliteConnection, mut wake: tokio::sync::mpsc::Receiver<()>) {
    while wake.recv().await.is_some() {
        if let Err(error) = sqlx::query(queries::sqlite::CHECKPOINT).execute(&mut conn).await {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    }
    let _ = sqlx::Connection::close(conn).await;
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database file at `path`.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            zerotrace_files::create_private_dir(dir)
                .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        zerotrace_files::create_private_file(path)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", path.display())))?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // A 64 MiB page cache per connection keeps the findings indexes in
            // memory; the default 2 MiB makes every report re-read them.
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            .pragma("page_size", PAGE_SIZE)
            // A report's statements return up to one row per finding of a
            // chunk; room for all of them lets the connection's worker thread
            // run a statement through without waiting for the task to drain
            // rows 50 at a time (sqlx's default).
            .row_buffer_size(FINDING_CHUNK);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // In pages of this file, which may predate PAGE_SIZE.
                    let (page_size,): (i64,) = sqlx::query_as(queries::sqlite::PAGE_SIZE).fetch_one(&mut *conn).await?;
                    let pages = (WRITER_AUTOCHECKPOINT_BYTES / page_size.max(512)).to_string();
                    let mut pragma = String::new();
                    queries::sqlite::WAL_AUTOCHECKPOINT.fill(&mut pragma, |pragma, hole| match hole {
                        "pages" => pragma.push_str(&pages),
                        other => unknown_hole(other),
                    });
                    sqlx::query(sqlx::AssertSqlSafe(pragma)).execute(&mut *conn).await?;
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let checkpoint_conn = options.connect().await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let (checkpoint, wake) = tokio::sync::mpsc::channel(1);
        tokio::spawn(checkpointer(checkpoint_conn, wake));
        let store = Self {
            writer,
            reader,
            checkpoint,
        };
        super::sql::fill_finding_versions(&store).await?;
        Ok(store)
    }

    /// Closes both pools (a checkpoint of the WAL happens on the last close).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

impl Backend for SqliteStore {
    type DB = Sqlite;
    const DIALECT: queries::Dialect = queries::sqlite::DIALECT;

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    /// Lets the checkpointer copy the new WAL pages.
    fn committed(&self) {
        // A full channel means a checkpoint is already due.
        let _ = self.checkpoint.try_send(());
    }

    /// There are no other replicas: one process owns the file.
    async fn announce(&self, _: &mut SqliteConnection, _position: i64) -> Result<(), sqlx::Error> {
        Ok(())
    }

    /// There are no other replicas.
    async fn listen_to_replicas(&self) -> Result<Option<ReplicaEvents>, StoreError> {
        Ok(None)
    }
}
