#!/usr/bin/env bash
# The fleet simulation (a benchmark and, in --ci mode, a check): simulated
# agents (`zerotrace-loadgen fleet`) registering, heartbeating and sending
# hourly reports, in compressed time, to
#   1. two zerotrace-api replicas on one PostgreSQL database; replica A is
#      killed with `kill -9` mid-run, its agents retry on B, and at the end B
#      must hold every acknowledged report, no finding twice, exactly the
#      findings the agents reported, and WatchFindings on B must have
#      delivered every finding the reports opened;
#   2. one zerotrace-api on SQLite, the same fleet, for comparison;
#   3. the two PostgreSQL replicas again, the fleet growing in steps, to find
#      the agent count at which SubmitScanReport p95 passes 1 s.
# Prints each run's Markdown table and a summary; the JSON lines go to
# --out (default target/fleet-simulation). Exits 1 if a run's check fails.
#
#   scripts/fleet-simulation.sh --ci      the kill check only: 200 agents, about 1.5 min (CI runs this)
#   scripts/fleet-simulation.sh --quick   all three runs, short (about 8 min)
#   scripts/fleet-simulation.sh           all three runs as docs/performance.md quotes them (about 25 min)
#
# Options: --bin-dir DIR (or ZEROTRACE_BIN_DIR): take zerotrace-api and
# zerotrace-loadgen from DIR instead of building them (release) into target/;
# --pg-url URL: a PostgreSQL server URL whose role may create databases
# (default: the host of ZEROTRACE_TEST_DATABASE_URL, else
# postgres://postgres@127.0.0.1:5432); the runs use a database `fleet_sim`,
# dropped and created again, and dropped at the end. `bash .ci/postgres.sh`
# starts a server that fits. Needs psql.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

mode=full
bin=${ZEROTRACE_BIN_DIR:-}
out=$root/target/fleet-simulation
test_url=${ZEROTRACE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
pg=${test_url%/*}
while [ $# -gt 0 ]; do
  case "$1" in
    --ci) mode=ci ;;
    --quick) mode=quick ;;
    --full) mode=full ;;
    --bin-dir) bin=$2; shift ;;
    --pg-url) pg=${2%/}; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "fleet-simulation: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
command -v psql >/dev/null || { echo "fleet-simulation: psql is needed (bash .ci/postgres.sh installs it)" >&2; exit 2; }
if [ -z "$bin" ]; then
  cargo build --release --locked --quiet -p zerotrace-api -p zerotrace-loadgen
  bin=$root/target/release
fi
for b in zerotrace-api zerotrace-loadgen; do
  [ -x "$bin/$b" ] || { echo "fleet-simulation: $bin/$b missing" >&2; exit 2; }
done
mkdir -p "$out"
rm -f "$out"/*.json

database=fleet_sim
db_url=$pg/$database
reader=fleet-reader-token
work=$(mktemp -d "${TMPDIR:-/tmp}/zerotrace-fleet.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql "$pg/postgres" -qtAc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export PGOPTIONS=--client-min-messages=warning
fresh_database() {
  psql "$pg/postgres" -v ON_ERROR_STOP=1 -qtAc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
  psql "$pg/postgres" -v ON_ERROR_STOP=1 -qtAc "CREATE DATABASE $database" >/dev/null
}

# stop_apis: stops the replicas of the run that ends (SIGTERM), so that the next run has the machine to itself.
stop_apis() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

# api NAME [--database-url URL]: starts a replica; sets $pid and $addr.
api() {
  local name=$1; shift
  mkdir -p "$work/$name"
  RUST_LOG=${RUST_LOG:-warn} "$bin/zerotrace-api" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    --data-dir "$work/$name" --reader-token "$reader" --registrations-per-peer 0 --print-addr "$@" \
    >"$work/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  addr=
  for _ in $(seq 1 300); do
    addr=$(sed -n 's/^zerotrace-api listening grpc=\([^ ]*\) .*/\1/p' "$work/$name.log")
    [ -n "$addr" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "fleet-simulation: replica $name did not start:" >&2
  tail -n 20 "$work/$name.log" >&2
  exit 1
}

# fleet LABEL ARGS...: runs the simulated agents; table on stdout, JSON line in $out/LABEL.json.
fleet() {
  local label=$1; shift
  echo "== $label: zerotrace-loadgen fleet $*" >&2
  local status=0
  "$bin/zerotrace-loadgen" fleet --label "$label" --reader-token "$reader" "$@" >"$work/$label.out" || status=$?
  grep '^|' "$work/$label.out" || true
  grep '^{' "$work/$label.out" >"$out/$label.json" || true
  return "$status"
}

pg_size="psql '$db_url' -qtAc \"SELECT pg_database_size('$database')\""

# The kill run: A and B on one database, A killed with SIGKILL mid-run.
kill_run() { # LABEL AGENTS SIM_HOUR_SECONDS HOURS KILL_AFTER_SECONDS FULL_EVERY
  local label=$1 agents=$2 hour=$3 hours=$4 kill_after=$5 full_every=$6
  fresh_database
  api "$label-a" --database-url "$db_url"; local pid_a=$pid addr_a=$addr
  api "$label-b" --database-url "$db_url"; local addr_b=$addr
  ( sleep "$kill_after"; kill -9 "$pid_a" 2>/dev/null && echo "== $label: kill -9 replica A (pid $pid_a) after ${kill_after} s" >&2 ) &
  local killer=$!
  local status=0
  fleet "$label" --replica "$addr_a" --replica "$addr_b" --agents "$agents" --sim-hour-seconds "$hour" \
    --step-hours "$hours" --heartbeat-seconds "$heartbeat" --full-every "$full_every" --watch 1 --verify 1 \
    --db-size-command "$pg_size" || status=$?
  wait "$killer" || true
  if kill -0 "$pid_a" 2>/dev/null; then
    echo "fleet-simulation: $label: replica A was still running at the end (the run was shorter than --kill-after)" >&2
    status=1
  fi
  stop_apis
  return "$status"
}

sqlite_run() { # LABEL AGENTS SIM_HOUR_SECONDS HOURS
  local label=$1 agents=$2 hour=$3 hours=$4 status=0
  api "$label"
  fleet "$label" --replica "$addr" --agents "$agents" --sim-hour-seconds "$hour" --step-hours "$hours" \
    --heartbeat-seconds "$heartbeat" --verify 0 --db-size-command "du -sb '$work/$label' | cut -f1" || status=$?
  stop_apis
  return "$status"
}

ramp_run() { # LABEL STEPS SIM_HOUR_SECONDS HOURS_PER_STEP
  local label=$1 steps=$2 hour=$3 hours=$4 status=0
  fresh_database
  api "$label-a" --database-url "$db_url"; local addr_a=$addr
  api "$label-b" --database-url "$db_url"; local addr_b=$addr
  fleet "$label" --replica "$addr_a" --replica "$addr_b" --agents "$steps" --sim-hour-seconds "$hour" \
    --step-hours "$hours" --heartbeat-seconds "$heartbeat" --drain-seconds 30 || status=$?
  stop_apis
  return "$status"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -sr), mode $mode"
failed=0
heartbeat=60
case "$mode" in
  ci)
    # 200 agents, a simulated hour in 15 s, 4 hours; A dies after 35 s. A
    # heartbeat every 5 simulated minutes, not every minute, so that debug
    # builds on a small CI machine keep up: this run checks, it does not measure.
    heartbeat=300
    kill_run ci-kill 200 15 4 35 3 || failed=1
    ;;
  quick)
    kill_run postgres-kill 1000 30 4 70 24 || failed=1
    sqlite_run sqlite 1000 30 3 || failed=1
    ramp_run postgres-ramp 1000,2000,4000 30 1.5 || failed=1
    ;;
  full)
    kill_run postgres-kill 1000 60 8 300 24 || failed=1
    sqlite_run sqlite 1000 60 6 || failed=1
    ramp_run postgres-ramp 1000,2000,4000,8000 60 2 || failed=1
    ;;
esac

python3 - "$out" <<'EOF'
import glob, json, os, sys
out = sys.argv[1]
for path in sorted(glob.glob(f"{out}/*.json")):
    try:
        run = json.load(open(path))
    except (OSError, ValueError):
        continue
    label = run["label"]
    print(f"\n{label}: {run['agents']} agents, {run['acknowledged']} reports acknowledged "
          f"({run['unacknowledged']} not), {run['retries']} calls retried on another replica "
          f"({run['report_retries']} of them reports; {run['already_stored']} retried reports were already stored), "
          f"{run['findings_per_report']:.1f} findings per report, {run['packages_per_agent']:.0f} packages per agent")
    s, h = run["submit_ms"], run["heartbeat_ms"]
    print(f"  sustained {run['reports_per_s']:.2f} reports/s; submit p50/p95/p99 {s[0]:.1f}/{s[1]:.1f}/{s[2]:.1f} ms; "
          f"heartbeat {h[0]:.1f}/{h[1]:.1f}/{h[2]:.1f} ms")
    if run.get("watch_lag_ms"):
        w = run["watch_lag_ms"]
        print(f"  WatchFindings lag across replicas ({w['events']} findings): p50 {w['p50']:.1f} ms, "
              f"p95 {w['p95']:.1f} ms, p99 {w['p99']:.1f} ms, max {w['max']:.1f} ms")
    if run.get("db_bytes_per_agent_day") is not None:
        d = run["db_bytes"]
        steady = run.get("db_bytes_per_agent_day_second_half")
        print(f"  database {d['before']/1e6:.1f} MB -> {d['after']/1e6:.1f} MB over {d['sim_hours']:.1f} simulated hours: "
              f"{run['db_bytes_per_agent_day']/1e3:.1f} kB per agent per day"
              + (f" ({steady/1e3:.1f} kB over the second half)" if steady is not None else ""))
    if run.get("retry_codes"):
        print("  retries by code: " + ", ".join(f"{code} {n}" for code, n in run["retry_codes"].items()))
    if len(run["steps"]) > 1:
        for step in run["steps"]:
            print(f"  step {step['agents']} agents: {step['reports_per_s']:.2f} reports/s, submit p95 "
                  f"{step['submit_p95_ms']:.1f} ms, heartbeat p95 {step['heartbeat_p95_ms']:.1f} ms")
        past = run["agents_past_1s_submit_p95"]
        print(f"  submit p95 passes 1 s at: {past if past else 'not within ' + str(run['steps'][-1]['agents'])} agents")
    if run.get("check"):
        c = run["check"]
        verdict = "FAIL: " + c["violation"] if c["violation"] else "pass"
        print(f"  check: {verdict} ({c['scans_found']} acknowledged reports found, {c['findings_listed']} findings "
              f"stored of {c['findings_expected']} reported, {c['open_listed']} open of {c['open_expected']}, "
              f"watched {c['watched']})")
EOF
if [ "$failed" = 1 ]; then
  echo "fleet-simulation: FAILED (see above)" >&2
  exit 1
fi
