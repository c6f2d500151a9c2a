#!/usr/bin/env bash
# Start the real services the integration tests need, run every test, stop what we started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
started=0
if $BIN/naia services --help >/dev/null 2>&1; then
  $BIN/naia services up
  started=1
fi
cleanup() { if [ "$started" = 1 ] && [ "${NAIA_KEEP_SERVICES:-0}" != 1 ]; then $BIN/naia services down || true; fi; }
trap cleanup EXIT
$BIN/pytest "$@"
