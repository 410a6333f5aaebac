#!/usr/bin/env bash
# Prepare a Debian 12 machine for digit-ocr: system packages (only if missing), a virtualenv, and the
# locked pip requirements.
#
#   scripts/setup.sh [runtime|train|dev]     (default: runtime)
#
# runtime -> requirements/runtime.txt, train -> requirements/train.txt, dev -> requirements/dev.txt (each a
# superset of the one before). The .txt files are locks with hashes compiled from the .in files by
# `make lock`. pip is skipped when a stamp in the virtualenv of the same or a larger profile is newer than
# every lock. VENV chooses the virtualenv (default .venv); SKIP_APT=1 skips the system-package step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PROFILE="${1:-runtime}"
VENV="${VENV:-.venv}"
case "$PROFILE" in
    runtime) LEVEL=1 ;;
    train) LEVEL=2 ;;
    dev) LEVEL=3 ;;
    *) echo "usage: $0 [runtime|train|dev]" >&2; exit 2 ;;
esac
REQ="requirements/$PROFILE.txt"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# ---------------------------------------------------------------- system packages
APT_PACKAGES=(
    redis-server postgresql chromium tesseract-ocr
    fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf fonts-urw-base35 fonts-roboto
    fonts-open-sans fonts-lato fonts-cantarell fonts-hack fonts-inconsolata fonts-dseg
)

pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

install_apt_packages() {
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if [ "$pkg" = postgresql ] && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
            continue  # any PostgreSQL server version will do
        fi
        pkg_installed "$pkg" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    log "installing system packages: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null; then sudo=(sudo); else
            echo "[setup] missing packages (${missing[*]}) and not root: install them first" >&2
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

if [ "${SKIP_APT:-0}" != 1 ]; then
    if command -v dpkg-query >/dev/null; then
        install_apt_packages
    else
        log "not a Debian system: skipping system packages (need: ${APT_PACKAGES[*]})"
    fi
fi

# ---------------------------------------------------------------- virtualenv
if ! "$VENV/bin/python" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    PY="$(command -v python3.11 || command -v python3 || true)"
    if [ -z "$PY" ]; then
        echo "[setup] python3.11 (or python3) not found" >&2
        exit 1
    fi
    log "creating $VENV with $PY ($("$PY" --version 2>&1))"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    rm -f "$VENV"/.installed-*
fi

# ---------------------------------------------------------------- pip requirements
newest_req="$(ls -t requirements/*.txt | head -n1)"
up_to_date=0
for lvl in 3 2 1; do
    [ "$lvl" -ge "$LEVEL" ] || continue
    stamp="$VENV/.installed-$lvl"
    if [ -f "$stamp" ] && [ "$stamp" -nt "$newest_req" ]; then
        up_to_date=1
        break
    fi
done

if [ "$up_to_date" = 1 ]; then
    log "python requirements up to date ($PROFILE)"
else
    log "installing $REQ into $VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --require-hashes -r "$REQ"
    touch "$VENV/.installed-$LEVEL"
fi

mkdir -p var
