//! Persistence in a `redb` file.
//!
//! Why redb: it is an embedded, pure-Rust, ACID key-value store (no C
//! build, no server), an import is one write transaction (a crash leaves the
//! previous import intact), and readers never block. The database is read
//! once at open into the in-memory [`Snapshot`](crate::db) index, so what
//! matters is a compact, crash-safe store, not query power; SQLite would
//! bring a C build and a schema for no gain here.
//!
//! Layout: `advisories` (id → the trimmed advisory as compact JSON: only the
//! fields matching and scoring use, never the source files again),
//! `kev` (CVE → entry as JSON), `epss` (CVE → `[score, percentile]`),
//! `meta` (`"meta"` → JSON: format version, generation, last import time,
//! feed versions). The alias and package indexes are derived from the
//! advisories at open, in the same pass that parses versions, rather than
//! stored: storing them would double the write work of every import and
//! could drift from the advisories they index.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::feeds::{Epss, KevEntry};
use crate::osv::Advisory;

const ADVISORIES: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("advisories");
const KEV: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("kev");
const EPSS: TableDefinition<'_, &str, [f64; 2]> = TableDefinition::new("epss");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

/// The store format; bump when the stored JSON shapes change.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The database file name inside the data directory.
pub(crate) const FILE_NAME: &str = "advisories.redb";

/// Metadata persisted next to the data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) format: u32,
    pub(crate) generation: u64,
    pub(crate) last_import: Option<u64>,
    pub(crate) kev_catalog_version: Option<String>,
    pub(crate) epss_model_version: Option<String>,
    pub(crate) epss_score_date: Option<String>,
}

/// Everything the store holds, loaded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Data {
    pub(crate) advisories: Arc<HashMap<String, Arc<Advisory>>>,
    pub(crate) kev: Arc<HashMap<String, KevEntry>>,
    pub(crate) epss: Arc<HashMap<String, Epss>>,
    pub(crate) meta: Meta,
}

/// The redb database.
pub(crate) struct Store {
    db: redb::Database,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Corrupt(e.to_string())
}

impl Store {
    /// Opens (creating if needed) the store in `dir` and loads it.
    pub(crate) fn open(dir: &Path) -> Result<(Store, Data), Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let db = redb::Database::create(dir.join(FILE_NAME))?;
        let tx = db.begin_write()?;
        {
            // Creating the tables up front lets reads assume they exist.
            tx.open_table(ADVISORIES)?;
            tx.open_table(KEV)?;
            tx.open_table(EPSS)?;
            let mut meta = tx.open_table(META)?;
            if meta.get("meta")?.is_none() {
                let fresh = Meta {
                    format: FORMAT_VERSION,
                    ..Meta::default()
                };
                let bytes = serde_json::to_vec(&fresh).map_err(json_err)?;
                meta.insert("meta", bytes.as_slice())?;
            }
        }
        tx.commit()?;

        let tx = db.begin_read()?;
        let meta: Meta = match tx.open_table(META)?.get("meta")? {
            Some(v) => serde_json::from_slice(v.value()).map_err(json_err)?,
            None => Meta::default(),
        };
        if meta.format != FORMAT_VERSION {
            return Err(Error::IncompatibleStore {
                found: meta.format,
                expected: FORMAT_VERSION,
            });
        }
        let mut advisories = HashMap::new();
        for row in tx.open_table(ADVISORIES)?.iter()? {
            let (k, v) = row?;
            let adv: Advisory = serde_json::from_slice(v.value()).map_err(json_err)?;
            advisories.insert(k.value().to_string(), Arc::new(adv));
        }
        let mut kev = HashMap::new();
        for row in tx.open_table(KEV)?.iter()? {
            let (k, v) = row?;
            let entry: KevEntry = serde_json::from_slice(v.value()).map_err(json_err)?;
            kev.insert(k.value().to_string(), entry);
        }
        let mut epss = HashMap::new();
        for row in tx.open_table(EPSS)?.iter()? {
            let (k, v) = row?;
            let [score, percentile] = v.value();
            epss.insert(k.value().to_string(), Epss { score, percentile });
        }
        drop(tx);
        let data = Data {
            advisories: Arc::new(advisories),
            kev: Arc::new(kev),
            epss: Arc::new(epss),
            meta,
        };
        Ok((Store { db }, data))
    }

    /// Writes changed advisories, and optionally replaced feeds, with the
    /// metadata, in one transaction.
    pub(crate) fn write(
        &self,
        advisories: &[Arc<Advisory>],
        kev: Option<&HashMap<String, KevEntry>>,
        epss: Option<&HashMap<String, Epss>>,
        meta: &Meta,
    ) -> Result<(), Error> {
        let tx = self.db.begin_write()?;
        {
            let mut table = tx.open_table(ADVISORIES)?;
            for adv in advisories {
                let bytes = serde_json::to_vec(adv.as_ref()).map_err(json_err)?;
                table.insert(adv.id.as_str(), bytes.as_slice())?;
            }
        }
        if let Some(kev) = kev {
            tx.delete_table(KEV)?;
            let mut table = tx.open_table(KEV)?;
            for (cve, entry) in kev {
                let bytes = serde_json::to_vec(entry).map_err(json_err)?;
                table.insert(cve.as_str(), bytes.as_slice())?;
            }
        }
        if let Some(epss) = epss {
            tx.delete_table(EPSS)?;
            let mut table = tx.open_table(EPSS)?;
            for (cve, e) in epss {
                table.insert(cve.as_str(), [e.score, e.percentile])?;
            }
        }
        {
            let mut table = tx.open_table(META)?;
            let bytes = serde_json::to_vec(meta).map_err(json_err)?;
            table.insert("meta", bytes.as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }
}
