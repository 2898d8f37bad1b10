#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: install, start the services, check the layers, types and lint, test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev,api,local,embeddings,drift
scripts/services.sh
scripts/browser.sh
.venv/bin/lint-imports
.venv/bin/mypy
.venv/bin/ruff check .
# pytest exits 5 when it collected no test: that is a failure too.
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
