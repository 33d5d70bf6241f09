//! The parallel walk: finds lockfiles by name, parses them in the walker
//! threads and merges the per-thread results.

use crate::cache::{CacheEntry, CachedResult, Fingerprint, FingerprintCache};
use crate::parsers::{self, ParseInput, Parsed};
use crate::{FileError, FileType, Package};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// How to walk a tree. `WalkOptions::default()` is what `zerotrace inventory`
/// does without flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkOptions {
    /// Globs a file must match (any of them) to be considered; empty means all
    /// files. Default: empty.
    pub include: Vec<String>,
    /// Globs of files and directories to skip; a matching directory is not
    /// entered. Default: empty.
    ///
    /// Globs are matched against the path relative to the root with `/`
    /// separators, and `*` does not cross a `/`. A glob without a `/`
    /// (`node_modules`, `*.lock`) is matched against the file name alone, like
    /// a `.gitignore` line.
    pub exclude: Vec<String>,
    /// How deep to descend; the root's own entries are depth 1. Default: no limit.
    pub max_depth: Option<usize>,
    /// Lockfiles larger than this many bytes are reported as a [`FileError`]
    /// instead of being read. Default: 64 MiB.
    pub max_file_size: u64,
    /// Follow symbolic links (loops are detected and reported). Default: false,
    /// symlinks are skipped.
    pub follow_symlinks: bool,
    /// Walk hidden files and directories (names starting with `.`). `.git`
    /// directories are skipped either way. Default: false.
    ///
    /// `node_modules` directories are never walked; the one file read in
    /// them is npm's `node_modules/.package-lock.json` beside a
    /// `package.json`, hidden or git-ignored as it may be (see `exclude`).
    pub hidden: bool,
    /// Honour `.gitignore`, `.ignore`, `.git/info/exclude` and the global git
    /// excludes, also outside a git repository. `false` scans ignored files
    /// too, as osv-scanner does by default. Default: true.
    pub respect_gitignore: bool,
    /// Walker threads; 0 means the available parallelism. Default: 0.
    pub threads: usize,
    /// Also read executables (ELF, Mach-O, PE, told by their first bytes,
    /// never by name) for the dependency lists Go and `cargo auditable`
    /// embed. Every file not recognised by name is then opened to read its
    /// first bytes, which is why this is off by default. Default: false.
    pub binaries: bool,
    /// Executables larger than this many bytes are reported as a
    /// [`FileError`] instead of being read. Default: 256 MiB.
    pub max_binary_size: u64,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            include: Vec::new(),
            exclude: Vec::new(),
            max_depth: None,
            max_file_size: 64 * 1024 * 1024,
            follow_symlinks: false,
            hidden: false,
            respect_gitignore: true,
            threads: 0,
            binaries: false,
            max_binary_size: 256 * 1024 * 1024,
        }
    }
}

/// Live counters of a running scan. The scan only adds to them; a caller may
/// read them from another thread at any time (they are updated in batches, so
/// they may lag the truth by a few hundred files until the scan returns).
#[derive(Debug, Default)]
pub struct Progress {
    /// Files walked (lockfiles and others).
    pub files_walked: AtomicU64,
    /// Lockfiles read and parsed (or taken from the cache).
    pub lockfiles_parsed: AtomicU64,
    /// Packages found so far.
    pub packages: AtomicU64,
    /// Files and directories that could not be read or parsed.
    pub errors: AtomicU64,
    /// Set by [`Progress::cancel`]: the walk stops at the next entry.
    cancelled: std::sync::atomic::AtomicBool,
}

/// A point-in-time copy of [`Progress`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProgressSnapshot {
    /// See [`Progress::files_walked`].
    pub files_walked: u64,
    /// See [`Progress::lockfiles_parsed`].
    pub lockfiles_parsed: u64,
    /// See [`Progress::packages`].
    pub packages: u64,
    /// See [`Progress::errors`].
    pub errors: u64,
}

impl Progress {
    /// Asks the walk to stop: every walker thread quits at its next entry
    /// (a read already under way ends first).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Returns whether the walk was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Returns the current values of the counters.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            files_walked: self.files_walked.load(Ordering::Relaxed),
            lockfiles_parsed: self.lockfiles_parsed.load(Ordering::Relaxed),
            packages: self.packages.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// What a scan found. `serde_json::to_string(&inventory)` is the output of
/// `zerotrace inventory --format json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Every package, sorted by path, ecosystem, name, version (then scope,
    /// source, requirement); exact repeats are removed.
    pub packages: Vec<Package>,
    /// Files and directories that could not be read or parsed, sorted by path.
    pub errors: Vec<FileError>,
    /// Files walked, lockfiles or not.
    pub files_walked: u64,
    /// Lockfiles read (parsed or taken from the cache), including those that failed.
    pub lockfiles: u64,
    /// Files walked per kind, keyed by [`FileType::label`] in JSON; feeds
    /// `zerotrace_files_scanned_total{file_type}`.
    pub file_types: BTreeMap<FileType, u64>,
    /// Per lockfile (by path) that records one, which package depends on
    /// which. Not serialised.
    #[serde(skip)]
    pub graphs: BTreeMap<String, crate::DependencyGraph>,
    /// When the scan was given a cache: the cache to save for the next scan,
    /// holding exactly the lockfiles of this scan. Not serialised.
    #[serde(skip)]
    pub cache: Option<FingerprintCache>,
}

/// Why a scan could not run at all (problems with single files are
/// [`FileError`]s in the [`Inventory`] instead).
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The root does not exist.
    #[error("scan root {} does not exist", .0.display())]
    RootNotFound(PathBuf),
    /// The root is neither a directory nor a regular file.
    #[error("scan root {} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The root is a file whose name is no lockfile or SBOM the scanner reads.
    #[error("{} is not a lockfile or SBOM the scanner reads (see the README's format table)", .0.display())]
    UnknownFile(PathBuf),
    /// The root could not be inspected.
    #[error("cannot read scan root {}: {message}", path.display())]
    Root {
        /// The root.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// An include or exclude glob does not parse.
    #[error("invalid glob {pattern:?}: {message}")]
    Glob {
        /// The glob as given.
        pattern: String,
        /// Why it is invalid.
        message: String,
    },
    /// A fingerprint cache could not be read or written.
    #[error("fingerprint cache {}: {message}", path.display())]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Walks `root` and returns every package of every lockfile in it. A
/// `root` that is a file is read alone, when its name is one the walk
/// recognises.
///
/// Only files whose name [`FileType::detect`] recognises (and npm's
/// `node_modules/.package-lock.json`, see [`WalkOptions::hidden`]) are
/// opened, and with [`WalkOptions::binaries`] the first bytes of every other
/// file; every other file is only counted. Unreadable files and directories
/// and unparsable lockfiles become [`FileError`]s and the walk goes on.
///
/// With a `cache`, lockfiles whose fingerprint is unchanged reuse their
/// cached result, and [`Inventory::cache`] holds the updated cache (the input
/// cache is not modified). Without one, `Inventory::cache` is `None`.
pub fn scan(
    root: &Path,
    options: &WalkOptions,
    progress: &Progress,
    cache: Option<&FingerprintCache>,
) -> Result<Inventory, InventoryError> {
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(m) if m.is_file() => return scan_file(root, options, progress, cache),
        Ok(_) => return Err(InventoryError::NotADirectory(root.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(InventoryError::RootNotFound(root.to_path_buf()));
        }
        Err(e) => {
            return Err(InventoryError::Root {
                path: root.to_path_buf(),
                message: e.to_string(),
            });
        }
    }
    let include = Globs::new(&options.include)?;
    let exclude = Globs::new(&options.exclude)?;
    let excluded = Globs::new(&options.exclude)?;

    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    } else {
        options.threads
    };
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(!options.hidden)
        .parents(options.respect_gitignore)
        .ignore(options.respect_gitignore)
        .git_ignore(options.respect_gitignore)
        .git_global(options.respect_gitignore)
        .git_exclude(options.respect_gitignore)
        .require_git(false)
        .follow_links(options.follow_symlinks)
        .max_depth(options.max_depth)
        .threads(threads);
    let filter_root = root.to_path_buf();
    builder.filter_entry(move |entry| {
        if entry.depth() == 0 {
            return true;
        }
        if entry.file_type().is_some_and(|t| t.is_dir())
            && (entry.file_name() == ".git" || entry.file_name() == NODE_MODULES)
        {
            return false;
        }
        if exclude.is_empty() {
            return true;
        }
        let rel = relative(&filter_root, entry.path());
        !exclude.matches(&rel, entry.file_name())
    });

    let shared = Shared {
        root,
        options,
        include,
        exclude: excluded,
        progress,
        cache,
        results: Mutex::new(Vec::new()),
    };
    let mut visitors = VisitorBuilder { shared: &shared };
    builder.build_parallel().visit(&mut visitors);

    let parts = shared
        .results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Ok(merge(parts, cache.is_some()))
}

/// Scans one file given as the root: a lockfile or SBOM recognised by its
/// name, reported with its file name as the path. Walk globs and depth do
/// not apply; the size limit and the cache do.
fn scan_file(
    file: &Path,
    options: &WalkOptions,
    progress: &Progress,
    cache: Option<&FingerprintCache>,
) -> Result<Inventory, InventoryError> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let file_type = match FileType::detect(name) {
        FileType::Other if name == HIDDEN_NPM_LOCKFILE => FileType::NpmLock,
        FileType::Other => return Err(InventoryError::UnknownFile(file.to_path_buf())),
        known => known,
    };
    let root = file.parent().unwrap_or(Path::new(""));
    let shared = Shared {
        root,
        options,
        include: Globs::new(&[])?,
        exclude: Globs::new(&[])?,
        progress,
        cache,
        results: Mutex::new(Vec::new()),
    };
    {
        let mut visitor = Visitor {
            shared: &shared,
            partial: Partial::default(),
            unreported_walked: 0,
        };
        visitor.count(file_type);
        visitor.read_lockfile(file, file_type);
    }
    let parts = shared
        .results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Ok(merge(parts, cache.is_some()))
}

/// Compiled include or exclude globs: those with a `/` match the relative
/// path, those without match the file name.
struct Globs {
    paths: GlobSet,
    names: GlobSet,
}

impl Globs {
    fn new(patterns: &[String]) -> Result<Globs, InventoryError> {
        let mut paths = GlobSetBuilder::new();
        let mut names = GlobSetBuilder::new();
        for pattern in patterns {
            let trimmed = pattern.trim_start_matches("./");
            let trimmed = trimmed.strip_prefix('/').unwrap_or(trimmed);
            let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
            let glob = GlobBuilder::new(trimmed)
                .literal_separator(true)
                .build()
                .map_err(|e| InventoryError::Glob {
                    pattern: pattern.clone(),
                    message: e.kind().to_string(),
                })?;
            if trimmed.contains('/') {
                paths.add(glob);
            } else {
                names.add(glob);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|e| InventoryError::Glob {
                pattern: patterns.join(", "),
                message: e.to_string(),
            })
        };
        Ok(Globs {
            paths: build(paths)?,
            names: build(names)?,
        })
    }

    fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.names.is_empty()
    }

    fn matches(&self, rel: &str, name: &std::ffi::OsStr) -> bool {
        self.paths.is_match(rel) || self.names.is_match(Path::new(name))
    }
}

/// Returns `path` relative to `root`, with `/` separators.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s = rel.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

struct Shared<'a> {
    root: &'a Path,
    options: &'a WalkOptions,
    include: Globs,
    /// The exclude globs, for the hidden npm lockfile, which the walker
    /// itself never reaches.
    exclude: Globs,
    progress: &'a Progress,
    cache: Option<&'a FingerprintCache>,
    results: Mutex<Vec<Partial>>,
}

/// What one walker thread found.
#[derive(Default)]
struct Partial {
    /// Per lockfile: its relative path and its packages, already sorted.
    files: Vec<(String, Vec<Package>)>,
    /// Per lockfile that records one: its dependency graph.
    graphs: Vec<(String, crate::DependencyGraph)>,
    errors: Vec<FileError>,
    files_walked: u64,
    lockfiles: u64,
    file_types: BTreeMap<FileType, u64>,
    cache_entries: Vec<(String, CacheEntry)>,
}

struct VisitorBuilder<'s> {
    shared: &'s Shared<'s>,
}

impl<'s> ParallelVisitorBuilder<'s> for VisitorBuilder<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Visitor {
            shared: self.shared,
            partial: Partial::default(),
            unreported_walked: 0,
        })
    }
}

struct Visitor<'s> {
    shared: &'s Shared<'s>,
    partial: Partial,
    /// Files walked since the last update of the shared counter, which is
    /// updated in batches to keep threads off one cache line.
    unreported_walked: u64,
}

const PROGRESS_BATCH: u64 = 256;

/// The directory npm installs packages into; never walked.
const NODE_MODULES: &str = "node_modules";

/// Returns whether a file starts like an executable (reads 4 bytes).
fn is_executable_file(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(path)?;
    let mut read = 0;
    while read < head.len() {
        match file.read(head.get_mut(read..).unwrap_or_default())? {
            0 => break,
            n => read += n,
        }
    }
    Ok(parsers::binary::is_executable(head.get(..read).unwrap_or_default()))
}

/// npm's lockfile of an installed `node_modules` tree.
const HIDDEN_NPM_LOCKFILE: &str = ".package-lock.json";

impl ParallelVisitor for Visitor<'_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        match entry {
            Ok(entry) => self.visit_entry(&entry),
            Err(err) => self.walk_error(&err),
        }
        if self.shared.progress.is_cancelled() {
            return WalkState::Quit;
        }
        WalkState::Continue
    }
}

impl Visitor<'_> {
    fn visit_entry(&mut self, entry: &DirEntry) {
        if let Some(err) = entry.error() {
            // A partially-read ignore file: worth knowing, not worth stopping.
            self.walk_error(err);
        }
        // Without follow_symlinks a symlink is skipped; with it, the walker
        // already resolved the type.
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            return;
        }
        let shared = self.shared;
        let Some(name) = entry.file_name().to_str() else {
            self.count(FileType::Other);
            return;
        };
        let file_type = FileType::detect(name);
        if name == "package.json" {
            self.hidden_npm_lockfile(entry.path());
        }
        if !shared.include.is_empty() {
            let rel = relative(shared.root, entry.path());
            if !shared.include.matches(&rel, entry.file_name()) {
                return;
            }
        }
        if file_type == FileType::Other && shared.options.binaries {
            match is_executable_file(entry.path()) {
                Ok(true) => {
                    self.count(FileType::Executable);
                    self.read_executable(entry.path());
                    return;
                }
                Ok(false) => {}
                Err(e) => {
                    let rel = relative(shared.root, entry.path());
                    self.error(rel, format!("cannot check whether it is an executable: {e}"));
                }
            }
        }
        self.count(file_type);
        if file_type.is_lockfile() {
            self.read_lockfile(entry.path(), file_type);
        }
    }

    /// Reads the dependency data embedded in an executable.
    fn read_executable(&mut self, path: &Path) {
        let shared = self.shared;
        let rel = relative(shared.root, path);
        self.partial.lockfiles += 1;
        shared.progress.lockfiles_parsed.fetch_add(1, Ordering::Relaxed);
        let result = match zerotrace_files::read_limited(path, shared.options.max_binary_size) {
            Ok((bytes, _)) => {
                let parsed = std::panic::catch_unwind(|| parsers::binary::parse(&bytes, &rel));
                match parsed {
                    Ok(Ok(parsed)) => CachedResult::Parsed(parsed),
                    Ok(Err(e)) => CachedResult::Error(e.0),
                    Err(_) => CachedResult::Error("executable reader failed unexpectedly".to_string()),
                }
            }
            Err(e) => CachedResult::Error(e.to_string()),
        };
        self.record(rel, result);
    }

    /// Reads `node_modules/.package-lock.json` beside a `package.json`: the
    /// lockfile npm 7+ keeps of what is installed there. `node_modules` is
    /// never walked (installed packages' own lockfiles do not say what is
    /// installed, and the tree is large), and is usually git-ignored, so the
    /// walker would not reach the file; it is looked up here instead, once
    /// per `package.json`, honouring the include and exclude globs.
    fn hidden_npm_lockfile(&mut self, package_json: &Path) {
        let shared = self.shared;
        let Some(dir) = package_json.parent() else { return };
        let modules = dir.join(NODE_MODULES);
        let lockfile = modules.join(HIDDEN_NPM_LOCKFILE);
        if !std::fs::symlink_metadata(&lockfile).is_ok_and(|m| m.file_type().is_file()) {
            return;
        }
        let rel = relative(shared.root, &lockfile);
        let file_name = std::ffi::OsStr::new(HIDDEN_NPM_LOCKFILE);
        let excluded = shared
            .exclude
            .matches(&relative(shared.root, &modules), std::ffi::OsStr::new(NODE_MODULES))
            || shared.exclude.matches(&rel, file_name);
        let included = shared.include.is_empty() || shared.include.matches(&rel, file_name);
        if excluded || !included {
            return;
        }
        self.count(FileType::NpmLock);
        self.read_lockfile(&lockfile, FileType::NpmLock);
    }

    fn count(&mut self, file_type: FileType) {
        self.partial.files_walked += 1;
        *self.partial.file_types.entry(file_type).or_insert(0) += 1;
        self.unreported_walked += 1;
        if self.unreported_walked >= PROGRESS_BATCH {
            self.shared
                .progress
                .files_walked
                .fetch_add(self.unreported_walked, Ordering::Relaxed);
            self.unreported_walked = 0;
        }
    }

    fn error(&mut self, path: String, message: String) {
        self.shared.progress.errors.fetch_add(1, Ordering::Relaxed);
        self.partial.errors.push(FileError { path, message });
    }

    fn walk_error(&mut self, err: &ignore::Error) {
        let (path, message) = describe_walk_error(err);
        let rel = path.map(|p| relative(self.shared.root, &p)).unwrap_or_default();
        self.error(rel, message);
    }

    fn read_lockfile(&mut self, path: &Path, file_type: FileType) {
        let shared = self.shared;
        let rel = relative(shared.root, path);
        self.partial.lockfiles += 1;
        shared.progress.lockfiles_parsed.fetch_add(1, Ordering::Relaxed);
        let (bytes, meta) = match zerotrace_files::read_limited(path, shared.options.max_file_size) {
            Ok(read) => read,
            Err(e) => {
                self.error(rel, e.to_string());
                return;
            }
        };
        let manifest = file_type
            .manifest()
            .and_then(|name| {
                zerotrace_files::read_limited(&path.with_file_name(name), shared.options.max_file_size).ok()
            })
            .map(|(bytes, _)| bytes);
        let fingerprint = shared.cache.map(|_| {
            let fingerprint = Fingerprint::new(&meta, &bytes);
            match &manifest {
                Some(manifest) => fingerprint.with_manifest(manifest),
                None => fingerprint,
            }
        });
        let contents = decode(bytes);
        let manifest = manifest.map(decode);
        // A requirements file with `-r`/`-c` lines, or a POM with a parent,
        // depends on other files the fingerprint does not cover, so it is
        // always parsed afresh.
        let cacheable = match file_type {
            FileType::PipRequirements => !has_requirements_include(&contents),
            // A POM with a parent reads the parent's file too.
            FileType::MavenPom => !contents.contains("<parent>"),
            _ => true,
        };
        let cached = match (shared.cache, fingerprint) {
            (Some(cache), Some(fp)) if cacheable => cache
                .get(&rel)
                .filter(|e| e.fingerprint == fp)
                .map(|e| e.result.clone()),
            _ => None,
        };
        let result = match cached {
            Some(result) => result,
            None => {
                let input = ParseInput {
                    contents: &contents,
                    fs_path: path,
                    rel_path: &rel,
                    root: shared.root,
                    max_file_size: shared.options.max_file_size,
                    manifest: manifest.as_deref(),
                };
                let parsed =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parsers::parse(file_type, &input)));
                match parsed {
                    Ok(Ok(parsed)) => CachedResult::Parsed(parsed),
                    Ok(Err(e)) => CachedResult::Error(e.0),
                    Err(_) => CachedResult::Error(format!("{file_type} parser failed unexpectedly")),
                }
            }
        };
        if let (Some(fingerprint), true) = (fingerprint, cacheable) {
            self.partial.cache_entries.push((
                rel.clone(),
                CacheEntry {
                    fingerprint,
                    result: result.clone(),
                },
            ));
        }
        self.record(rel, result);
    }

    /// Adds one file's packages and errors to this thread's results.
    fn record(&mut self, rel: String, result: CachedResult) {
        let shared = self.shared;
        match result {
            CachedResult::Parsed(Parsed {
                mut packages,
                errors,
                graph,
            }) => {
                shared
                    .progress
                    .packages
                    .fetch_add(packages.len() as u64, Ordering::Relaxed);
                for message in errors {
                    self.error(rel.clone(), message);
                }
                // Sorting here runs in parallel on the walker threads; the
                // merge then only orders whole files.
                sort_packages(&mut packages);
                if let Some(graph) = &graph {
                    let paths = crate::Paths::of(graph);
                    for p in &mut packages {
                        p.direct = paths.direct(&p.name, &p.version);
                    }
                }
                if let Some(graph) = graph {
                    self.partial.graphs.push((rel.clone(), graph));
                }
                self.partial.files.push((rel, packages));
            }
            CachedResult::Error(message) => self.error(rel, message),
        }
    }
}

impl Drop for Visitor<'_> {
    fn drop(&mut self) {
        self.shared
            .progress
            .files_walked
            .fetch_add(self.unreported_walked, Ordering::Relaxed);
        let partial = std::mem::take(&mut self.partial);
        let mut results = self
            .shared
            .results
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        results.push(partial);
    }
}

/// Decodes file bytes: UTF-8 (a BOM is dropped), UTF-16 with a BOM (pip
/// accepts such requirements files), anything else lossily.
fn decode(bytes: Vec<u8>) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let bytes = match String::from_utf8(bytes) {
        // The common case: valid UTF-8, taken over without a copy.
        Ok(text) => return text,
        Err(e) => e.into_bytes(),
    };
    let bytes = bytes.as_slice();
    let utf16 = |rest: &[u8], le: bool| {
        let units = rest.chunks_exact(2).map(|c| match c {
            [a, b] if le => u16::from_le_bytes([*a, *b]),
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => 0xFFFD,
        });
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect::<String>()
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, false);
    }
    String::from_utf8_lossy(bytes).into_owned()
}

fn has_requirements_include(contents: &str) -> bool {
    contents.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("-r") || l.starts_with("-c") || l.starts_with("--requirement") || l.starts_with("--constraint")
    })
}

/// Returns the path an error is about (if any) and a one-line message.
fn describe_walk_error(err: &ignore::Error) -> (Option<PathBuf>, String) {
    match err {
        ignore::Error::WithPath { path, err } => (Some(path.clone()), describe_walk_error(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => describe_walk_error(err),
        ignore::Error::Loop { child, ancestor } => (
            Some(child.clone()),
            format!("symlink loop back to {}", ancestor.display()),
        ),
        ignore::Error::Partial(errs) => match errs.first() {
            Some(first) => describe_walk_error(first),
            None => (None, "partial error".to_string()),
        },
        other => (
            None,
            other.to_string().lines().next().unwrap_or("walk error").to_string(),
        ),
    }
}

/// Sorts one file's packages by ecosystem, name, version (then scope,
/// source, requirement) and drops exact repeats. Every package of a file
/// has the same path, so this is the inventory's order within the file.
fn sort_packages(packages: &mut Vec<Package>) {
    packages.sort_unstable_by(|a, b| {
        (
            a.ecosystem,
            &a.name,
            &a.version,
            a.scope,
            a.source,
            &a.requirement,
            &a.path,
        )
            .cmp(&(
                b.ecosystem,
                &b.name,
                &b.version,
                b.scope,
                b.source,
                &b.requirement,
                &b.path,
            ))
    });
    packages.dedup();
}

fn merge(parts: Vec<Partial>, with_cache: bool) -> Inventory {
    let mut inventory = Inventory {
        cache: with_cache.then(FingerprintCache::new),
        ..Inventory::default()
    };
    let mut files = Vec::new();
    for part in parts {
        files.extend(part.files);
        inventory.graphs.extend(part.graphs);
        inventory.errors.extend(part.errors);
        inventory.files_walked += part.files_walked;
        inventory.lockfiles += part.lockfiles;
        for (file_type, n) in part.file_types {
            *inventory.file_types.entry(file_type).or_insert(0) += n;
        }
        if let Some(cache) = inventory.cache.as_mut() {
            for (rel, entry) in part.cache_entries {
                cache.insert(rel, entry);
            }
        }
    }
    files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    inventory.packages.reserve_exact(files.iter().map(|f| f.1.len()).sum());
    for (_, packages) in files {
        inventory.packages.extend(packages);
    }
    inventory
        .errors
        .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    inventory
}
