#!/usr/bin/env bash
# Set up a fresh machine: ffmpeg (Debian/Ubuntu), a virtualenv in .venv, the project and its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
# ffmpeg, bsdtar (archives) and script (the pseudo-terminal test; util-linux's bsdutils).
if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v bsdtar >/dev/null 2>&1 || ! command -v script >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg libarchive-tools bsdutils >/dev/null
  else
    echo "ffmpeg is missing: install it with your package manager" >&2; exit 1
  fi
fi
# Debian's chromium + chromedriver drive the browser test of the Dagster UI (skipped without them).
if { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; } && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null 2>&1 ||
    echo "note: could not install chromium/chromium-driver; the browser test will be skipped" >&2
fi
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q -e '.[test]'
echo "ready: .venv (activate with 'source .venv/bin/activate')"
