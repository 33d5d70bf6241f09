//! The fleet commands end to end: `zerotrace up` with its agent and a second
//! agent, each scanning a tree with known vulnerabilities through `zerotrace
//! trigger`; `findings`, `agents`, `scans` and `summary` read exactly what
//! they reported; `watch` sees a new finding arrive; the API's exposure
//! gauges move as findings open and resolve; a wrong token and an
//! unreachable API are one line each, with exit code 1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use clap::Parser as _;
use common::{Run, start_up_with, write, zerotrace};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Three advisories of made-up crates, one per tree below and one that only
/// a later change of a tree brings in.
const ADVISORIES: [(&str, &str, &str); 3] = [
    ("FLEET-1", "alpha-crate", "HIGH"),
    ("FLEET-2", "beta-crate", "CRITICAL"),
    ("FLEET-3", "gamma-crate", "LOW"),
];

fn advisory(id: &str, name: &str, severity: &str) -> String {
    common::crate_advisory(id, None, name, severity)
}

fn lockfile(names: &[&str]) -> String {
    common::cargo_lock_of(names)
}

/// Runs `zerotrace` off the async runtime (the agents answer meanwhile).
async fn cli(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || zerotrace(args)).await.unwrap()
}

/// The flags that point a fleet command at this test's API.
fn api_flags(api: &str, token: &str) -> Vec<String> {
    vec![
        "--api-url".into(),
        format!("http://{api}"),
        "--token".into(),
        token.into(),
        "--format".into(),
        "json".into(),
    ]
}

/// Starts `zerotrace watch` (JSON lines) against the API at `api`; its lines
/// arrive on the receiver as it prints them.
fn spawn_watch(extra: &[&str], api: &str, token: &str) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut watch = Command::new(env!("CARGO_BIN_EXE_zerotrace"))
        .arg("watch")
        .args(extra)
        .args(api_flags(api, token))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, arrived) = mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    (watch, arrived)
}

/// `zerotrace trigger` of `root` on the agent at `agent`; returns its JSON.
async fn trigger(agent: &str, api: &str, token: &str, root: &Path) -> serde_json::Value {
    let mut args = vec![
        "trigger".to_string(),
        root.display().to_string(),
        "--agent".into(),
        format!("http://{agent}"),
    ];
    args.extend(api_flags(api, token));
    let run = cli(args).await;
    assert_eq!(run.code, 0, "trigger: {}{}", run.stdout, run.stderr);
    run.json()
}

/// The (agent, advisory, package) of each finding a JSON listing holds.
fn triples(findings: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["agent_id"].as_str().unwrap().to_string(),
                f["advisory"].as_str().unwrap().to_string(),
                f["package"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_report_and_the_fleet_commands_read_exactly_their_findings() {
    let dir = tempfile::tempdir().unwrap();
    let advisories = dir.path().join("advisories");
    for (id, name, severity) in ADVISORIES {
        write(&advisories, &format!("{id}.json"), &advisory(id, name, severity));
    }
    let trees = dir.path().join("trees");
    let (tree_a, tree_b) = (trees.join("a"), trees.join("b"));
    write(&tree_a, "Cargo.lock", &lockfile(&["alpha-crate", "safe-crate"]));
    write(&tree_b, "Cargo.lock", &lockfile(&["beta-crate"]));

    let up = start_up_with(
        &dir.path().join("data"),
        &[
            ("ZEROTRACE_ENRICHMENT_IMPORT", advisories.as_os_str()),
            ("ZEROTRACE_AGENT_ALLOWED_ROOTS", trees.as_os_str()),
        ],
    );
    let (agent_a, enrichment, api) = (&up.grpc[0], &up.grpc[1], &up.grpc[2]);
    let token = up.reader_token.clone();

    // A second agent, on a host of its own as far as the API knows.
    let config = zerotrace_agent::AgentConfig::try_parse_from([
        "zerotrace-agent".to_string(),
        "--data-dir".into(),
        dir.path().join("agent-b").display().to_string(),
        "--api-url".into(),
        format!("http://{api}"),
        "--enrichment-url".into(),
        format!("http://{enrichment}"),
        "--allowed-root".into(),
        trees.display().to_string(),
    ])
    .unwrap();
    let listeners = zerotrace_server::Listeners::bind("127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let agent_b = listeners.grpc_addr().unwrap().to_string();
    let (stop_b, stopped_b) = tokio::sync::oneshot::channel::<()>();
    let served_b = tokio::spawn(zerotrace_agent::serve(config, listeners, async move {
        let _ = stopped_b.await;
    }));

    let scanned_a = trigger(agent_a, api, &token, &tree_a).await;
    assert_eq!(scanned_a["scan"]["status"], "succeeded", "{scanned_a}");
    let id_a = scanned_a["scan"]["agent_id"].as_str().unwrap().to_string();
    let scanned_b = trigger(&agent_b, api, &token, &tree_b).await;
    let id_b = scanned_b["scan"]["agent_id"].as_str().unwrap().to_string();
    assert_ne!(id_a, id_b);
    // trigger lists the scanning agent's findings once its scan has ended.
    assert_eq!(
        triples(&scanned_b["findings"]),
        BTreeSet::from([(id_b.clone(), "FLEET-2".into(), "beta-crate".into())])
    );

    let mut args = vec!["findings".to_string()];
    args.extend(api_flags(api, &token));
    let listed = cli(args.clone()).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed = listed.json();
    assert_eq!(
        triples(&listed["findings"]),
        BTreeSet::from([
            (id_a.clone(), "FLEET-1".into(), "alpha-crate".into()),
            (id_b.clone(), "FLEET-2".into(), "beta-crate".into()),
        ]),
        "exactly the findings of the two trees: {listed}"
    );
    assert_eq!(listed["total"], 2);
    assert_eq!(listed["findings"][0]["advisory"], "FLEET-2", "highest risk first");
    // Filters reach the API.
    args.extend(["--severity".to_string(), "critical".to_string()]);
    assert_eq!(
        triples(&cli(args).await.json()["findings"]),
        BTreeSet::from([(id_b.clone(), "FLEET-2".into(), "beta-crate".into())])
    );
    let mut args = vec!["findings".to_string(), "--agent".into(), id_a.clone()];
    args.extend(api_flags(api, &token));
    assert_eq!(
        triples(&cli(args).await.json()["findings"]),
        BTreeSet::from([(id_a.clone(), "FLEET-1".into(), "alpha-crate".into())])
    );

    let mut args = vec!["agents".to_string()];
    args.extend(api_flags(api, &token));
    let agents = cli(args).await.json();
    let mut seen: Vec<(String, u64, String)> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["agent_id"].as_str().unwrap().to_string(),
                a["open_findings"].as_u64().unwrap(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let mut want = vec![
        (id_a.clone(), 1, "online".to_string()),
        (id_b.clone(), 1, "online".to_string()),
    ];
    want.sort();
    assert_eq!(seen, want);

    let mut args = vec!["scans".to_string(), "--agent".into(), id_b.clone()];
    args.extend(api_flags(api, &token));
    let scans = cli(args).await.json();
    let scans = scans["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 1, "{scans:?}");
    assert_eq!(scans[0]["new_findings"], 1);
    assert_eq!(scans[0]["root"], tree_b.display().to_string());

    let mut args = vec!["summary".to_string()];
    args.extend(api_flags(api, &token));
    let summary = cli(args).await.json();
    assert_eq!(summary["open_findings"], 2);
    let critical = summary["by_severity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["severity"] == "critical");
    assert_eq!(critical.unwrap()["open"], 1, "{summary}");

    // watch sees a new finding arrive, and only that one.
    let (mut watch, arrived) = spawn_watch(&[], api, &token);
    // The stream is open once the API counts the call.
    tokio::time::sleep(Duration::from_millis(500)).await;
    write(&tree_a, "Cargo.lock", &lockfile(&["alpha-crate", "gamma-crate"]));
    trigger(agent_a, api, &token, &tree_a).await;
    let line = tokio::task::spawn_blocking(move || arrived.recv_timeout(Duration::from_secs(20)))
        .await
        .unwrap()
        .expect("watch prints the new finding");
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["advisory"], "FLEET-3", "{line}");
    assert_eq!(event["agent_id"], id_a.as_str());
    let _ = watch.kill();
    let _ = watch.wait();

    // The exposure gauges follow: open by severity, agents by status.
    let metrics = &up.metrics[2];
    gauges_reach(
        metrics,
        &[
            (
                r#"zerotrace_findings_open{known_exploited="false",severity="critical"}"#,
                1,
            ),
            (r#"zerotrace_findings_open{known_exploited="false",severity="high"}"#, 1),
            (r#"zerotrace_findings_open{known_exploited="false",severity="low"}"#, 1),
            (
                r#"zerotrace_findings_open{known_exploited="true",severity="critical"}"#,
                0,
            ),
            (r#"zerotrace_agents{status="online"}"#, 2),
            (r#"zerotrace_agents{status="offline"}"#, 0),
        ],
    )
    .await;
    // A full scan that no longer sees two of them resolves them.
    write(&tree_a, "Cargo.lock", &lockfile(&["safe-crate"]));
    trigger(agent_a, api, &token, &tree_a).await;
    gauges_reach(
        metrics,
        &[
            (
                r#"zerotrace_findings_open{known_exploited="false",severity="critical"}"#,
                1,
            ),
            (r#"zerotrace_findings_open{known_exploited="false",severity="high"}"#, 0),
            (r#"zerotrace_findings_open{known_exploited="false",severity="low"}"#, 0),
        ],
    )
    .await;

    // Refusals are one line, with the address tried or what to set.
    let mut args = vec!["findings".to_string()];
    args.extend(api_flags(api, "not-the-token"));
    let refused = cli(args).await;
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("token missing or wrong (set --token"),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    let mut args = vec!["agents".to_string()];
    args.extend(api_flags("127.0.0.1:1", &token));
    let unreachable = cli(args).await;
    assert_eq!(unreachable.code, 1);
    assert!(
        unreachable
            .stderr
            .contains("cannot reach the API at http://127.0.0.1:1"),
        "{}",
        unreachable.stderr
    );

    let _ = stop_b.send(());
    served_b.await.unwrap().unwrap();
}

/// Waits (up to 10 s) until the API's `/metrics` at `addr` shows each
/// series at its value.
async fn gauges_reach(addr: &str, want: &[(&str, u64)]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let scrape = scrape(addr);
        let value = |series: &str| {
            scrape
                .lines()
                .find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
        };
        let wrong: Vec<String> = want
            .iter()
            .filter(|(series, n)| value(series) != Some(*n as f64))
            .map(|(series, n)| format!("{series} is {:?}, not {n}", value(series)))
            .collect();
        if wrong.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{wrong:?}\n{scrape}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The text of `GET /metrics` at `addr`.
fn scrape(addr: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_goes_on_after_an_api_restart_without_missing_or_repeating() {
    let dir = tempfile::tempdir().unwrap();
    let advisories = dir.path().join("advisories");
    for (id, name, severity) in ADVISORIES {
        write(&advisories, &format!("{id}.json"), &advisory(id, name, severity));
    }
    let tree = dir.path().join("tree");
    write(&tree, "Cargo.lock", &lockfile(&["alpha-crate"]));
    let envs = [
        ("ZEROTRACE_ENRICHMENT_IMPORT", advisories.as_os_str()),
        ("ZEROTRACE_AGENT_ALLOWED_ROOTS", tree.as_os_str()),
    ];
    // A free port for the API, the same after the restart.
    let api = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let data = dir.path().join("data");
    let up = common::start_up_with_api_at(&data, &envs, &api);
    let token = up.reader_token.clone();

    let (mut watch, arrived) = spawn_watch(&["--resolutions"], &api, &token);
    tokio::time::sleep(Duration::from_millis(500)).await;
    trigger(&up.grpc[0], &api, &token, &tree).await;
    let mut events = Vec::new();
    let next = || {
        let line = arrived
            .recv_timeout(Duration::from_secs(20))
            .expect("watch prints an event");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        (
            event["event"].as_str().unwrap().to_string(),
            event["advisory"].as_str().unwrap().to_string(),
        )
    };
    events.push(tokio::task::block_in_place(next));

    // The API goes away; while watch reconnects, a full scan resolves one
    // finding and opens another.
    drop(up);
    let up = common::start_up_with_api_at(&data, &envs, &api);
    write(&tree, "Cargo.lock", &lockfile(&["beta-crate"]));
    trigger(&up.grpc[0], &api, &token, &tree).await;
    for _ in 0..2 {
        events.push(tokio::task::block_in_place(next));
    }
    let pair = |event: &str, advisory: &str| (event.to_string(), advisory.to_string());
    assert_eq!(
        events,
        [
            pair("opened", "FLEET-1"),
            pair("opened", "FLEET-2"),
            pair("resolved", "FLEET-1")
        ]
    );
    assert!(
        arrived.recv_timeout(Duration::from_secs(1)).is_err(),
        "nothing twice after the reconnection"
    );
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn up_keeps_its_reader_token_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = start_up_with(&data, &[]);
    let token = first.reader_token.clone();
    drop(first);
    let file = std::fs::read_to_string(data.join("api").join("reader_token")).unwrap();
    assert_eq!(
        file.trim(),
        token,
        "the printed token is the one kept in the data directory"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data.join("api").join("reader_token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = start_up_with(&data, &[]);
    assert_eq!(second.reader_token, token, "a restart keeps the token");
}
