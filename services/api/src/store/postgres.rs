//! The PostgreSQL backend, for several API replicas sharing one database.
//! Commits are synchronous (the server default), so an acknowledged report
//! is in the WAL on disk. The schema comes from the connection's
//! `search_path` (e.g. `?options[search_path]=zerotrace`).

use super::StoreError;
use super::sql::{RiskOrder, sql_store};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// PostgreSQL-backed [`super::Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    writer: PgPool,
    reader: PgPool,
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
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
        })
    }

    /// After a commit: nothing to do (the server checkpoints).
    fn committed(&self) {}

    /// Closes the pool.
    pub async fn close(&self) {
        self.writer.close().await;
    }
}

sql_store!(PostgresStore, Postgres, "", RiskOrder::Index);
