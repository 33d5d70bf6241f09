//! The ZeroTrace advisory database: imports OSV advisories (RustSec, PyPA,
//! GitHub, osv.dev zips, ...), CISA KEV and FIRST EPSS; stores them in a
//! SQLite file shared by every process that uses it (or only in memory);
//! and matches package versions against them with scores and a risk ranking.
//!
//! The enrichment service and `zerotrace scan` both use it:
//!
//! ```no_run
//! # fn main() -> Result<(), zerotrace_advisory::Error> {
//! use zerotrace_advisory::{Database, PackageQuery};
//!
//! let db = Database::open("/var/lib/zerotrace/advisories")?;
//! db.import_path("all.zip")?; // OSV zip or directory, KEV JSON or EPSS CSV
//! let found = db.match_package(&PackageQuery::registry("crates.io", "smallvec", "1.6.0"))?;
//! for v in &found.vulnerabilities {
//!     println!("{} {} risk {}", v.id, v.severity, v.risk);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Matching
//!
//! Matching follows the OSV schema; versions are ordered by
//! [`zerotrace_ecosystem::Version`] of the package's ecosystem (for `SEMVER`
//! ranges too) and names compared after
//! [`Ecosystem::normalize_name`](zerotrace_ecosystem::Ecosystem::normalize_name).
//!
//! - Per range of type `SEMVER` or `ECOSYSTEM` (`GIT` and unknown types never
//!   match a package): events are sorted by version (`introduced: "0"`
//!   first; at an equal version `introduced` before `last_affected` before
//!   `fixed`), then walked in order: `introduced` ≤ v opens, `fixed` ≤ v
//!   closes, `last_affected` < v closes. With `limit` events, v must also
//!   be below one of them (`"*"` is no limit).
//! - An affected entry matches if any of its ranges does, or if the version
//!   is in its explicit `versions` list, whatever the ranges say.
//! - An advisory is reported once per package even if several of its
//!   affected entries name that package; its `fixed_versions` are theirs.
//! - A range bound that does not parse in the package's ecosystem is
//!   skipped: the range is evaluated as if that event were absent. A skipped
//!   `fixed`/`last_affected`/`limit` leaves the range open (a possible false
//!   positive rather than a missed vulnerability); a skipped `introduced`
//!   does not open its segment, and a range left without any `introduced` is
//!   dropped. Explicit `versions` still apply. [`DbInfo::skipped_bounds`]
//!   counts them (0 on the RustSec and PyPA data).
//! - A package version that does not parse never panics: only verbatim
//!   `versions` entries are checked and [`Verdict::unmatched_reason`]
//!   says why.
//! - Which packages are matched at all is one rule,
//!   [`PackageQuery::matchable`]: registry packages of a known ecosystem
//!   with a pinned version. [`Database::match_package`] applies it, so the
//!   CLI and the enrichment service (and through it the agent) say the same
//!   of every package.
//!
//! # Scoring
//!
//! Scores come from the `cvss` crate behind a strict vector check
//! ([`check_vector`]); the ranking is [`risk_score`]. KEV and EPSS attach to
//! an advisory through its id or aliases that are CVE ids (highest EPSS
//! wins).

mod candidates;
mod db;
mod feeds;
pub mod freshness;
mod matcher;
mod model;
mod osv;
mod score;
mod scoring;
mod store;
pub mod sync;
pub mod time;

use std::path::PathBuf;

pub use db::Database;
pub use feeds::{Epss, KevEntry};
pub use freshness::{Feed, SourceState};
pub use model::{
    Counts, CvssScore, DbInfo, ImportKind, ImportOptions, ImportReport, Informational, InvalidFile, PackageQuery,
    Reference, ScoredAdvisory, Verdict,
};
pub use score::{CvssError, Severity, check_vector, risk_score, score_vector};
pub use zerotrace_ecosystem::Source;

/// The errors of this crate. Per-advisory problems are not errors: they
/// are reported in [`ImportReport::invalid`] and the import goes on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A zip archive could not be opened.
    #[error("cannot open zip {path}: {source}")]
    Zip {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: zip::result::ZipError,
    },
    /// A feed file (KEV, EPSS) is malformed as a whole.
    #[error("{path}: {reason}")]
    Format {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The path is none of the importable kinds.
    #[error("{path}: not an OSV zip, directory or file, a KEV catalog or an EPSS CSV")]
    UnknownKind {
        /// The path.
        path: PathBuf,
    },
    /// The store failed.
    #[error("advisory store: {0}")]
    Store(#[from] rusqlite::Error),
    /// The store holds data this version cannot read.
    #[error("advisory store is corrupt: {0}")]
    Corrupt(String),
    /// The store was written by an incompatible version of this crate.
    #[error("advisory store format {found} is not {expected}: import into a fresh data directory")]
    IncompatibleStore {
        /// The stored format.
        found: i64,
        /// The format this version writes.
        expected: i64,
    },
}
