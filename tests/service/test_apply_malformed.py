"""`turnout apply` on malformed input, generated: always exit 1, a message naming the file, no traceback,
and nothing stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel

from evals.nesting import MAX_DEPTH
from service.cli.main import main
from service.storage.db import session_scope

CASES = [{"id": "a", "input": "2+2?", "expected": "4", "tags": ["lang:en"]},
         {"id": "b", "input": "Capital of France?", "expected": "Paris"}]

CONFIG = """\
golden_sets:
  - name: support
    file: cases.jsonl
models:
  - name: prod
    base_url: http://127.0.0.1:9/v1
    model: prod-model
    max_concurrency: 4
  - name: gpu
    kind: vllm
    model: /models/mistral
    hosting: self_hosted
    params: {temperature: 0, max_tokens: 64}
watches:
  - name: support-watch
    golden_set: support
    production: prod
    candidates: [gpu]
    template: "{context}\\n\\n{input}"
    scorers: [{name: exact_match}]
    schedule: "0 6 * * *"
"""

TEXT = st.text(st.characters(exclude_categories=["Cs"]))
"""Any text a file can hold (no lone surrogates)."""
NAMES = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12)
"""Identifier-like text, for placeholders and keys."""
ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                        max_leaves=8)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# Each mutation (file, old text, new text) makes the input wrong by construction.
YAML_MUTATIONS = st.one_of(
    NAMES.filter(lambda name: name not in ("input", "context")).map(
        lambda name: ("turnout.yaml", '"{context}\\n\\n{input}"', json.dumps(f"{{input}} {{{name}}}"))),
    NAMES.map(lambda name: ("turnout.yaml", '"{context}\\n\\n{input}"', json.dumps(f"{{input.{name}}}"))),
    NAMES.map(lambda name: ("turnout.yaml", "    max_concurrency: 4\n", f"    max_concurrency: {name}x\n")),
    NAMES.map(lambda name: ("turnout.yaml", "    schedule:", f"    {name}_unknown: 1\n    schedule:")),
    st.just(("turnout.yaml", "    schedule:", '    alert: {slack: "#support"}\n    schedule:')),
    NAMES.map(lambda name: ("turnout.yaml", "max_tokens: 64", f"max_tokens: 64, {name}_nope: 1")),
    st.integers(min_value=-5, max_value=0).map(lambda n: ("turnout.yaml", "max_tokens: 64", f"max_tokens: {n}")),
    st.integers(min_value=MAX_DEPTH, max_value=20_000).map(
        lambda depth: ("turnout.yaml", "candidates: [gpu]", f"candidates: {_deep(depth)}")),
    st.sampled_from(["[", "{", ": :", "\t", "- - ]"]).map(
        lambda junk: ("turnout.yaml", "watches:", f"watches: {junk}")),
    st.just(("turnout.yaml", "    file: cases.jsonl", "    file: missing.jsonl")),
)
JSONL_MUTATIONS = st.one_of(
    st.integers(min_value=MAX_DEPTH, max_value=200_000).map(
        lambda depth: ("cases.jsonl", '"expected": "Paris"',
                       f'"expected": "Paris", "metadata": {{"k": {_deep(depth)}}}')),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30).filter(
        lambda text: text.strip() != "" and "\n" not in text).filter(
        lambda text: not _is_json_object(text)).map(lambda text: ("cases.jsonl", "LINE", text)),
    ANY_JSON.filter(lambda value: not isinstance(value, dict)).map(
        lambda value: ("cases.jsonl", "LINE", json.dumps(value))),
    NAMES.map(lambda name: ("cases.jsonl", '"expected": "Paris"', f'"expected": "Paris", "{name}_extra": 1')),
    st.just(("cases.jsonl", '"id": "b"', '"id": "a"')),
)


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return False


def _write(directory: Path, mutation: tuple[str, str, str] | None = None) -> Path:
    config, cases = CONFIG, "".join(json.dumps(case) + "\n" for case in CASES)
    if mutation is not None:
        file, old, new = mutation
        if file == "turnout.yaml":
            assert old in config
            config = config.replace(old, new, 1)
        elif old == "LINE":
            cases += new + "\n"
        else:
            assert old in cases
            cases = cases.replace(old, new, 1)
    (directory / "cases.jsonl").write_text(cases)
    path = directory / "turnout.yaml"
    path.write_text(config)
    return path


def _snapshot() -> dict[str, list[Any]]:
    with session_scope() as session:
        return {name: sorted(map(repr, session.connection().execute(table.select()).all()))
                for name, table in SQLModel.metadata.tables.items()}


@pytest.fixture
def stored(database_url: str, tmp_path: Path) -> dict[str, list[Any]]:
    """The valid file applied: what a malformed apply must leave exactly as it is."""
    assert main(["apply", "-f", str(_write(tmp_path))]) == 0
    return _snapshot()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=st.one_of(YAML_MUTATIONS, JSONL_MUTATIONS))
def test_malformed_input_exits_1_naming_the_file_and_stores_nothing(
        mutation: tuple[str, str, str], stored: dict[str, list[Any]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # given a malformed turnout.yaml or golden-set file
    path = _write(tmp_path, mutation)
    capsys.readouterr()
    # when it is applied (an uncaught exception would fail the test with its traceback)
    code = main(["apply", "-f", str(path)])
    # then the command fails with a message naming the file, and the database is unchanged
    err = capsys.readouterr().err
    assert code == 1, err
    assert str(tmp_path / mutation[0]) in err.replace("\n", ""), err
    assert "Traceback" not in err
    assert _snapshot() == stored


def test_a_malformed_file_in_a_real_process_prints_one_located_line(database_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path, ("turnout.yaml", '"{context}\\n\\n{input}"', '"{input.text}"'))
    env = {**os.environ, "TURNOUT_DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-m", "service.cli.main", "apply", "-f", str(path)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert f"{path}:19: field 'watches[0].template'" in done.stderr.replace("\n", "")
    assert "Traceback" not in done.stderr and "AttributeError" not in done.stderr
