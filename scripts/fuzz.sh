#!/usr/bin/env bash
# Runs every fuzz target of services/fuzz (cargo-fuzz, nightly Rust) for a
# while each, seeded with the test fixtures:
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 300; CI runs 20)
# A crash stops the run and leaves its input in services/fuzz/artifacts/<target>/;
# reproduce it with `cargo +nightly fuzz run --fuzz-dir services/fuzz <target> <file>`
# and keep it as a regression test beside the code it broke.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
toolchain=${FUZZ_TOOLCHAIN:-nightly}
if ! cargo "+$toolchain" --version >/dev/null 2>&1; then
  rustup toolchain install "$toolchain" --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
fuzz=(cargo "+$toolchain" fuzz)
dir=services/fuzz
seeds() {
  case "$1" in
    lockfiles) echo services/inventory/tests/fixtures ;;
    requirements_includes) echo services/inventory/tests/fixtures/requirements ;;
    *) ;;
  esac
}
"${fuzz[@]}" build --fuzz-dir "$dir" --release --debug-assertions
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $("${fuzz[@]}" list --fuzz-dir "$dir"); do
  mkdir -p "$dir/corpus/$target"
  echo "== fuzz $target for ${seconds}s"
  status=0
  # shellcheck disable=SC2046
  "${fuzz[@]}" run --fuzz-dir "$dir" --release --debug-assertions "$target" \
    "$dir/corpus/$target" $(seeds "$target") -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|==[0-9]+==ERROR)|panicked|Failing input' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz: $target failed (exit $status)"
    exit 1
  fi
done
echo "fuzz: every target ran ${seconds}s without a failure"
