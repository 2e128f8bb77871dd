#!/usr/bin/env bash
# scripts/ferretdb.sh — build and run a local FerretDB (MongoDB wire protocol on SQLite)
# for Keyward's tests and for local development. No MongoDB server or Docker needed.
#
# Usage:
#   scripts/ferretdb.sh build [<bin>]         Build FerretDB v1.24.2 (only if missing) into <bin>
#                                             (default $FERRETDB_BIN) and print the binary path.
#   scripts/ferretdb.sh start <port> <datadir>
#                                             Start it in the background on 127.0.0.1:<port>,
#                                             storing data in <datadir> (created if missing).
#                                             Log: <datadir>/ferretdb.log, pid: <datadir>/ferretdb.pid.
#                                             Returns once the port accepts connections (max 30 s).
#   scripts/ferretdb.sh stop <datadir>        Stop the instance started with that <datadir>.
#
# Environment:
#   FERRETDB_BIN   Path of the binary (default: ~/.cache/keyward/ferretdb-v1.24.2).
#                  `build` writes it there; `start` builds it first if it is missing.
#
# Example (developer machine):
#   scripts/ferretdb.sh start 27555 /tmp/keyward-db
#   export MONGODB_URI=mongodb://127.0.0.1:27555/keyward_dev
#   npm start
#   scripts/ferretdb.sh stop /tmp/keyward-db
#
# Requirements: Go >= 1.24 and access to the Go module proxy (first build takes ~2 min).
#
# Why not `go install ...@v1.24.2`: that needs a version-list lookup the proxy may refuse,
# and the module lacks the generated build/version/version.txt (the binary panics at start
# without it). So the module is downloaded with `go mod download`, copied, the version
# files are written, and it is built with `go build`.
set -euo pipefail

FERRETDB_VERSION="v1.24.2"
FERRETDB_COMMIT="cda72d440810406a208c4670aa7047f5bc8d528f"
FERRETDB_MODULE="github.com/FerretDB/FerretDB"
FERRETDB_BIN="${FERRETDB_BIN:-${HOME:-/root}/.cache/keyward/ferretdb-${FERRETDB_VERSION}}"

die() { echo "ferretdb.sh: $*" >&2; exit 1; }

# Go's official tarball installs to /usr/local/go, which a trimmed PATH may lack.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="$PATH:/usr/local/go/bin"
fi

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

cmd_build() {
  if [[ -x "$FERRETDB_BIN" ]]; then
    echo "$FERRETDB_BIN"
    return 0
  fi
  command -v go >/dev/null 2>&1 || die "Go is required to build FerretDB (not found in PATH)"

  local work moddir out
  work="$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT

  echo "ferretdb.sh: building FerretDB ${FERRETDB_VERSION} -> $FERRETDB_BIN" >&2
  # Run outside any Go module so `go mod download` works in module-less mode.
  local download
  download="$(cd "$work" && GO111MODULE=on go mod download -json "${FERRETDB_MODULE}@${FERRETDB_VERSION}" 2>&1)" \
    || die "go mod download failed: $(printf '%s\n' "$download" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p;/^go: /p' | head -n 1)"
  moddir="$(printf '%s\n' "$download" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "$moddir" && -d "$moddir" ]] || die "go mod download did not return a module directory"

  cp -R "$moddir" "$work/src"
  chmod -R u+w "$work/src"
  printf '%s\n' "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"
  printf '%s\n' "$FERRETDB_COMMIT" >"$work/src/build/version/commit.txt"

  mkdir -p "$(dirname "$FERRETDB_BIN")"
  out="${FERRETDB_BIN}.tmp.$$"
  (cd "$work/src" && GO111MODULE=on GOFLAGS="-mod=mod -buildvcs=false" go build -o "$out" ./cmd/ferretdb) \
    || { rm -f "$out"; die "go build failed"; }
  if ! "$out" --version >/dev/null 2>&1; then
    "$out" --version >&2 || true
    rm -f "$out"
    die "built binary does not run"
  fi
  mv -f "$out" "$FERRETDB_BIN"
  rm -rf "$work"
  trap - EXIT
  echo "$FERRETDB_BIN"
}

is_running() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_start() {
  [[ $# -eq 2 ]] || usage
  local port="$1" datadir="$2" pid i
  [[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "invalid port: $port"

  [[ -x "$FERRETDB_BIN" ]] || cmd_build >/dev/null

  mkdir -p "$datadir"
  datadir="$(cd "$datadir" && pwd)"
  local pidfile="$datadir/ferretdb.pid" log="$datadir/ferretdb.log"

  if [[ -f "$pidfile" ]] && is_running "$(cat "$pidfile")"; then
    die "already running (pid $(cat "$pidfile")) for $datadir"
  fi
  if port_open "$port"; then
    die "port $port on 127.0.0.1 is already in use"
  fi

  DO_NOT_TRACK=1 nohup "$FERRETDB_BIN" \
    --handler=sqlite \
    --sqlite-url="file:${datadir}/" \
    --state-dir="$datadir" \
    --listen-addr="127.0.0.1:${port}" \
    --debug-addr=- \
    --telemetry=disable \
    --log-level=warn \
    >>"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pidfile"

  for ((i = 0; i < 300; i++)); do
    if port_open "$port"; then
      echo "ferretdb.sh: FerretDB listening on 127.0.0.1:$port (pid $pid, data $datadir)" >&2
      return 0
    fi
    is_running "$pid" || break
    sleep 0.1
  done

  echo "ferretdb.sh: FerretDB did not start on 127.0.0.1:$port; last log lines:" >&2
  tail -n 30 "$log" >&2 || true
  kill "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  exit 1
}

cmd_stop() {
  [[ $# -eq 1 ]] || usage
  local pidfile="$1/ferretdb.pid" pid i
  if [[ ! -f "$pidfile" ]]; then
    echo "ferretdb.sh: no pid file in $1, nothing to stop" >&2
    return 0
  fi
  pid="$(cat "$pidfile")"
  if is_running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      is_running "$pid" || break
      sleep 0.1
    done
    if is_running "$pid"; then
      echo "ferretdb.sh: pid $pid did not exit after 10 s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    # Reap it if it is our child (same shell); harmless otherwise.
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  build) shift; [[ $# -le 1 ]] || usage; FERRETDB_BIN="${1:-$FERRETDB_BIN}"; cmd_build ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
