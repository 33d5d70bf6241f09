# Sourced by the benchmark scripts: the corpora of ../shared/bench/make-corpus.py,
# built once and kept in $ZEROTRACE_BENCH_DIR (default /tmp/zerotrace-bench).
#
# bench_corpus FILES [LOCKFILES]: prints the directory of the corpus of FILES
# files and LOCKFILES lockfiles (default 300, make-corpus.py's own), building
# it first if no complete one is there. Progress goes to stderr.
bench_corpus() {
  local files=$1 lockfiles=${2:-300}
  local script bench_dir dir
  script=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/bench/make-corpus.py
  bench_dir=${ZEROTRACE_BENCH_DIR:-/tmp/zerotrace-bench}
  dir=$bench_dir/corpus-$files
  [ "$lockfiles" = 300 ] || dir=$dir-$lockfiles
  if [ ! -f "$dir/.complete" ]; then
    echo "== building the $files-file corpus in $dir" >&2
    rm -rf "$dir"
    mkdir -p "$bench_dir"
    python3 "$script" "$dir" --files "$files" --lockfiles "$lockfiles" >&2
    touch "$dir/.complete"
  else
    echo "== reusing the corpus in $dir" >&2
  fi
  echo "$dir"
}
