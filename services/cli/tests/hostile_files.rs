//! Hostile lockfiles on the real binary: 50 MB of one bracket, or of one
//! short line repeated, in each format family. Each is an error for its
//! file, and the process's peak memory stays far below what the input would
//! cost a parser that held a token or a line per byte.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SIZE: usize = 50 * 1024 * 1024;
/// Peak resident memory allowed for inventory of one such file.
const MAX_PEAK: u64 = 400 * 1024 * 1024;

/// Runs `zerotrace inventory DIR --format json`, sampling the child's peak
/// resident memory (VmHWM) until it exits; returns stdout and the peak.
fn inventory_peak(dir: &std::path::Path) -> (String, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zerotrace"))
        .args(["inventory", "--format", "json"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb * 1024);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "inventory did not finish");
        std::thread::sleep(Duration::from_millis(2));
    }
    let output = child.wait_with_output().unwrap();
    (String::from_utf8(output.stdout).unwrap(), peak)
}

#[cfg(target_os = "linux")]
#[test]
fn fifty_megabytes_of_one_character_are_an_error_not_gigabytes() {
    let cases: [(&str, &str); 6] = [
        ("Cargo.lock", "["),
        ("poetry.lock", "["),
        ("uv.lock", "x\n"),
        ("go.mod", "("),
        ("requirements.txt", "x\n"),
        ("pnpm-lock.yaml", "["),
    ];
    for (name, unit) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), unit.repeat(SIZE / unit.len())).unwrap();
        let (json, peak) = inventory_peak(dir.path());
        assert!(peak < MAX_PEAK, "{name} of {unit:?}: peak {} MiB", peak >> 20);
        let value: serde_json::Value = serde_json::from_str(&json).expect("one JSON object");
        let errors = value["errors"].as_array().expect("errors");
        assert!(
            errors.iter().any(|e| e["path"] == name),
            "{name} of {unit:?} is not an error: {json:.300}"
        );
    }
}
