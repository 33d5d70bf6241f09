#!/usr/bin/env bash
# Prometheus and Alertmanager for ZeroTrace on this machine, without Docker.
#
#   scripts/monitoring-local.sh [--push] [--data-dir DIR] [--prometheus-port N] [--alertmanager-port N]
#
# Pull (default): next to a running `zerotrace up`, Prometheus scrapes the
# services' /metrics with monitoring/prometheus.yml. The targets come from
# ZEROTRACE_{AGENT,ENRICHMENT,API}_METRICS_LISTEN (the variables `zerotrace up`
# reads), default 127.0.0.1:9101-9103.
#
# --push: the whole push pipeline in one command. Starts Jaeger
# (collector/jaeger.yaml), the OpenTelemetry Collector
# (collector/otel-collector.yaml, unchanged), Prometheus on the collector's
# exporter (monitoring/prometheus-collector.yml), Alertmanager, and
# `zerotrace up` configured only with the standard OTEL_* variables to push
# to the collector. The collector and Jaeger are the binaries
# .ci/build-otel-tools.sh builds (.ci/tools/bin/); `zerotrace` is
# $ZEROTRACE_BIN, else target/release/zerotrace, else target/debug/zerotrace,
# else built with `cargo build --release`. Its data goes to DATA/zerotrace.
# Ports: collector OTLP 4317/4318, exporter 8889, health 13133, own metrics
# 8888; Jaeger OTLP 14317, query API 16686 (and 16685); `zerotrace up` on its
# documented ports.
#
# Both modes run the Debian binaries `prometheus` (2.42) and
# `prometheus-alertmanager` (0.25) in the foreground on 127.0.0.1 with this
# repo's monitoring files, and print the URLs to open; Ctrl-C stops
# everything the script started. Install them with `bash .ci/install-tools.sh`.
#
# - Prometheus: the rules and intervals as they are (`for:` unchanged). A copy
#   of the Prometheus config is generated into the data dir only to set the
#   addresses: the scrape targets, Prometheus's own port and the Alertmanager
#   port.
# - Alertmanager: monitoring/alertmanager.yml rendered by
#   monitoring/alertmanager/render-config.sh with ZEROTRACE_ALERT_PAGER/TEAM/
#   TICKET/SECURITY_WEBHOOK_URL. If any is unset, all four go to a local receiver
#   (127.0.0.1:WEBHOOK_PORT, default 9099) that prints each notification and
#   appends it to DATA/webhook.jsonl.
# - Data (TSDB, Alertmanager state, generated configs, logs): --data-dir DIR,
#   kept; default a temp dir removed on exit.
# Ports: PROMETHEUS_PORT (9090), ALERTMANAGER_PORT (9093), WEBHOOK_PORT (9099),
# or the flags. The Alertmanager cluster listener is off.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prom_port=${PROMETHEUS_PORT:-9090}
am_port=${ALERTMANAGER_PORT:-9093}
hook_port=${WEBHOOK_PORT:-9099}
data=""
push=0
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --push) push=1; shift ;;
        --data-dir) data=${2:?--data-dir needs a directory}; shift 2 ;;
        --prometheus-port) prom_port=${2:?}; shift 2 ;;
        --alertmanager-port) am_port=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "monitoring-local: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done

for tool in prometheus prometheus-alertmanager python3 curl; do
    command -v "$tool" >/dev/null || {
        echo "monitoring-local: $tool missing; install with: bash .ci/install-tools.sh (Debian: apt-get install prometheus prometheus-alertmanager)" >&2
        exit 1
    }
done
python3 -c 'import yaml' 2>/dev/null || { echo "monitoring-local: PyYAML missing (pip install pyyaml)" >&2; exit 1; }
otelcol=$root/.ci/tools/bin/zerotrace-otelcol
jaeger=$root/.ci/tools/bin/jaeger
if [ "$push" = 1 ]; then
    for b in "$otelcol" "$jaeger"; do
        [ -x "$b" ] || { echo "monitoring-local: $b missing; build it with: bash .ci/build-otel-tools.sh" >&2; exit 1; }
    done
    zerotrace=${ZEROTRACE_BIN:-}
    for candidate in "$root/target/release/zerotrace" "$root/target/debug/zerotrace"; do
        [ -n "$zerotrace" ] || { [ -x "$candidate" ] && zerotrace=$candidate; } || true
    done
    if [ -z "$zerotrace" ]; then
        echo "monitoring-local: building zerotrace (cargo build --release --bin zerotrace)"
        (cd "$root" && cargo build --release --bin zerotrace)
        zerotrace=$root/target/release/zerotrace
    fi
fi

if [ -n "$data" ]; then
    mkdir -p "$data"
    data=$(cd "$data" && pwd)
    keep=1
else
    data=$(mktemp -d "${TMPDIR:-/tmp}/zerotrace-monitoring.XXXXXX")
    keep=0
fi

pids=()
cleanup() {
    local pid
    # Reverse order: zerotrace up first (it flushes to the collector), Jaeger last.
    for (( i=${#pids[@]}-1; i>=0; i-- )); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$keep" = 1 ]; then echo "monitoring-local: stopped; data kept in $data"; else rm -rf "$data"; echo "monitoring-local: stopped"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ready() { # ready WHAT URL: waits up to 60 s for URL to answer
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "monitoring-local: $1 did not come up; see $data/*.log" >&2
    exit 1
}

helper="$root/scripts/monitoring_live.py"
if [ "$push" = 1 ]; then
    python3 "$helper" gen-prometheus "$root/monitoring/prometheus-collector.yml" "$data/prometheus.yml" \
        --rules "$root/monitoring/alert-rules.yml" --alertmanager "127.0.0.1:$am_port" \
        --target "otel-collector=127.0.0.1:8889" --target "prometheus=127.0.0.1:$prom_port" >/dev/null
else
    python3 "$helper" gen-prometheus "$root/monitoring/prometheus.yml" "$data/prometheus.yml" \
        --rules "$root/monitoring/alert-rules.yml" --alertmanager "127.0.0.1:$am_port" \
        --target "zerotrace-agent=${ZEROTRACE_AGENT_METRICS_LISTEN:-127.0.0.1:9101}" \
        --target "zerotrace-enrichment=${ZEROTRACE_ENRICHMENT_METRICS_LISTEN:-127.0.0.1:9102}" \
        --target "zerotrace-api=${ZEROTRACE_API_METRICS_LISTEN:-127.0.0.1:9103}" \
        --target "prometheus=127.0.0.1:$prom_port" >/dev/null
fi

if [ -n "${ZEROTRACE_ALERT_PAGER_WEBHOOK_URL:-}" ] && [ -n "${ZEROTRACE_ALERT_TEAM_WEBHOOK_URL:-}" ] \
    && [ -n "${ZEROTRACE_ALERT_TICKET_WEBHOOK_URL:-}" ] && [ -n "${ZEROTRACE_ALERT_SECURITY_WEBHOOK_URL:-}" ]; then
    receivers="the ZEROTRACE_ALERT_*_WEBHOOK_URL webhooks"
else
    export ZEROTRACE_ALERT_PAGER_WEBHOOK_URL="http://127.0.0.1:$hook_port/pager"
    export ZEROTRACE_ALERT_TEAM_WEBHOOK_URL="http://127.0.0.1:$hook_port/team"
    export ZEROTRACE_ALERT_TICKET_WEBHOOK_URL="http://127.0.0.1:$hook_port/ticket"
    export ZEROTRACE_ALERT_SECURITY_WEBHOOK_URL="http://127.0.0.1:$hook_port/security"
    python3 -u "$helper" webhook --listen "127.0.0.1:$hook_port" --out "$data/webhook.jsonl" &
    pids+=($!)
    receivers="a local receiver on 127.0.0.1:$hook_port (printed here, saved in $data/webhook.jsonl)"
fi
sh "$root/monitoring/alertmanager/render-config.sh" "$root/monitoring/alertmanager.yml" "$data/alertmanager.yml"

if [ "$push" = 1 ]; then
    # Jaeger first: the collector's exporter backs off while Jaeger is unreachable.
    JAEGER_OTLP_GRPC_ENDPOINT=127.0.0.1:14317 "$jaeger" --config "$root/collector/jaeger.yaml" >"$data/jaeger.log" 2>&1 &
    pids+=($!)
    ready Jaeger http://127.0.0.1:16686/api/services
    JAEGER_OTLP_ENDPOINT=127.0.0.1:14317 "$otelcol" --config "$root/collector/otel-collector.yaml" >"$data/collector.log" 2>&1 &
    pids+=($!)
    ready "the collector" http://127.0.0.1:13133/
fi

prometheus --config.file="$data/prometheus.yml" --storage.tsdb.path="$data/prometheus" \
    --web.listen-address="127.0.0.1:$prom_port" >"$data/prometheus.log" 2>&1 &
pids+=($!)
prometheus-alertmanager --config.file="$data/alertmanager.yml" --storage.path="$data/alertmanager" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$data/alertmanager.log" 2>&1 &
pids+=($!)
ready Prometheus "http://127.0.0.1:$prom_port/-/ready"
ready Alertmanager "http://127.0.0.1:$am_port/-/ready"

if [ "$push" = 1 ]; then
    # The services learn of the collector only through the standard variables.
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 OTEL_METRIC_EXPORT_INTERVAL=${OTEL_METRIC_EXPORT_INTERVAL:-15000} \
        "$zerotrace" up --data-dir "$data/zerotrace" >"$data/zerotrace-up.log" 2>&1 &
    pids+=($!)
fi

# Debian's Prometheus 2.42 has no React UI build: its pages live under /classic/.
ui=""
curl -fsS -o /dev/null "http://127.0.0.1:$prom_port/targets" 2>/dev/null || ui=/classic
echo "monitoring-local: $([ "$push" = 1 ] && echo "push pipeline" || echo "pull") running; logs in $data; alerts go to $receivers"
if [ "$push" = 1 ]; then
    echo "monitoring-local: zerotrace up -> OTLP 127.0.0.1:4317 -> collector -> exporter 127.0.0.1:8889 -> Prometheus; traces -> Jaeger"
else
    echo "monitoring-local: scraping ${ZEROTRACE_AGENT_METRICS_LISTEN:-127.0.0.1:9101} ${ZEROTRACE_ENRICHMENT_METRICS_LISTEN:-127.0.0.1:9102} ${ZEROTRACE_API_METRICS_LISTEN:-127.0.0.1:9103}"
fi
echo "monitoring-local: open"
echo "  Prometheus alerts   http://127.0.0.1:$prom_port$ui/alerts"
echo "  Prometheus targets  http://127.0.0.1:$prom_port$ui/targets"
echo "  Alertmanager        http://127.0.0.1:$am_port/"
if [ "$push" = 1 ]; then
    echo "  Jaeger search       http://127.0.0.1:16686/api/traces?service=zerotrace-agent&limit=20  (JSON API; this Jaeger build has no UI)"
    echo "  one trace           http://127.0.0.1:16686/api/traces/<trace id from a zerotrace log line>"
    echo "  collector exporter  http://127.0.0.1:8889/metrics"
fi
echo "monitoring-local: Ctrl-C stops everything"

# Foreground until Ctrl-C, or until one of them exits on its own (an error: show its log).
set +e
wait -n "${pids[@]}"
code=$?
set -e
for log in "$data"/*.log; do
    if [ -s "$log" ] && grep -qiE 'level=error|"level":"error"|\berror\b' "$log"; then
        echo "monitoring-local: $(basename "$log"):" >&2
        tail -n 20 "$log" >&2
    fi
done
echo "monitoring-local: a process exited (status $code)" >&2
exit 1
