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
#  2. the service's own part, with an outside client: h2load (nothing decoded, one connection per client, one call
#     at a time on each) calls GetVulnerability of one cached id on the service binary and on the bare tonic echo
#     server (`load --serve-echo`, its own process), in turns, EXTERNAL_ROUNDS times (default 3) with fresh
#     processes; for the advisories at the 50th, 90th and 99th percentiles of the shared data's sizes. Prints req/s,
#     bytes per answer and the server's CPU per call (from /proc), and the ratio to the echo. Installs h2load
#     (Debian's nghttp2-client) if it can, and says this part is skipped if it cannot.
#  3. telemetry overhead: MatchPackages with telemetry fully on (OTLP push of metrics and of traces, at the default
#     sampler and span batching, to a sink process; /metrics scraped too) versus OTEL_SDK_DISABLED=true, one
#     process per run, interleaved on/off/off/on/…; prints the throughput ratio. "On" pushes metrics and is scraped
#     every 15 s by default, as our deployments do (monitoring/docker-compose.yml, monitoring/prometheus.yml);
#     PUSH_MS and SCRAPE_S change that (PUSH_MS=1000 SCRAPE_S=1: the every-second stress run of earlier records).
#
# Needs ../shared/data (skips with a message without it). docs/performance.md records the results.
#
#   scripts/load-test-enrichment.sh                          # every part
#   scripts/load-test-enrichment.sh --part lookups           # or: --part external, --part telemetry
#   DURATION=10 CONCURRENCY=8 ROUNDS=2 LOOKUP_ROUNDS=10 scripts/load-test-enrichment.sh
#   PUSH_MS=1000 SCRAPE_S=1 scripts/load-test-enrichment.sh --part telemetry
set -euo pipefail
cd "$(dirname "$0")/.."

part=all
while [ $# -gt 0 ]; do
  case $1 in
    --part) part=${2:?--part needs lookups, external, telemetry or all}; shift 2 ;;
    *) echo "unknown flag $1 (use --part lookups|external|telemetry|all)" >&2; exit 64 ;;
  esac
done
case $part in lookups | external | telemetry | all) ;; *) echo "unknown part $part" >&2; exit 64 ;; esac
wants() { [ "$part" = all ] || [ "$part" = "$1" ]; }
source scripts/need-apt.sh
data=../shared/data
if [ ! -f "$data/osv/crates.io/all.zip" ] || [ ! -f "$data/osv/PyPI/all.zip" ]; then
  echo "SKIPPED: $data/osv/{crates.io,PyPI}/all.zip not found: the enrichment benchmarks did not run" >&2
  exit 0
fi

cargo build --release --quiet -p zerotrace-enrichment --example load --bin zerotrace-enrichment
bin=target/release/examples/load
service=target/release/zerotrace-enrichment
duration=${DURATION:-10}
concurrency=${CONCURRENCY:-8}
rounds=${ROUNDS:-2}
lookup_rounds=${LOOKUP_ROUNDS:-5}
external_rounds=${EXTERNAL_ROUNDS:-3}
push_ms=${PUSH_MS:-15000}
scrape_s=${SCRAPE_S:-15}
common=(--data "$data" --duration "$duration" --concurrency "$concurrency")
export RUST_LOG=${RUST_LOG:-warn}
# Part 1 runs as a user without a collector would; part 2 sets the telemetry variables itself.
otel_unset=(-u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_EXPORTER_OTLP_METRICS_ENDPOINT -u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  -u OTEL_SDK_DISABLED -u OTEL_METRIC_EXPORT_INTERVAL -u OTEL_TRACES_SAMPLER -u OTEL_TRACES_SAMPLER_ARG)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($cpu), $(uname -sr); ${concurrency} clients, ${duration} s per phase"

if wants lookups; then
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

if wants external; then
  need_apt h2load nghttp2-client || true
fi
if wants external && ! command -v h2load >/dev/null; then
  echo
  echo "SKIPPED: h2load not found (Debian's nghttp2-client): the look-ups with an outside client did not run" >&2
elif wants external; then
  echo
  echo "## Cached look-ups with an outside client (h2load), ${external_rounds} rounds of fresh processes"
  work=$(mktemp -d)
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
  # One request body per advisory: the ids at the 50th, 90th and 99th percentiles of the advisories' sizes, each
  # measured without its version lists and database_specific, which make most of a large OSV file and little of
  # an answer.
  python3 - "$data" "$work" <<'PY'
import json, struct, sys, zipfile
data, work = sys.argv[1], sys.argv[2]

def size(raw):
    osv = json.loads(raw)
    osv.pop("database_specific", None)
    for affected in osv.get("affected", []):
        affected.pop("versions", None)
    return len(json.dumps(osv, separators=(",", ":")))

sizes = sorted((size(z.read(name)), name[:-5]) for eco in ("crates.io", "PyPI")
               for z in [zipfile.ZipFile(f"{data}/osv/{eco}/all.zip")] for name in z.namelist())
for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
    ident = sizes[int(len(sizes) * q)][1].encode()
    message = b"\x0a" + bytes([len(ident)]) + ident  # GetVulnerabilityRequest { id }
    open(f"{work}/{name}.body", "wb").write(b"\x00" + struct.pack(">I", len(message)) + message)
    open(f"{work}/{name}.id", "w").write(ident.decode())
PY
  cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
  call() { # ROUND PID ADDR BODY LABEL: h2load for DURATION s; one RESULT line
    local t0 out
    t0=$(cpu_ticks "$2")
    out=$(h2load -D "$duration" -c "$concurrency" -m 1 -t 1 -d "$work/$4.body" \
      -H 'content-type: application/grpc' -H 'te: trailers' \
      "http://$3/zerotrace.enrichment.v1.EnrichmentService/GetVulnerability")
    echo "RESULT round=$1 target=$5 answer=$4 ticks=$(($(cpu_ticks "$2") - t0)) $(echo "$out" | awk '
      /^finished in/ {printf "rps=%s ", $4}
      /^requests:/ {printf "requests=%s succeeded=%s ", $2, $8}
      /^traffic:/ {gsub(/[()]/, "", $12); printf "data_bytes=%s", $12}')" >>"$work/results"
  }
  for round in $(seq 1 "$external_rounds"); do
    coproc ECHO { exec env "${otel_unset[@]}" "$bin" --serve-echo; }
    echo_pid=$ECHO_PID
    read -r line <&"${ECHO[0]}"
    echo_addr=${line##* }
    env "${otel_unset[@]}" RUST_LOG=info "$service" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
      --data-dir "$work/data-$round" --import "$data/osv/crates.io/all.zip" --import "$data/osv/PyPI/all.zip" \
      --sync-interval 0s >"$work/service-$round.log" 2>&1 &
    service_pid=$!
    service_addr=
    for _ in $(seq 1 600); do
      service_addr=$(sed -n 's/.*serving service="zerotrace.enrichment.v1.EnrichmentService" addr=Some(\([0-9.:]*\)).*/\1/p' \
        "$work/service-$round.log")
      [ -n "$service_addr" ] && break
      sleep 0.1
    done
    [ -n "$service_addr" ] || { echo "the enrichment service did not start:" >&2; cat "$work/service-$round.log" >&2; exit 1; }
    for answer in p50 p90 p99; do
      # Until the advisory is served (the import may still run), then once more: cached.
      for _ in $(seq 1 300); do
        h2load -n 1 -c 1 -d "$work/$answer.body" -H 'content-type: application/grpc' -H 'te: trailers' \
          "http://$service_addr/zerotrace.enrichment.v1.EnrichmentService/GetVulnerability" |
          grep -q '^traffic:.*([1-9][0-9]*) data' && break
        sleep 0.2
      done
      # The echo first in odd rounds, the service first in even ones.
      if [ $((round % 2)) = 1 ]; then
        call "$round" "$echo_pid" "$echo_addr" "$answer" echo
        call "$round" "$service_pid" "$service_addr" "$answer" service
      else
        call "$round" "$service_pid" "$service_addr" "$answer" service
        call "$round" "$echo_pid" "$echo_addr" "$answer" echo
      fi
    done
    kill "$echo_pid" "$service_pid"
    wait "$echo_pid" "$service_pid" 2>/dev/null || true
  done
  python3 - "$work" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
work, hz = sys.argv[1], int(sys.argv[2])
runs = [dict(kv.split("=", 1) for kv in line.split()[1:]) for line in open(f"{work}/results")]
print("| answer | target | round | req/s | bytes per answer | server CPU per call, µs | req/s / echo req/s |")
print("|---|---|---|---|---|---|---|")
ratios = {}
for r in runs:
    requests = int(r["requests"])
    if int(r["succeeded"]) != requests:
        sys.exit(f"h2load: {requests - int(r['succeeded'])} calls failed in {r}")
    echo = next(e for e in runs if e["round"] == r["round"] and e["answer"] == r["answer"] and e["target"] == "echo")
    ratio = float(r["rps"]) / float(echo["rps"])
    if r["target"] == "service":
        ratios.setdefault(r["answer"], []).append(ratio)
    ident = open(f"{work}/{r['answer']}.id").read()
    print(f"| {r['answer']} ({ident}) | {r['target']} | {r['round']} | {float(r['rps']):.0f} "
          f"| {int(r['data_bytes']) / requests:.0f} | {int(r['ticks']) / hz / requests * 1e6:.1f} "
          f"| {'' if r['target'] == 'echo' else f'{ratio:.3f}×'} |")
print()
for answer, per in ratios.items():
    print(f"outside client, {answer}: cached look-up / echo, median over {len(per)} rounds "
          f"{statistics.median(per):.3f}× ({', '.join(f'{x:.3f}' for x in per)})")
PY
  rm -rf "$work"
fi

if wants telemetry; then
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
