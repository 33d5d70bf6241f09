#!/usr/bin/env bash
# Prometheus and Alertmanager for a running `zerotrace up`, without Docker.
#
#   scripts/monitoring-local.sh [--data-dir DIR] [--prometheus-port N] [--alertmanager-port N]
#
# Runs the Debian binaries `prometheus` (2.42) and `prometheus-alertmanager`
# (0.25) in the foreground on 127.0.0.1 with this repo's monitoring files;
# Ctrl-C stops both. Install them with `bash .ci/install-tools.sh`.
#
# - Prometheus: monitoring/prometheus.yml and monitoring/alert-rules.yml as
#   they are (intervals and `for:` unchanged). A copy of prometheus.yml is
#   generated into the data dir only to set the addresses: the services'
#   metrics addresses (ZEROTRACE_{AGENT,ENRICHMENT,API}_METRICS_LISTEN, default
#   127.0.0.1:9101-9103, as `zerotrace up`), Prometheus's own port and the
#   Alertmanager port.
# - Alertmanager: monitoring/alertmanager.yml rendered by
#   monitoring/alertmanager/render-config.sh with ZEROTRACE_ALERT_PAGER/TEAM/
#   TICKET_WEBHOOK_URL. If any is unset, all three go to a local receiver
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
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --data-dir) data=${2:?--data-dir needs a directory}; shift 2 ;;
        --prometheus-port) prom_port=${2:?}; shift 2 ;;
        --alertmanager-port) am_port=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "monitoring-local: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done

for tool in prometheus prometheus-alertmanager python3; do
    command -v "$tool" >/dev/null || {
        echo "monitoring-local: $tool missing; install with: bash .ci/install-tools.sh (Debian: apt-get install prometheus prometheus-alertmanager)" >&2
        exit 1
    }
done
python3 -c 'import yaml' 2>/dev/null || { echo "monitoring-local: PyYAML missing (pip install pyyaml)" >&2; exit 1; }

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
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$keep" = 1 ]; then echo "monitoring-local: stopped; data kept in $data"; else rm -rf "$data"; echo "monitoring-local: stopped"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

helper="$root/scripts/monitoring_live.py"
python3 "$helper" gen-prometheus "$root/monitoring/prometheus.yml" "$data/prometheus.yml" \
    --rules "$root/monitoring/alert-rules.yml" --alertmanager "127.0.0.1:$am_port" \
    --target "zerotrace-agent=${ZEROTRACE_AGENT_METRICS_LISTEN:-127.0.0.1:9101}" \
    --target "zerotrace-enrichment=${ZEROTRACE_ENRICHMENT_METRICS_LISTEN:-127.0.0.1:9102}" \
    --target "zerotrace-api=${ZEROTRACE_API_METRICS_LISTEN:-127.0.0.1:9103}" \
    --target "prometheus=127.0.0.1:$prom_port" >/dev/null

if [ -n "${ZEROTRACE_ALERT_PAGER_WEBHOOK_URL:-}" ] && [ -n "${ZEROTRACE_ALERT_TEAM_WEBHOOK_URL:-}" ] \
    && [ -n "${ZEROTRACE_ALERT_TICKET_WEBHOOK_URL:-}" ]; then
    receivers="the ZEROTRACE_ALERT_*_WEBHOOK_URL webhooks"
else
    export ZEROTRACE_ALERT_PAGER_WEBHOOK_URL="http://127.0.0.1:$hook_port/pager"
    export ZEROTRACE_ALERT_TEAM_WEBHOOK_URL="http://127.0.0.1:$hook_port/team"
    export ZEROTRACE_ALERT_TICKET_WEBHOOK_URL="http://127.0.0.1:$hook_port/ticket"
    python3 -u "$helper" webhook --listen "127.0.0.1:$hook_port" --out "$data/webhook.jsonl" &
    pids+=($!)
    receivers="a local receiver on 127.0.0.1:$hook_port (printed here, saved in $data/webhook.jsonl)"
fi
sh "$root/monitoring/alertmanager/render-config.sh" "$root/monitoring/alertmanager.yml" "$data/alertmanager.yml"

prometheus --config.file="$data/prometheus.yml" --storage.tsdb.path="$data/prometheus" \
    --web.listen-address="127.0.0.1:$prom_port" >"$data/prometheus.log" 2>&1 &
pids+=($!)
prometheus-alertmanager --config.file="$data/alertmanager.yml" --storage.path="$data/alertmanager" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$data/alertmanager.log" 2>&1 &
pids+=($!)

echo "monitoring-local: Prometheus and Alertmanager starting (logs: $data/prometheus.log, $data/alertmanager.log)"
echo "monitoring-local: scraping ${ZEROTRACE_AGENT_METRICS_LISTEN:-127.0.0.1:9101} ${ZEROTRACE_ENRICHMENT_METRICS_LISTEN:-127.0.0.1:9102} ${ZEROTRACE_API_METRICS_LISTEN:-127.0.0.1:9103}; alerts go to $receivers"
echo "monitoring-local: open http://127.0.0.1:$prom_port/targets (scrapes), http://127.0.0.1:$prom_port/alerts (rules), http://127.0.0.1:$am_port/ (Alertmanager); Ctrl-C stops"

# Foreground until Ctrl-C, or until one of them exits on its own (an error: show its log).
set +e
wait -n "${pids[@]}"
code=$?
set -e
for log in prometheus alertmanager; do
    if [ -s "$data/$log.log" ] && grep -qi 'level=error' "$data/$log.log"; then
        echo "monitoring-local: $log.log:" >&2
        tail -n 20 "$data/$log.log" >&2
    fi
done
echo "monitoring-local: a process exited (status $code)" >&2
exit 1
