//! `zerotrace db import|info|sync` and `zerotrace scan` on the persistent
//! database. `db sync` downloads from a loopback HTTP server owned by the
//! test, serving the shared OSV zips, a 404, a truncated body and a
//! damaged zip; after a failure the database must be exactly as before.

mod common;

use common::{CARGO_VULNERABILITIES, VULNERABLE_CARGO_LOCK, ids, shared_data, write, zerotrace};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

fn db(args: &[&str], data_dir: &Path) -> common::Run {
    let mut all: Vec<String> = vec!["db".to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(["--data-dir".to_string(), data_dir.display().to_string()]);
    zerotrace(&all)
}

fn info(data_dir: &Path) -> serde_json::Value {
    let run = db(&["info", "--format", "json"], data_dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

/// `db info` without the ages, which move with the clock between two calls.
fn info_at_rest(data_dir: &Path) -> serde_json::Value {
    let mut json = info(data_dir);
    if let Some(sources) = json["sources"].as_array_mut() {
        for source in sources {
            if let Some(source) = source.as_object_mut() {
                source.remove("age_seconds");
            }
        }
    }
    json
}

#[test]
fn import_info_reimport_and_scan_without_db_flag() {
    let Some(data) = shared_data("import_info_reimport_and_scan_without_db_flag") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let zip = data.join("osv/crates.io/all.zip");
    let kev = data.join("kev/known_exploited_vulnerabilities.json");
    let epss = data.join("epss/epss_scores-sample.csv");
    let paths = [
        zip.display().to_string(),
        kev.display().to_string(),
        epss.display().to_string(),
    ];

    let mut args = vec!["import"];
    args.extend(paths.iter().map(String::as_str));
    let run = db(&args, &data_dir);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("1206 imported, 0 updated, 0 unchanged, 0 skipped, 0 invalid"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("KEV catalog: 1404 entries"), "{}", run.stdout);
    assert!(run.stdout.contains("EPSS scores: 49 entries"), "{}", run.stdout);
    assert!(data_dir.join("enrichment").is_dir(), "the layout of `zerotrace up`");

    let json = info(&data_dir);
    assert_eq!(json["exists"], true);
    assert_eq!(json["advisories"], 1206);
    assert_eq!(json["withdrawn"], 13);
    assert_eq!(json["by_ecosystem"]["crates.io"]["advisories"], 1206);
    assert_eq!(json["by_source"]["RUSTSEC"]["advisories"], 1206);
    assert_eq!(json["kev_entries"], 1404);
    assert_eq!(json["epss_entries"], 49);
    assert_eq!(json["generation"], 3);
    assert!(json["last_import_utc"].as_str().expect("utc").ends_with(" UTC"));

    let table = db(&["info"], &data_dir);
    assert_eq!(table.code, 0);
    for needle in [
        "1206 (13 withdrawn)",
        "crates.io",
        "RUSTSEC",
        "1404 entries",
        "49 scores",
        " UTC",
    ] {
        assert!(table.stdout.contains(needle), "{needle}: {}", table.stdout);
    }

    // Idempotent: the same zip again changes nothing.
    let again = db(&["import", &paths[0]], &data_dir);
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("0 imported, 0 updated, 1206 unchanged"),
        "{}",
        again.stdout
    );

    // `scan` without --db uses the persistent database.
    let tree = tempfile::tempdir().expect("tempdir");
    write(tree.path(), "Cargo.lock", VULNERABLE_CARGO_LOCK);
    let run = zerotrace([
        "scan".as_ref(),
        tree.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(ids(&run.json()["findings"]), CARGO_VULNERABILITIES);
}

#[test]
fn import_reports_invalid_files_and_failed_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let osv = dir.path().join("osv");
    write(
        &osv,
        "RUSTSEC-2099-0001.json",
        r#"{"id":"RUSTSEC-2099-0001","modified":"2099-01-01T00:00:00Z","summary":"test",
            "affected":[{"package":{"ecosystem":"crates.io","name":"zt-test"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"1.0.0"}]}]}]}"#,
    );
    write(&osv, "broken.json", "{ not an advisory");
    let run = db(&["import", &osv.display().to_string()], &data_dir);
    assert_eq!(run.code, 0, "invalid files do not fail an import: {}", run.stderr);
    assert!(
        run.stdout.contains("1 imported") && run.stdout.contains("1 invalid"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("broken.json: "),
        "first invalid files listed: {}",
        run.stdout
    );

    let missing = dir.path().join("missing.zip");
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "neither OSV nor KEV nor EPSS\n").expect("write");
    let run = db(
        &[
            "import",
            &missing.display().to_string(),
            &garbage.display().to_string(),
            &osv.display().to_string(),
        ],
        &data_dir,
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.stdout.matches("FAILED").count(), 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("1 unchanged"),
        "later paths still import: {}",
        run.stdout
    );
    assert_eq!(info(&data_dir)["advisories"], 1);
}

#[test]
fn info_without_database_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let json = info(&data_dir);
    assert_eq!(json["exists"], false);
    assert_eq!(json["advisories"], 0);
    assert!(!data_dir.exists());
}

#[test]
fn import_info_and_scan_work_while_a_service_holds_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    // What a running enrichment service holds: the database, open.
    let held = zerotrace_advisory::Database::open(data_dir.join("enrichment")).expect("open");
    let before = held.generation().expect("generation");
    let osv = dir.path().join("osv");
    write(
        &osv,
        "TEST-HELD-1.json",
        r#"{"id":"TEST-HELD-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2099-7777"],
            "affected":[{"package":{"ecosystem":"crates.io","name":"held-crate"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]}"#,
    );
    let run = db(&["import", &osv.display().to_string()], &data_dir);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(info(&data_dir)["advisories"], 1);
    let project = dir.path().join("project");
    write(
        &project,
        "Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"held-crate\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    );
    let scan = zerotrace(&[
        "scan".to_string(),
        project.display().to_string(),
        "--format".to_string(),
        "json".to_string(),
        "--data-dir".to_string(),
        data_dir.display().to_string(),
    ]);
    assert_eq!(scan.code, 1, "{}\n{}", scan.stdout, scan.stderr);
    assert_eq!(ids(&scan.json()["findings"]), ["TEST-HELD-1"]);
    // The holder sees the import at once, without reopening.
    assert!(held.generation().expect("generation") > before);
    assert_eq!(
        held.get("CVE-2099-7777")
            .expect("read")
            .map(|a| a.id.clone())
            .as_deref(),
        Some("TEST-HELD-1")
    );
}

/// A loopback HTTP/1.1 server for `db sync`: `/good/{eco}/all.zip` serves
/// the shared zip, `/truncated/…` announces the full length and closes
/// half-way, `/damaged/…` serves half the zip with a matching length,
/// `/text/…` a 200 that is not a zip; anything else is a 404.
struct Server {
    addr: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(osv: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let osv = osv.to_path_buf();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = serve(stream, &osv);
                }
            }
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, mode: &str) -> String {
        format!("http://{}/{mode}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, osv: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let body = match parts.as_slice() {
        [_, eco, "all.zip"] => std::fs::read(osv.join(eco).join("all.zip")).ok(),
        _ => None,
    };
    let head =
        |status: &str, len: usize| format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
    match (parts.first().copied(), body) {
        (Some("good"), Some(body)) => {
            stream.write_all(head("200 OK", body.len()).as_bytes())?;
            stream.write_all(&body)?;
        }
        (Some("truncated"), Some(body)) => {
            stream.write_all(head("200 OK", body.len()).as_bytes())?;
            stream.write_all(&body[..body.len() / 2])?;
        }
        (Some("damaged"), Some(body)) => {
            let half = &body[..body.len() / 2];
            stream.write_all(head("200 OK", half.len()).as_bytes())?;
            stream.write_all(half)?;
        }
        (Some("text"), Some(_)) => {
            let text = b"<html>maintenance</html>";
            stream.write_all(head("200 OK", text.len()).as_bytes())?;
            stream.write_all(text)?;
        }
        _ => stream.write_all(head("404 Not Found", 0).as_bytes())?,
    }
    stream.flush()
}

fn sync(data_dir: &Path, base: &str, ecosystems: &[&str]) -> common::Run {
    let mut args = vec!["sync", "--no-kev", "--no-epss", "--osv-base-url", base];
    for e in ecosystems {
        args.extend(["--ecosystem", e]);
    }
    db(&args, data_dir)
}

/// Returns the files in `dir` (not recursive), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn sync_imports_and_failed_downloads_leave_the_database_untouched() {
    let Some(data) = shared_data("sync_imports_and_failed_downloads_leave_the_database_untouched") else {
        return;
    };
    let server = Server::start(&data.join("osv"));
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");

    let run = sync(&data_dir, &server.url("good"), &["crates.io"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("1206 imported"), "{}", run.stdout);
    let before = info_at_rest(&data_dir);
    assert_eq!(before["advisories"], 1206);
    assert_eq!(before["by_source"]["RUSTSEC"]["advisories"], 1206);
    assert_eq!(before["generation"], 1);

    for (mode, needle) in [
        ("missing", "404"),
        ("truncated", "download interrupted"),
        ("damaged", "not a valid zip"),
        ("text", "not an OSV zip"),
    ] {
        let run = sync(&data_dir, &server.url(mode), &["crates.io"]);
        assert_eq!(run.code, 1, "{mode}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("FAILED") && run.stdout.contains(needle),
            "{mode}: {}",
            run.stdout
        );
        assert_eq!(info_at_rest(&data_dir), before, "{mode}: the database is unchanged");
        assert_eq!(listing(&data_dir), ["enrichment"], "{mode}: no temp file left behind");
        assert_eq!(
            listing(&data_dir.join("enrichment/downloads")),
            Vec::<String>::new(),
            "{mode}: no temp file left behind"
        );
    }

    // One good and one failing ecosystem: the good one lands, exit 1.
    let run = sync(&data_dir, &server.url("good"), &["PyPI", "Go"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let after = info(&data_dir);
    assert!(
        after["by_ecosystem"]["PyPI"]["advisories"].as_u64().expect("PyPI") > 2000,
        "{after}"
    );
    assert_eq!(after["by_source"]["RUSTSEC"]["advisories"], 1206);

    // KEV and EPSS from an air-gapped copy (file://), beside the OSV zips.
    let kev = format!(
        "file://{}",
        data.join("kev/known_exploited_vulnerabilities.json").display()
    );
    let epss = format!("file://{}", data.join("epss/epss_scores-sample.csv").display());
    let run = db(
        &[
            "sync",
            "--osv-base-url",
            &server.url("good"),
            "--ecosystem",
            "crates.io",
            "--kev-url",
            &kev,
            "--epss-url",
            &epss,
        ],
        &data_dir,
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let after = info(&data_dir);
    assert_eq!(after["kev_entries"], 1404, "{after}");
    assert!(after["epss_entries"].as_u64().expect("epss") > 0, "{after}");
    let sources: Vec<&str> = after["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(sources, ["epss", "kev", "osv:PyPI", "osv:crates.io"], "{after}");
    for source in after["sources"].as_array().expect("sources") {
        assert!(
            source["age_seconds"].as_u64().is_some(),
            "every source has an age: {source}"
        );
        assert!(source["generation"].as_u64().expect("generation") > 0, "{source}");
    }
    let table = db(&["info"], &data_dir);
    assert!(
        table.stdout.contains("SOURCE") && table.stdout.contains("osv:crates.io"),
        "{}",
        table.stdout
    );

    // Unknown ecosystems and bad URLs are usage errors.
    assert_eq!(sync(&data_dir, &server.url("good"), &["Cobol"]).code, 2);
    assert_eq!(sync(&data_dir, "ftp://example.invalid", &["crates.io"]).code, 2);
    assert_eq!(sync(&data_dir, "file://relative/path", &["crates.io"]).code, 2);
}
