#!/usr/bin/env bash
# Type-checks every Grafana dashboard in monitoring/grafana/dashboards against
# @grafana/schema with TypeScript (versions pinned in
# monitoring/grafana/typecheck/package.json and package-lock.json).
# Installs the two npm packages into monitoring/grafana/typecheck/node_modules
# once; later runs reuse them. Needs node and npm.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/monitoring/grafana/typecheck"
cd "$dir"

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "check-dashboards: $tool not found" >&2; exit 1; }
done

# Reinstall only when nothing is installed or the lock file changed since.
if [ ! -d node_modules/@grafana/schema ] || [ ! -x node_modules/.bin/tsc ] \
    || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "check-dashboards: installing pinned @grafana/schema and typescript"
    npm ci --no-audit --no-fund --loglevel=error
fi

node generate.mjs
echo "check-dashboards: tsc $(node_modules/.bin/tsc --version)"
node_modules/.bin/tsc --noEmit -p .
echo "check-dashboards: all dashboards satisfy @grafana/schema $(node -p "require('./node_modules/@grafana/schema/package.json').version")"
