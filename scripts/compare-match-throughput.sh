#!/usr/bin/env bash
# MatchPackages throughput of this checkout against an earlier revision's, as
# the fleet-performance issue measures it: packages/s through gRPC on the
# load tool's Zipf mix, each as a ratio to the bare tonic echo server of the
# same run (an echoed batch of 100 packages), and the gain of this checkout's
# ratio over the earlier one's. A benchmark, not a timed test.
#
# The earlier revision defaults to 69f8ccc, main when the issue was filed
# ("today's packages/s": every advisory embedded per package, the only shape
# then). Its load tool is built once in a worktree (target/baseline-REV).
# Rounds alternate the two builds (`--phases echo,match`), one process each.
#
# Usage: scripts/compare-match-throughput.sh [--baseline REV] [--rounds N] [--duration S]
# Needs ../shared/data (skips with a message without it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

baseline=69f8ccc
rounds=${ROUNDS:-5}
duration=${DURATION:-5}
while [ $# -gt 0 ]; do
  case "$1" in
    --baseline) baseline=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --duration) duration=$2; shift ;;
    *) echo "compare-match-throughput: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
data=../shared/data
if [ ! -f "$data/osv/crates.io/all.zip" ] || [ ! -f "$data/osv/PyPI/all.zip" ]; then
  echo "SKIPPED: $data/osv/{crates.io,PyPI}/all.zip not found: the MatchPackages comparison did not run" >&2
  exit 0
fi
rev=$(git rev-parse --short "$baseline^{commit}")

tmp=$(mktemp -d)
worktree=$tmp/worktree
cleanup() {
  git worktree remove --force "$worktree" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== building the load tool of this checkout" >&2
cargo build --release --quiet -p zerotrace-enrichment --example load
cp target/release/examples/load "$tmp/load-now"
echo "== building the load tool of $rev (once, in target/baseline-$rev)" >&2
git worktree add --quiet --detach "$worktree" "$rev"
(cd "$worktree" && CARGO_TARGET_DIR=$root/target/baseline-$rev \
  cargo build --release --quiet -p zerotrace-enrichment --example load)
cp "target/baseline-$rev/release/examples/load" "$tmp/load-then"

export RUST_LOG=warn
for round in $(seq 1 "$rounds"); do
  for build in then now; do
    echo "== round $round of $rounds: $build" >&2
    env -u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_SDK_DISABLED "$tmp/load-$build" --data "$data" \
      --duration "$duration" --concurrency 8 --phases echo,match >"$tmp/$build-$round.txt" 2>/dev/null
  done
done

python3 - "$tmp" "$rounds" "$rev" <<'EOF'
import statistics, sys
tmp, rounds, rev = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def rps(path, starts):
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].startswith(starts):
            return float(cells[2])
    sys.exit(f"{path}: no row starting {starts!r}")

echo = "echo: MatchPackages of 100 packages"
rows = []
for r in range(1, rounds + 1):
    then, now = f"{tmp}/then-{r}.txt", f"{tmp}/now-{r}.txt"
    base = rps(then, "MatchPackages of 100, Zipf packages, warm cache") / rps(then, echo)
    basic = rps(now, "MatchPackages of 100, warm cache, basic view") / rps(now, echo)
    full = rps(now, "MatchPackages of 100, Zipf packages, warm cache") / rps(now, echo)
    embedded = rps(now, "MatchPackages of 100, warm cache, advisories embedded") / rps(now, echo)
    rows.append((base, basic, full, embedded))

print(f"| round | {rev} (embedded) / echo | basic view / echo | gain | full by reference / echo | gain "
      "| embedded / echo | gain |")
print("|---|---|---|---|---|---|---|---|")
def line(label, base, basic, full, embedded):
    print(f"| {label} | {base:.4f}x | {basic:.4f}x | **{basic / base:.2f}x** | {full:.4f}x | {full / base:.2f}x "
          f"| {embedded:.4f}x | {embedded / base:.2f}x |")
for r, row in enumerate(rows, 1):
    line(str(r), *row)
medians = [statistics.median(col) for col in zip(*rows)]
line("median", *medians)
gains = sorted(basic / base for base, basic, _, _ in rows)
print()
print(f"RESULT baseline={rev} rounds={rounds} base_ratio={medians[0]:.5f} basic_ratio={medians[1]:.5f} "
      f"basic_gain={medians[1] / medians[0]:.3f} full_gain={medians[2] / medians[0]:.3f} "
      f"min_round_gain={gains[0]:.3f}")
EOF
