# shellcheck shell=bash
# Throwaway PostgreSQL and Redis servers on free loopback ports, for tests and benchmarks.
# Source this file, then:
#
#   trap services_stop EXIT
#   services_start_all          # exports DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, MEDIA_ROOT
#
# Everything lives under one temp dir ($SERVICES_TMP) removed by services_stop.
# PG_EXTRA_OPTS: extra `postgres` options (test.sh turns durability off for speed).

SERVICES_ROOT="${SERVICES_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
SERVICES_TMP=""
PG_DIR=""
PG_BIN=""
REDIS_PID=""

_svc_log() { printf '\033[1m[services]\033[0m %s\n' "$*" >&2; }

_svc_python() {
    if [ -x "$SERVICES_ROOT/.venv/bin/python" ]; then echo "$SERVICES_ROOT/.venv/bin/python"; else command -v python3; fi
}

free_port() { "$(_svc_python)" "$SERVICES_ROOT/scripts/free_port.py" "${1:-1}"; }

# Run a command as the postgres user when we are root (PostgreSQL refuses to run as root).
_as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_find_pg_bin() {
    local d
    if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then return 0; fi
    # Newest installed major version under /usr/lib/postgresql/<N>/bin (Debian layout), else the
    # directory that an initdb on PATH really lives in (it may be a symlink).
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
        d="$(dirname "$(readlink -f "$(command -v initdb || echo /nonexistent)")")"
    fi
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/createdb" ]; then
        PG_BIN="$d"
        return 0
    fi
    _svc_log "PostgreSQL server binaries (initdb, pg_ctl) not found: run scripts/setup.sh"
    return 1
}

_services_tmp() {
    if [ -z "$SERVICES_TMP" ]; then
        SERVICES_TMP="$(mktemp -d "${TMPDIR:-/tmp}/digit-ocr-services.XXXXXX")"
        chmod 755 "$SERVICES_TMP"
    fi
}

services_start_postgres() {
    _find_pg_bin || return 1
    _services_tmp
    PG_DIR="$SERVICES_TMP/pg"
    mkdir -p "$PG_DIR/sock"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$PG_DIR"; fi
    chmod 700 "$PG_DIR"
    _as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    local attempt
    for attempt in 1 2 3; do
        PG_PORT="$(free_port)"
        if _as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
            -o "-p $PG_PORT -k $PG_DIR/sock -c listen_addresses=127.0.0.1 ${PG_EXTRA_OPTS:-}" \
            start >/dev/null; then
            break
        fi
        _svc_log "postgres did not start on port $PG_PORT (attempt $attempt)"
        tail -n 20 "$PG_DIR/server.log" >&2 || true
        [ "$attempt" -lt 3 ] || return 1
    done
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres digit_ocr
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/digit_ocr"
    export PG_PORT
    _svc_log "postgres $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
}

# Start redis-server in the background on PORT (default: a free one); waits until it answers.
services_start_redis() {
    local port="${1:-}" attempt i
    _services_tmp
    mkdir -p "$SERVICES_TMP/redis"
    for attempt in 1 2 3; do
        [ -n "$port" ] && [ "$attempt" -eq 1 ] || port="$(free_port)"
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
            --dir "$SERVICES_TMP/redis" --logfile "$SERVICES_TMP/redis/redis.log" </dev/null &
        REDIS_PID=$!
        for i in $(seq 1 100); do
            if ! kill -0 "$REDIS_PID" 2>/dev/null; then break; fi
            if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
                REDIS_PORT="$port"
                export REDIS_PORT
                export REDIS_URL="redis://127.0.0.1:$port/0"
                export CELERY_BROKER_URL="$REDIS_URL"
                _svc_log "redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$port"
                return 0
            fi
            sleep 0.1
        done
        _svc_log "redis did not start on port $port (attempt $attempt)"
        tail -n 20 "$SERVICES_TMP/redis/redis.log" >&2 || true
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        REDIS_PID=""
    done
    return 1
}

services_start_all() {
    services_start_postgres
    services_start_redis
    _services_tmp
    mkdir -p "$SERVICES_TMP/media"
    export MEDIA_ROOT="$SERVICES_TMP/media"
}

services_stop() {
    local i
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null || true
        for i in $(seq 1 50); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        REDIS_PID=""
    fi
    if [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
        _as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
            || _as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    PG_DIR=""
    if [ -n "$SERVICES_TMP" ] && [ -d "$SERVICES_TMP" ]; then
        rm -rf "$SERVICES_TMP"
    fi
    SERVICES_TMP=""
}
