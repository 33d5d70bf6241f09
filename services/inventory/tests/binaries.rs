//! Executables: Go build info from a binary built here from committed
//! sources, `cargo auditable` data in executables assembled here, and
//! robustness on arbitrary bytes.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use flate2::Compression;
use flate2::write::ZlibEncoder;
use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use zerotrace_inventory::parsers::binary;
use zerotrace_inventory::{FileType, Progress, Source, WalkOptions, scan};

fn with_binaries() -> WalkOptions {
    WalkOptions {
        binaries: true,
        ..WalkOptions::default()
    }
}

/// Builds the committed Go program into `out`, offline.
fn build_go(out: &Path) {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/binaries/goapp");
    let cache = tempfile::tempdir().unwrap();
    let status = Command::new("go")
        .args(["build", "-trimpath", "-o"])
        .arg(out)
        .arg(".")
        .current_dir(&src)
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOWORK", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOCACHE", cache.path())
        .env("CGO_ENABLED", "0")
        .status()
        .expect("the Go toolchain (`go`) is needed to build the test binary");
    assert!(status.success(), "go build failed");
}

fn go_release() -> String {
    let out = Command::new("go")
        .args(["env", "GOVERSION"])
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    let name = String::from_utf8(out.stdout).unwrap();
    zerotrace_ecosystem::version::go_toolchain_version(name.trim()).unwrap()
}

#[test]
fn go_build_info_is_read_only_when_asked_and_whatever_the_name() {
    let dir = tempfile::tempdir().unwrap();
    // No executable suffix and a misleading name: the magic decides.
    build_go(&dir.path().join("notes.txt"));
    let off = scan(dir.path(), &WalkOptions::default(), &Progress::default(), None).unwrap();
    assert!(off.packages.is_empty());
    assert_eq!(off.file_types.get(&FileType::Executable), None);

    let inv = scan(dir.path(), &with_binaries(), &Progress::default(), None).unwrap();
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    assert_eq!(inv.file_types.get(&FileType::Executable), Some(&1));
    let mut got: Vec<(String, String, Source, Option<String>)> = inv
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.source, p.requirement.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("example.com/app".to_string(), String::new(), Source::Workspace, None),
            (
                "example.com/lib".to_string(),
                String::new(),
                Source::Path,
                Some("./lib".to_string())
            ),
            ("stdlib".to_string(), go_release(), Source::Registry, None),
        ]
    );
    assert!(inv.packages.iter().all(|p| p.path == "notes.txt"));

    // Too large for the limit: an error, not a silent skip.
    let small = WalkOptions {
        max_binary_size: 1024,
        ..with_binaries()
    };
    let inv = scan(dir.path(), &small, &Progress::default(), None).unwrap();
    assert!(inv.packages.is_empty());
    assert_eq!(inv.errors.len(), 1, "{:?}", inv.errors);
}

/// Assembles a little-endian ELF64 file whose only sections are `.dep-v0`
/// (holding `payload`) and the section-name table.
fn elf_with_section(name: &str, payload: &[u8]) -> Vec<u8> {
    let names = format!("\0{name}\0.shstrtab\0");
    let data_off = 64u64;
    let names_off = data_off + payload.len() as u64;
    let sh_off = names_off + names.len() as u64;
    let mut b = Vec::new();
    b.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&2u16.to_le_bytes()); // e_type: executable
    b.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: x86-64
    b.extend_from_slice(&1u32.to_le_bytes()); // e_version
    b.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    b.extend_from_slice(&0u64.to_le_bytes()); // e_phoff
    b.extend_from_slice(&sh_off.to_le_bytes()); // e_shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    b.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    b.extend_from_slice(&0u16.to_le_bytes()); // e_phentsize
    b.extend_from_slice(&0u16.to_le_bytes()); // e_phnum
    b.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    b.extend_from_slice(&3u16.to_le_bytes()); // e_shnum
    b.extend_from_slice(&2u16.to_le_bytes()); // e_shstrndx
    assert_eq!(b.len(), 64);
    b.extend_from_slice(payload);
    b.extend_from_slice(names.as_bytes());
    let section = |b: &mut Vec<u8>, name: u32, kind: u32, offset: u64, size: u64| {
        b.extend_from_slice(&name.to_le_bytes());
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes()); // flags
        b.extend_from_slice(&0u64.to_le_bytes()); // addr
        b.extend_from_slice(&offset.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        b.extend_from_slice(&[0; 24]); // link, info, addralign, entsize
    };
    section(&mut b, 0, 0, 0, 0);
    section(&mut b, 1, 1, data_off, payload.len() as u64);
    section(&mut b, 2 + name.len() as u32, 3, names_off, names.len() as u64);
    b
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

const AUDIT_JSON: &str = r#"{"packages":[
  {"name":"mytool","version":"0.3.0","source":"local","root":true,"dependencies":[1,2,3]},
  {"name":"serde","version":"1.0.100","source":"crates.io"},
  {"name":"cc","version":"1.0.83","source":"crates.io","kind":"build"},
  {"name":"forked","version":"0.1.0","source":"git"}
]}"#;

#[test]
fn cargo_auditable_data_of_an_elf_executable() {
    let parsed = binary::parse(&elf_with_section(".dep-v0", &zlib(AUDIT_JSON.as_bytes())), "bin/mytool").unwrap();
    let mut got: Vec<String> = parsed
        .packages
        .iter()
        .map(|p| {
            format!(
                "{} {}@{} {:?} {:?}",
                p.ecosystem.osv_name(),
                p.name,
                p.version,
                p.scope,
                p.source
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "crates.io cc@1.0.83 Development Registry",
            "crates.io forked@0.1.0 Runtime Git",
            "crates.io mytool@0.3.0 Runtime Workspace",
            "crates.io serde@1.0.100 Runtime Registry",
        ]
    );
    assert!(parsed.errors.is_empty());
    // Another section name is not read; broken zlib data is an error.
    assert!(
        binary::parse(&elf_with_section(".data", &zlib(AUDIT_JSON.as_bytes())), "x")
            .unwrap()
            .packages
            .is_empty()
    );
    let e = binary::parse(&elf_with_section(".dep-v0", b"not zlib"), "x").unwrap_err();
    assert!(e.0.starts_with("executable: cargo auditable data: "), "{e}");
}

/// Assembles a PE file with one `.dep-v0` section holding `payload`.
fn pe_with_section(payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 0x40];
    b[0] = b'M';
    b[1] = b'Z';
    b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    b.extend_from_slice(b"PE\0\0");
    let mut coff = [0u8; 20];
    coff[2..4].copy_from_slice(&1u16.to_le_bytes()); // one section, no optional header
    b.extend_from_slice(&coff);
    let data = (b.len() + 40) as u32;
    let mut section = [0u8; 40];
    section[..7].copy_from_slice(b".dep-v0");
    section[16..20].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    section[20..24].copy_from_slice(&data.to_le_bytes());
    b.extend_from_slice(&section);
    b.extend_from_slice(payload);
    b
}

/// Assembles a 64-bit Mach-O file with one `__DATA,__dep_v0` section.
fn macho_with_section(payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0xcf, 0xfa, 0xed, 0xfe];
    b.extend_from_slice(&[0; 12]);
    b.extend_from_slice(&1u32.to_le_bytes()); // ncmds
    b.extend_from_slice(&(72u32 + 80).to_le_bytes()); // sizeofcmds
    b.extend_from_slice(&[0; 8]);
    let mut segment = vec![0u8; 72];
    segment[..4].copy_from_slice(&0x19u32.to_le_bytes());
    segment[4..8].copy_from_slice(&(72u32 + 80).to_le_bytes());
    segment[8..14].copy_from_slice(b"__DATA");
    segment[64..68].copy_from_slice(&1u32.to_le_bytes());
    let mut section = vec![0u8; 80];
    section[..8].copy_from_slice(b"__dep_v0");
    section[16..22].copy_from_slice(b"__DATA");
    section[40..48].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    section[48..52].copy_from_slice(&(32u32 + 72 + 80).to_le_bytes());
    b.extend_from_slice(&segment);
    b.extend_from_slice(&section);
    b.extend_from_slice(payload);
    b
}

#[test]
fn cargo_auditable_data_of_pe_and_mach_o_executables() {
    let payload = zlib(AUDIT_JSON.as_bytes());
    for (kind, file) in [
        ("PE", pe_with_section(&payload)),
        ("Mach-O", macho_with_section(&payload)),
    ] {
        assert!(binary::is_executable(&file), "{kind}");
        let parsed = binary::parse(&file, "x").unwrap();
        assert_eq!(parsed.packages.len(), 4, "{kind}: {parsed:?}");
    }
}

#[test]
fn executables_are_told_by_their_first_bytes() {
    assert!(binary::is_executable(b"\x7fELF\x02"));
    assert!(binary::is_executable(b"MZ\x90\x00"));
    assert!(binary::is_executable(&[0xcf, 0xfa, 0xed, 0xfe]));
    assert!(binary::is_executable(&[0xca, 0xfe, 0xba, 0xbe]));
    assert!(!binary::is_executable(b"#!/bin/sh"));
    assert!(!binary::is_executable(b"\x7fEL"));
    assert!(!binary::is_executable(b""));
}

#[test]
fn old_go_build_info_is_an_error_not_a_skip() {
    let mut b = b"\x7fELF".to_vec();
    b.extend_from_slice(&[0; 12]);
    b.extend_from_slice(b"\xff Go buildinf:\x08\x00");
    b.extend_from_slice(&[0; 16]);
    let e = binary::parse(&b, "old").unwrap_err();
    assert_eq!(
        e.0,
        "executable: Go build info of a release before Go 1.18 (pointer-based) is not read"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..512), kind in 0..3usize) {
        let mut b = match kind {
            0 => b"\x7fELF".to_vec(),
            1 => b"MZ".to_vec(),
            _ => vec![0xcf, 0xfa, 0xed, 0xfe],
        };
        b.extend_from_slice(&tail);
        let _ = binary::parse(&b, "x");
    }

    #[test]
    fn corrupted_executables_never_panic(at in 0..400usize, byte in any::<u8>(), cut in 0..400usize) {
        let mut b = elf_with_section(".dep-v0", &zlib(AUDIT_JSON.as_bytes()));
        b.extend_from_slice(b"\xff Go buildinf:\x08\x02");
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&[7, b'g', b'o', b'1', b'.', b'2', b'2', b'0', 3, b'a', b'b', b'c']);
        let len = b.len();
        if let Some(x) = b.get_mut(at % len) {
            *x = byte;
        }
        b.truncate(cut.min(len));
        if let Ok(parsed) = binary::parse(&b, "x") {
            for e in parsed.errors {
                prop_assert!(!e.contains('\n'));
            }
        }
    }
}
