#!/usr/bin/env bash
# Install Turnout and play the whole loop on this machine: `turnout demo` writes a workspace in ./turnout-demo
# (golden set, turnout.yaml, SQLite database), serves SmolLM2-135M-Instruct on the CPU with llama.cpp, fires the
# watch's cycles with the in-process scheduler, and ends with the recommendation, the drift report and the Slack
# message it would post. Nothing is reached but the package registries (for the install). Arguments go to
# `turnout demo` (e.g. `--cycles 3`, `--serve`, `--dir DIR`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh local,drift,api
exec .venv/bin/turnout demo "$@"
