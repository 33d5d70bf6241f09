#!/usr/bin/env bash
# Enrichment benchmarks (not timed tests), in one run of the script:
#
#  1. look-ups and matching: GetVulnerability (Zipf-distributed ids and aliases) and MatchPackages (batches of 100
#     package versions drawn Zipf-wise from the advisories) against the real service with both shared OSV zips
#     imported, beside a bare tonic echo server in the same process; req/s, p50/p95/p99 and the cache hit rate
#     read from the service's /metrics. Every id of the mix is cached before the warm look-ups, which thus measure
#     cached look-ups; the cold phase's hit rate is the mix's own, first sightings included. Then the look-ups
#     against the echo once more, in LOOKUP_ROUNDS processes (default 5): their ratios to the echo spread by a
#     few hundredths from one process to the next, so the figure is the median over processes.
#  2. telemetry overhead: MatchPackages with telemetry fully on (OTLP push of metrics and of traces, at the default
#     sampler and span batching, to a sink process; /metrics scraped too) versus OTEL_SDK_DISABLED=true, one
#     process per run, interleaved on/off/off/on/…; prints the throughput ratio. "On" pushes metrics and is scraped
#     every 15 s by default, as our deployments do (monitoring/docker-compose.yml, monitoring/prometheus.yml);
#     PUSH_MS and SCRAPE_S change that (PUSH_MS=1000 SCRAPE_S=1: the every-second stress run of earlier records).
#
# Needs ../shared/data (skips with a message without it). docs/performance.md records the results.
#
#   scripts/load-test-enrichment.sh                          # both parts
#   scripts/load-test-enrichment.sh --part lookups           # or: --part telemetry
#   DURATION=10 CONCURRENCY=8 ROUNDS=2 LOOKUP_ROUNDS=10 scripts/load-test-enrichment.sh
#   PUSH_MS=1000 SCRAPE_S=1 scripts/load-test-enrichment.sh --part telemetry
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
lookup_rounds=${LOOKUP_ROUNDS:-5}
push_ms=${PUSH_MS:-15000}
scrape_s=${SCRAPE_S:-15}
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

  echo
  echo "## Look-ups against the echo, ${lookup_rounds} processes (--phases echo,get)"
  lookups=$(mktemp)
  trap 'rm -f "$lookups"' EXIT
  for round in $(seq 1 "$lookup_rounds"); do
    env "${otel_unset[@]}" "$bin" "${common[@]}" --phases echo,get --label "round-$round" | grep '^RESULT' >>"$lookups"
  done
  python3 - "$lookups" <<'PY'
import random, statistics, sys
ratios = {}  # phase -> its req/s over the echo's, one per process
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split()[1:])
    ratios.setdefault(f["phase"], []).append(float(f["echo_ratio"]))
# The interval resamples whole processes.
rng = random.Random(1)
# Phases by the load tool's keys, as in the telemetry part below: get-cold, get-warm, and get-warm-encoded
# (the client keeps the advisory encoded).
print("| median over processes of req/s / echo req/s | processes | median | 90% interval of the median | per process |")
print("|---|---|---|---|---|")
for phase, per in ratios.items():
    boots = sorted(statistics.median(rng.choices(per, k=len(per))) for _ in range(2000))
    print(f"| median over processes: {phase} | {len(per)} | {statistics.median(per):.3f}× "
          f"| {boots[100]:.3f}–{boots[1899]:.3f}× | {', '.join(f'{r:.3f}' for r in per)} |")
PY
  rm -f "$lookups"
fi

if [ "$part" = both ] || [ "$part" = telemetry ]; then
  echo
  echo "## Telemetry overhead (MatchPackages; on = OTLP push every ${push_ms} ms, traces at the default sampler," \
    "/metrics scraped every ${scrape_s} s; off = OTEL_SDK_DISABLED=true)"
  results=$(mktemp)
  # The sink is stopped below; its own limit (an orphan's) outlasts every round: a process per mode and round,
  # four phases each, plus start-up.
  sink_seconds=$((rounds * 2 * (4 * duration + 30) + 600))
  coproc SINK { exec env "${otel_unset[@]}" "$bin" --otlp-sink --sink-seconds "$sink_seconds"; }
  sink_pid=$SINK_PID
  exec {sink_out}<&"${SINK[0]}"
  trap 'kill -TERM "$sink_pid" 2>/dev/null || true; rm -f "$results"' EXIT
  read -r line <&"$sink_out"
  endpoint=${line##* }
  echo "# $line"
  run_on() {
    env "${otel_unset[@]}" OTEL_EXPORTER_OTLP_ENDPOINT="$endpoint" OTEL_METRIC_EXPORT_INTERVAL="$push_ms" \
      "$bin" "${common[@]}" --phases match --scrape-every "$scrape_s" --label "on-$1" | grep '^RESULT' >>"$results"
  }
  run_off() {
    env "${otel_unset[@]}" OTEL_SDK_DISABLED=true \
      "$bin" "${common[@]}" --phases match --label "off-$1" | grep '^RESULT' >>"$results"
  }
  # On first in odd rounds, off first in even ones, so that neither mode always runs in the other's wake.
  for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) = 1 ]; then run_on "$round"; run_off "$round"; else run_off "$round"; run_on "$round"; fi
  done
  kill -TERM "$sink_pid"
  while read -r line <&"$sink_out"; do echo "# $line"; done
  wait "$sink_pid" || true
  python3 - "$results" <<'PY'
import random, statistics, sys
runs = {}  # (phase, mode, round) -> fields of its RESULT line
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split()[1:])
    mode, rnd = f["label"].split("-")
    runs[f["phase"], mode, int(rnd)] = f
print("| phase | telemetry | round | requests | req/s | p50 ms | p95 ms | p99 ms | cache hit rate |")
print("|---|---|---|---|---|---|---|---|---|")
for (phase, mode, rnd), f in sorted(runs.items(), key=lambda kv: (kv[0][2], kv[0][1] == "off", kv[0][0])):
    print(f"| {phase} | {mode} | {rnd} | {f['requests']} | {float(f['rps']):.0f} | {f['p50_ms']} | {f['p95_ms']} "
          f"| {f['p99_ms']} | {float(f['hit_rate']) * 100:.1f}% |")
print()
# The ratio is of mean req/s; its 90% interval resamples whole rounds (an on run with its off run), so
# that the spread between processes, larger than the overhead, shows in it.
rng = random.Random(1)
for phase in dict.fromkeys(p for p, _, _ in runs):
    rounds = sorted(r for p, m, r in runs if p == phase and m == "on" and (p, "off", r) in runs)
    on = [float(runs[phase, "on", r]["rps"]) for r in rounds]
    off = [float(runs[phase, "off", r]["rps"]) for r in rounds]
    ratio = statistics.mean(on) / statistics.mean(off)
    boots = sorted(
        statistics.mean(on[i] for i in pick) / statistics.mean(off[i] for i in pick)
        for pick in ([rng.randrange(len(rounds)) for _ in rounds] for _ in range(2000))
    )
    per = "; ".join(f"round {r} {a / b:.3f}×" for r, a, b in zip(rounds, on, off))
    print(f"{phase}: on/off throughput ratio {ratio:.4f}× over {len(rounds)} rounds (90% interval "
          f"{boots[100]:.3f}–{boots[1899]:.3f}×; mean req/s {statistics.mean(on):.1f} on, "
          f"{statistics.mean(off):.1f} off; {per})")
PY
fi
