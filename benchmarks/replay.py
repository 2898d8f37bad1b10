"""Replay throughput: Turnout against the bare `openai` SDK ceiling and against promptfoo.

    .venv/bin/python benchmarks/replay.py --profile   # the full run (1,000 cases; about 9 minutes)
    .venv/bin/python benchmarks/replay.py --quick --no-promptfoo   # a smoke run (about 20 s)

Every client talks to `benchmarks/peer_server.py` (the test suite's OpenAI peer, in a process of its
own, fixed latency before the first byte), one after the other, at concurrency C. Each measured
client runs as a child process, so its CPU time is its own rusage (start-up included):

- `sdk`: `AsyncOpenAI(max_retries=0)` with a semaphore of C, streaming with usage, temperature 0,
  max_tokens, warmed up by one request: the most a Python client using the SDK's objects does here;
- `turnout/sqlite`, `turnout/postgres`: the whole `turnout run WATCH --json` (replay, scoring,
  storage, analysis) with the model's `max_concurrency: C`;
- `promptfoo`: `promptfoo eval -j C --no-cache` on the same cases, and once with its default `-j`.

items/s counts from the first request the peer receives to the last stored result (Turnout: the
last completion's `created_at`; the SDK: its last answer read; promptfoo: the last answer the
peer sent). Wall time is the whole command. Figures go to stdout as a table and to
benchmarks/results/replay.json (`--out`). This is a measurement, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
TURNOUT = str(Path(PYTHON).with_name("turnout"))
PROMPTFOO_DIR = HERE / ".promptfoo"
PROMPTFOO_VERSION = "0.121.20"
MODEL = "bench-model"
MAX_TOKENS = 32
PG_DATABASE = "turnout_bench"
TARGET_CEILING = 0.90
TARGET_PROMPTFOO = 2.0
PEER_CHECK_CONCURRENCY = (64, 256)
REPEAT_FROM_IDEAL = 100
"""Runs at C = 4 (40 items/s at best) take 30-45 s and vary by 2 %; faster ones are repeated."""


@dataclass
class Row:
    """One measured command."""

    client: str
    concurrency: int
    n: int
    items_per_s: float | None
    wall_s: float
    cpu_ms_per_item: float
    errors: int = 0
    peer_cpu_ms_per_item: float | None = None
    other_cores: float | None = None
    """CPU that neither the client nor the peer used during the command, in cores: other processes
    (PostgreSQL's server, for turnout/postgres), or someone else's load that makes the row suspect."""
    extra: dict[str, Any] = field(default_factory=dict)


# -- the cases, the same for every client --

def make_cases(n: int) -> list[dict[str, Any]]:
    """Cases whose question tells the peer its answer (an 8-token sentence) and whose expected is it."""
    colours = ["amber", "blue", "cyan", "green", "indigo", "magenta", "olive", "red", "teal", "violet"]
    cases = []
    for i in range(n):
        answer = f"The code word for case {i} is {colours[i % len(colours)]}."
        question = (f"Case {i}: read the note and reply with the code word sentence only.\n"
                    f"Note: the archive lists {i * 7 % 101} entries under section {i % 13}.\nANSWER: {answer}")
        cases.append({"id": f"case-{i:05d}", "input": question, "expected": answer,
                      "tags": [f"lang:{'fr' if i % 5 == 0 else 'en'}"]})
    return cases


def turnout_yaml(base_url: str, concurrencies: list[int]) -> str:
    """One golden set, and per C a model with `max_concurrency: C` and a watch `bench-cC` on it."""
    lines = ["golden_sets:", "  - {name: bench, file: cases.jsonl, privacy: internal}", "models:"]
    for c in concurrencies:
        lines += [f"  - name: bench-model-c{c}", "    kind: openai", f"    base_url: {base_url}",
                  f"    model: {MODEL}", f"    params: {{temperature: 0, max_tokens: {MAX_TOKENS}}}",
                  f"    max_concurrency: {c}", "    stream: true", "    timeout_s: 30", "    hosting: api",
                  "    pricing: {input_per_mtok: 0.15, output_per_mtok: 0.6}"]
    lines.append("watches:")
    for c in concurrencies:
        lines += [f"  - name: bench-c{c}", "    golden_set: bench", f"    production: bench-model-c{c}",
                  '    template: "{input}"', "    scorers: [exact_match]"]
    return "\n".join(lines) + "\n"


def promptfoo_config(base_url: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    provider = {"id": f"openai:chat:{MODEL}",
                "config": {"apiBaseUrl": base_url, "apiKey": "unused", "temperature": 0, "max_tokens": MAX_TOKENS}}
    tests = [{"vars": {"input": c["input"]}, "assert": [{"type": "equals", "value": c["expected"]}]} for c in cases]
    return {"description": "turnout replay benchmark", "prompts": ["{{input}}"], "providers": [provider],
            "tests": tests}


# -- the peer --

class Peer:
    """benchmarks/peer_server.py in its own process."""

    def __init__(self, latency_s: float) -> None:
        self.process = subprocess.Popen(
            [PYTHON, str(HERE / "peer_server.py"), "--latency-s", str(latency_s), "--model", MODEL],
            stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("benchmarks/peer_server.py did not start")
        info = json.loads(line)
        self.base_url: str = info["base_url"]
        self.server = f"{info['workers']} worker(s), {info['loop']}+{info['http']}"
        self.root = self.base_url.removesuffix("/v1")

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.root + "/stats/reset", method="POST")).read()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = json.loads(urllib.request.urlopen(self.root + "/stats").read())
        return stats

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def _raw_load(host: str, port: int, body: bytes, concurrency: int, n: int) -> int:
    """Hammer the peer with the cheapest possible HTTP/1.1 client; returns the answers that were not 200."""
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode()
    left, bad = n, 0

    async def worker() -> None:
        nonlocal left, bad
        reader, writer = await asyncio.open_connection(host, port)
        while left > 0:
            left -= 1
            writer.write(head + body)
            status = await reader.readuntil(b"\r\n\r\n")
            bad += not status.startswith(b"HTTP/1.1 200")
            await reader.readuntil(b"\r\n0\r\n\r\n")  # the end of a chunked (streamed) body
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return bad


def peer_ceiling(peer: Peer, cases: list[dict[str, Any]], concurrency: int, n: int) -> Row:
    """What the peer serves to a client that costs almost nothing: it must exceed C / latency."""
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": cases[0]["input"]}],
                       "stream": True, "stream_options": {"include_usage": True}, "temperature": 0,
                       "max_tokens": MAX_TOKENS}).encode()
    host, port = peer.root.removeprefix("http://").split(":")
    peer.reset()
    before = peer.stats()
    started = time.monotonic()
    try:
        import uvloop

        bad = uvloop.run(_raw_load(host, int(port), body, concurrency, n))
    except ImportError:
        bad = asyncio.run(_raw_load(host, int(port), body, concurrency, n))
    wall = time.monotonic() - started
    stats = peer.stats()
    return Row("peer (raw HTTP client)", concurrency, stats["answered"], _rate(stats["answered"], stats),
               wall, float("nan"), errors=bad, peer_cpu_ms_per_item=_peer_cpu(stats, stats["answered"], before))


# -- child processes, timed with their own rusage --

@dataclass
class Child:
    returncode: int
    wall_s: float
    cpu_s: float
    stdout: str
    stderr: str
    machine_busy_s: float
    """CPU seconds every process of the machine used meanwhile (from /proc/stat)."""
    started_at: float
    """When it was started (epoch seconds)."""

    def phases(self, stats: dict[str, Any], last: float | None = None) -> dict[str, float | None]:
        """Seconds from the start to the first request the peer received, and from the last
        result (*last*, else the peer's last answer) to the command's exit."""
        first, last = stats["first_arrival"], last or stats["last_done"]
        return {"to_first_request_s": first - self.started_at if first else None,
                "after_last_result_s": self.started_at + self.wall_s - last if last else None}

    def other_cores(self, peer_before: dict[str, Any], peer_after: dict[str, Any]) -> float:
        peer_s = float(peer_after["cpu_s"] - peer_before["cpu_s"])
        return max(0.0, self.machine_busy_s - self.cpu_s - peer_s) / self.wall_s


def machine_busy_s() -> float:
    """CPU seconds all processes have used since boot (0 where /proc/stat is missing)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_child(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Child:
    """Run a command to its end; its CPU time (user + system, its waited-for children included) from wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        busy, started, started_at = machine_busy_s(), time.monotonic(), time.time()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        wall, busy = time.monotonic() - started, machine_busy_s() - busy
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(process.returncode, wall, usage.ru_utime + usage.ru_stime, out.read(), err.read(), busy,
                     started_at)


def _checked(child: Child, what: str) -> Child:
    if child.returncode != 0:
        raise RuntimeError(f"{what} exited with {child.returncode}:\n{child.stderr[-3000:]}\n{child.stdout[-2000:]}")
    return child


def _rate(n: int, stats: dict[str, Any], last: float | None = None) -> float | None:
    first, last = stats["first_arrival"], last if last is not None else stats["last_done"]
    return n / (last - first) if first and last and last > first else None


def _peer_cpu(stats: dict[str, Any], n: int, before: dict[str, Any] | None = None) -> float | None:
    """The peer's CPU ms per item over one measurement (stats/reset does not reset rusage)."""
    if before is None or not n:
        return None
    return float(stats["cpu_s"] - before["cpu_s"]) * 1000 / n


# -- the bare SDK loop (also the body of the `_sdk` child process) --

async def sdk_loop(base_url: str, cases_file: Path, concurrency: int) -> dict[str, Any]:
    import openai

    cases = [json.loads(line) for line in cases_file.read_text().splitlines()]
    client = openai.AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0)
    limit = asyncio.Semaphore(concurrency)
    errors, last_done = 0, 0.0
    # One request first, then the peer counts afresh: the SDK builds its response models on first
    # use, which would otherwise lower the ceiling by a warm-up that Turnout pays before its first request.
    warm = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "ANSWER: ok"}],
                                                 stream=True, stream_options={"include_usage": True})
    async for _ in warm:
        pass
    root = base_url.removesuffix("/v1")
    await asyncio.to_thread(lambda: urllib.request.urlopen(urllib.request.Request(root + "/stats/reset",
                                                                                  method="POST")).read())

    async def one(case: dict[str, Any]) -> None:
        nonlocal errors, last_done
        async with limit:
            try:
                stream = await client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": case["input"]}], stream=True,
                    stream_options={"include_usage": True}, temperature=0, max_tokens=MAX_TOKENS)
                parts, usage = [], None
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        parts.append(chunk.choices[0].delta.content)
                    usage = chunk.usage or usage
                errors += "".join(parts) != case["expected"] or usage is None
            except openai.OpenAIError:
                errors += 1
            last_done = time.time()

    await asyncio.gather(*(one(case) for case in cases))
    await client.close()
    return {"n": len(cases), "errors": errors, "last_done": last_done}


def measure_sdk(peer: Peer, cases_file: Path, n: int, concurrency: int) -> Row:
    peer.reset()
    before = peer.stats()
    child = _checked(run_child([PYTHON, __file__, "_sdk", peer.base_url, str(cases_file), str(concurrency)]),
                     "the SDK loop")
    stats, result = peer.stats(), json.loads(child.stdout)
    return Row("sdk", concurrency, n, _rate(n, stats, result["last_done"]), child.wall_s, child.cpu_s * 1000 / n,
               errors=result["errors"], peer_cpu_ms_per_item=_peer_cpu(stats, n, before),
               other_cores=child.other_cores(before, stats), extra=child.phases(stats, result["last_done"]))


# -- Turnout's replay engine alone (the body of the `_engine` child process) --

def model_spec_data(base_url: str, concurrency: int) -> dict[str, Any]:
    """The benchmark's model, as turnout.yaml declares it."""
    return {"name": f"bench-model-c{concurrency}", "kind": "openai", "base_url": base_url, "model": MODEL,
            "params": {"temperature": 0, "max_tokens": MAX_TOKENS}, "max_concurrency": concurrency,
            "stream": True, "timeout_s": 30, "hosting": "api",
            "pricing": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}


async def engine_loop(base_url: str, cases_file: Path, concurrency: int) -> dict[str, Any]:
    """`evals.replay.replay` with the provider `turnout run` builds, and nothing stored."""
    from evals.models import ModelSpec
    from evals.providers.base import Request
    from evals.replay import replay
    from jobs.providers import provider_for

    cases = [json.loads(line) for line in cases_file.read_text().splitlines()]
    expected = {c["id"]: c["expected"] for c in cases}
    provider = provider_for(ModelSpec.model_validate(model_spec_data(base_url, concurrency)))
    requests = (Request(case_id=c["id"], repetition=0, messages=[{"role": "user", "content": c["input"]}])
                for c in cases)
    n = errors = 0
    last_done = 0.0
    try:
        async for batch in replay(requests, provider=provider, max_concurrency=concurrency, batch_size=64):
            last_done = time.time()
            n += len(batch)
            errors += sum(c.output != expected[c.case_id] for c in batch)
    finally:
        await provider.aclose()
    return {"n": n, "errors": errors, "last_done": last_done}


def measure_engine(peer: Peer, cases_file: Path, n: int, concurrency: int) -> Row | None:
    """The engine without start-up of the CLI, storage or scoring; None (with a warning) if it cannot run."""
    peer.reset()
    before = peer.stats()
    child = run_child([PYTHON, __file__, "_engine", peer.base_url, str(cases_file), str(concurrency)], cwd=ROOT)
    if child.returncode != 0:
        print(f"  (the engine alone could not run: {child.stderr.strip().splitlines()[-1:]})", flush=True)
        return None
    stats, result = peer.stats(), json.loads(child.stdout)
    return Row("turnout engine (no storage)", concurrency, n, _rate(result["n"], stats, result["last_done"]),
               child.wall_s, child.cpu_s * 1000 / n, errors=result["errors"] + n - result["n"],
               peer_cpu_ms_per_item=_peer_cpu(stats, n, before), other_cores=child.other_cores(before, stats),
               extra=child.phases(stats, result["last_done"]))


# -- turnout --

def _created_at(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # Turnout stores UTC
    return float(value.timestamp())


def measure_turnout(peer: Peer, workdir: Path, url: str, label: str, n: int, concurrency: int,
                    profile_to: Path | None = None) -> Row:
    import sqlalchemy as sa

    env = {**os.environ, "TURNOUT_DATABASE_URL": url}
    argv = [TURNOUT, "run", f"bench-c{concurrency}", "--json"]
    if profile_to is not None:
        # --gil: samples of the thread holding the GIL, i.e. what the one event-loop thread spends
        # its time on (idle pool threads would otherwise pass for busy ones).
        argv = [str(Path(PYTHON).with_name("py-spy")), "record", "--format", "raw", "--rate", "250", "--gil",
                "-o", str(profile_to), "--", *argv]
    peer.reset()
    before = peer.stats()
    child = _checked(run_child(argv, env=env, cwd=workdir), f"turnout run ({label}, C={concurrency})")
    stats = peer.stats()
    out, _ = json.JSONDecoder().raw_decode(child.stdout[child.stdout.index("{"):])  # py-spy may print after it
    run = out["runs"][0]
    engine = sa.create_engine(_sa_url(url))
    with engine.connect() as connection:
        last, stored = connection.execute(
            sa.text("SELECT max(created_at), count(*) FROM completion WHERE run_id = :run"), {"run": run["run_id"]}
        ).one()
    engine.dispose()
    return Row(label, concurrency, n, _rate(stored, stats, _created_at(last)), child.wall_s,
               child.cpu_s * 1000 / n, errors=run["n_errors"] + (n - stored),
               peer_cpu_ms_per_item=_peer_cpu(stats, n, before), other_cores=child.other_cores(before, stats),
               extra={**child.phases(stats, _created_at(last)), "state": out["state"],
                      "score_mean": run["score_mean"], "cost_usd": run["cost_usd"]})


def _sa_url(url: str) -> str:
    return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


def prepare_turnout(workdir: Path, url: str) -> None:
    env = {**os.environ, "TURNOUT_DATABASE_URL": url}
    _checked(run_child([TURNOUT, "db", "upgrade"], env=env, cwd=workdir), "turnout db upgrade")
    _checked(run_child([TURNOUT, "apply", "-f", "turnout.yaml"], env=env, cwd=workdir), "turnout apply")


@contextmanager
def scratch_postgres(admin_url: str, name: str) -> Iterator[str]:
    """A scratch database *name* on the server of *admin_url*, made afresh and dropped afterwards."""
    import psycopg

    def execute(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(sql)

    execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- promptfoo --

def promptfoo_bin() -> Path | None:
    path = PROMPTFOO_DIR / "node_modules" / ".bin" / "promptfoo"
    return path if path.exists() else None


def install_promptfoo() -> Path:
    """`npm install promptfoo@0.121.20` into benchmarks/.promptfoo (once; it is gitignored)."""
    if (found := promptfoo_bin()) is not None:
        return found
    if shutil.which("npm") is None:
        raise RuntimeError("promptfoo needs Node.js 20 and npm; install them or pass --no-promptfoo")
    PROMPTFOO_DIR.mkdir(exist_ok=True)
    (PROMPTFOO_DIR / "package.json").write_text('{"name": "turnout-bench-promptfoo", "private": true}\n')
    print(f"installing promptfoo@{PROMPTFOO_VERSION} into {PROMPTFOO_DIR} (once) ...", flush=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", f"promptfoo@{PROMPTFOO_VERSION}"],
                   cwd=PROMPTFOO_DIR, check=True, stdout=subprocess.DEVNULL)
    found = promptfoo_bin()
    assert found is not None
    return found


def measure_promptfoo(peer: Peer, workdir: Path, binary: Path, n: int, concurrency: int | None) -> Row:
    env = {**os.environ, "PROMPTFOO_CACHE_ENABLED": "false", "PROMPTFOO_DISABLE_TELEMETRY": "1",
           "PROMPTFOO_DISABLE_UPDATE": "1", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "",
           "NO_PROXY": "127.0.0.1,localhost", "OPENAI_API_KEY": "unused",
           "PROMPTFOO_CONFIG_DIR": str(workdir / "promptfoo-home"), "NODE_NO_WARNINGS": "1"}
    argv = [str(binary), "eval", "-c", "promptfooconfig.json", "--no-cache", "--no-progress-bar", "--no-table"]
    if concurrency is not None:
        argv += ["-j", str(concurrency)]
    peer.reset()
    before = peer.stats()
    child = run_child(argv, env=env, cwd=workdir)
    if child.returncode not in (0, 100):  # 100: some assertions failed, which is reported, not fatal
        _checked(child, "promptfoo eval")
    stats = peer.stats()
    label = "promptfoo" if concurrency is not None else "promptfoo (default -j)"
    return Row(label, concurrency or 4, n, _rate(stats["answered"], stats), child.wall_s, child.cpu_s * 1000 / n,
               errors=n - stats["answered"] + (child.returncode == 100),
               peer_cpu_ms_per_item=_peer_cpu(stats, n, before), other_cores=child.other_cores(before, stats),
               extra=child.phases(stats))


# -- the profile --

_AREAS = {"openai": "openai SDK", "httpx2": "httpx2/httpcore", "httpcore": "httpx2/httpcore", "h11": "httpx2/httpcore",
          "anyio": "anyio", "pydantic": "pydantic", "pydantic_core": "pydantic", "sqlalchemy": "SQLAlchemy/SQLModel",
          "sqlmodel": "SQLAlchemy/SQLModel", "sqlite3": "sqlite3/psycopg", "psycopg": "sqlite3/psycopg",
          "evals": "Turnout evals/", "jobs": "Turnout jobs/", "service": "Turnout service/", "numpy": "numpy/scipy",
          "scipy": "numpy/scipy", "alembic": "alembic"}
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:]*)(?::\d+)?\)$")


def _frame(frame: str) -> tuple[str, str]:
    """`func (path:line)` as (func in path, the path's top-level package or module)."""
    found = _FRAME.match(frame)
    if found is None:
        return frame, ""
    path = found["file"].replace(str(ROOT) + "/", "")
    return f"{found['func']} ({path})", path.split("/", 1)[0].removesuffix(".py")


def summarize_profile(path: Path, top: int = 15) -> str:
    """py-spy's collapsed stacks as: the share of on-CPU samples per area (the library of the
    innermost frame that is not the standard library; imports apart), the hottest functions, and
    Turnout's functions counted with everything they call."""
    areas: dict[str, int] = {}
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";") if not f.startswith("process ")]  # py-spy's own root
        total += n
        if not frames:
            areas["native (no Python frame)"] = areas.get("native (no Python frame)", 0) + n
            continue
        if any("importlib._bootstrap" in name for name, _ in frames):
            area = "imports (start-up)"
        else:
            area = next((_AREAS[pkg] for _, pkg in reversed(frames) if pkg in _AREAS), "stdlib (asyncio loop...)")
        areas[area] = areas.get(area, 0) + n
        own[frames[-1][0]] = own.get(frames[-1][0], 0) + n
        for name in {name for name, pkg in frames if pkg in ("evals", "jobs", "service")}:
            inclusive[name] = inclusive.get(name, 0) + n
    if not total:
        return "no samples"

    def ranked(table: dict[str, int], k: int) -> list[str]:
        return [f"  {v / total:6.1%}  {name}" for name, v in sorted(table.items(), key=lambda kv: -kv[1])[:k]]

    return "\n".join([f"{total} samples on CPU", "by area:", *ranked(areas, 20), "hottest functions (self):",
                      *ranked(own, top), "Turnout's functions (with what they call):", *ranked(inclusive, top + 10)])


# -- the report --

def _find(rows: list[Row], client: str, c: int) -> Row | None:
    return next((r for r in rows if r.client == client and r.concurrency == c), None)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def verdicts(rows: list[Row], concurrencies: list[int], latency_s: float) -> list[dict[str, Any]]:
    """Each target, per database and C: the figure, the bar and whether it is met."""
    checks = []
    peer = [r for r in rows if r.client.startswith("peer")]
    if peer:
        best = max(peer, key=lambda r: r.items_per_s or 0)
        bar = 64 / latency_s
        checks.append({"target": f"peer serves > {bar:.0f} req/s", "client": best.client,
                       "concurrency": best.concurrency, "value": best.items_per_s, "bar": bar,
                       "met": (best.items_per_s or 0) > bar})
    for db in ("turnout/sqlite", "turnout/postgres"):
        for c in concurrencies:
            ours, sdk, pf = _find(rows, db, c), _find(rows, "sdk", c), _find(rows, "promptfoo", c)
            if ours is None:
                continue
            if sdk is not None:
                value = _ratio(ours.items_per_s, sdk.items_per_s)
                checks.append({"target": "items/s >= 90% of SDK", "client": db, "concurrency": c, "value": value,
                               "bar": TARGET_CEILING, "met": value is not None and value >= TARGET_CEILING})
            if pf is not None:
                value = _ratio(ours.items_per_s, pf.items_per_s)
                checks.append({"target": "items/s >= 2x promptfoo", "client": db, "concurrency": c, "value": value,
                               "bar": TARGET_PROMPTFOO, "met": value is not None and value >= TARGET_PROMPTFOO})
                value = _ratio(pf.wall_s, ours.wall_s)
                checks.append({"target": "wall faster than promptfoo", "client": db, "concurrency": c,
                               "value": value, "bar": 1.0, "met": ours.wall_s < pf.wall_s})
    return checks


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None or value != value else format(value, spec)


def render(rows: list[Row], checks: list[dict[str, Any]], concurrencies: list[int]) -> str:
    out = ["| client | C | items/s | ideal | wall s | to 1st request s | after last s | CPU ms/item | "
           "peer CPU ms/item | other CPU (cores) | ÷ SDK | ÷ promptfoo | errors |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        sdk, pf = _find(rows, "sdk", r.concurrency), _find(rows, "promptfoo", r.concurrency)
        vs_sdk = _ratio(r.items_per_s, sdk.items_per_s) if sdk and r.client[:4] in ("turn", "prom") else None
        vs_pf = _ratio(r.items_per_s, pf.items_per_s) if pf and r.client.startswith("turnout") else None
        out.append(f"| {r.client} | {r.concurrency} | {_fmt(r.items_per_s, '.1f')} | {r.extra.get('ideal', '')} | "
                   f"{r.wall_s:.2f} | {_fmt(r.extra.get('to_first_request_s'), '.2f')} | "
                   f"{_fmt(r.extra.get('after_last_result_s'), '.2f')} | {_fmt(r.cpu_ms_per_item, '.2f')} | "
                   f"{_fmt(r.peer_cpu_ms_per_item, '.2f')} | "
                   f"{_fmt(r.other_cores, '.2f')} | "
                   f"{_fmt(vs_sdk, '.0%')} | {_fmt(vs_pf, '.2f')} | {r.errors} |")
    if checks:
        out += ["", "| target | client | C | figure | met |", "|---|---|---:|---:|---|"]
        for check in checks:
            figure = _fmt(check["value"], ".0%" if check["bar"] < 1 else ".2f" if check["bar"] < 10 else ".0f")
            out.append(f"| {check['target']} | {check['client']} | {check['concurrency']} | {figure} | "
                       f"{'yes' if check['met'] else 'NO'} |")
    return "\n".join(out)


# -- main --

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Replay throughput against the SDK ceiling and promptfoo.")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 32 cases at C = 16")
    parser.add_argument("--cases", type=int, help="golden-set size (default 1000; 32 with --quick)")
    parser.add_argument("--concurrency", type=int, nargs="+", help="C values (default 4 16 64)")
    parser.add_argument("--latency-s", type=float, default=0.1, help="the peer's fixed latency")
    parser.add_argument("--no-promptfoo", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=2,
                        help=f"runs of each client at a C whose ideal is at least {REPEAT_FROM_IDEAL} items/s, "
                             "keeping the fastest (default %(default)s; 1 with --quick)")
    parser.add_argument("--no-engine", action="store_true",
                        help="skip the row of Turnout's replay engine alone (in-process, nothing stored)")
    parser.add_argument("--postgres-url", default=os.environ.get("TURNOUT_BENCH_POSTGRES_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="the PostgreSQL server, as a URL of a database there that may be connected to")
    parser.add_argument("--postgres-database", default=PG_DATABASE,
                        help="the scratch database made and dropped there (default %(default)s)")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, run `turnout run` at the largest C on SQLite under py-spy")
    parser.add_argument("--out", type=Path, help="JSON output (default benchmarks/results/replay.json; "
                                                 "replay-quick.json with --quick)")
    args = parser.parse_args(argv)
    n = args.cases or (32 if args.quick else 1000)
    if args.quick:
        args.repeat = 1
    concurrencies = args.concurrency or ([16] if args.quick else [4, 16, 64])
    out_path = args.out or HERE / "results" / ("replay-quick.json" if args.quick else "replay.json")
    binary = None if args.no_promptfoo else install_promptfoo()

    cases = make_cases(n)
    rows: list[Row] = []
    load_before = os.getloadavg()
    started = time.monotonic()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="turnout-bench-")))
        cases_file = workdir / "cases.jsonl"
        cases_file.write_text("".join(json.dumps(c) + "\n" for c in cases))
        peer = Peer(args.latency_s)
        try:
            (workdir / "turnout.yaml").write_text(turnout_yaml(peer.base_url, concurrencies))
            (workdir / "promptfooconfig.json").write_text(json.dumps(promptfoo_config(peer.base_url, cases)))
            for c in PEER_CHECK_CONCURRENCY:  # what the peer serves at C = 64, and its capacity
                rows.append(peer_ceiling(peer, cases, c, c * (10 if args.quick else 50 if c <= 64 else 25)))
                _progress(rows[-1])
            databases = {"turnout/sqlite": f"sqlite:///{workdir / 'bench.db'}"}
            if not args.no_postgres:
                databases["turnout/postgres"] = stack.enter_context(
                    scratch_postgres(args.postgres_url, args.postgres_database))
            for url in databases.values():
                prepare_turnout(workdir, url)
            # Per C, every client one after the other: figures compared with each other are taken
            # close in time, should anything else on the machine come and go.
            for c in concurrencies:
                measures: list[Callable[[], Row | None]] = [partial(measure_sdk, peer, cases_file, n, c)]
                repeat = args.repeat if c / args.latency_s >= REPEAT_FROM_IDEAL else 1
                if not args.no_engine and (repeat > 1 or args.quick):  # latency-bound C tell it nothing
                    measures.append(partial(measure_engine, peer, cases_file, n, c))
                measures += [partial(measure_turnout, peer, workdir, url, label, n, c)
                             for label, url in databases.items()]
                if binary is not None:
                    measures.append(partial(measure_promptfoo, peer, workdir, binary, n, c))
                rows += best_of(measures, repeat)
            if binary is not None:
                rows += best_of([partial(measure_promptfoo, peer, workdir, binary, n, None)], 1)
            profile_to = None
            if args.profile:
                profile_to = out_path.with_name("replay-profile.txt")
                measure_turnout(peer, workdir, databases["turnout/sqlite"], "turnout/sqlite", n,
                                max(concurrencies), profile_to=profile_to)
        finally:
            peer.close()
    for row in rows:
        row.extra.setdefault("ideal", round(row.concurrency / args.latency_s))
    checks = verdicts(rows, concurrencies, args.latency_s)
    table = render(rows, checks, concurrencies)
    print(f"\n{n} cases, peer latency {args.latency_s * 1000:.0f} ms ({peer.server}), "
          f"{os.cpu_count()} CPUs, {time.monotonic() - started:.0f} s in all\n")
    print(table)
    if profile_to is not None:
        summary = summarize_profile(profile_to)
        profile_to.with_suffix(".summary.txt").write_text(summary + "\n")
        print(f"\nturnout run (SQLite, C={max(concurrencies)}) under py-spy; collapsed stacks in {profile_to}\n{summary}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps({
        "command": ".venv/bin/python benchmarks/replay.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "cases": n, "latency_s": args.latency_s,
        "concurrency": concurrencies,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "peer_server": peer.server,
                    "load_average_before": load_before},
        "promptfoo": PROMPTFOO_VERSION if binary else None,
        "rows": [asdict(r) for r in rows], "targets": checks}, indent=2) + "\n")
    print(f"\nwritten: {out_path}")
    return 0


def best_of(measures: list[Callable[[], Row | None]], repeat: int) -> list[Row]:
    """Each measurement *repeat* times, in turns, keeping each one's fastest: another process on
    the machine can only slow a run down, so the fastest is the least disturbed."""
    runs: list[list[Row]] = [[] for _ in measures]
    for _ in range(repeat):
        for measure, kept in zip(measures, runs):
            if (row := measure()) is not None:
                _progress(row)
                kept.append(row)
    best = []
    for kept in runs:
        if kept:
            row = max(kept, key=lambda r: r.items_per_s or 0.0)
            row.extra["items_per_s_runs"] = [round(r.items_per_s or 0.0, 1) for r in kept]
            best.append(row)
    return best


def _progress(row: Row) -> None:
    print(f"  {row.client:<24} C={row.concurrency:<3} {_fmt(row.items_per_s, '8.1f')} items/s "
          f"wall {row.wall_s:6.2f} s", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] in ("_sdk", "_engine"):
        sys.path.insert(0, str(ROOT))
        loop = sdk_loop if sys.argv[1] == "_sdk" else engine_loop
        print(json.dumps(asyncio.run(loop(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])))))
    else:
        sys.exit(main())
