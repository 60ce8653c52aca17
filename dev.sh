#!/usr/bin/env bash
# Huiju's two set-up commands (see README.md):
#   bash dev.sh demo   install into .venv, then run the main job (demo data + site on 127.0.0.1)
#   bash dev.sh test   install into .venv with test extras, then run the whole test suite
# Both are safe to re-run; they reinstall only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv

install() {  # install [extras]
  local extras=$1 stamp="$VENV/.installed${extras:+-$extras}"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".${extras:+[$extras]}"
    touch "$stamp"
  fi
}

install_chromium() {  # the browser tests (tests/browser) drive Debian's chromium, never a downloaded one
  if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; then
    return
  fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "dev.sh: chromium is missing and this is not root on Debian: skipping its install;" \
         "the browser tests will skip (install chromium chromium-driver fonts-wqy-microhei yourself)" >&2
    return
  fi
  echo "dev.sh: installing chromium, chromium-driver and a Chinese font for the browser tests" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null
}

start_postgres() {  # the store's tests also run on PostgreSQL
  if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if command -v pg_ctlcluster >/dev/null; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
      for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
    fi
  fi
}

case "${1:-}" in
  demo)
    shift
    install ""
    exec "$VENV/bin/huiju" demo "$@"
    ;;
  test)
    shift
    install test
    install_chromium
    start_postgres
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: bash dev.sh demo|test [args]" >&2
    exit 2
    ;;
esac
