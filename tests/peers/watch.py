"""A watch wired to local OpenAI-compatible peers, declared in a real turnout.yaml (fixtures)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.config import load_config
from service.storage import catalog
from service.storage.db import session_scope
from tests.peers.openai_peer import OpenAIPeer

CASES = [
    {"id": "paris", "input": "Capital of France?\nANSWER: Paris", "expected": "Paris", "tags": ["lang:en"]},
    {"id": "rome", "input": "Capital of Italy?\nANSWER: Rome", "expected": "Rome", "tags": ["lang:en"]},
    {"id": "fr", "input": "Capitale de l'Allemagne ?\nANSWER: Berlin", "expected": "Berlin", "tags": ["lang:fr"],
     "assert": [{"type": "icontains", "value": "berlin"}]},
    {"id": "broken", "input": "This request is refused.\nFAULT: 400", "expected": "x", "tags": ["lang:en"]},
]

CONFIG = """\
golden_sets:
  - {{name: qa, file: qa.jsonl, privacy: internal}}
models:
  - name: prod
    base_url: "{prod_url}"
    model: prod-model
    params: {{temperature: 0, max_tokens: 32}}
    max_concurrency: 4
    max_retries: 1
    timeout_s: 5
    hosting: api
    residency: us
    pricing: {{input_per_mtok: 1000.0, output_per_mtok: 2000.0}}
  - name: cand
    base_url: "{cand_url}"
    model: cand-model
    max_concurrency: 2
    max_retries: 1
    timeout_s: 5
    hosting: self_hosted
watches:
  - name: qa-watch
    golden_set: qa
    production: prod
    candidates: [cand]
    scorers: [{{name: exact_match}}, {{name: contains, primary: true}}]
    schedule: "0 6 * * *"
"""


def candidate_answer(messages: list[dict[str, object]]) -> str:
    """The candidate gets Rome wrong and everything else right."""
    text = str(messages[-1]["content"])
    if "Italy" in text:
        return "Milan"
    return text.rsplit("ANSWER: ", 1)[-1]


@pytest.fixture
def peers() -> Iterator[tuple[OpenAIPeer, OpenAIPeer]]:
    with OpenAIPeer(models=["prod-model"]) as prod, \
            OpenAIPeer(answer=candidate_answer, fingerprint="fp_cand", models=["cand-model"]) as cand:
        yield prod, cand


@pytest.fixture
def watch_file(tmp_path: Path, peers: tuple[OpenAIPeer, OpenAIPeer]) -> Path:
    prod, cand = peers
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(case) + "\n" for case in CASES))
    path = tmp_path / "turnout.yaml"
    path.write_text(CONFIG.format(prod_url=prod.base_url, cand_url=cand.base_url))
    return path


@pytest.fixture
def applied(database_url: str, watch_file: Path) -> Path:
    """The watch file, applied to the test database."""
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(watch_file))
    return watch_file


@pytest.fixture
def ran(applied: Path) -> int:
    """The id of a finished cycle of `qa-watch`, replayed inline against the local peers."""
    from jobs import pipeline

    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    return cycle_id
