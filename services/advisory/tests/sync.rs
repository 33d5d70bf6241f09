//! Sync against local HTTP servers that behave well and badly: a good
//! server (with `Last-Modified` and `If-Modified-Since`), one that drops
//! the connection mid-download, one that serves garbage, one that is too
//! slow, and archives that inflate past their caps. Whatever the server
//! does, the database holds either the old data or the new, whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use zerotrace_advisory::sync::{self, Outcome, Quiet, Sources, Synced};
use zerotrace_advisory::{Database, Feed, PackageQuery};
use zerotrace_ecosystem::Ecosystem;

/// How the server answers one path.
#[derive(Clone)]
enum Answer {
    /// 200 with the body, `Last-Modified`, and 304 when `If-Modified-Since` is not older.
    Serve { body: Vec<u8>, last_modified: u64 },
    /// Announces the whole length, sends half, closes.
    DropHalf(Vec<u8>),
    /// Sends no length and half the body, then closes (a close-delimited body).
    DropHalfUnannounced(Vec<u8>),
    /// Sends the body one byte every 100 ms.
    Slow(Vec<u8>),
}

/// A small HTTP/1.1 server on loopback; each connection gets a thread.
fn server(routes: HashMap<String, Answer>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes = Arc::new(routes);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let routes = routes.clone();
            std::thread::spawn(move || answer(stream, &routes));
        }
    });
    base
}

fn answer(mut stream: TcpStream, routes: &HashMap<String, Answer>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut since = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("if-modified-since")
        {
            since = zerotrace_advisory::time::parse_http_date(value.trim());
        }
    }
    let head = |status: &str, extra: &str| format!("HTTP/1.1 {status}\r\nConnection: close\r\n{extra}\r\n");
    let _ = match routes.get(&path) {
        None => stream.write_all(head("404 Not Found", "Content-Length: 0\r\n").as_bytes()),
        Some(Answer::Serve { body, last_modified }) => {
            if since.is_some_and(|s| s >= *last_modified) {
                stream.write_all(head("304 Not Modified", "").as_bytes())
            } else {
                let date = zerotrace_advisory::time::format_http_date(*last_modified);
                let extra = format!("Content-Length: {}\r\nLast-Modified: {date}\r\n", body.len());
                stream
                    .write_all(head("200 OK", &extra).as_bytes())
                    .and_then(|()| stream.write_all(body))
            }
        }
        Some(Answer::DropHalf(body)) => {
            let extra = format!("Content-Length: {}\r\n", body.len());
            stream
                .write_all(head("200 OK", &extra).as_bytes())
                .and_then(|()| stream.write_all(&body[..body.len() / 2]))
        }
        Some(Answer::DropHalfUnannounced(body)) => stream
            .write_all(head("200 OK", "").as_bytes())
            .and_then(|()| stream.write_all(&body[..body.len() / 2])),
        Some(Answer::Slow(body)) => {
            let extra = format!("Content-Length: {}\r\n", body.len());
            let mut result = stream.write_all(head("200 OK", &extra).as_bytes());
            for byte in body {
                if result.is_err() {
                    break;
                }
                result = stream.write_all(&[*byte]).and_then(|()| stream.flush());
                std::thread::sleep(Duration::from_millis(100));
            }
            result
        }
    };
    let _ = stream.flush();
}

const ADVISORY: &str = r#"{"id":"SYNC-1","modified":"2024-03-01T00:00:00Z","aliases":["CVE-2024-1111"],
  "affected":[{"package":{"ecosystem":"crates.io","name":"synced"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]}"#;
const KEV: &str = r#"{"title":"CISA Catalog","catalogVersion":"2024.03.02","dateReleased":"2024-03-02T10:00:00.000Z",
  "vulnerabilities":[{"cveID":"CVE-2024-1111","dateAdded":"2024-03-02"}]}"#;
const EPSS: &str =
    "#model_version:v2025.03.14,score_date:2024-03-03T00:00:00Z\ncve,epss,percentile\nCVE-2024-1111,0.5,0.9\n";
/// 2024-03-04T00:00:00Z, the `Last-Modified` of the good server.
const LAST_MODIFIED: u64 = 1_709_510_400;

/// Returns an osv.dev-style zip of `entries` (name, bytes).
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

fn good_routes() -> HashMap<String, Answer> {
    let serve = |body: Vec<u8>| Answer::Serve {
        body,
        last_modified: LAST_MODIFIED,
    };
    HashMap::from([
        (
            "/osv/crates.io/all.zip".to_string(),
            serve(zip_of(&[("SYNC-1.json", ADVISORY.as_bytes())])),
        ),
        ("/kev.json".to_string(), serve(KEV.as_bytes().to_vec())),
        ("/epss.csv".to_string(), serve(EPSS.as_bytes().to_vec())),
    ])
}

fn sources(base: &str) -> Sources {
    Sources {
        osv_base_url: format!("{base}/osv"),
        ecosystems: vec![Ecosystem::CratesIo],
        kev_url: Some(format!("{base}/kev.json")),
        epss_url: Some(format!("{base}/epss.csv")),
        timeout: Duration::from_secs(2),
        ..Sources::default()
    }
}

fn run(db: &Database, dir: &Path, sources: &Sources) -> Vec<Outcome> {
    sync::sync(db, sources, &dir.join("downloads"), &Quiet)
}

/// A database synced once from the good server.
fn synced_database(dir: &Path) -> Database {
    let db = Database::open(dir.join("db")).unwrap();
    let base = server(good_routes());
    for outcome in run(&db, dir, &sources(&base)) {
        assert!(
            matches!(outcome.result, Ok(Synced::Imported(_))),
            "{}: {:?}",
            outcome.feed,
            outcome.result
        );
    }
    db
}

#[test]
fn a_good_server_syncs_every_source_and_a_second_sync_downloads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = synced_database(dir.path());
    let info = db.info().unwrap();
    assert_eq!((info.advisories, info.kev_entries, info.epss_entries), (1, 1, 1));
    let mut names: Vec<(&str, Option<u64>, usize)> = info
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.as_of, s.entries))
        .collect();
    names.sort();
    // A download is as current as the server's Last-Modified.
    assert_eq!(
        names,
        [
            ("epss", Some(LAST_MODIFIED), 1),
            ("kev", Some(LAST_MODIFIED), 1),
            ("osv:crates.io", Some(LAST_MODIFIED), 1)
        ]
    );
    let hit = db
        .match_package(&PackageQuery::registry("crates.io", "synced", "1.0.0"))
        .unwrap();
    assert_eq!(hit.vulnerabilities.len(), 1);
    assert!(hit.vulnerabilities[0].is_kev(), "KEV applied to the synced advisory");

    // Same server again: If-Modified-Since, 304, nothing imported.
    let generation = db.generation().unwrap();
    let base = server(good_routes());
    for outcome in run(&db, dir.path(), &sources(&base)) {
        // The URLs differ (another port), so the first sync of a new origin downloads again.
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    }
    let again = run(&db, dir.path(), &sources(&base));
    assert!(again.iter().all(|o| o.result == Ok(Synced::NotModified)), "{again:?}");
    assert!(db.generation().unwrap() > generation);
    // Downloads never stay behind.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("downloads"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Syncs `answer` as the crates.io zip into a synced database and returns
/// the error; the database must be exactly as it was.
fn refused(answer: Answer, timeout: Duration) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = synced_database(dir.path());
    let before = db.info().unwrap();
    let base = server(HashMap::from([("/osv/crates.io/all.zip".to_string(), answer)]));
    let sources = Sources {
        kev_url: None,
        epss_url: None,
        timeout,
        ..sources(&base)
    };
    let outcomes = run(&db, dir.path(), &sources);
    assert_eq!(outcomes.len(), 1);
    let error = outcomes[0].result.clone().expect_err("the sync must fail");
    let after = db.info().unwrap();
    assert_eq!(after.generation, before.generation, "nothing was imported: {error}");
    assert_eq!(after.sources, before.sources);
    assert_eq!(
        db.match_package(&PackageQuery::registry("crates.io", "synced", "1.0.0"))
            .unwrap()
            .vulnerabilities
            .len(),
        1,
        "the old data still answers"
    );
    error
}

fn replacement_zip() -> Vec<u8> {
    let other = ADVISORY.replace("SYNC-1", "SYNC-2").replace("2024-03-01", "2024-04-01");
    let filler: Vec<String> = (0..200)
        .map(|i| ADVISORY.replace("SYNC-1", &format!("FILL-{i}")))
        .collect();
    let mut entries: Vec<(String, Vec<u8>)> = vec![("SYNC-2.json".to_string(), other.into_bytes())];
    entries.extend(
        filler
            .into_iter()
            .enumerate()
            .map(|(i, f)| (format!("FILL-{i}.json"), f.into_bytes())),
    );
    let borrowed: Vec<(&str, &[u8])> = entries.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    zip_of(&borrowed)
}

#[test]
fn a_connection_dropped_mid_download_changes_nothing() {
    let error = refused(Answer::DropHalf(replacement_zip()), Duration::from_secs(5));
    assert!(error.contains("truncated") || error.contains("interrupted"), "{error}");
    // Without a length the cut is only visible in the archive itself.
    let error = refused(Answer::DropHalfUnannounced(replacement_zip()), Duration::from_secs(5));
    assert!(error.contains("zip"), "{error}");
}

#[test]
fn garbage_changes_nothing() {
    let garbage = Answer::Serve {
        body: b"<html>captive portal</html>".repeat(100),
        last_modified: LAST_MODIFIED,
    };
    let error = refused(garbage, Duration::from_secs(5));
    assert!(error.contains("not an OSV zip"), "{error}");
    assert!(error.starts_with("http://"), "the error names the URL: {error}");
    // A KEV catalog where the OSV zip should be.
    let wrong_kind = Answer::Serve {
        body: KEV.as_bytes().to_vec(),
        last_modified: LAST_MODIFIED,
    };
    let error = refused(wrong_kind, Duration::from_secs(5));
    assert!(
        error.contains("expected osv:crates.io data, found KEV catalog"),
        "{error}"
    );
    // A well-formed zip of things that are not advisories.
    let not_osv = Answer::Serve {
        body: zip_of(&[("a.json", b"{\"hello\": 1}"), ("b.json", b"[1, 2")]),
        last_modified: LAST_MODIFIED,
    };
    let error = refused(not_osv, Duration::from_secs(5));
    assert!(error.contains("no valid advisory"), "{error}");
}

#[test]
fn a_slow_server_times_out_and_changes_nothing() {
    let started = std::time::Instant::now();
    let error = refused(Answer::Slow(replacement_zip()), Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(error.contains("GET"), "{error}");
}

#[test]
fn an_entry_that_inflates_past_its_cap_is_refused() {
    // One entry of 40 MiB of spaces: past the 32 MiB an advisory may have.
    let bomb = zip_of(&[("BOMB.json", &vec![b' '; 40 << 20])]);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let error = refused(
        Answer::Serve {
            body: bomb,
            last_modified: LAST_MODIFIED,
        },
        Duration::from_secs(30),
    );
    assert!(error.contains("inflates past"), "{error}");
}

#[test]
fn an_archive_that_inflates_past_its_cap_is_refused() {
    // Many entries each under the per-entry cap: together past the archive's cap.
    let one = vec![b' '; 24 << 20];
    let names: Vec<String> = (0..12).map(|i| format!("BOMB-{i}.json")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), one.as_slice())).collect();
    let error = refused(
        Answer::Serve {
            body: zip_of(&entries),
            last_modified: LAST_MODIFIED,
        },
        Duration::from_secs(60),
    );
    assert!(error.contains("zip bomb"), "{error}");
}

#[test]
fn a_gzip_bomb_of_epss_scores_is_refused() {
    // Gzip members concatenate: 300 members of 1 MiB of spaces each.
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&vec![b' '; 1 << 20]).unwrap();
    let member = member.finish().unwrap();
    let mut bomb = b"".to_vec();
    for _ in 0..300 {
        bomb.extend_from_slice(&member);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = synced_database(dir.path());
    let before = db.info().unwrap();
    let base = server(HashMap::from([(
        "/epss.csv".to_string(),
        Answer::Serve {
            body: bomb,
            last_modified: LAST_MODIFIED,
        },
    )]));
    let sources = Sources {
        ecosystems: Vec::new(),
        kev_url: None,
        ..sources(&base)
    };
    let outcomes = run(&db, dir.path(), &sources);
    let error = outcomes[0].result.clone().expect_err("refused");
    assert!(error.contains("inflates past"), "{error}");
    assert_eq!(db.info().unwrap().generation, before.generation);
    assert_eq!(db.epss("CVE-2024-1111").unwrap().map(|e| e.score), Some(0.5));
}

#[test]
fn a_file_url_mirror_syncs_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(mirror.join("crates.io")).unwrap();
    std::fs::write(
        mirror.join("crates.io/all.zip"),
        zip_of(&[("SYNC-1.json", ADVISORY.as_bytes())]),
    )
    .unwrap();
    std::fs::write(mirror.join("kev.json"), KEV).unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    let sources = Sources {
        osv_base_url: format!("file://{}", mirror.display()),
        ecosystems: vec![Ecosystem::CratesIo],
        kev_url: Some(format!("file://{}", mirror.join("kev.json").display())),
        epss_url: Some(format!("file://{}", mirror.join("missing.csv").display())),
        ..Sources::default()
    };
    let outcomes = run(&db, dir.path(), &sources);
    assert!(matches!(outcomes[0].result, Ok(Synced::Imported(_))), "{outcomes:?}");
    assert!(matches!(outcomes[1].result, Ok(Synced::Imported(_))), "{outcomes:?}");
    assert!(outcomes[2].result.is_err(), "a missing file is an error: {outcomes:?}");
    let info = db.info().unwrap();
    let osv = info
        .sources
        .iter()
        .find(|s| s.name == Feed::Osv(Ecosystem::CratesIo).name())
        .unwrap();
    // A local copy is as current as its data: the advisory's `modified`.
    assert_eq!(osv.as_of, zerotrace_advisory::time::parse_unix("2024-03-01T00:00:00Z"));
    assert!(osv.origin.starts_with("file://"));
    let kev = info.sources.iter().find(|s| s.name == "kev").unwrap();
    assert_eq!(kev.as_of, zerotrace_advisory::time::parse_unix("2024-03-02T10:00:00Z"));
    assert!(
        Sources {
            osv_base_url: "file://relative".to_string(),
            ..Sources::default()
        }
        .validate()
        .is_err()
    );
    assert!(
        Sources {
            kev_url: Some("ftp://x".to_string()),
            ..Sources::default()
        }
        .validate()
        .is_err()
    );
}

#[test]
fn packages_of_an_ecosystem_without_data_are_unmatched_not_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = synced_database(dir.path());
    let npm = db
        .match_package(&PackageQuery::registry("npm", "left-pad", "1.0.0"))
        .unwrap();
    assert_eq!(
        npm.unmatched_reason.as_deref(),
        Some("no npm advisories in the database")
    );
    let clean = db
        .match_package(&PackageQuery::registry("crates.io", "serde", "1.0.0"))
        .unwrap();
    assert_eq!(clean.unmatched_reason, None, "crates.io has data: serde is clear");
}
