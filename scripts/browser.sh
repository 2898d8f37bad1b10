#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the dashboard's browser tests (Playwright drives it;
# it never downloads a browser of its own). Needs root on a machine without it.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium is installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "cannot install chromium: no apt-get; install a chromium at /usr/bin/chromium for tests/browser" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "chromium installed: $(/usr/bin/chromium --version)"
