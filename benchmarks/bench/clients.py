"""The measured clients: the bare SDK, Turnout's engine alone, `turnout run`, and promptfoo.

`sdk_loop` and `engine_loop` are also the bodies of the `_sdk` and `_engine` child processes
(benchmarks/replay.py runs them).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cases import model_spec_data
from bench.common import MAX_TOKENS, MODEL, PROMPTFOO_DIR, PROMPTFOO_VERSION, PYTHON, REPLAY, ROOT, TURNOUT, Row
from bench.measure import checked, peer_cpu, rate, run_child
from bench.peer import Peer

# -- the bare SDK loop (also the body of the `_sdk` child process) --

SDK_TRANSPORTS = {"httpx2": "sdk", "aiohttp": "sdk (aiohttp)"}
"""The SDK's two HTTP transports (its default, and `openai[aiohttp]`'s), by their row labels."""


async def sdk_loop(base_url: str, cases_file: Path, concurrency: int, transport: str = "httpx2") -> dict[str, Any]:
    import openai

    cases = [json.loads(line) for line in cases_file.read_text().splitlines()]
    http_client = openai.DefaultAioHttpClient() if transport == "aiohttp" else openai.DefaultAsyncHttpx2Client()
    client = openai.AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0, http_client=http_client)
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


def measure_sdk(peer: Peer, cases_file: Path, n: int, concurrency: int, transport: str = "httpx2") -> Row:
    peer.reset()
    before = peer.stats()
    child = checked(run_child([PYTHON, str(REPLAY), "_sdk", peer.base_url, str(cases_file), str(concurrency),
                               transport]), "the SDK loop")
    stats, result = peer.stats(), json.loads(child.stdout)
    return Row(SDK_TRANSPORTS[transport], concurrency, n, rate(n, stats, result["last_done"]), child.wall_s,
               child.cpu_s * 1000 / n, errors=result["errors"], peer_cpu_ms_per_item=peer_cpu(stats, n, before),
               other_cores=child.other_cores(before, stats), extra=child.phases(stats, result["last_done"]))


async def engine_loop(base_url: str, cases_file: Path, concurrency: int) -> dict[str, Any]:
    """`evals.replay.replay` with the provider `turnout run` builds, and nothing stored."""
    from evals.models import ModelSpec
    from evals.replay import replay
    from evals.results import Request
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
    child = run_child([PYTHON, str(REPLAY), "_engine", peer.base_url, str(cases_file), str(concurrency)], cwd=ROOT)
    if child.returncode != 0:
        print(f"  (the engine alone could not run: {child.stderr.strip().splitlines()[-1:]})", flush=True)
        return None
    stats, result = peer.stats(), json.loads(child.stdout)
    return Row("turnout engine (no storage)", concurrency, n, rate(result["n"], stats, result["last_done"]),
               child.wall_s, child.cpu_s * 1000 / n, errors=result["errors"] + n - result["n"],
               peer_cpu_ms_per_item=peer_cpu(stats, n, before), other_cores=child.other_cores(before, stats),
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
    child = checked(run_child(argv, env=env, cwd=workdir), f"turnout run ({label}, C={concurrency})")
    stats = peer.stats()
    out, _ = json.JSONDecoder().raw_decode(child.stdout[child.stdout.index("{"):])  # py-spy may print after it
    run = out["runs"][0]
    engine = sa.create_engine(_sa_url(url))
    with engine.connect() as connection:
        last, stored = connection.execute(
            sa.text("SELECT max(created_at), count(*) FROM completion WHERE run_id = :run"), {"run": run["run_id"]}
        ).one()
    engine.dispose()
    return Row(label, concurrency, n, rate(stored, stats, _created_at(last)), child.wall_s,
               child.cpu_s * 1000 / n, errors=run["n_errors"] + (n - stored),
               peer_cpu_ms_per_item=peer_cpu(stats, n, before), other_cores=child.other_cores(before, stats),
               extra={**child.phases(stats, _created_at(last)), "state": out["state"],
                      "score_mean": run["score_mean"], "cost_usd": run["cost_usd"]})


def _sa_url(url: str) -> str:
    return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


def prepare_turnout(workdir: Path, url: str) -> None:
    env = {**os.environ, "TURNOUT_DATABASE_URL": url}
    checked(run_child([TURNOUT, "db", "upgrade"], env=env, cwd=workdir), "turnout db upgrade")
    checked(run_child([TURNOUT, "apply", "-f", "turnout.yaml"], env=env, cwd=workdir), "turnout apply")


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
    # No per-run debug log file: promptfoo 0.121 can crash writing it after the eval ("write after
    # end", exit 1), and writing it is no part of an eval.
    env = {**os.environ, "PROMPTFOO_CACHE_ENABLED": "false", "PROMPTFOO_DISABLE_TELEMETRY": "1",
           "PROMPTFOO_DISABLE_DEBUG_LOG": "1",
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
        checked(child, "promptfoo eval")
    stats = peer.stats()
    label = "promptfoo" if concurrency is not None else "promptfoo (default -j)"
    return Row(label, concurrency or 4, n, rate(stats["answered"], stats), child.wall_s, child.cpu_s * 1000 / n,
               errors=n - stats["answered"] + (child.returncode == 100),
               peer_cpu_ms_per_item=peer_cpu(stats, n, before), other_cores=child.other_cores(before, stats),
               extra=child.phases(stats))
