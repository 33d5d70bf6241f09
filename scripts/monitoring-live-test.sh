#!/usr/bin/env bash
# Live test of monitoring/: the real services, the real Prometheus and the real
# Alertmanager (Debian prometheus 2.42, prometheus-alertmanager 0.25), all on
# 127.0.0.1, with configs GENERATED from the files in monitoring/.
#
#   scripts/monitoring-live-test.sh
#
# 1. builds and starts zerotrace-enrichment (an authored advisory for
#    demo-crate 1.0.0), zerotrace-api and zerotrace-agent (scans a project
#    whose Cargo.lock pins demo-crate 1.0.0 every 2 s) as three processes;
# 2. generates (scripts/monitoring_live.py, see its docstring and
#    monitoring/README.md) a rules copy with every `for:` at 2s, a Prometheus
#    config from monitoring/prometheus.yml (1s intervals, test ports), and an
#    Alertmanager config rendered by monitoring/alertmanager/render-config.sh
#    with webhook URLs on a receiver this script owns, then group_wait 1s and
#    group_interval 2s;
# 3. checks: a. every contract series is in Prometheus; b. every rule,
#    dashboard query and variable evaluates and uses only live series and
#    labels; no alert is active while all runs; c. killing enrichment fires
#    EnrichmentServiceDown to the webhook with its labels and runbook_url;
#    d. then (failed scans exist) every label="value" matcher of the rules,
#    dashboards and runbooks matches a live value; e. restarting enrichment
#    sends the resolved notification.
#
# Ports: each documented port plus MONITORING_LIVE_PORT_OFFSET (default 10000):
# metrics 19101-19103, gRPC 60051-60053, Prometheus 19090, Alertmanager 19093,
# webhook 19099. Binaries: ZEROTRACE_BIN_DIR (default: cargo build --bins into
# target/debug). MONITORING_LIVE_KEEP=1 keeps the work directory.
# Exits non-zero on any failure, after printing the logs' tails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started ))s"; }
say() { printf '[%s] %s\n' "$(elapsed)" "$*"; }

off=${MONITORING_LIVE_PORT_OFFSET:-10000}
agent_grpc=127.0.0.1:$((50051 + off)) agent_metrics=127.0.0.1:$((9101 + off))
enr_grpc=127.0.0.1:$((50052 + off)) enr_metrics=127.0.0.1:$((9102 + off))
api_grpc=127.0.0.1:$((50053 + off)) api_metrics=127.0.0.1:$((9103 + off))
prom_addr=127.0.0.1:$((9090 + off)) am_addr=127.0.0.1:$((9093 + off)) hook_addr=127.0.0.1:$((9099 + off))
prom="http://$prom_addr"

for tool in prometheus prometheus-alertmanager promtool python3 curl grpcurl; do
    command -v "$tool" >/dev/null || { echo "monitoring-live-test: $tool missing (bash .ci/install-tools.sh)" >&2; exit 1; }
done
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml

if [ -n "${ZEROTRACE_BIN_DIR:-}" ]; then
    bin=$ZEROTRACE_BIN_DIR
else
    say "cargo build --bins"
    cargo build --bins --locked --quiet
    bin=$root/target/debug
fi
for b in zerotrace-agent zerotrace-enrichment zerotrace-api; do
    [ -x "$bin/$b" ] || { echo "monitoring-live-test: $bin/$b missing" >&2; exit 1; }
done

# Fail early and clearly if a port is taken (the services would exit anyway).
python3 - "$agent_grpc" "$agent_metrics" "$enr_grpc" "$enr_metrics" "$api_grpc" "$api_metrics" \
    "$prom_addr" "$am_addr" "$hook_addr" <<'EOF'
import socket, sys
busy = []
for addr in sys.argv[1:]:
    host, port = addr.rsplit(":", 1)
    with socket.socket() as s:
        if s.connect_ex((host, int(port))) == 0:
            busy.append(addr)
if busy:
    sys.exit(f"monitoring-live-test: in use: {' '.join(busy)} (set MONITORING_LIVE_PORT_OFFSET)")
EOF

work=$(mktemp -d "${TMPDIR:-/tmp}/zerotrace-monitoring-live.XXXXXX")
pids=()
status=1
dump_logs() {
    for f in "$work"/*.log; do
        [ -f "$f" ] || continue
        echo "----- tail of $(basename "$f")"
        tail -n 25 "$f"
    done
}
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        echo "monitoring-live-test: FAILED after $(elapsed); logs in $work:" >&2
        dump_logs >&2
    fi
    if [ "${MONITORING_LIVE_KEEP:-0}" = 1 ]; then
        echo "monitoring-live-test: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() { # start NAME CMD... : runs in the background, log in $work/NAME.log
    local name=$1; shift
    "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    eval "pid_${name//-/_}=$!"
}
wait_for() { # wait_for WHAT SECONDS CMD...
    local what=$1 secs=$2; shift 2
    local deadline=$(( $(date +%s) + secs ))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then echo "monitoring-live-test: $what not ready after ${secs}s" >&2; exit 1; fi
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null || { echo "monitoring-live-test: a process exited while waiting for $what" >&2; exit 1; }
        done
        sleep 0.2
    done
}

# --- fixtures: an authored advisory and a project that pins the crate -----------
mkdir -p "$work/advisories" "$work/project" "$work/data"
cat >"$work/advisories/ZT-LIVE-0001.json" <<'EOF'
{"id": "ZT-LIVE-0001", "modified": "2024-01-01T00:00:00Z", "published": "2024-01-01T00:00:00Z",
 "aliases": ["CVE-2099-0001"], "summary": "demo-crate: authored advisory of the monitoring live test",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected": [{"package": {"ecosystem": "crates.io", "name": "demo-crate"},
   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.1"}]}]}]}
EOF
cat >"$work/project/Cargo.lock" <<'EOF'
version = 3

[[package]]
name = "demo-app"
version = "0.1.0"
dependencies = ["demo-crate"]

[[package]]
name = "demo-crate"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
EOF

# --- generated configs --------------------------------------------------------
gen="python3 scripts/monitoring_live.py"
$gen gen-rules monitoring/alert-rules.yml "$work/alert-rules.test.yml" --for 2s
promtool check rules "$work/alert-rules.test.yml" >/dev/null
$gen gen-prometheus monitoring/prometheus.yml "$work/prometheus.yml" --interval 1s \
    --rules "$work/alert-rules.test.yml" --alertmanager "$am_addr" \
    --target "zerotrace-agent=$agent_metrics" --target "zerotrace-enrichment=$enr_metrics" \
    --target "zerotrace-api=$api_metrics" --target "prometheus=$prom_addr"
promtool check config "$work/prometheus.yml" >/dev/null
ZEROTRACE_ALERT_PAGER_WEBHOOK_URL="http://$hook_addr/pager" \
ZEROTRACE_ALERT_TEAM_WEBHOOK_URL="http://$hook_addr/team" \
ZEROTRACE_ALERT_TICKET_WEBHOOK_URL="http://$hook_addr/ticket" \
    sh monitoring/alertmanager/render-config.sh monitoring/alertmanager.yml "$work/alertmanager.rendered.yml"
$gen gen-alertmanager-timing "$work/alertmanager.rendered.yml" "$work/alertmanager.yml" \
    --group-wait 1s --group-interval 2s
amtool check-config "$work/alertmanager.yml" >/dev/null

# --- processes ----------------------------------------------------------------
say "starting services, webhook, Alertmanager, Prometheus in $work"
start_enrichment() {
    start enrichment "$bin/zerotrace-enrichment" --listen "$enr_grpc" --metrics-listen "$enr_metrics" \
        --data-dir "$work/data/enrichment" --import "$work/advisories"
}
start_enrichment
start api "$bin/zerotrace-api" --listen "$api_grpc" --metrics-listen "$api_metrics" --data-dir "$work/data/api"
wait_for "enrichment /metrics" 60 curl -fsS "http://$enr_metrics/metrics"
wait_for "api /metrics" 60 curl -fsS "http://$api_metrics/metrics"
wait_for "enrichment gRPC" 60 grpcurl -plaintext -max-time 1 "$enr_grpc" grpc.health.v1.Health/Check
start agent "$bin/zerotrace-agent" --listen "$agent_grpc" --metrics-listen "$agent_metrics" \
    --data-dir "$work/data/agent" --allowed-root "$work/project" --scan-interval 2s \
    --enrichment-url "http://$enr_grpc" --api-url "http://$api_grpc" --resource-interval 1s
start webhook python3 -u scripts/monitoring_live.py webhook --listen "$hook_addr" --out "$work/webhook.jsonl"
start alertmanager prometheus-alertmanager --config.file="$work/alertmanager.yml" \
    --storage.path="$work/alertmanager-data" --web.listen-address="$am_addr" --cluster.listen-address=
start prometheus prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
    --web.listen-address="$prom_addr"
wait_for "agent /metrics" 60 curl -fsS "http://$agent_metrics/metrics"
wait_for "webhook" 30 curl -fsS "http://$hook_addr/"
wait_for "Alertmanager" 60 curl -fsS "http://$am_addr/-/ready"
wait_for "Prometheus" 60 curl -fsS "$prom/-/ready"

# A client error, so that the API's "errors by code" panels have data too.
for _ in 1 2 3; do
    grpcurl -plaintext -max-time 5 "$api_grpc" zerotrace.api.v1.ApiService/ListAgents >/dev/null 2>&1 || true
done

say "waiting for every contract series and recording rule in Prometheus"
$gen wait-ready --prometheus "$prom" --timeout 90 --settle 5

failed=0
run_check() { "$@" || failed=1; }
say "checks"
run_check $gen check-series --prometheus "$prom"
run_check $gen check-queries --prometheus "$prom"
run_check $gen check-healthy --prometheus "$prom"

say "stopping zerotrace-enrichment (SIGKILL, pid $pid_enrichment)"
killed_at=$(date +%s.%N)
kill -KILL "$pid_enrichment"
run_check $gen wait-alert --log "$work/webhook.jsonl" --alert EnrichmentServiceDown --status firing \
    --timeout 60 --since "$killed_at" --label "c."

# Failed scans exist now (the agent cannot match without enrichment), so every
# equality matcher, `status="failure"` included, can be checked against live values.
run_check $gen check-selectors --prometheus "$prom"

say "restarting zerotrace-enrichment"
restarted_at=$(date +%s.%N)
start_enrichment
run_check $gen wait-alert --log "$work/webhook.jsonl" --alert EnrichmentServiceDown --status resolved \
    --timeout 60 --since "$restarted_at" --label "e."

if [ "$failed" -ne 0 ]; then
    say "FAIL monitoring-live-test"
    exit 1
fi
status=0
say "PASS monitoring-live-test (all checks)"
