//! Finding packages in a source tree: a parallel walk that picks out
//! dependency lockfiles and manifests by name, and one parser per format.
//!
//! The agent service, `zerotrace inventory` and `zerotrace scan` all call
//! [`scan`]; nothing here talks to the network.

mod cache;
mod graph;
mod package;
pub mod parsers;
mod walk;

pub use cache::{CacheEntry, CachedResult, Fingerprint, FingerprintCache, content_hash};
pub use graph::{DependencyGraph, Paths};
pub use package::{FileError, FileType, Package, ParseError, Scope};
pub use walk::{Inventory, InventoryError, Progress, ProgressSnapshot, WalkOptions, scan};
pub use zerotrace_ecosystem::Source;
