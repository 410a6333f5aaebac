#!/usr/bin/env bash
# Run the test suite against a throwaway PostgreSQL cluster and Redis server.
#   scripts/test.sh [pytest args...]        (make test ARGS="-k upload -x")
# Exports for pytest: DATABASE_URL (postgres://postgres@127.0.0.1:PORT/digit_ocr), REDIS_URL and
# CELERY_BROKER_URL (redis://127.0.0.1:PORT/0), MEDIA_ROOT (temp dir). All removed on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=scripts/services.sh
source scripts/services.sh

trap services_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Durability is irrelevant for a throwaway cluster.
PG_EXTRA_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
services_start_all
export STORAGE_BACKEND=local
# DEBUG is off in tests, so WhiteNoise serves the app's CSS/JS only from STATIC_ROOT (var/static).
.venv/bin/python manage.py collectstatic --noinput -v 0

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e

if [ "$rc" -eq 5 ]; then
    echo "[test] pytest collected no tests: treating as failure" >&2
    rc=1
fi
exit "$rc"
