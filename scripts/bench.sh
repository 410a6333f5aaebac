#!/usr/bin/env bash
# Benchmark harness (placeholder: the lead fills in the actual benchmark).
# Starts the same throwaway PostgreSQL + Redis as scripts/test.sh (DATABASE_URL, REDIS_URL,
# CELERY_BROKER_URL, MEDIA_ROOT exported), then runs bench/run.py if it exists.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=scripts/services.sh
source scripts/services.sh

trap services_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

services_start_all
export STORAGE_BACKEND=local

if [ -f bench/run.py ]; then
    .venv/bin/python manage.py migrate --noinput
    .venv/bin/python bench/run.py "$@"
else
    echo "[bench] TODO: no bench/run.py yet (services were started and stopped fine)" >&2
fi
