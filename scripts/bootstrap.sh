#!/usr/bin/env bash
# Create .venv (if needed) and install Turnout with the given extras, e.g. `scripts/bootstrap.sh dev,api,local`.
# llama-cpp-python (extra `local`) is built once per version and CPU flags (scripts/llama_wheel.sh, 4-12 min on
# 2 cores) into a cache outside the clone, and installed from there.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Turnout needs Python 3.11 or newer; $python is $("$python" --version 2>&1)" >&2
  exit 1
fi
apt_install() {  # on a fresh Debian/Ubuntu machine (as root), bring what the build needs
  command -v apt-get >/dev/null 2>&1 || return 1
  [ -n "${_apt_updated:-}" ] || { apt-get update -qq; _apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    rm -rf .venv   # Debian splits venv out of Python: python3-venv
    apt_install python3-venv || { echo "cannot create a virtual environment: install python3-venv" >&2; exit 1; }
    "$python" -m venv .venv
  fi
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
case ",$extras," in
  *,local,*)  # llama-cpp-python compiles llama.cpp
    command -v c++ >/dev/null 2>&1 && command -v objdump >/dev/null 2>&1 || apt_install build-essential || {
      echo "the [local] extra compiles llama.cpp: install a C++ compiler (build-essential)" >&2; exit 1; }
    scripts/llama_wheel.sh ;;
esac
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${extras}]"
