//! The PostgreSQL backend, for several API replicas sharing one database.
//! Commits are synchronous (the server default), so an acknowledged report
//! is in the WAL on disk. The schema comes from the connection's
//! `search_path` (e.g. `?options[search_path]=zerotrace`).
//!
//! Replicas hear of each other's reports through `NOTIFY`: a report that
//! opens findings sends `<replica> <scan row id>` on the schema's channel
//! ([`replica_channel`]) inside its transaction, so the notification goes
//! out at commit and never for a report rolled back. Every replica listens
//! on that channel and feeds the findings of other replicas' reports to its
//! own WatchFindings streams.

use super::queries;
use super::sql::Backend;
use super::{ReplicaEvent, ReplicaEvents, StoreError};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions, PgQueryResult};
use sqlx::{PgConnection, PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// PostgreSQL-backed [`super::Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    writer: PgPool,
    reader: PgPool,
    /// The `NOTIFY` channel of this schema's reports.
    channel: String,
    /// This replica's name in the notifications it sends.
    replica: String,
}

/// The `NOTIFY` channel on which the API replicas sharing the database schema
/// `schema` announce reports (`LISTEN` on it in psql to watch them). Channels
/// are per database, not per schema, and their names are at most 63 bytes:
/// the name carries a hash of the schema.
pub fn replica_channel(schema: &str) -> String {
    let digest = crate::digest::digest_parts(&[schema.as_bytes()]);
    format!("zerotrace_reports_{}", crate::digest::hex(&digest[..8]))
}

impl PostgresStore {
    /// Connects to `url` and migrates the schema (under the migrator's
    /// advisory lock, so replicas starting together do not race).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::Config(format!("invalid --database-url: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        let (schema,): (Option<String>,) = sqlx::query_as(queries::postgres::CURRENT_SCHEMA)
            .fetch_one(&pool)
            .await?;
        let store = Self {
            writer: pool.clone(),
            reader: pool,
            channel: replica_channel(&schema.unwrap_or_default()),
            replica: uuid::Uuid::new_v4().simple().to_string(),
        };
        super::sql::fill_finding_versions(&store).await?;
        Ok(store)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.writer.close().await;
    }
}

impl Backend for PostgresStore {
    type DB = Postgres;
    const DIALECT: queries::Dialect = queries::postgres::DIALECT;

    fn writer(&self) -> &PgPool {
        &self.writer
    }

    fn reader(&self) -> &PgPool {
        &self.reader
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    /// Nothing to do: the server checkpoints.
    fn committed(&self) {}

    /// Tells the other replicas, at commit, of a report that opened findings.
    async fn announce(&self, tx: &mut PgConnection, position: i64) -> Result<(), sqlx::Error> {
        sqlx::query(queries::postgres::NOTIFY)
            .bind(self.channel.as_str())
            .bind(format!("{} {position}", self.replica))
            .execute(tx)
            .await?;
        Ok(())
    }

    /// Listens on the schema's channel for the reports of the other replicas
    /// (this replica's own were fed to its streams already).
    async fn listen_to_replicas(&self) -> Result<Option<ReplicaEvents>, StoreError> {
        let mut listener = PgListener::connect_with(&self.reader).await?;
        listener.listen(&self.channel).await?;
        let state = (listener, self.replica.clone());
        let events = futures_util::stream::unfold(state, |(mut listener, replica)| async move {
            loop {
                let event = match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        let Some((from, position)) = notification.payload().split_once(' ') else {
                            continue;
                        };
                        match position.parse() {
                            Ok(position) if from != replica => ReplicaEvent::Committed { position },
                            _ => continue,
                        }
                    }
                    // Lost, and listening again on a new connection.
                    Ok(None) => ReplicaEvent::Missed,
                    Err(sqlx::Error::PoolClosed) => return None,
                    Err(error) => {
                        tracing::warn!(%error, "cannot listen for other replicas' reports; retrying in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        ReplicaEvent::Missed
                    }
                };
                return Some((event, (listener, replica)));
            }
        });
        Ok(Some(Box::pin(events)))
    }
}
