#!/usr/bin/env bash
# Install Turnout and run the example watch end to end on the embedded default (a SQLite file),
# replaying against SmolLM2-135M-Instruct served on the CPU by llama.cpp. Finishes by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh local
workdir=${TURNOUT_DEMO_DIR:-.demo}
mkdir -p "$workdir"
rm -f "$workdir"/turnout.db*  # a fresh database each time, so the run ids below are 1 and 2
export TURNOUT_DATABASE_URL="sqlite:///$PWD/$workdir/turnout.db"

# The model server is started, and the steps run, only once it has answered a real chat completion;
# if it dies, its last log lines and the likely cause are printed (service/cli/local_model.py).
echo "starting the local model server (llama.cpp, SmolLM2-135M-Instruct, port 8765)"
exec .venv/bin/python -m service.cli.local_model --port 8765 --log "$workdir/llama-server.log" -- bash -euxc '
.venv/bin/turnout db upgrade
.venv/bin/turnout apply -f examples/turnout.yaml
.venv/bin/turnout run basics-watch
.venv/bin/turnout results 1
'
