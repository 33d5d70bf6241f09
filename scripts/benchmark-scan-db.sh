#!/usr/bin/env bash
# Benchmark of `zerotrace scan` against the persistent advisory database (a
# benchmark, not a timed test), with cargo-audit as the anchor:
#
#   1. one lockfile, in paired runs (the two tools alternate, the order
#      flipping each round): `cargo audit --db DIR --no-fetch --stale --file
#      LOCK` on RustSec's advisory-db of 2026-08-21 (../shared/data/rustsec)
#      against `zerotrace scan LOCK` on a database imported from the same
#      day's OSV export of it (plus PyPA, KEV and EPSS, as `db import` users
#      have it). cargo-audit is run twice over: as the command is usually
#      written (it then also checks for yanked crates in the local crates.io
#      index), and with `--no-yanked`, which leaves it the same work as
#      zerotrace. Wall time and peak RSS are medians; the ratio is
#      zerotrace / cargo-audit. The advisory ids of both must be identical
#      (over the advisories both databases have).
#      Two lockfiles: this workspace's own Cargo.lock (real, nothing
#      vulnerable) and the largest Cargo.lock of the 100-lockfile tree below
#      (old pins, half of them vulnerable).
#   2. a 100-lockfile tree (../shared/bench/make-corpus.py --files 2000
#      --lockfiles 100): `zerotrace scan TREE` against cargo-audit run once
#      per Cargo.lock of the tree (cargo-audit reads one lockfile per run).
#   3. the reference corpus (100,000 files, 300 lockfiles): `zerotrace scan`
#      on the persistent database against `--db` with the two zips loaded in
#      memory.
#
# Usage: scripts/benchmark-scan-db.sh [--quick] [--runs N] [--no-write]
#   --quick: 3 paired runs, no reference corpus; --no-write: print only.
# Targets (one lockfile): wall <= 0.25x cargo-audit, peak RSS <= 1.0x, against
# cargo-audit as the fleet-performance issue runs it (with its yanked check);
# the --no-yanked ratios are printed beside them, for information.
# cargo-audit 0.22.2 is used from $CARGO_AUDIT, PATH, or installed once into
# ~/.cache/zerotrace-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

runs=10
write_doc=1
corpus_files=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runs=3; corpus_files=0 ;;
    --runs) runs=$2; shift ;;
    --no-write) write_doc=0 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "benchmark-scan-db: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

shared=$root/../shared
data=$shared/data
corpus_script=$shared/bench/make-corpus.py
bundle=$data/rustsec/advisory-db.bundle
for f in "$corpus_script" "$bundle" "$data/osv/crates.io/all.zip" "$data/osv/PyPI/all.zip" \
  "$data/kev/known_exploited_vulnerabilities.json" "$data/epss/epss_scores-sample.csv"; do
  [ -f "$f" ] || { echo "benchmark-scan-db: $f is missing (../shared is needed)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "benchmark-scan-db: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

audit_version=0.22.2
cargo_audit=${CARGO_AUDIT:-}
if [ -z "$cargo_audit" ]; then
  cached=$HOME/.cache/zerotrace-tools/cargo-audit-$audit_version/bin/cargo-audit
  if [ -x "$cached" ]; then
    cargo_audit=$cached
  elif command -v cargo-audit >/dev/null 2>&1; then
    cargo_audit=$(command -v cargo-audit)
  else
    echo "== installing cargo-audit $audit_version (once)" >&2
    cargo install --quiet --locked --version "$audit_version" --root "$HOME/.cache/zerotrace-tools/cargo-audit-$audit_version" cargo-audit
    cargo_audit=$cached
  fi
fi
echo "== $("$cargo_audit" audit --version)" >&2

echo "== building the release CLI" >&2
cargo build --release --quiet -p zerotrace-cli
zt=$root/target/release/zerotrace

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

git clone --quiet "$bundle" "$tmp/advisory-db"
"$zt" db import --data-dir "$tmp/data" "$data/osv/crates.io/all.zip" "$data/osv/PyPI/all.zip" \
  "$data/kev/known_exploited_vulnerabilities.json" "$data/epss/epss_scores-sample.csv" >/dev/null

# shellcheck source=scripts/bench-corpus.sh
source scripts/bench-corpus.sh
tree=$(bench_corpus 2000 100)
largest_lock=$(find "$tree" -name Cargo.lock -printf '%s %p\n' | sort -n | tail -n1 | cut -d' ' -f2)

# once NAME CMD...: one measurement (scripts/timed-run.py: the wall time of
# a direct spawn, the peak RSS under GNU time); appends "wall_us rss_kb" to
# $tmp/NAME.samples, the command's stdout to $tmp/NAME.out.
once() {
  local name=$1; shift
  python3 scripts/timed-run.py "$tmp/$name.out" "$tmp/$name.err" "$@" >>"$tmp/$name.samples"
}

# The commands measured, the lockfile or tree last, spawned directly (no
# shell in between, which would add its own start-up to both).
audit=("$cargo_audit" audit --db "$tmp/advisory-db" --no-fetch --stale --json --file)
# Without its yanked-crate check (it reads the crates.io index; zerotrace
# has no such check): the same work as zerotrace.
audit_same=("$cargo_audit" audit --db "$tmp/advisory-db" --no-fetch --stale --no-yanked --json --file)
scan=("$zt" scan --data-dir "$tmp/data" --format json --fail-on none --max-data-age 3650d)
scan_all=("$zt" scan --no-ignore --data-dir "$tmp/data" --format json --fail-on none --max-data-age 3650d)
zips=("$zt" scan --no-ignore --format json --fail-on none --max-data-age 3650d
  --db "$data/osv/crates.io/all.zip" --db "$data/osv/PyPI/all.zip")
# Every Cargo.lock of a tree, one cargo-audit run each (a script: a loop).
mkdir -p "$tmp/bin"
printf '#!/usr/bin/env bash\nfind "$1" -name Cargo.lock -print0 | while IFS= read -r -d "" lock; do %s "$lock"; echo; done\n' \
  "$(printf '%q ' "${audit_same[@]}")" >"$tmp/bin/audit_tree"
chmod +x "$tmp/bin/audit_tree"
audit_tree=("$tmp/bin/audit_tree")

# paired NAME_A NAME_B ARG CMD_A CMD_B: $runs rounds, order flipped each
# round; CMD_A and CMD_B name arrays.
paired() {
  local a=$1 b=$2 arg=$3
  local -n cmd_a=$4 cmd_b=$5
  "${cmd_a[@]}" "$arg" >/dev/null 2>&1 || true; "${cmd_b[@]}" "$arg" >/dev/null 2>&1 || true  # warm-up
  for i in $(seq 1 "$runs"); do
    if [ $((i % 2)) = 1 ]; then once "$a" "${cmd_a[@]}" "$arg"; once "$b" "${cmd_b[@]}" "$arg"
    else once "$b" "${cmd_b[@]}" "$arg"; once "$a" "${cmd_a[@]}" "$arg"; fi
  done
}

echo "== one lockfile: this workspace's Cargo.lock ($runs paired runs, each anchor)" >&2
paired audit-own scan-own "$root/Cargo.lock" audit scan
paired same-own scan-own-2 "$root/Cargo.lock" audit_same scan
echo "== one lockfile: $largest_lock ($runs paired runs, each anchor)" >&2
paired audit-old scan-old "$largest_lock" audit scan
paired same-old scan-old-2 "$largest_lock" audit_same scan
echo "== the 100-lockfile tree ($runs paired runs)" >&2
paired audit-tree scan-tree "$tree" audit_tree scan
if [ "$corpus_files" -gt 0 ]; then
  corpus=$(bench_corpus 100000)
  echo "== the reference corpus (3 paired runs)" >&2
  runs_saved=$runs; runs=3
  paired zips-corpus scan-corpus "$corpus" zips scan_all
  runs=$runs_saved
fi

find "$tmp/advisory-db/crates" -name 'RUSTSEC-*.md' -printf '%f\n' | sed 's/\.md$//' >"$tmp/audit-db.ids"
report=$(python3 - "$tmp" "$root/Cargo.lock" "$largest_lock" "$tree" "$corpus_files" <<'EOF'
import json, os, statistics, sys
tmp, own_lock, old_lock, tree, corpus_files = sys.argv[1:6]
# Advisories cargo-audit's checkout has; ids are compared over these (the
# OSV export of the same day has one it lacks, RUSTSEC-2025-0000).
in_audit_db = set(open(os.path.join(tmp, "audit-db.ids")).read().split())

def samples(name):
    rows = [tuple(map(int, l.split())) for l in open(os.path.join(tmp, name + ".samples"))]
    return statistics.median(r[0] for r in rows) / 1e6, statistics.median(r[1] for r in rows) / 1024, len(rows)

def audit_ids(name):
    ids = set()
    for doc in open(os.path.join(tmp, name + ".out")).read().split("\n"):
        doc = doc.strip()
        if doc:
            ids |= {v["advisory"]["id"] for v in json.loads(doc)["vulnerabilities"]["list"]}
    return ids

def scan_ids(name):
    report = json.load(open(os.path.join(tmp, name + ".out")))
    return {f["vulnerability"]["id"] for f in report["findings"]
            if f["package"]["ecosystem"] == "crates.io" and f["vulnerability"]["id"] in in_audit_db}, report

def packages(lock):
    return sum(1 for l in open(lock) if l.strip() == "[[package]]")

rows, verdicts = [], []
def pair(label, a, b, ids=True):
    wa, ra, n = samples(a)
    wb, rb, _ = samples(b)
    note = ""
    if ids:
        ia, (ib, report) = audit_ids(a), scan_ids(b)
        same = ia == ib
        note = f"{len(ib)} advisory ids, " + ("identical" if same else
               f"DIFFER: only cargo-audit {sorted(ia - ib)}, only zerotrace {sorted(ib - ia)}")
        verdicts.append((label, wb / wa, rb / ra, same))
    rows.append((label, f"{wa:.3f} s", f"{ra:.1f} MB", f"{wb:.3f} s", f"{rb:.1f} MB",
                 f"{wb / wa:.2f}x", f"{rb / ra:.2f}x", note, n))

own, old = packages(own_lock), packages(old_lock)
pair(f"workspace Cargo.lock ({own} packages), cargo-audit with its yanked check", "audit-own", "scan-own")
pair(f"workspace Cargo.lock ({own} packages), cargo-audit --no-yanked", "same-own", "scan-own-2")
pair(f"old pins Cargo.lock ({old} packages), cargo-audit with its yanked check", "audit-old", "scan-old")
pair(f"old pins Cargo.lock ({old} packages), cargo-audit --no-yanked", "same-old", "scan-old-2")
locks = sum(1 for d, _, fs in os.walk(tree) for f in fs if f == "Cargo.lock")
pair(f"100-lockfile tree (zerotrace: every lockfile; cargo-audit --no-yanked: its {locks} Cargo.lock, one run each)",
     "audit-tree", "scan-tree")
if int(corpus_files):
    pair("reference corpus (anchor: zerotrace --db zips)", "zips-corpus", "scan-corpus", ids=False)

head = ("what", "anchor wall", "anchor RSS", "zerotrace wall", "zerotrace RSS", "wall ratio", "RSS ratio", "advisory ids", "runs")
out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
out.append("")
for label, w, r, same in verdicts[:4]:
    if "--no-yanked" in label:
        # A stricter anchor than the targets': reported, not judged.
        out.append(f"- {label}: wall {w:.2f}x, peak RSS {r:.2f}x (for information); "
                   f"ids {'identical' if same else 'DIFFER'}")
        continue
    out.append(f"- {label}: wall {w:.2f}x (target <= 0.25x): {'ok' if w <= 0.25 else 'MISSED'}; "
               f"peak RSS {r:.2f}x (target <= 1.0x): {'ok' if r <= 1.0 else 'MISSED'}; "
               f"ids {'identical' if same else 'DIFFER'}")
print("\n".join(out))
EOF
)
echo
echo "$report"

if [ "$write_doc" = 1 ]; then
  doc=$root/docs/performance.md
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  section=$(cat <<EOF
## Scan against the persistent database, with cargo-audit as the anchor

Command: \`scripts/benchmark-scan-db.sh\` (median of $runs paired runs, the order of the two tools flipping each
round; reference corpus 3 paired runs). Machine: $(nproc) cores, $cpu. Date: $(date -u '+%Y-%m-%d %H:%M') UTC.
$("$cargo_audit" audit --version) with \`--db advisory-db --no-fetch --stale\` (RustSec of 2026-08-21); zerotrace on a database
imported with \`zerotrace db import\` from the same day's OSV export, PyPA, KEV and EPSS.

$report
EOF
)
  python3 - "$doc" "$section" <<'EOF'
import sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
title = "## Scan against the persistent database, with cargo-audit as the anchor"
if title in text:
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    end = len(text) if end < 0 else end + 1
    # Notes written by hand after the generated part stay.
    old = text[start:end]
    notes = old[old.find("\n<!-- notes -->"):] if "\n<!-- notes -->" in old else "\n"
    text = text[:start] + section.rstrip() + "\n" + notes + text[end:]
else:
    text = text.rstrip() + "\n\n" + section.rstrip() + "\n"
open(path, "w").write(text)
EOF
  echo "wrote $doc" >&2
fi
