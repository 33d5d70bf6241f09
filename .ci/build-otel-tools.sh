#!/usr/bin/env bash
# Builds the two telemetry back ends from pinned Go modules, once per recipe:
#
#   zerotrace-otelcol  collector/distribution/ (go.mod, go.sum, main.go): our
#                      OpenTelemetry Collector with the components that
#                      collector/otel-collector.yaml uses
#   jaeger             collector/jaeger/ (go.mod, go.sum): Jaeger v2, the
#                      `tool github.com/jaegertracing/jaeger/cmd/jaeger` there
#
# Each binary goes to $CACHE/<name>-<hash>/bin/<name>, where <hash> covers the
# recipe files, the Go version and the build flags; an existing binary for that
# hash is reused. Stable links: .ci/tools/bin/zerotrace-otelcol, .ci/tools/bin/jaeger.
#
#   bash .ci/build-otel-tools.sh [zerotrace-otelcol|jaeger ...]   # default: both
#
# CACHE is $ZEROTRACE_TOOLS_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/zerotrace-tools.
# Needs only Go (go.mod's version or newer) and the Go module proxy; go.sum pins
# every module, so no checksum database is consulted. Builds hold the lock
# $ZEROTRACE_BUILD_LOCK (default /tmp/zt-build.lock) so they never run beside
# another build that takes it. A first build of both takes several minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${ZEROTRACE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zerotrace-tools}
lock=${ZEROTRACE_BUILD_LOCK:-/tmp/zt-build.lock}
links=$root/.ci/tools/bin

command -v go >/dev/null || { echo "build-otel-tools: go is not on PATH" >&2; exit 1; }
command -v flock >/dev/null || { echo "build-otel-tools: flock is not on PATH (util-linux)" >&2; exit 1; }

export CGO_ENABLED=0
unset GOFLAGS # nothing from the caller's environment changes what gets built
# Flags every build uses. -buildvcs=false: the binary must not depend on this
# repo's commit; -mod=readonly: go.mod/go.sum are never rewritten by a build.
common_flags=(-trimpath -buildvcs=false -mod=readonly)

# A build that is interrupted leaves nothing behind in the cache.
partial=
trap 'if [ -n "$partial" ]; then rm -rf "$partial"; fi' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

hash_of() { # files... -> short hash of their contents, the Go version and the flags
  {
    go version
    go env GOOS GOARCH CGO_ENABLED
    printf '%s\n' "${common_flags[@]}" "$1"
    shift
    for f in "$@"; do printf '== %s\n' "$(basename "$f")"; cat "$f"; done
  } | sha256sum | cut -c1-16
}

# build NAME DIR LDFLAGS PACKAGE RECIPE_FILES...
build() {
  local name=$1 dir=$2 ldflags=$3 pkg=$4
  shift 4
  local hash; hash=$(hash_of "$ldflags $pkg" "$@")
  local out=$cache/$name-$hash/bin/$name
  if [ -x "$out" ]; then
    echo "$name: cached $out"
  else
    echo "$name: building $pkg in ${dir#"$root"/} (recipe $hash)"
    mkdir -p "$cache"
    local tmp; tmp=$(mktemp -d "$cache/.$name-$hash.XXXXXX")
    partial=$tmp
    chmod 755 "$tmp"
    mkdir -p "$tmp/bin"
    local start; start=$(date +%s)
    # The modules and the compiler's cache (about 2 GB each) live in the build's
    # own directory and go with it: only the binary is kept, so a CI machine's
    # disk is left to the Rust build. -modcacherw lets them be removed.
    local -x GOMODCACHE=$tmp/go/mod GOCACHE=$tmp/go/cache
    # Download what the build needs outside the lock (network, not CPU), then
    # compile holding it.
    (cd "$dir" && go list -modcacherw -mod=readonly -deps "$pkg" >/dev/null)
    if ! (cd "$dir" && flock "$lock" go build -modcacherw "${common_flags[@]}" -ldflags "$ldflags" -o "$tmp/bin/$name" "$pkg"); then
      echo "$name: build failed" >&2
      exit 1
    fi
    rm -rf "$tmp/go"
    local took=$(( $(date +%s) - start ))
    # Publish whole or not at all: a build killed halfway leaves no binary behind.
    if [ -e "$cache/$name-$hash" ]; then rm -rf "$cache/$name-$hash"; fi
    mv "$tmp" "$cache/$name-$hash"
    partial=
    echo "$name: built $out in ${took}s ($(du -h "$out" | cut -f1))"
  fi
  mkdir -p "$links"
  ln -sfn "$out" "$links/$name"
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(zerotrace-otelcol jaeger)
for name in "${wanted[@]}"; do
  case $name in
    zerotrace-otelcol)
      d=$root/collector/distribution
      build zerotrace-otelcol "$d" "-s -w" . "$d/go.mod" "$d/go.sum" "$d/main.go"
      ;;
    jaeger)
      d=$root/collector/jaeger
      # Jaeger's own build stamps its version the same way (internal/version).
      v=$(cd "$d" && go list -m -f '{{.Version}}' github.com/jaegertracing/jaeger)
      build jaeger "$d" "-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$v" \
        github.com/jaegertracing/jaeger/cmd/jaeger "$d/go.mod" "$d/go.sum"
      ;;
    *)
      echo "build-otel-tools: unknown tool $name (zerotrace-otelcol, jaeger)" >&2
      exit 2
      ;;
  esac
done

for name in "${wanted[@]}"; do
  echo "$links/$name -> $(readlink "$links/$name")"
done
