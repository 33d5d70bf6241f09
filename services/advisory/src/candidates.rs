//! What the database knows of one package name, ready for matching: the
//! advisories naming it with their affected entries already parsed, and
//! each advisory's record as scored for that package, decoded on its first
//! hit. A scan asks about many versions of the same names (a corpus of old
//! pins, a fleet of agents), so [`Candidates`] are kept per (ecosystem,
//! name) and shared by every version asked about: ranges are parsed once per
//! name, and every finding of one advisory on one package holds the same
//! `Arc`.
//!
//! The cache is keyed on the database generation: any import bumps it, and
//! the first look-up that sees a new generation empties the cache. It holds
//! at most [`MAX_NAMES`] names; past that it starts again empty.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::{Connection, params};
use zerotrace_ecosystem::Ecosystem;

use crate::Error;
use crate::matcher::PreparedAffected;
use crate::model::ScoredAdvisory;
use crate::osv::Affected;
use crate::scoring::PackageScore;

/// The most package names whose candidates are kept at once.
const MAX_NAMES: usize = 16_384;

/// The advisories naming one package.
#[derive(Debug)]
pub(crate) struct Candidates {
    /// By advisory id (and informational kind).
    pub(crate) advisories: Vec<Candidate>,
    /// Whether the database has any advisory of the ecosystem.
    pub(crate) ecosystem_covered: bool,
}

/// One advisory naming the package.
#[derive(Debug)]
pub(crate) struct Candidate {
    id: String,
    informational: String,
    /// The advisory's affected entries for this package, parsed.
    pub(crate) affected: Vec<PreparedAffected>,
    scored: OnceLock<Arc<ScoredAdvisory>>,
}

impl Candidate {
    /// The advisory as scored for this package, read on the first call.
    pub(crate) fn scored(&self, tx: &Connection, eco: Ecosystem, name: &str) -> Result<Arc<ScoredAdvisory>, Error> {
        if let Some(scored) = self.scored.get() {
            return Ok(Arc::clone(scored));
        }
        let (whole, package): (Vec<u8>, Vec<u8>) = tx
            .prepare_cached(
                "SELECT a.scored, p.scored FROM packages p JOIN advisories a ON a.id = p.id
                 WHERE p.ecosystem = ?1 AND p.name = ?2 AND p.id = ?3 AND p.informational = ?4",
            )?
            .query_row(params![eco.osv_name(), name, self.id, self.informational], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let package: PackageScore = crate::db::decode(&package, "package score")?;
        let advisory = Arc::new(package.apply(crate::db::decode(&whole, "advisory")?));
        Ok(Arc::clone(self.scored.get_or_init(|| advisory)))
    }
}

/// Candidates per (ecosystem, normalised name), for one generation.
#[derive(Debug, Default)]
pub(crate) struct CandidateCache {
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    generation: u64,
    names: HashMap<(Ecosystem, String), Arc<Candidates>>,
    /// Whether the database has any advisory of each ecosystem.
    covered: HashMap<Ecosystem, bool>,
}

impl CandidateCache {
    /// The candidates of `name` (normalised) in `eco`, as of `generation`
    /// (which `tx` must be reading).
    pub(crate) fn get(
        &self,
        tx: &Connection,
        generation: u64,
        eco: Ecosystem,
        name: &str,
    ) -> Result<Arc<Candidates>, Error> {
        let key = (eco, name.to_string());
        {
            let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if state.generation != generation {
                state.names.clear();
                state.covered.clear();
                state.generation = generation;
            }
            if let Some(found) = state.names.get(&key) {
                return Ok(Arc::clone(found));
            }
        }
        let covered = self.covered(tx, generation, eco)?;
        let candidates = Arc::new(read(tx, eco, name, covered)?);
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.generation == generation {
            if state.names.len() >= MAX_NAMES {
                state.names.clear();
            }
            state.names.insert(key, Arc::clone(&candidates));
        }
        Ok(candidates)
    }
}

impl CandidateCache {
    /// Whether the database (at `generation`) has advisories of `eco`.
    fn covered(&self, tx: &Connection, generation: u64, eco: Ecosystem) -> Result<bool, Error> {
        let known = {
            let state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            (state.generation == generation)
                .then(|| state.covered.get(&eco).copied())
                .flatten()
        };
        if let Some(covered) = known {
            return Ok(covered);
        }
        let covered = tx
            .prepare_cached("SELECT 1 FROM packages WHERE ecosystem = ?1 LIMIT 1")?
            .exists([eco.osv_name()])?;
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.generation == generation {
            state.covered.insert(eco, covered);
        }
        Ok(covered)
    }
}

/// Reads the advisories naming `name` in `eco` and parses their entries.
fn read(tx: &Connection, eco: Ecosystem, name: &str, ecosystem_covered: bool) -> Result<Candidates, Error> {
    let mut statement = tx.prepare_cached(
        "SELECT id, informational, ranges FROM packages WHERE ecosystem = ?1 AND name = ?2 ORDER BY id",
    )?;
    let rows: Vec<(String, String, Vec<u8>)> = statement
        .query_map(params![eco.osv_name(), name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut advisories = Vec::with_capacity(rows.len());
    for (id, informational, ranges) in rows {
        let entries: Vec<Affected> = crate::db::decode(&ranges, "package ranges")?;
        let mut skipped = 0;
        let affected = entries
            .iter()
            .map(|a| PreparedAffected::new(eco, a, &mut skipped))
            .collect();
        advisories.push(Candidate {
            id,
            informational,
            affected,
            scored: OnceLock::new(),
        });
    }
    Ok(Candidates {
        advisories,
        ecosystem_covered,
    })
}
