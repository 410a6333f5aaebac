#!/usr/bin/env bash
# Run digit-ocr on this machine: Redis (started if none answers), migrations, static files, then the
# web server and a Celery worker in the foreground. One Ctrl-C (SIGINT) or SIGTERM stops everything.
#
# Environment (all optional): REDIS_URL (default redis://127.0.0.1:6379/0), WEB_HOST (127.0.0.1),
# WEB_PORT (8000), WEB_SERVER=gunicorn|runserver (gunicorn; runserver reloads on code changes),
# WORKER_CONCURRENCY (2), VENV (the virtualenv scripts/setup.sh made, default .venv), plus everything
# config/settings.py reads (DATABASE_URL defaults to SQLite
# in var/db.sqlite3; MEDIA_ROOT to ./media).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
WEB_HOST="${WEB_HOST:-127.0.0.1}"
WEB_PORT="${WEB_PORT:-8000}"
WEB_SERVER="${WEB_SERVER:-gunicorn}"
WORKER_CONCURRENCY="${WORKER_CONCURRENCY:-2}"

log() { printf '\033[1m[run]\033[0m %s\n' "$*" >&2; }

mkdir -p var "${MEDIA_ROOT:-media}"

PIDS=()
NAMES=()
STOPPING=0

stop_all() {
    [ "$STOPPING" = 1 ] && return 0
    STOPPING=1
    trap '' INT TERM
    local i pid deadline
    # Polite stop: SIGTERM to each main process (Celery: warm shutdown; gunicorn: graceful).
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    deadline=$((SECONDS + 15))
    for i in "${!PIDS[@]}"; do
        pid="${PIDS[$i]}"
        while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            log "${NAMES[$i]} did not stop in time: killing"
        fi
    done
    # Whatever is left in the groups (stragglers, pool children) gets SIGKILL.
    for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    log "stopped"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

start() {  # start NAME CMD...: run CMD in the background in its own process group
    local name="$1"
    shift
    set -m  # job control only while forking: the service gets its own process group
    "$@" </dev/null &
    set +m
    PIDS+=($!)
    NAMES+=("$name")
    log "started $name (pid $!): $*"
}

# ---------------------------------------------------------------- Redis
read -r REDIS_HOST REDIS_PORT < <($PY -c 'import sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1]); print(u.hostname or "127.0.0.1", u.port or 6379)' "$REDIS_URL")

redis_up() {
    $PY -c 'import sys, redis; redis.Redis.from_url(sys.argv[1], socket_timeout=1).ping()' "$REDIS_URL" \
        >/dev/null 2>&1
}

if redis_up; then
    log "using the Redis already answering at $REDIS_URL"
else
    case "$REDIS_HOST" in
        127.0.0.1 | localhost | ::1) ;;
        *) log "Redis at $REDIS_URL does not answer (and is not local, so not started here)"; exit 1 ;;
    esac
    mkdir -p var/redis
    start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --dir "$ROOT/var/redis"
    for _ in $(seq 1 100); do
        redis_up && break
        sleep 0.1
    done
    redis_up || { log "redis-server did not come up on port $REDIS_PORT"; exit 1; }
fi

# ---------------------------------------------------------------- Django
$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0

# ---------------------------------------------------------------- web + worker
if [ "$WEB_SERVER" = runserver ]; then
    start web "$PY" manage.py runserver "$WEB_HOST:$WEB_PORT"
else
    start web "$VENV/bin/gunicorn" config.wsgi:application --bind "$WEB_HOST:$WEB_PORT" \
        --workers 2 --threads 4 --timeout 120 --access-logfile -
fi
start worker "$VENV/bin/celery" -A config worker --loglevel=INFO --concurrency="$WORKER_CONCURRENCY"
# Fine-tuning (learning/): the one worker that imports TensorFlow, on its own queue, one run at a time.
start training "$VENV/bin/celery" -A config worker --loglevel=INFO --concurrency=1 \
    -Q "${OCR_QUEUE_PREFIX:-}training" -n "training@%h"
start beat "$VENV/bin/celery" -A config beat --loglevel=INFO --schedule var/celerybeat-schedule

log "digit-ocr on http://$WEB_HOST:$WEB_PORT/ — press Ctrl-C to stop"

# Wait until a signal arrives or one of the services exits on its own (then stop the others).
set +e
wait -n "${PIDS[@]}"
rc=$?
set -e
if [ "$STOPPING" = 0 ]; then
    log "a service exited (status $rc): stopping the others"
    stop_all
    exit "$(( rc == 0 ? 1 : rc ))"
fi
