# shellcheck shell=bash disable=SC2034 # (variables here are used by the scripts that source this file)
# Shared helpers for the operational scripts. Source it; do not execute it.
#   REPO   repository root (derived from this file's location)
#   BUILD  $REPO/build   (gitignored: CMake tree, tools, third_party, test cluster)
#   STATE  $PBX_STATE_DIR, default $REPO/.state  (gitignored: deploy/up's Postgres, keys, pid files and logs)

if [[ -n "${PBX_COMMON_SH_LOADED:-}" ]]; then
    return 0
fi
PBX_COMMON_SH_LOADED=1

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
BUILD="$REPO/build"
STATE="$(realpath -m "${PBX_STATE_DIR:-$REPO/.state}")"
LIB="$REPO/deploy/lib"
TOOLS_BIN="$BUILD/tools/bin"
BUF="$REPO/deploy/tools/node_modules/.bin/buf"
GRPCURL="$TOOLS_BIN/grpcurl"
export REPO BUILD STATE

PBX_LOG_TAG="${PBX_LOG_TAG:-$(basename "$0")}"

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "$PBX_LOG_TAG" "$*" >&2; }
warn() { log "WARNING: $*"; }
die() {
    log "ERROR: $*"
    exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# The Go toolchain of this kind of machine lives in /usr/local/go/bin, which a bare PATH may lack.
if ! have go && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
    export PATH
fi

# Run a command as root (directly when we are root, else through sudo).
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# wait_until TIMEOUT_S DESCRIPTION CMD [ARGS...]
# Polls CMD (quietly) every 0.5 s until it succeeds; returns 1 after TIMEOUT_S seconds.
wait_until() {
    local timeout="$1" desc="$2"
    shift 2
    local deadline=$((SECONDS + timeout))
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if ((SECONDS >= deadline)); then
            warn "timed out after ${timeout}s waiting for: $desc"
            return 1
        fi
        sleep 0.5
    done
}

# free_port: print a TCP port on 127.0.0.1 that is free right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# connect_addr HOST:PORT -> an address to connect to (wildcard hosts become loopback).
connect_addr() {
    local addr="$1" host port
    port="${addr##*:}"
    host="${addr%:*}"
    case "$host" in
    "" | "0.0.0.0" | "[::]" | "::" | "*") host="127.0.0.1" ;;
    esac
    printf '%s:%s\n' "$host" "$port"
}

# sha256 of the given files' contents (missing files hash as empty); prints the digest.
files_hash() {
    local f
    for f in "$@"; do
        printf '%s\n' "$f"
        if [[ -f "$f" ]]; then cat "$f"; fi
    done | sha256sum | cut -d' ' -f1
}

# pid_alive PIDFILE EXPECTED_EXE_BASENAME: true when the pid in PIDFILE runs that program.
# Guards against a stale pid file whose number was reused by another process.
pid_alive() {
    local pidfile="$1" name="$2" pid exe
    [[ -f "$pidfile" ]] || return 1
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
    exe="${exe% (deleted)}"
    [[ "$(basename "$exe")" == "$name" ]]
}

# stop_pidfile PIDFILE NAME [TIMEOUT_S]: SIGTERM, wait, SIGKILL if needed; removes the pid file.
stop_pidfile() {
    local pidfile="$1" name="$2" timeout="${3:-20}" pid
    if pid_alive "$pidfile" "$name"; then
        pid="$(cat "$pidfile")"
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_until "$timeout" "$name to exit" _pid_gone "$pid"; then
            warn "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            wait_until 5 "$name to die" _pid_gone "$pid" || true
        fi
    fi
    rm -f "$pidfile"
}
# A zombie (exited, not yet reaped by its new parent) counts as gone.
_pid_gone() {
    kill -0 "$1" 2>/dev/null || return 0
    [[ "$(sed -E 's/^.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null || true)" == Z ]]
}

# lab_down_recorded MARKER: takes down the Asterisk lab deploy/up recorded in MARKER (.state/asterisk-lab*.started:
# its directory and root, one a line), then removes MARKER; nothing when MARKER is absent. An empty MARKER (an older
# deploy/up recorded none) means the lab the environment's PBX_LAB_* name.
lab_down_recorded() {
    local marker="$1" dir="" root=""
    [[ -f "$marker" ]] || return 0
    { IFS= read -r dir && IFS= read -r root; } <"$marker" || true
    if [[ -n "$dir" ]]; then
        PBX_LAB_DIR="$dir" PBX_LAB_ROOT="${root:-$dir/root}" "$LIB/asterisk-lab" down
    else
        "$LIB/asterisk-lab" down
    fi
    rm -f "$marker"
}

# The directory of PostgreSQL's server binaries (initdb, pg_ctl). The one rule for every script and for the e2e
# harness, which asks `deploy/lib/pg bindir`: the version the project is tested with (15, bookworm's) when it
# is installed, else the newest one Debian installed.
PG_TESTED_VERSION=15
pg_bindir() {
    local d version best="" best_version=-1
    if [[ -x "/usr/lib/postgresql/$PG_TESTED_VERSION/bin/pg_ctl" ]]; then
        printf '%s\n' "/usr/lib/postgresql/$PG_TESTED_VERSION/bin"
        return 0
    fi
    for d in /usr/lib/postgresql/*/bin; do
        version="${d#/usr/lib/postgresql/}"
        version="${version%/bin}"
        # Compared as numbers: the glob sorts "9" after "16".
        if [[ -x "$d/pg_ctl" && "$version" =~ ^[0-9]+$ ]] && ((version > best_version)); then
            best="$d"
            best_version="$version"
        fi
    done
    [[ -n "$best" ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql (run deploy/lib/install-deps)"
    printf '%s\n' "$best"
}
