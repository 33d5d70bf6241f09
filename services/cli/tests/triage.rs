//! Fleet triage from the CLI, end to end on `zerotrace up`: a team's
//! `[[ignore]]` entries imported as the API's decisions (admin token) hide
//! the findings they cover from `findings` and `summary` until asked for
//! them; an export is the same shape and imports again without changing
//! anything; the reader token cannot write, and an entry a decision cannot
//! express is one line naming the file, the line and the key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Run, start_up_with, write, zerotrace};

const ADMIN: &str = "admin-token-of-the-test";

/// Runs `zerotrace` off the async runtime (the agent answers meanwhile).
async fn cli(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || zerotrace(args)).await.unwrap()
}

/// `zerotrace ARGS… --api-url … --token TOKEN` (and `--format json` for reads).
fn at(api: &str, token: &str, args: &[&str], json: bool) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend([
        "--api-url".to_string(),
        format!("http://{api}"),
        "--token".into(),
        token.into(),
    ]);
    if json {
        all.extend(["--format".to_string(), "json".into()]);
    }
    all
}

#[tokio::test]
async fn imported_ignores_hide_their_findings_and_export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let advisories = dir.path().join("advisories");
    write(
        &advisories,
        "TRIAGE-1.json",
        &common::crate_advisory("TRIAGE-1", None, "alpha-crate", "HIGH"),
    );
    write(
        &advisories,
        "TRIAGE-2.json",
        &common::crate_advisory("TRIAGE-2", None, "beta-crate", "LOW"),
    );
    let tree = dir.path().join("tree");
    write(
        &tree,
        "Cargo.lock",
        &common::cargo_lock_of(&["alpha-crate", "beta-crate"]),
    );
    let up = start_up_with(
        &dir.path().join("data"),
        &[
            ("ZEROTRACE_ENRICHMENT_IMPORT", advisories.as_os_str()),
            ("ZEROTRACE_AGENT_ALLOWED_ROOTS", tree.as_os_str()),
            ("ZEROTRACE_API_ADMIN_TOKEN", std::ffi::OsStr::new(ADMIN)),
        ],
    );
    let (agent, api) = (up.grpc[0].clone(), up.grpc[2].clone());
    let reader = up.reader_token.clone();
    let mut trigger = at(&api, &reader, &["trigger", tree.to_str().unwrap()], true);
    trigger.extend(["--agent".to_string(), format!("http://{agent}")]);
    let scanned = cli(trigger).await;
    assert_eq!(scanned.code, 0, "{}", scanned.stderr);
    let findings = |extra: &[&str]| {
        let mut args = vec!["findings"];
        args.extend(extra);
        cli(at(&api, &reader, &args, true))
    };
    assert_eq!(findings(&[]).await.json()["total"], 2);

    // The team's file: one entry per kind of decision a fleet can hold.
    let file = dir.path().join("decisions.toml");
    std::fs::write(
        &file,
        "[[ignore]]\nid = \"TRIAGE-1\"\nreason = \"the parser is never given untrusted input\"\n\
         kind = \"not-affected\"\njustification = \"code-not-reachable\"\n\
         ecosystem = \"crates.io\"\npackage = \"alpha-crate\"\nuntil = \"2099-12-31\"\n",
    )
    .unwrap();
    let import = |token: &str, path: &std::path::Path| {
        cli(at(
            &api,
            token,
            &["decisions", "import", path.to_str().unwrap(), "--author", "alice"],
            false,
        ))
    };
    let refused = import(&reader, &file).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("read-only"), "{}", refused.stderr);
    assert_eq!(refused.stderr.trim().lines().count(), 1, "{}", refused.stderr);
    let imported = import(ADMIN, &file).await;
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(
        imported.stdout.contains("1 created, 0 updated, 0 unchanged"),
        "{}",
        imported.stdout
    );

    // Hidden by default, shown with the flag, with the decision named.
    let listed = findings(&[]).await.json();
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["findings"][0]["advisory"], "TRIAGE-2");
    let all = findings(&["--include-decided"]).await.json();
    assert_eq!(all["total"], 2, "{all}");
    let decided: Vec<_> = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("decision").is_some())
        .collect();
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0]["advisory"], "TRIAGE-1");
    assert!(decided[0]["decision"].as_str().unwrap().starts_with("decisions/"));
    let summary = cli(at(&api, &reader, &["summary"], true)).await.json();
    assert_eq!(summary["open_findings"], 1, "{summary}");

    // The export is `[[ignore]]` entries that import again as they are.
    let exported = dir.path().join("exported.toml");
    let run = cli(at(
        &api,
        &reader,
        &["decisions", "export", "--output", exported.to_str().unwrap()],
        false,
    ))
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&exported).unwrap();
    for line in [
        "id = \"TRIAGE-1\"",
        "kind = \"not-affected\"",
        "justification = \"code-not-reachable\"",
        "until = \"2099-12-31\"",
        "package = \"alpha-crate\"",
        "author = \"alice\"",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    let again = import(ADMIN, &exported).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("0 created, 0 updated, 1 unchanged"),
        "{}",
        again.stdout
    );
    // A local scan reads the same file as a zerotrace.toml and suppresses
    // with the same analysis.
    let scan = zerotrace(vec![
        "scan".to_string(),
        tree.display().to_string(),
        "--db".into(),
        advisories.display().to_string(),
        "--config".into(),
        exported.display().to_string(),
        "--format".into(),
        "json".into(),
    ]);
    let report = scan.json();
    assert_eq!(
        report["suppressed"][0]["suppression"]["decision"], "not-affected",
        "{report}"
    );

    // A changed reason updates the decision in place.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("never given", "never handed"),
    )
    .unwrap();
    let changed = import(ADMIN, &file).await;
    assert!(
        changed.stdout.contains("0 created, 1 updated, 0 unchanged"),
        "{}",
        changed.stdout
    );

    // What a decision cannot say is refused before anything is written.
    std::fs::write(
        &file,
        "[[ignore]]\nid = \"TRIAGE-2\"\nreason = \"accepted\"\npackage = \"beta-crate\"\n\
         ecosystem = \"crates.io\"\nversion = \">=1, <2\"\n",
    )
    .unwrap();
    let bad = import(ADMIN, &file).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("decisions.toml:1: `ignore.version`"),
        "{}",
        bad.stderr
    );
    assert_eq!(findings(&[]).await.json()["total"], 1, "nothing was written");
}
