#!/usr/bin/env bash
# `make bench`: the benchmark suite with peers (bench/run.py does the measuring).
#
#   make bench                      # full run (~14 min on a 2-core machine): results in
#                                   # bench/results/latest.json + a timestamped copy, and the
#                                   # table in docs/performance.md regenerated
#   BENCH_QUICK=1 make bench        # ~1.5 min, one short run of each; bench/results/quick-*
#   BENCH_ONLY=s1,s3 make bench     # some sections (docs untouched): s1 rss scale s2 e2e floor fetch fleet s4
#                                   # s3 ingest qdb profile afsdk (AF SDK decode on Mono, the
#                                   # stand-in that `make bench` compiles); e2e runs s2 too
#   BENCH_ONLY=emulator make bench  # only the emulator's serving rate (bench/emulator_serving.py)
#   NAIA_KEEP_SERVICES=1            # leave Kafka/QuestDB/Redis running if this script started them
#
# Installs what the peers need into var/compat/bench-peers (pins in bench/peers-constraints.txt;
# never into NAIA's venv: the peers run there as subprocesses), starts the services with
# `naia services up` when they are not running, and stops every process it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PEERS=var/compat/bench-peers
PINS=bench/peers-constraints.txt
mapfile -t PEER_PINS < <(grep -Ev '^[[:space:]]*(#|$)' "$PINS")
STAMP="$PEERS/.bench-pins"

log() { printf '[bench.sh %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [ ! -x "$BIN/naia" ]; then
  echo "no $BIN/naia: run 'make install' first" >&2
  exit 2
fi

if [ "${BENCH_ONLY:-}" = emulator ]; then
  exec "$BIN/python" -m bench.emulator_serving
fi

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "${PEER_PINS[*]}" ]; then
  log "installing the peers' packages into $PEERS"
  rm -rf "$PEERS"
  python3 -m venv "$PEERS"
  "$PEERS/bin/python" -m pip install -q --upgrade pip
  "$PEERS/bin/python" -m pip install -q --no-deps "${PEER_PINS[@]}"
  echo "${PEER_PINS[*]}" > "$STAMP"
fi

started=0
harness=""
cleanup() {
  local code=$?
  if [ -n "$harness" ] && kill -0 "$harness" 2>/dev/null; then
    # SIGTERM makes the harness stop every process it started (each in its own session), then exit
    kill -TERM "$harness" 2>/dev/null || true
    for _ in $(seq 1 600); do kill -0 "$harness" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$harness" 2>/dev/null || true
  fi
  if [ "$started" = 1 ] && [ "${NAIA_KEEP_SERVICES:-0}" != 1 ]; then
    log "stopping the services this script started"
    "$BIN/naia" services down || true
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$BIN/naia" services status >/dev/null 2>&1; then
  log "starting Kafka, QuestDB and Redis (naia services up)"
  started=1
  "$BIN/naia" services up
fi

log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
set +e
"$BIN/python" -m bench.run "$@" &
harness=$!
wait "$harness"
rc=$?
set -e
harness=""
exit "$rc"
