//! Incremental scans: a per-file fingerprint and the parse result it produced.
//!
//! A lockfile whose size, modification time and content hash all equal the
//! cached ones reuses the cached packages (or error) without being parsed
//! again. The file is still read, because the hash is over its contents: the
//! cache saves parsing, not I/O, and never trusts a timestamp alone.

use crate::InventoryError;
use crate::parsers::Parsed;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

/// Bumped whenever a parser changes what it produces, so that an old cache
/// file is discarded rather than replayed.
const FORMAT: u32 = 6;

/// What identifies one version of a file's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the Unix epoch (negative before it).
    pub mtime_secs: i64,
    /// Sub-second part of the modification time.
    pub mtime_nanos: u32,
    /// [`content_hash`] of the bytes.
    pub hash: u64,
}

impl Fingerprint {
    /// Returns the fingerprint of `bytes` read from a file with metadata `meta`.
    pub fn new(meta: &std::fs::Metadata, bytes: &[u8]) -> Fingerprint {
        let (mtime_secs, mtime_nanos) = meta.modified().map(split_time).unwrap_or((0, 0));
        Fingerprint {
            size: meta.len(),
            mtime_secs,
            mtime_nanos,
            hash: content_hash(bytes),
        }
    }

    /// Returns the fingerprint that also covers a second file the parse
    /// read (a lockfile's project manifest).
    pub fn with_manifest(self, bytes: &[u8]) -> Fingerprint {
        Fingerprint {
            hash: self.hash.rotate_left(1) ^ content_hash(bytes),
            ..self
        }
    }
}

fn split_time(t: SystemTime) -> (i64, u32) {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() == 0 {
                (-secs, 0)
            } else {
                (-secs - 1, 1_000_000_000 - d.subsec_nanos())
            }
        }
    }
}

/// The parse result remembered for one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CachedResult {
    /// The file parsed to these packages (and entry errors).
    Parsed(Parsed),
    /// The parser rejected the file with this one-line message.
    Error(String),
}

/// One cached file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// The fingerprint of the contents that produced `result`.
    pub fingerprint: Fingerprint,
    /// What parsing those contents produced.
    pub result: CachedResult,
}

/// Fingerprints and parse results of the lockfiles of one scan root, keyed by
/// path relative to that root (`/` separators).
///
/// Use one cache per root. A scan given a cache returns a fresh one in
/// [`Inventory::cache`](crate::Inventory::cache) holding exactly the files
/// seen by that scan (removed files drop out); save that one for next time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintCache {
    format: u32,
    entries: HashMap<String, CacheEntry>,
}

impl FingerprintCache {
    /// Returns an empty cache.
    pub fn new() -> FingerprintCache {
        FingerprintCache {
            format: FORMAT,
            entries: HashMap::new(),
        }
    }

    /// Reads a cache saved by [`FingerprintCache::save`].
    ///
    /// A missing file, or one written by an older version of the parsers,
    /// gives an empty cache; an unreadable or corrupt file is an error (the
    /// caller may then start from [`FingerprintCache::new`]).
    pub fn load(path: &Path) -> Result<FingerprintCache, InventoryError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FingerprintCache::new()),
            Err(e) => return Err(cache_error(path, e)),
        };
        let cache: FingerprintCache = serde_json::from_slice(&bytes).map_err(|e| cache_error(path, e))?;
        if cache.format != FORMAT {
            return Ok(FingerprintCache::new());
        }
        Ok(cache)
    }

    /// Writes the cache as JSON, atomically: to a temporary file in the same
    /// directory, flushed to disk, then renamed over `path`.
    pub fn save(&self, path: &Path) -> Result<(), InventoryError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cache".to_string());
        let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
            file.write_all(&json)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(cache_error(path, e));
        }
        Ok(())
    }

    /// Returns the entry of a file, by path relative to the scan root.
    pub fn get(&self, rel_path: &str) -> Option<&CacheEntry> {
        self.entries.get(rel_path)
    }

    /// Records the entry of a file, by path relative to the scan root.
    pub fn insert(&mut self, rel_path: String, entry: CacheEntry) {
        self.entries.insert(rel_path, entry);
    }

    /// Returns the number of cached files.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns whether no file is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn cache_error(path: &Path, e: impl std::fmt::Display) -> InventoryError {
    InventoryError::Cache {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Returns a fast, non-cryptographic 64-bit hash of `bytes`.
///
/// It detects edits to a file between two scans; it is not meant to resist
/// someone crafting collisions (an attacker who can write the lockfile can
/// simply write the packages they want).
pub fn content_hash(bytes: &[u8]) -> u64 {
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    let len = bytes.len() as u64;
    // Two independent lanes keep two multiplies in flight.
    let mut a: u64 = 0x243F_6A88_85A3_08D3 ^ len.wrapping_mul(K1);
    let mut b: u64 = 0x1319_8A2E_0370_7344 ^ len.wrapping_mul(K2);
    let mut chunks = bytes.chunks_exact(16);
    for chunk in &mut chunks {
        let (lo, hi) = chunk.split_at(8);
        a = (a ^ word(lo)).wrapping_mul(K1).rotate_left(31);
        b = (b ^ word(hi)).wrapping_mul(K2).rotate_left(29);
    }
    let rest = chunks.remainder();
    let (lo, hi) = rest.split_at(rest.len().min(8));
    a = (a ^ word(lo)).wrapping_mul(K1).rotate_left(31);
    b = (b ^ word(hi)).wrapping_mul(K2).rotate_left(29);
    fmix(a ^ b.rotate_left(32) ^ len)
}

/// Reads up to eight bytes as a little-endian word, zero-padded.
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    for (dst, src) in w.iter_mut().zip(bytes) {
        *dst = *src;
    }
    u64::from_le_bytes(w)
}

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_sees_every_byte_and_the_length() {
        let base = b"name = \"serde\"\nversion = \"1.0.0\"\n".to_vec();
        let h = content_hash(&base);
        for i in 0..base.len() {
            let mut m = base.clone();
            m[i] ^= 1;
            assert_ne!(content_hash(&m), h, "byte {i}");
        }
        assert_ne!(content_hash(b""), content_hash(b"\0"));
        assert_ne!(content_hash(b"a"), content_hash(b"a\0"));
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        assert!(FingerprintCache::load(&path).unwrap().is_empty());
        let mut cache = FingerprintCache::new();
        let fingerprint = Fingerprint {
            size: 3,
            mtime_secs: -5,
            mtime_nanos: 7,
            hash: 42,
        };
        cache.insert(
            "a/Cargo.lock".into(),
            CacheEntry {
                fingerprint,
                result: CachedResult::Error("bad".into()),
            },
        );
        cache.save(&path).unwrap();
        assert_eq!(FingerprintCache::load(&path).unwrap(), cache);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(FingerprintCache::load(&path).is_err());
    }
}
