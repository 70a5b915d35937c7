#!/usr/bin/env bash
# Starts or stops a local Azurite (the Azure Storage emulator) for the publishing tests and bench.
#   scripts/azurite.sh start   install from npm if missing, start on 127.0.0.1, wait until it answers
#   scripts/azurite.sh stop    stop the instance this script started, remove its data folder
#   scripts/azurite.sh status  exit 0 when it answers
# Environment: AZURITE_BLOB_PORT (default 10000), AZURITE_VERSION (default 3.37.0).
# Azurite lives in artifacts/tools/azurite (gitignored), never in the global npm prefix, so the
# script works the same on a fresh CI machine and a developer's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${AZURITE_VERSION:-3.37.0}"
port="${AZURITE_BLOB_PORT:-10000}"
tooldir="$root/artifacts/tools/azurite"
statedir="$root/artifacts/azurite-$port"
pidfile="$statedir/azurite.pid"
logfile="$statedir/azurite.log"
bin="$tooldir/node_modules/.bin/azurite-blob"

answers() {
  # Any HTTP answer (Azurite replies 400 to a bare GET) means the server is up.
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/devstoreaccount1?comp=list" || true)"
  [ -n "$code" ] && [ "$code" != "000" ]
}

install() {
  if [ -x "$bin" ] && grep -q "\"version\": \"$version\"" "$tooldir/node_modules/azurite/package.json" 2>/dev/null; then
    return
  fi
  mkdir -p "$tooldir"
  echo "azurite.sh: installing azurite@$version into $tooldir"
  (cd "$tooldir" && [ -f package.json ] || echo '{"name":"limg-azurite","private":true}' > "$tooldir/package.json")
  npm install --prefix "$tooldir" --no-audit --no-fund --loglevel=error "azurite@$version" >/dev/null
}

start() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && answers; then
    echo "azurite.sh: already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
    return
  fi
  install
  rm -rf "$statedir"
  mkdir -p "$statedir/data"
  # --skipApiVersionCheck: the SDK may speak a newer service version than the emulator knows;
  # --inMemoryPersistence is avoided so that multi-GiB bench blobs do not sit in the node heap.
  nohup "$bin" --blobHost 127.0.0.1 --blobPort "$port" --location "$statedir/data" \
    --skipApiVersionCheck --disableProductStyleUrl --silent >"$logfile" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if answers; then
      echo "azurite.sh: running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
      return
    fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "azurite.sh: azurite exited; log:" >&2
      cat "$logfile" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "azurite.sh: azurite did not answer on 127.0.0.1:$port within 60 s" >&2
  exit 1
}

stop() {
  if [ -f "$pidfile" ]; then
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    echo "azurite.sh: stopped"
  fi
  rm -rf "$statedir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
