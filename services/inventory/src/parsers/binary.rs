//! Executables, read only when the walk is asked to (`WalkOptions::binaries`).
//!
//! A file is an executable when its first bytes are an ELF, Mach-O (thin or
//! fat) or PE magic; its name plays no part. Two kinds of embedded
//! dependency data are read:
//! - Go build info (Go 1.18 and later): the `\xff Go buildinf:` block, found
//!   by scanning the file, holds the Go release, reported as `stdlib` at the
//!   version OSV's Go advisories use, and the module list: the main module
//!   (its own version when built with `go install m@v`, else a workspace
//!   entry without a version), each `dep` at its version without the
//!   leading `v`, and a `=>` replacement instead of the module it replaces
//!   ([`Source::Path`] when it is a directory). Build info of an older Go
//!   release (pointer-based) is an error for the file, not a silent skip.
//! - Rust dependency lists of `cargo auditable`: the `.dep-v0` section (ELF,
//!   PE) or `__DATA,__dep_v0` (Mach-O), zlib-compressed JSON. `crates.io`
//!   and other registry packages are registry packages, `git` ones git,
//!   `local` ones the binary's own workspace; `build` dependencies are
//!   Development, the rest Runtime.
//!
//! An executable with neither yields nothing. Decompression is bounded, and
//! every offset read from the file is checked, whatever the bytes.

use super::Parsed;
use super::collect::{Collector, error};
use crate::{ParseError, Scope, Source};
use serde::Deserialize;
use std::io::Read;
use zerotrace_ecosystem::Ecosystem;
use zerotrace_ecosystem::version::go_toolchain_version;

const FORMAT: &str = "executable";
const GO_MAGIC: &[u8] = b"\xff Go buildinf:";
/// Largest decompressed `cargo auditable` JSON read.
const MAX_AUDIT_JSON: u64 = 16 * 1024 * 1024;

/// Returns whether `head` (the first bytes of a file) starts an executable.
pub fn is_executable(head: &[u8]) -> bool {
    matches!(
        head,
        [0x7f, b'E', b'L', b'F', ..]
            | [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..]
            | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..]
            | [0xca, 0xfe, 0xba, 0xbe, ..]
            | [b'M', b'Z', ..]
    )
}

/// Reads the dependency data embedded in an executable.
pub fn parse(bytes: &[u8], rel_path: &str) -> Result<Parsed, ParseError> {
    let mut parsed = Parsed::default();
    if let Some(go) = go_build_info(bytes, rel_path)? {
        parsed.packages.extend(go.packages);
        parsed.errors.extend(go.errors);
    }
    if let Some(section) = find_section(bytes) {
        let rust = cargo_auditable(section, rel_path)?;
        parsed.packages.extend(rust.packages);
        parsed.errors.extend(rust.errors);
    }
    Ok(parsed)
}

/// Returns the Go build info's packages, or `None` for a non-Go binary.
fn go_build_info(bytes: &[u8], rel_path: &str) -> Result<Option<Parsed>, ParseError> {
    let Some(start) = find(bytes, GO_MAGIC) else {
        return Ok(None);
    };
    let header = bytes
        .get(start..start + 32)
        .ok_or_else(|| error(FORMAT, "truncated Go build info"))?;
    let flags = header.get(15).copied().unwrap_or(0);
    if flags & 0x2 == 0 {
        return Err(error(
            FORMAT,
            "Go build info of a release before Go 1.18 (pointer-based) is not read",
        ));
    }
    let mut rest = bytes.get(start + 32..).unwrap_or_default();
    let version = read_string(&mut rest).ok_or_else(|| error(FORMAT, "truncated Go version"))?;
    let modinfo = read_string(&mut rest).ok_or_else(|| error(FORMAT, "truncated Go module info"))?;
    // The module info is framed by 16-byte sentinels.
    let modinfo = if modinfo.len() >= 33 && modinfo.get(modinfo.len() - 17) == Some(&b'\n') {
        modinfo.get(16..modinfo.len() - 16).unwrap_or_default()
    } else {
        modinfo
    };
    let version = String::from_utf8_lossy(version);
    let modinfo = String::from_utf8_lossy(modinfo);
    let mut out = Collector::new(Ecosystem::Go, rel_path);
    match go_toolchain_version(&version) {
        Some(v) => out.add("stdlib", &v, Scope::Unspecified, Source::Registry),
        None => out.entry_error(error(
            FORMAT,
            format!("Go version {version:?} names no Go release; stdlib is not reported"),
        )),
    }
    // A dep line is held until the next line says whether it was replaced.
    let mut pending: Option<(String, String)> = None;
    let flush = |pending: &mut Option<(String, String)>, out: &mut Collector<'_>| {
        if let Some((path, version)) = pending.take() {
            out.add(&path, strip_v(&version), Scope::Unspecified, Source::Registry);
        }
    };
    for line in modinfo.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["mod", path, version, ..] => {
                flush(&mut pending, &mut out);
                if *version == "(devel)" || version.is_empty() {
                    out.add(path, "", Scope::Unspecified, Source::Workspace);
                } else {
                    out.add(path, strip_v(version), Scope::Unspecified, Source::Registry);
                }
            }
            ["dep", path, version, ..] => {
                flush(&mut pending, &mut out);
                pending = Some(((*path).to_string(), (*version).to_string()));
            }
            ["=>", path, version, ..] => {
                let replaced = pending.take();
                if version.is_empty() || path.starts_with('.') || path.starts_with('/') {
                    let original = replaced.map(|(p, _)| p).unwrap_or_else(|| (*path).to_string());
                    out.add_located(&original, "", path, Scope::Unspecified, Source::Path);
                } else {
                    out.add(path, strip_v(version), Scope::Unspecified, Source::Registry);
                }
            }
            ["=>", path] => {
                let original = pending.take().map(|(p, _)| p).unwrap_or_else(|| (*path).to_string());
                out.add_located(&original, "", path, Scope::Unspecified, Source::Path);
            }
            _ => {}
        }
    }
    flush(&mut pending, &mut out);
    Ok(Some(out.finish()))
}

fn strip_v(version: &str) -> &str {
    match version.strip_prefix('v') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => version,
    }
}

/// Reads a uvarint-length-prefixed string and advances `rest` past it.
fn read_string<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut used = 0;
    loop {
        let b = *rest.get(used)?;
        used += 1;
        len |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let len = usize::try_from(len).ok()?;
    let s = rest.get(used..used.checked_add(len)?)?;
    *rest = rest.get(used + len..)?;
    Some(s)
}

/// Returns the first offset of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(i) = haystack.get(from..)?.iter().position(|&b| b == first) {
        let at = from + i;
        if haystack.get(at..at + needle.len())? == needle {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[derive(Deserialize)]
struct AuditInfo {
    #[serde(default)]
    packages: Vec<AuditPackage>,
}

#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    kind: Option<String>,
}

/// Reads the zlib-compressed JSON of a `cargo auditable` section.
fn cargo_auditable(section: &[u8], rel_path: &str) -> Result<Parsed, ParseError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(MAX_AUDIT_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| error(FORMAT, format!("cargo auditable data: {e}")))?;
    if json.len() as u64 > MAX_AUDIT_JSON {
        return Err(error(FORMAT, "cargo auditable data inflates past 16 MiB"));
    }
    let info: AuditInfo =
        serde_json::from_slice(&json).map_err(|e| error(FORMAT, format!("cargo auditable data: {e}")))?;
    let mut out = Collector::new(Ecosystem::CratesIo, rel_path);
    for p in &info.packages {
        let source = match p.source.as_str() {
            "git" => Source::Git,
            "local" => Source::Workspace,
            _ => Source::Registry,
        };
        let scope = match p.kind.as_deref() {
            Some("build") => Scope::Development,
            _ => Scope::Runtime,
        };
        out.add(&p.name, &p.version, scope, source);
    }
    Ok(out.finish())
}

fn u16_at(b: &[u8], at: usize, le: bool) -> Option<u16> {
    let a: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(a)
    } else {
        u16::from_be_bytes(a)
    })
}

fn u32_at(b: &[u8], at: usize, le: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    })
}

fn u64_at(b: &[u8], at: usize, le: bool) -> Option<u64> {
    let a: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(if le {
        u64::from_le_bytes(a)
    } else {
        u64::from_be_bytes(a)
    })
}

fn slice(b: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(size).ok()?)?;
    b.get(start..end)
}

/// Returns the contents of the `cargo auditable` section, if there is one.
fn find_section(b: &[u8]) -> Option<&[u8]> {
    match b.get(..4)? {
        [0x7f, b'E', b'L', b'F'] => elf_section(b, b".dep-v0"),
        [b'M', b'Z', ..] => pe_section(b, b".dep-v0"),
        [0xcf, 0xfa, 0xed, 0xfe] => macho_section(b, b"__dep_v0"),
        _ => None,
    }
}

fn elf_section<'a>(b: &'a [u8], wanted: &[u8]) -> Option<&'a [u8]> {
    let is64 = *b.get(4)? == 2;
    let le = *b.get(5)? == 1;
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (
            u64_at(b, 0x28, le)?,
            u16_at(b, 0x3a, le)?,
            u16_at(b, 0x3c, le)?,
            u16_at(b, 0x3e, le)?,
        )
    } else {
        (
            u64::from(u32_at(b, 0x20, le)?),
            u16_at(b, 0x2e, le)?,
            u16_at(b, 0x30, le)?,
            u16_at(b, 0x32, le)?,
        )
    };
    let header = |i: u16| -> Option<(u32, u64, u64)> {
        let at = usize::try_from(shoff)
            .ok()?
            .checked_add(usize::from(i) * usize::from(shentsize))?;
        if is64 {
            Some((u32_at(b, at, le)?, u64_at(b, at + 0x18, le)?, u64_at(b, at + 0x20, le)?))
        } else {
            Some((
                u32_at(b, at, le)?,
                u64::from(u32_at(b, at + 0x10, le)?),
                u64::from(u32_at(b, at + 0x14, le)?),
            ))
        }
    };
    let (_, names_offset, names_size) = header(shstrndx)?;
    let names = slice(b, names_offset, names_size)?;
    (0..shnum).find_map(|i| {
        let (name, offset, size) = header(i)?;
        let name = names.get(usize::try_from(name).ok()?..)?;
        let end = name.iter().position(|&c| c == 0)?;
        (name.get(..end)? == wanted).then(|| slice(b, offset, size)).flatten()
    })
}

fn pe_section<'a>(b: &'a [u8], wanted: &[u8]) -> Option<&'a [u8]> {
    let pe = usize::try_from(u32_at(b, 0x3c, true)?).ok()?;
    if b.get(pe..pe + 4)? != b"PE\0\0" {
        return None;
    }
    let sections = u16_at(b, pe + 6, true)?;
    let optional = u16_at(b, pe + 20, true)?;
    let table = pe + 24 + usize::from(optional);
    (0..usize::from(sections)).find_map(|i| {
        let at = table + i * 40;
        let name = b.get(at..at + 8)?;
        let end = name.iter().position(|&c| c == 0).unwrap_or(8);
        let size = u32_at(b, at + 16, true)?;
        let offset = u32_at(b, at + 20, true)?;
        (name.get(..end)? == wanted)
            .then(|| slice(b, u64::from(offset), u64::from(size)))
            .flatten()
    })
}

fn macho_section<'a>(b: &'a [u8], wanted: &[u8]) -> Option<&'a [u8]> {
    const LC_SEGMENT_64: u32 = 0x19;
    let ncmds = u32_at(b, 16, true)?;
    let mut at = 32usize;
    for _ in 0..ncmds.min(4096) {
        let cmd = u32_at(b, at, true)?;
        let size = usize::try_from(u32_at(b, at + 4, true)?).ok()?;
        if cmd == LC_SEGMENT_64 {
            let nsects = u32_at(b, at + 64, true)?;
            for s in 0..usize::try_from(nsects.min(4096)).ok()? {
                let sect = at + 72 + s * 80;
                let name = b.get(sect..sect + 16)?;
                let end = name.iter().position(|&c| c == 0).unwrap_or(16);
                if name.get(..end)? == wanted {
                    let size = u64_at(b, sect + 40, true)?;
                    let offset = u32_at(b, sect + 48, true)?;
                    return slice(b, u64::from(offset), size);
                }
            }
        }
        if size == 0 {
            return None;
        }
        at = at.checked_add(size)?;
    }
    None
}
