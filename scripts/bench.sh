#!/usr/bin/env bash
# Throughput benchmark of the whole service (make bench ARGS="--workers 2 --scaling --reference").
# Starts the same throwaway PostgreSQL + Redis as scripts/test.sh (DATABASE_URL, REDIS_URL,
# CELERY_BROKER_URL, MEDIA_ROOT exported), migrates, then runs `python -m bench.run`, which starts
# gunicorn and Celery itself. Everything started here stops on exit, Ctrl-C or SIGTERM.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=scripts/services.sh
source scripts/services.sh

BENCH_PID=""
stop_bench() {  # bench.run stops gunicorn and Celery itself on SIGTERM
    if [ -n "$BENCH_PID" ]; then
        kill -TERM "$BENCH_PID" 2>/dev/null || true
        wait "$BENCH_PID" 2>/dev/null || true
        BENCH_PID=""
    fi
}
trap 'stop_bench; services_stop' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# PostgreSQL keeps its default durability settings (unlike the tests): commits cost what they cost.
services_start_all
export STORAGE_BACKEND=local
export OCR_UPLOAD_RATE="${OCR_UPLOAD_RATE:-1000000/minute}"  # the benchmark uploads hundreds of jobs a minute
export BENCH_TMP="$SERVICES_TMP"  # zips and logs, removed with the services
export BENCH_PG_PID_FILE="$PG_DIR/data/postmaster.pid" BENCH_REDIS_PID="$REDIS_PID"  # for CPU accounting
.venv/bin/python manage.py migrate --noinput -v 0

# In the background so that a signal to this shell runs the traps at once (wait is interruptible).
.venv/bin/python -m bench.run "$@" &
BENCH_PID=$!
rc=0
wait "$BENCH_PID" || rc=$?
BENCH_PID=""
exit "$rc"
