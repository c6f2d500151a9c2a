#!/usr/bin/env bash
# `make bench`: the benchmark suite with peers (bench/run.py does the measuring).
#
#   make bench                      # full run (~14 min on a 2-core machine): results in
#                                   # bench/results/latest.json + a timestamped copy, and the
#                                   # table in docs/performance.md regenerated
#   BENCH_QUICK=1 make bench        # ~1.5 min, one short run of each; bench/results/quick-*
#   BENCH_ONLY=s1,s3 make bench     # some sections (docs untouched): s1 rss scale s2 e2e fetch fleet s4
#                                   # s3 ingest qdb profile afsdk (AF SDK decode on Mono, the
#                                   # stand-in that `make bench` compiles); e2e runs s2 too
#   BENCH_ONLY=emulator make bench  # only the emulator's serving rate (bench/emulator_serving.py)
#   NAIA_KEEP_SERVICES=1            # leave Kafka/QuestDB/Redis running if this script started them
#
# Installs what the peers need into var/bench/peers-venv (pinned below), starts the services with
# `naia services up` when they are not running, and stops every process it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PEERS=var/bench/peers-venv
# The published PI Web API client (fetch peer) and py-spy (profiles), outside NAIA's venv.
# requests-kerberos is installed without its Kerberos extra (it would need krb5-config to build);
# the peer uses Basic auth, so the import is all the client needs from it.
PEER_PINS=(
  osisoft.pidevclub.piwebapi==1.1.5 requests-kerberos==0.15.0 py-spy==0.4.3
  six==1.17.0 flatdict==4.1.0 requests==2.34.2 requests_ntlm==1.3.0 pyspnego==0.12.4
  pandas==3.1.1 numpy==2.4.6 python-dateutil==4.0.0 tzdata==2026.6 urllib3==2.8.0
  certifi==2026.10.19.post1 charset-normalizer==3.5.3 idna==3.20 cryptography==50.0.2
  cffi==2.1.1 pycparser==3.12
)
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
