#!/usr/bin/env bash
# API benchmark (not a timed test): SubmitScanReport with 1,000 findings per
# report until 100,000 findings are stored, then ListFindings over them, on
# SQLite and PostgreSQL, beside a bare tonic echo call in the same process.
# Prints a Markdown table (requests/s, p50/p95/p99); docs/performance.md records it.
#
#   scripts/api-performance-test.sh                      # both backends
#   scripts/api-performance-test.sh --backend sqlite     # SQLite only
#   ZEROTRACE_TEST_DATABASE_URL=postgres://… scripts/api-performance-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p zerotrace-api --example api_load
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -sr)"
RUST_LOG=${RUST_LOG:-warn} target/release/examples/api_load "$@"
