#!/usr/bin/env bash
# Checks the monitoring configuration: collector/ and monitoring/.
#
#   scripts/check-monitoring.sh
#
# 1. installs promtool/amtool (Debian: prometheus, prometheus-alertmanager)
#    and PyYAML when missing;
# 2. promtool check config (both Prometheus files), check rules, test rules;
# 3. amtool check-config on alertmanager.yml, on a copy rendered by
#    render-config.sh with dummy URLs, and the severity routes;
# 4. scripts/check_monitoring_files.py: cross-file consistency and the
#    metric contract.
# Dashboards are type-checked separately: scripts/check-dashboards.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

step "tools"
if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null; then
    echo "installing prometheus and prometheus-alertmanager (Debian packages)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        prometheus prometheus-alertmanager >/dev/null
    # The packages start daemons where an init system runs; the checks need none.
fi
if ! python3 -c 'import yaml' 2>/dev/null; then
    echo "installing PyYAML"
    python3 -m pip install --quiet pyyaml
fi
promtool --version 2>&1 | head -n1
amtool --version 2>&1 | head -n1

step "promtool check config"
promtool check config monitoring/prometheus.yml
# Compose hostnames (otel-collector, alertmanager) are not resolved by promtool.
promtool check config monitoring/prometheus-collector.yml

step "promtool check rules"
promtool check rules monitoring/alert-rules.yml

step "promtool test rules"
promtool test rules monitoring/tests/*.yml

step "amtool check-config"
amtool check-config monitoring/alertmanager.yml
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ZEROTRACE_ALERT_PAGER_WEBHOOK_URL='https://hooks.example.test/pager?a=1&b=2' \
ZEROTRACE_ALERT_TEAM_WEBHOOK_URL='http://127.0.0.1:5001/team' \
ZEROTRACE_ALERT_TICKET_WEBHOOK_URL='http://127.0.0.1:5001/ticket' \
ZEROTRACE_ALERT_SECURITY_WEBHOOK_URL='http://127.0.0.1:5001/security' \
    sh monitoring/alertmanager/render-config.sh monitoring/alertmanager.yml "$tmp/alertmanager.yml"
grep -q "url: 'https://hooks.example.test/pager?a=1&b=2'" "$tmp/alertmanager.yml" \
    || { echo "render-config.sh did not substitute the pager URL verbatim" >&2; exit 1; }
amtool check-config "$tmp/alertmanager.yml"
if env -u ZEROTRACE_ALERT_TEAM_WEBHOOK_URL sh monitoring/alertmanager/render-config.sh \
    monitoring/alertmanager.yml "$tmp/unset.yml" 2>/dev/null; then
    echo "render-config.sh accepted a missing variable" >&2
    exit 1
fi

step "alertmanager routes"
for pair in critical:pager warning:team info:ticket; do
    severity=${pair%%:*} want=${pair#*:}
    got="$(amtool config routes test --config.file=monitoring/alertmanager.yml \
        severity="$severity" service=zerotrace-api alertname=Example 2>/dev/null)"
    if [ "$got" != "$want" ]; then
        echo "severity=$severity routes to '$got', expected '$want'" >&2
        exit 1
    fi
    echo "severity=$severity -> $got"
done
# The fleet's exposure goes to the security team, whatever its severity.
for severity in critical warning; do
    got="$(amtool config routes test --config.file=monitoring/alertmanager.yml \
        severity="$severity" category=exposure service=zerotrace-api alertname=Example 2>/dev/null)"
    if [ "$got" != security ]; then
        echo "category=exposure severity=$severity routes to '$got', expected 'security'" >&2
        exit 1
    fi
    echo "category=exposure severity=$severity -> $got"
done

step "structural checks"
python3 scripts/check_monitoring_files.py

printf '\ncheck-monitoring: all checks passed\n'
