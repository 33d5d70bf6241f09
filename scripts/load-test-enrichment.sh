#!/usr/bin/env bash
# Enrichment benchmarks (not timed tests), in one run of the script:
#
#  1. look-ups and matching: GetVulnerability (Zipf-distributed ids and aliases) and MatchPackages (batches of 100
#     package versions drawn Zipf-wise from the advisories) against the real service with both shared OSV zips
#     imported, beside a bare tonic echo server in the same process; req/s, p50/p95/p99 and the cache hit rate
#     read from the service's /metrics.
#  2. telemetry overhead: MatchPackages with telemetry fully on (OTLP push of metrics every second and of traces at
#     the default sampler to a sink process, /metrics scraped every second) versus OTEL_SDK_DISABLED=true, one
#     process per run, interleaved on/off/on/off; prints the throughput ratio.
#
# Needs ../shared/data (skips with a message without it). docs/performance.md records the results.
#
#   scripts/load-test-enrichment.sh                          # both parts
#   scripts/load-test-enrichment.sh --part lookups           # or: --part telemetry
#   DURATION=10 CONCURRENCY=8 ROUNDS=2 scripts/load-test-enrichment.sh
set -euo pipefail
cd "$(dirname "$0")/.."

part=both
while [ $# -gt 0 ]; do
  case $1 in
    --part) part=${2:?--part needs lookups, telemetry or both}; shift 2 ;;
    *) echo "unknown flag $1 (use --part lookups|telemetry|both)" >&2; exit 64 ;;
  esac
done
data=../shared/data
if [ ! -f "$data/osv/crates.io/all.zip" ] || [ ! -f "$data/osv/PyPI/all.zip" ]; then
  echo "SKIPPED: $data/osv/{crates.io,PyPI}/all.zip not found: the enrichment benchmarks did not run" >&2
  exit 0
fi

cargo build --release --quiet -p zerotrace-enrichment --example load
bin=target/release/examples/load
duration=${DURATION:-10}
concurrency=${CONCURRENCY:-8}
rounds=${ROUNDS:-2}
common=(--data "$data" --duration "$duration" --concurrency "$concurrency")
export RUST_LOG=${RUST_LOG:-warn}
# Part 1 runs as a user without a collector would; part 2 sets the telemetry variables itself.
otel_unset=(-u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_EXPORTER_OTLP_METRICS_ENDPOINT -u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  -u OTEL_SDK_DISABLED -u OTEL_METRIC_EXPORT_INTERVAL -u OTEL_TRACES_SAMPLER -u OTEL_TRACES_SAMPLER_ARG)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($cpu), $(uname -sr); ${concurrency} clients, ${duration} s per phase"

if [ "$part" = both ] || [ "$part" = lookups ]; then
  echo
  echo "## Look-ups and matching"
  env "${otel_unset[@]}" "$bin" "${common[@]}" | grep -v '^RESULT'
fi

if [ "$part" = both ] || [ "$part" = telemetry ]; then
  echo
  echo "## Telemetry overhead (MatchPackages; on = OTLP push + /metrics every 1 s, off = OTEL_SDK_DISABLED=true)"
  results=$(mktemp)
  coproc SINK { exec env "${otel_unset[@]}" "$bin" --otlp-sink --sink-seconds 900; }
  sink_pid=$SINK_PID
  exec {sink_out}<&"${SINK[0]}"
  trap 'kill -TERM "$sink_pid" 2>/dev/null || true; rm -f "$results"' EXIT
  read -r line <&"$sink_out"
  endpoint=${line##* }
  echo "# $line"
  for round in $(seq 1 "$rounds"); do
    env "${otel_unset[@]}" OTEL_EXPORTER_OTLP_ENDPOINT="$endpoint" OTEL_METRIC_EXPORT_INTERVAL=1000 \
      "$bin" "${common[@]}" --phases match --scrape-every 1 --label "on-$round" | grep '^RESULT' >>"$results"
    env "${otel_unset[@]}" OTEL_SDK_DISABLED=true \
      "$bin" "${common[@]}" --phases match --label "off-$round" | grep '^RESULT' >>"$results"
  done
  kill -TERM "$sink_pid"
  while read -r line <&"$sink_out"; do echo "# $line"; done
  wait "$sink_pid" || true
  awk '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      split(f["label"], lr, "-"); mode = lr[1]; round = lr[2]; phase = f["phase"]
      printf "| %s | %s | %s | %s | %.0f | %s | %s | %s | %.1f%% |\n", phase, mode, round, f["requests"], f["rps"], f["p50_ms"], f["p95_ms"], f["p99_ms"], f["hit_rate"] * 100
      sum[phase, mode] += f["rps"]; n[phase, mode]++; rps[phase, mode, round] = f["rps"]; rounds[round] = 1; phases[phase] = 1 }
    BEGIN { print "| phase | telemetry | round | requests | req/s | p50 ms | p95 ms | p99 ms | cache hit rate |"; print "|---|---|---|---|---|---|---|---|---|" }
    END {
      print ""
      for (p in phases) {
        line = ""
        for (r in rounds) if (rps[p, "off", r] > 0) line = line sprintf(" round %s %.3f×;", r, rps[p, "on", r] / rps[p, "off", r])
        printf "%s: on/off throughput ratio %.3f× (mean req/s %.1f on, %.1f off;%s)\n", p, (sum[p, "on"] / n[p, "on"]) / (sum[p, "off"] / n[p, "off"]), sum[p, "on"] / n[p, "on"], sum[p, "off"] / n[p, "off"], line
      }
    }' "$results"
fi
