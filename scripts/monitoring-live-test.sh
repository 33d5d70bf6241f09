#!/usr/bin/env bash
# Live test of monitoring/: the real services, the real Prometheus and the real
# Alertmanager (Debian prometheus 2.42, prometheus-alertmanager 0.25), and on
# the push path the real OpenTelemetry Collector and Jaeger (built by
# .ci/build-otel-tools.sh), all on 127.0.0.1, with configs GENERATED from the
# files in monitoring/ and collector/.
#
#   scripts/monitoring-live-test.sh [--path pull|push] [--topology services|up]
#
# --path pull (default): Prometheus scrapes each service's /metrics with
#     monitoring/prometheus.yml.
# --path push: the services are configured only through the standard OTEL_*
#     variables and push OTLP to the collector (collector/otel-collector.yaml,
#     unchanged); Prometheus scrapes only the collector's exporter with
#     monitoring/prometheus-collector.yml; traces go on to Jaeger
#     (collector/jaeger.yaml). Nothing scrapes the services' own /metrics.
# --topology services (default): zerotrace-enrichment, zerotrace-api and
#     zerotrace-agent as three processes, so enrichment can be stopped alone.
# --topology up: one `zerotrace up`, the default deployment.
#
# Checks (see monitoring/README.md for each): a. every contract series, with
# exactly its labels, `job` and an `instance` known to target_info, and no
# stray or doubled name; b. every rule, dashboard query and variable
# evaluates on live series; healthy: no alert pending or firing. With three
# services also: c. killing enrichment fires EnrichmentServiceDown to the
# webhook within the time its runbook states; d. every label="value" matcher
# names a live value; e. restarting it sends the resolved notification.
# On the push path with three services also: f. a scan triggered with grpcurl
# is ONE trace in Jaeger (agent, enrichment and API spans, parent links, the
# trace id of the agent's log line); g. with the collector killed, a simple
# RPC's p99 stays within 10% of a healthy run (median of three interleaved
# rounds, printed), and after the collector restarts metrics and traces flow
# again without restarting the services; h. with the collector down for
# good, OTelCollectorDown pages and the three service-down alerts, firing in
# Prometheus, are inhibited in Alertmanager. Every run also: i. the API's
# zerotrace_findings_open gauge, read from Prometheus, shows the fixture's KEV
# finding, KnownExploitedFindingOpen reaches the security receiver, and once
# the lockfile is fixed the gauge drops to 0, zerotrace_findings_resolved_total
# counts it and the alert resolves.
#
# Ports: each documented port plus MONITORING_LIVE_PORT_OFFSET (default 10000):
# metrics 19101-19103, gRPC 60051-60053, Prometheus 19090, Alertmanager 19093,
# webhook 19099, collector OTLP 14317/14318, exporter 18889, health 23133,
# own metrics 18888, Jaeger OTLP 24317, query 26686/26685.
# Binaries: ZEROTRACE_BIN_DIR (default: cargo build --bins into target/debug);
# ZEROTRACE_OTELCOL, ZEROTRACE_JAEGER (default .ci/tools/bin/*).
# MONITORING_LIVE_KEEP=1 keeps the work directory.
# Exits non-zero on any failure, after printing the logs' tails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
path=pull
topology=services
while [ $# -gt 0 ]; do
    case "$1" in
        --path) path=${2:?--path pull|push}; shift 2 ;;
        --topology) topology=${2:?--topology services|up}; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "monitoring-live-test: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done
case "$path/$topology" in
    pull/services | push/services | pull/up | push/up) ;;
    *) echo "monitoring-live-test: --path pull|push, --topology services|up" >&2; exit 64 ;;
esac
name="monitoring-live-test ($path, $topology)"
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started ))s"; }
say() { printf '[%s] %s\n' "$(elapsed)" "$*"; }

off=${MONITORING_LIVE_PORT_OFFSET:-10000}
agent_grpc=127.0.0.1:$((50051 + off)) agent_metrics=127.0.0.1:$((9101 + off))
enr_grpc=127.0.0.1:$((50052 + off)) enr_metrics=127.0.0.1:$((9102 + off))
api_grpc=127.0.0.1:$((50053 + off)) api_metrics=127.0.0.1:$((9103 + off))
prom_addr=127.0.0.1:$((9090 + off)) am_addr=127.0.0.1:$((9093 + off)) hook_addr=127.0.0.1:$((9099 + off))
otlp_grpc=127.0.0.1:$((4317 + off)) otlp_http=127.0.0.1:$((4318 + off))
exporter=127.0.0.1:$((8889 + off)) health=127.0.0.1:$((13133 + off)) own_metrics_port=$((8888 + off))
jaeger_otlp=127.0.0.1:$((14317 + off)) jaeger_http=127.0.0.1:$((16686 + off)) jaeger_grpc=127.0.0.1:$((16685 + off))
prom="http://$prom_addr"
# Push path timings: the SDK pushes every second; the collector forgets a
# silent service's series after this (its default is 3m, see collector/README.md).
push_interval_ms=1000
metric_expiration_s=10
collector_batch_s=5   # collector/otel-collector.yaml: batch timeout
rule_for_s=2          # every `for:` in the generated rules
interval_s=1          # scrape and evaluation interval
group_wait_s=1
group_interval_s=2
# After a fault the test caused, the next one starts only once no alert has been
# active for this long: a `for:`, two evaluations, and Alertmanager's
# group_interval for the resolved notifications to go out, plus a second.
quiet_s=$(( rule_for_s + 2 * interval_s + group_interval_s + 1 ))

for tool in prometheus prometheus-alertmanager promtool amtool python3 curl grpcurl; do
    command -v "$tool" >/dev/null || { echo "monitoring-live-test: $tool missing (bash .ci/install-tools.sh)" >&2; exit 1; }
done
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
otelcol=${ZEROTRACE_OTELCOL:-$root/.ci/tools/bin/zerotrace-otelcol}
jaeger=${ZEROTRACE_JAEGER:-$root/.ci/tools/bin/jaeger}
if [ "$path" = push ]; then
    for b in "$otelcol" "$jaeger"; do
        [ -x "$b" ] || { echo "monitoring-live-test: $b missing (bash .ci/build-otel-tools.sh)" >&2; exit 1; }
    done
fi

if [ -n "${ZEROTRACE_BIN_DIR:-}" ]; then
    bin=$ZEROTRACE_BIN_DIR
else
    say "cargo build --bins"
    cargo build --bins --locked --quiet
    bin=$root/target/debug
fi
for b in zerotrace zerotrace-agent zerotrace-enrichment zerotrace-api zerotrace-loadgen; do
    [ -x "$bin/$b" ] || { echo "monitoring-live-test: $bin/$b missing" >&2; exit 1; }
done

# Fail early and clearly if a port is taken (the processes would exit anyway).
python3 - "$agent_grpc" "$agent_metrics" "$enr_grpc" "$enr_metrics" "$api_grpc" "$api_metrics" \
    "$prom_addr" "$am_addr" "$hook_addr" "$otlp_grpc" "$otlp_http" "$exporter" "$health" \
    "127.0.0.1:$own_metrics_port" "$jaeger_otlp" "$jaeger_http" "$jaeger_grpc" <<'EOF'
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
    # Last, where a truncated CI log still shows it.
    [ -f "$work/diagnosis.txt" ] && cat "$work/diagnosis.txt"
}
# On failure, while everything still runs: what Prometheus and the collector
# hold now, every notification with its time, and each service's export errors.
diagnose() {
    {
        echo "----- diagnosis at $(elapsed)"
        echo "active alerts in Prometheus:"
        curl -fsS --max-time 5 "${prom:-}/api/v1/alerts" 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin)["data"]["alerts"]:
    print("   ", a["labels"].get("alertname"), a["state"], "since", a.get("activeAt"))' || echo "    (Prometheus unreachable)"
        if [ "$path" = push ]; then
            echo "service series in the collector's exporter now:"
            for m in zerotrace_api_active_connections zerotrace_agent_memory_usage_bytes \
                     zerotrace_enrichment_active_connections; do
                printf '    %s: %s\n' "$m" "$(curl -fsS --max-time 5 "http://$exporter/metrics" 2>/dev/null | grep -c "^$m{")"
            done
            echo "the collector's own counters:"
            curl -fsS --max-time 5 "http://127.0.0.1:$own_metrics_port/metrics" 2>/dev/null \
                | grep -E '^otelcol_(receiver_(accepted|refused)_metric_points|processor_refused|exporter_(sent|send_failed)_metric_points)' \
                | sed 's/^/    /' || echo "    (unreachable)"
        fi
        echo "notifications (seconds since the test started):"
        [ -f "$work/webhook.jsonl" ] && python3 - "$work/webhook.jsonl" "$started" <<'PY' || true
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print("    %6.1fs %s %s" % (r["received"] - float(sys.argv[2]), r["path"],
          ", ".join(f'{a["status"]} {a["labels"].get("alertname")}' for a in r["body"].get("alerts", []))))
PY
        for f in "$work"/*.log; do
            n=$(grep -c "otlp export failed" "$f" 2>/dev/null || true)
            [ "${n:-0}" -gt 0 ] || continue
            echo "$(basename "$f"): $n failed OTLP exports, the last:"
            grep "otlp export failed" "$f" | tail -n 1 | cut -c1-300 | sed 's/^/    /'
        done
    } >"$work/diagnosis.txt" 2>&1
}
cleanup() {
    local pid
    if [ "$status" -ne 0 ]; then diagnose || true; fi
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
        echo "$name: FAILED after $(elapsed); logs in $work:" >&2
        dump_logs >&2
    fi
    if [ "${MONITORING_LIVE_KEEP:-0}" = 1 ]; then
        echo "$name: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() { # start NAME CMD... : runs in the background, log in $work/NAME.log (appended)
    local name=$1; shift
    "$@" >>"$work/$name.log" 2>&1 &
    pids+=($!)
    eval "pid_${name//-/_}=$!"
}
kill_hard() { # kill_hard PID : SIGKILL, reaped, and no longer watched by wait_for
    local victim=$1 kept=() pid
    kill -KILL "$victim" 2>/dev/null || true
    wait "$victim" 2>/dev/null || true
    for pid in "${pids[@]}"; do [ "$pid" = "$victim" ] || kept+=("$pid"); done
    pids=("${kept[@]}")
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

# --- fixtures: an authored advisory and projects that pin the crate -----------
mkdir -p "$work/advisories" "$work/project" "$work/traced" "$work/data"
# Dated now, with a KEV catalog and EPSS scores of today: every source the
# enrichment service keeps is current, so AdvisoryDataStale stays silent.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat >"$work/advisories/ZT-LIVE-0001.json" <<EOF
{"id": "ZT-LIVE-0001", "modified": "$now", "published": "2024-01-01T00:00:00Z",
 "aliases": ["CVE-2099-0001"], "summary": "demo-crate: authored advisory of the monitoring live test",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected": [{"package": {"ecosystem": "crates.io", "name": "demo-crate"},
   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.1"}]}]}]}
EOF
cat >"$work/kev.json" <<EOF
{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "live", "dateReleased": "$now",
 "vulnerabilities": [{"cveID": "CVE-2099-0001", "dateAdded": "${now%%T*}"}]}
EOF
printf '#model_version:v2025.03.14,score_date:%s\ncve,epss,percentile\nCVE-2099-0001,0.5,0.9\n' "$now" >"$work/epss.csv"
for dir in project traced; do
    cat >"$work/$dir/Cargo.lock" <<'EOF'
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
done
# A realistic advisory database where ../shared has one (RustSec and PyPA):
# with `up`, healthy must mean healthy with real data loaded too.
# The enrichment service keeps exactly the ecosystems it is given; the shared
# snapshots are months old by design, so with them the maximum age is wide.
imports=$work/advisories,$work/kev.json,$work/epss.csv
data_env=(ZEROTRACE_ENRICHMENT_SYNC_INTERVAL=0s ZEROTRACE_ENRICHMENT_ECOSYSTEMS=crates.io)
if [ "$topology" = up ]; then
    for zip in crates.io PyPI; do
        f=$root/../shared/data/osv/$zip/all.zip
        if [ -f "$f" ]; then imports="$imports,$f"; else say "note: $f missing; up runs with the authored advisory only"; fi
    done
    data_env=(ZEROTRACE_ENRICHMENT_SYNC_INTERVAL=0s ZEROTRACE_ENRICHMENT_ECOSYSTEMS=crates.io,PyPI
              ZEROTRACE_ENRICHMENT_MAX_DATA_AGE=3650d)
fi

# --- generated configs --------------------------------------------------------
gen="python3 scripts/monitoring_live.py"
$gen gen-rules monitoring/alert-rules.yml "$work/alert-rules.test.yml" --for "${rule_for_s}s"
promtool check rules "$work/alert-rules.test.yml" >/dev/null
if [ "$path" = pull ]; then
    $gen gen-prometheus monitoring/prometheus.yml "$work/prometheus.yml" --interval "${interval_s}s" \
        --rules "$work/alert-rules.test.yml" --alertmanager "$am_addr" \
        --target "zerotrace-agent=$agent_metrics" --target "zerotrace-enrichment=$enr_metrics" \
        --target "zerotrace-api=$api_metrics" --target "prometheus=$prom_addr"
else
    $gen gen-prometheus monitoring/prometheus-collector.yml "$work/prometheus.yml" --interval "${interval_s}s" \
        --rules "$work/alert-rules.test.yml" --alertmanager "$am_addr" \
        --target "otel-collector=$exporter" --target "prometheus=$prom_addr"
fi
promtool check config "$work/prometheus.yml" >/dev/null
ZEROTRACE_ALERT_PAGER_WEBHOOK_URL="http://$hook_addr/pager" \
ZEROTRACE_ALERT_TEAM_WEBHOOK_URL="http://$hook_addr/team" \
ZEROTRACE_ALERT_TICKET_WEBHOOK_URL="http://$hook_addr/ticket" \
ZEROTRACE_ALERT_SECURITY_WEBHOOK_URL="http://$hook_addr/security" \
    sh monitoring/alertmanager/render-config.sh monitoring/alertmanager.yml "$work/alertmanager.rendered.yml"
$gen gen-alertmanager-timing "$work/alertmanager.rendered.yml" "$work/alertmanager.yml" \
    --group-wait "${group_wait_s}s" --group-interval "${group_interval_s}s"
amtool check-config "$work/alertmanager.yml" >/dev/null

# --- the push pipeline: Jaeger first (the collector's exporter backs off) ------
push_env=()
if [ "$path" = push ]; then
    say "starting Jaeger and the collector"
    start jaeger env JAEGER_OTLP_GRPC_ENDPOINT="$jaeger_otlp" JAEGER_QUERY_HTTP_ENDPOINT="$jaeger_http" \
        JAEGER_QUERY_GRPC_ENDPOINT="$jaeger_grpc" "$jaeger" --config "$root/collector/jaeger.yaml"
    wait_for "Jaeger" 60 curl -fsS "http://$jaeger_http/api/services"
    start_collector() {
        start collector env JAEGER_OTLP_ENDPOINT="$jaeger_otlp" OTELCOL_OTLP_GRPC_ENDPOINT="$otlp_grpc" \
            OTELCOL_OTLP_HTTP_ENDPOINT="$otlp_http" OTELCOL_PROMETHEUS_ENDPOINT="$exporter" \
            OTELCOL_HEALTH_ENDPOINT="$health" OTELCOL_METRICS_HOST=127.0.0.1 OTELCOL_METRICS_PORT="$own_metrics_port" \
            OTELCOL_METRIC_EXPIRATION="${metric_expiration_s}s" \
            "$otelcol" --config "$root/collector/otel-collector.yaml"
        wait_for "collector" 60 curl -fsS "http://$health/"
    }
    # After a restart of the collector: every service's series exported again,
    # pushed by the same processes (they reconnect on their own).
    wait_series_back() {
        local restarted_at
        restarted_at=$(date +%s)
        wait_for "metrics through the restarted collector" 60 \
            sh -c "curl -fsS http://$exporter/metrics | grep -q '^zerotrace_api_active_connections{.*job=\"zerotrace-api\"' \
                && curl -fsS http://$exporter/metrics | grep -q '^zerotrace_agent_memory_usage_bytes{.*job=\"zerotrace-agent\"' \
                && curl -fsS http://$exporter/metrics | grep -q '^zerotrace_enrichment_active_connections{.*job=\"zerotrace-enrichment\"'"
        echo "    ok    every service's series are back $(( $(date +%s) - restarted_at ))s after the restart"
    }
    start_collector
    # The only telemetry settings the services get: the standard variables.
    push_env=(OTEL_EXPORTER_OTLP_ENDPOINT="http://$otlp_grpc" OTEL_METRIC_EXPORT_INTERVAL="$push_interval_ms"
              OTEL_BSP_SCHEDULE_DELAY=200)
fi

# --- the services -------------------------------------------------------------
say "starting $topology ($path path), webhook, Alertmanager, Prometheus in $work"
if [ "$topology" = services ]; then
    start_enrichment() {
        start enrichment env "${push_env[@]}" "${data_env[@]}" "$bin/zerotrace-enrichment" --listen "$enr_grpc" \
            --metrics-listen "$enr_metrics" --data-dir "$work/data/enrichment" --import "$imports"
    }
    start_enrichment
    start api env "${push_env[@]}" "$bin/zerotrace-api" --listen "$api_grpc" --metrics-listen "$api_metrics" \
        --data-dir "$work/data/api"
    wait_for "enrichment gRPC" 60 grpcurl -plaintext -max-time 1 "$enr_grpc" grpc.health.v1.Health/Check
    wait_for "api gRPC" 60 grpcurl -plaintext -max-time 1 "$api_grpc" grpc.health.v1.Health/Check
    start agent env "${push_env[@]}" "$bin/zerotrace-agent" --listen "$agent_grpc" --metrics-listen "$agent_metrics" \
        --data-dir "$work/data/agent" --allowed-root "$work/project" --allowed-root "$work/traced" \
        --scan-interval 2s --full-scan-interval 4s --enrichment-url "http://$enr_grpc" --api-url "http://$api_grpc" \
        --resource-interval 1s
    agent_log=$work/agent.log
else
    start up env "${push_env[@]}" "${data_env[@]}" ZEROTRACE_ENRICHMENT_IMPORT="$imports" \
        ZEROTRACE_AGENT_ALLOWED_ROOTS="$work/project" ZEROTRACE_AGENT_SCAN_INTERVAL=2s \
        ZEROTRACE_AGENT_FULL_SCAN_INTERVAL=4s \
        ZEROTRACE_AGENT_RESOURCE_INTERVAL=1s \
        "$bin/zerotrace" up --data-dir "$work/data" \
        --agent-listen "$agent_grpc" --agent-metrics-listen "$agent_metrics" \
        --enrichment-listen "$enr_grpc" --enrichment-metrics-listen "$enr_metrics" \
        --api-listen "$api_grpc" --api-metrics-listen "$api_metrics"
    agent_log=$work/up.log
fi
wait_for "agent gRPC" 120 grpcurl -plaintext -max-time 1 "$agent_grpc" grpc.health.v1.Health/Check
start webhook python3 -u scripts/monitoring_live.py webhook --listen "$hook_addr" --out "$work/webhook.jsonl"
start alertmanager prometheus-alertmanager --config.file="$work/alertmanager.yml" \
    --storage.path="$work/alertmanager-data" --web.listen-address="$am_addr" --cluster.listen-address=
start prometheus prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
    --web.listen-address="$prom_addr"
wait_for "webhook" 30 curl -fsS "http://$hook_addr/"
wait_for "Alertmanager" 60 curl -fsS "http://$am_addr/-/ready"
wait_for "Prometheus" 60 curl -fsS "$prom/-/ready"

# trigger_scan ROOT: starts a full scan (retrying while a periodic one holds
# the root) and prints its id once it has ended.
trigger_scan() {
    local root_dir=$1 out id="" deadline=$(( $(date +%s) + 60 ))
    while [ -z "$id" ]; do
        out=$(grpcurl -plaintext -max-time 5 -d "{\"path\":\"$root_dir\",\"scan_type\":\"SCAN_TYPE_FULL\"}" \
            "$agent_grpc" zerotrace.agent.v1.AgentService/TriggerScan 2>&1) || true
        id=$(sed -n 's/.*"scanId": *"\([^"]*\)".*/\1/p' <<<"$out")
        if [ -z "$id" ]; then
            [ "$(date +%s)" -lt "$deadline" ] || { echo "monitoring-live-test: TriggerScan: $out" >&2; return 1; }
            sleep 0.3
        fi
    done
    while :; do
        out=$(grpcurl -plaintext -max-time 5 -d "{\"scan_id\":\"$id\"}" \
            "$agent_grpc" zerotrace.agent.v1.AgentService/GetScanStatus)
        grep -q 'SCAN_STATUS_RUNNING\|SCAN_STATUS_QUEUED' <<<"$out" || break
        [ "$(date +%s)" -lt "$deadline" ] || { echo "monitoring-live-test: scan $id did not end" >&2; return 1; }
        sleep 0.2
    done
    echo "$id"
}

# A client error, so that the API's "errors by code" panels have data too.
for _ in 1 2 3; do
    grpcurl -plaintext -max-time 5 "$api_grpc" zerotrace.api.v1.ApiService/ListAgents >/dev/null 2>&1 || true
done

say "waiting for every contract series and recording rule in Prometheus"
failed=0
run_check() { "$@" || failed=1; }
run_check $gen wait-ready --prometheus "$prom" --timeout 120 --settle 5

say "checks"
run_check $gen check-series --prometheus "$prom"
run_check $gen check-queries --prometheus "$prom" --path "$path"
run_check $gen check-healthy --prometheus "$prom"

say "i. the fleet's exposure: the gauges and KnownExploitedFindingOpen follow a KEV finding as it opens and resolves"
# Each root the agent scans pins demo-crate 1.0.0: one open critical, known
# exploited finding per root (project and traced; up's agent scans project).
roots=("$work/project")
[ "$topology" = services ] && roots+=("$work/traced")
kev_open='max(zerotrace_findings_open{job="zerotrace-api",severity="critical",known_exploited="true"})'
run_check $gen wait-value --prometheus "$prom" --query "$kev_open" --value "${#roots[@]}" --timeout 60
run_check $gen wait-alert --log "$work/webhook.jsonl" --alert KnownExploitedFindingOpen --status firing \
    --timeout 60 --label "i."
resolved_before=$(curl -fsS "$prom/api/v1/query" --data-urlencode 'query=sum(zerotrace_findings_resolved_total)' \
    | python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)')
# The fix: the next periodic full scan (every 4 s here) no longer sees the vulnerable version.
fixed_at=$(date +%s.%N)
for dir in "${roots[@]}"; do sed -i 's/^version = "1.0.0"$/version = "1.0.1"/' "$dir/Cargo.lock"; done
run_check $gen wait-value --prometheus "$prom" --query "$kev_open" --value 0 --timeout 60
run_check $gen wait-value --prometheus "$prom" --query 'sum(zerotrace_findings_resolved_total)' \
    --value $(( resolved_before + ${#roots[@]} )) --timeout 60
run_check $gen wait-alert --log "$work/webhook.jsonl" --alert KnownExploitedFindingOpen --status resolved \
    --timeout 60 --since "$fixed_at" --label "i."

if [ "$topology" = services ] && [ "$path" = push ]; then
    say "f. a scan triggered with grpcurl is one trace in Jaeger"
    scan_id=$(trigger_scan "$work/traced")
    line=$(grep "scan matched" "$agent_log" | grep "scan_id=$scan_id" | tail -n 1 || true)
    trace_id=$(sed -n 's/.*trace_id=\([0-9a-f]\{32\}\).*/\1/p' <<<"$line")
    echo "    agent log: $line"
    run_check $gen check-trace --jaeger "http://$jaeger_http" --trace-id "${trace_id:-missing}" --timeout 60

    say "g. the collector killed and restarted while the services serve"
    latency() { "$bin/zerotrace-loadgen" rpc-latency --agent "$agent_grpc" --calls 3000 --label "$1" >>"$work/latency.jsonl"; }
    for round in 1 2 3; do
        latency "healthy-$round"
        kill_hard "$pid_collector"
        latency "down-$round"
        start_collector
    done
    run_check $gen compare-latency "$work/latency.jsonl" --max-ratio 1.10
    # Metrics again: the restarted collector exports every service's series.
    wait_series_back
    # Traces again: a new scan's trace arrives whole.
    scan_id=$(trigger_scan "$work/traced")
    trace_id=$(grep "scan matched" "$agent_log" | grep "scan_id=$scan_id" | sed -n 's/.*trace_id=\([0-9a-f]\{32\}\).*/\1/p' | tail -n 1)
    run_check $gen check-trace --jaeger "http://$jaeger_http" --trace-id "${trace_id:-missing}" --timeout 60
    # While the collector was away the services' series were absent, long
    # enough for the test's 2s `for:`; every alert must resolve on its own.
    run_check $gen wait-healthy --prometheus "$prom" --timeout 60 --quiet "$quiet_s"

    say "h. the collector down for good: OTelCollectorDown pages, the service-down alerts never do"
    down_at=$(date +%s.%N)
    kill_hard "$pid_collector"
    run_check $gen wait-alert --log "$work/webhook.jsonl" --alert OTelCollectorDown --status firing \
        --timeout 30 --since "$down_at" --label "h."
    sleep 4   # the services' down alerts have fired in Prometheus by now
    run_check $gen check-inhibited --prometheus "$prom" --log "$work/webhook.jsonl" --since "$down_at" \
        --alert EnrichmentServiceDown --alert APIDown --alert AgentNotReporting
    start_collector
    wait_series_back
    run_check $gen wait-healthy --prometheus "$prom" --timeout 60 --quiet "$quiet_s"
fi

if [ "$topology" = services ]; then
    # The time EnrichmentServiceDown takes, as its runbook states it.
    if [ "$path" = pull ]; then
        bound=$(( 2 * interval_s + rule_for_s + interval_s + group_wait_s + 15 ))
        how="a failed scrape, for: ${rule_for_s}s, one evaluation, group_wait ${group_wait_s}s, 15s slack"
    else
        bound=$(( push_interval_ms / 1000 + collector_batch_s + metric_expiration_s + interval_s + rule_for_s \
            + interval_s + group_wait_s + 15 ))
        how="last push ${push_interval_ms}ms + batch ${collector_batch_s}s + metric_expiration ${metric_expiration_s}s + a scrape + for: ${rule_for_s}s + an evaluation + group_wait ${group_wait_s}s + 15s slack"
    fi
    say "c. stopping zerotrace-enrichment (SIGKILL, pid $pid_enrichment); the alert is due within ${bound}s ($how)"
    killed_at=$(date +%s.%N)
    kill_hard "$pid_enrichment"
    run_check $gen wait-alert --log "$work/webhook.jsonl" --alert EnrichmentServiceDown --status firing \
        --timeout "$bound" --since "$killed_at" --label "c."

    # Failed scans exist now (the agent cannot match without enrichment), so every
    # equality matcher, `status="failure"` included, can be checked against live values.
    if [ "$path" = push ]; then
        trigger_scan "$work/project" >/dev/null || true
        sleep $(( collector_batch_s + 2 ))
    fi
    run_check $gen check-selectors --prometheus "$prom" --path "$path"

    say "e. restarting zerotrace-enrichment"
    restarted_at=$(date +%s.%N)
    start_enrichment
    run_check $gen wait-alert --log "$work/webhook.jsonl" --alert EnrichmentServiceDown --status resolved \
        --timeout 60 --since "$restarted_at" --label "e."
else
    # `up` healthy for a while: the rules' `for:` (2s here) passes many times over.
    sleep 10
    run_check $gen check-healthy --prometheus "$prom"
    memory=$(curl -fsS "$prom/api/v1/query" --data-urlencode 'query=max(zerotrace_agent_memory_usage_bytes)' \
        | python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print("%.1f MiB" % (float(r[0]["value"][1]) / 2**20) if r else "none")')
    echo "    zerotrace up resident memory (the agent's gauge under up measures the whole process): $memory"
fi

if [ "$failed" -ne 0 ]; then
    say "FAIL $name"
    exit 1
fi
status=0
say "PASS $name (all checks)"
