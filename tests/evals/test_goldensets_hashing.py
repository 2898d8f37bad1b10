"""Content hashes of loaded cases and golden sets: stable across writing, sensitive to content."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from evals.cases import Assertion, Case, GoldenSet, Message
from evals.goldensets import load_cases


def _load_jsonl(tmp_path: Path, *records: dict[str, Any]) -> tuple[Case, ...]:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return load_cases(path)


CASE = {
    "id": "capital-fr",
    "input": [{"role": "user", "content": "Capital of France?"}],
    "expected": "Paris",
    "assert": [{"type": "contains", "value": "Paris", "weight": 2}],
    "tags": ["lang:en"],
    "metadata": {"source": "atlas", "page": 3},
}


def test_key_order_in_the_file_does_not_change_the_hash(tmp_path: Path) -> None:
    # Given the same case written with its keys (and nested keys) in reverse order
    reordered = {key: CASE[key] for key in reversed(list(CASE))}
    reordered["metadata"] = {"page": 3, "source": "atlas"}
    reordered["assert"] = [{"weight": 2, "value": "Paris", "type": "contains"}]

    # When both are loaded
    (first,) = _load_jsonl(tmp_path, CASE)
    (second,) = _load_jsonl(tmp_path, reordered)

    # Then their hashes are equal
    assert first.content_hash == second.content_hash


def test_a_changed_expected_answer_changes_the_hash(tmp_path: Path) -> None:
    # Given the case and a copy whose expected answer differs
    (first,) = _load_jsonl(tmp_path, CASE)
    (second,) = _load_jsonl(tmp_path, {**CASE, "expected": "Paris, France"})

    # Then their hashes differ
    assert first.content_hash != second.content_hash


def test_golden_set_hash_follows_privacy_and_order(tmp_path: Path) -> None:
    # Given two loaded cases
    cases = _load_jsonl(tmp_path, CASE, {"id": "b", "input": "Hi"})
    base = GoldenSet(name="g", privacy="internal", cases=cases)

    # When the privacy class or the order changes, or only the name changes
    other_privacy = GoldenSet(name="g", privacy="confidential", cases=cases)
    other_order = GoldenSet(name="g", privacy="internal", cases=cases[::-1])
    renamed = GoldenSet(name="h", privacy="internal", cases=cases)

    # Then the version changes with privacy and order, not with the name
    assert other_privacy.content_hash != base.content_hash
    assert other_order.content_hash != base.content_hash
    assert renamed.content_hash == base.content_hash


# --- property: any case survives JSONL writing and reading --------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_TEXT = st.none() | st.text(max_size=30)
_MESSAGES = st.builds(
    Message,
    role=st.sampled_from(["system", "user", "assistant", "developer", "tool"]),
    content=st.text(max_size=30),
)
_ASSERTIONS = st.builds(
    Assertion,
    type=st.text(min_size=1, max_size=12),
    value=_JSON,
    weight=st.floats(min_value=0, max_value=10, allow_nan=False),
)
_CASES = st.builds(
    Case,
    id=st.text(min_size=1, max_size=16),
    input=st.text(min_size=1, max_size=40).filter(str.strip)
    | st.lists(_MESSAGES, min_size=1, max_size=3).map(tuple),
    context=_TEXT,
    expected=_TEXT,
    criteria=_TEXT,
    asserts=st.lists(_ASSERTIONS, max_size=3).map(tuple),
    tags=st.lists(st.text(max_size=10), max_size=3).map(tuple),
    cluster=_TEXT,
    metadata=st.dictionaries(st.text(max_size=6), _JSON, max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(cases=st.lists(_CASES, min_size=1, max_size=4, unique_by=lambda case: case.id))
def test_any_case_round_trips_through_jsonl(cases: list[Case]) -> None:
    # Given any cases, written one JSON object per line
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "set.jsonl"
        path.write_text("\n".join(json.dumps(case.to_data()) for case in cases), encoding="utf-8")

        # When the file is loaded
        loaded = load_cases(path)

    # Then every case comes back with the same content hash, in order
    assert [case.content_hash for case in loaded] == [case.content_hash for case in cases]
