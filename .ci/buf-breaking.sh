#!/usr/bin/env bash
# Checks that no commit breaks the gRPC contract (buf's FILE rules).
#
# Every commit that touches proto/ or buf.yaml is compared with its parent, so a
# submission of many commits is checked commit by commit and a break that a
# later commit hides is still caught. HEAD is also compared with the contract
# of the last landed main: $BUF_BREAKING_BASE when set, otherwise the
# merge-base with a remote-tracking main when the clone has one.
set -euo pipefail
cd "$(dirname "$0")/.."

failed=0
check() { # check INPUT_REF AGAINST_REF LABEL
  if ! buf breaking ".git#ref=$1" --against ".git#ref=$2"; then
    echo "buf breaking: $3 breaks the contract" >&2
    failed=1
  fi
}

checked=0
while read -r commit; do
  parent=$(git rev-parse -q --verify "$commit~1" || true)
  if [[ -n $parent ]] && git cat-file -e "$parent:proto" 2>/dev/null; then
    check "$commit" "$parent" "commit $(git log -1 --format='%h %s' "$commit" | cut -c1-80)"
    checked=$((checked + 1))
  fi
done < <(git rev-list HEAD -- proto buf.yaml)
echo "buf breaking: $checked contract-changing commits checked against their parents"

base=${BUF_BREAKING_BASE:-}
if [[ -z $base ]]; then
  for remote_main in refs/remotes/origin/main refs/remotes/upstream/main; do
    if git rev-parse -q --verify "$remote_main" >/dev/null; then
      base=$(git merge-base HEAD "$remote_main")
      break
    fi
  done
fi
if [[ -n $base ]]; then
  if git cat-file -e "$base:proto" 2>/dev/null; then
    check HEAD "$base" "HEAD against the landed main $(git rev-parse --short "$base")"
    echo "buf breaking: HEAD checked against the landed main $(git rev-parse --short "$base")"
  fi
else
  echo "buf breaking: no landed main to compare with (set BUF_BREAKING_BASE); per-commit checks only"
fi
exit "$failed"
