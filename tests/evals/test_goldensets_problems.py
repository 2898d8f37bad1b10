"""A file (or inline list) with several bad cases is refused with every one of them, each located."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.errors import ConfigProblems, GoldenSetError
from evals.goldensets import load_cases, parse_inline_cases

GOOD = {"id": "a", "input": "q", "expected": "x"}


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("cases.jsonl", "\n".join([json.dumps(GOOD), "{oops", json.dumps({"id": "b"}),
                               json.dumps({**GOOD, "id": "d", "tags": {"x": 1}})]),
     [(2, None), (3, "input"), (4, "tags")]),
    ("cases.yaml", "cases:\n  - {id: a, input: q}\n  - just text\n  - {id: c}\n  - {id: d, input: q, tags: {x: 1}}\n",
     [(3, "cases[1]"), (4, "input"), (5, "tags")]),
    ("cases.csv", "id,input,expected\na,q,x\n,q,x\nc,,x\n", [(3, "id"), (4, "input")]),
])
def test_every_bad_case_of_a_file_is_named_with_its_line_and_field(
        tmp_path: Path, name: str, content: str, expected: list[tuple[int | None, str | None]]) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigProblems) as caught:
        load_cases(path)
    assert [(p.line, p.field) for p in caught.value.problems] == expected
    assert all(p.file == str(path) for p in caught.value.problems)
    assert f"{len(expected)} problem(s)" in str(caught.value)


def test_one_bad_case_is_still_a_single_located_error(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps({"id": "b"}) + "\n")
    with pytest.raises(GoldenSetError) as caught:
        load_cases(path)
    assert not isinstance(caught.value, ConfigProblems)
    assert (caught.value.line, caught.value.field) == (2, "input")


def test_repeated_ids_are_all_named_once_every_case_is_good(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps({**GOOD, "id": key}) for key in ("a", "b", "a", "b")))
    with pytest.raises(ConfigProblems) as caught:
        load_cases(path)
    assert [(p.line, p.field) for p in caught.value.problems] == [(3, "id"), (4, "id")]
    assert "first at line 1" in caught.value.problems[0].reason


def test_inline_cases_past_the_limit_are_counted() -> None:
    with pytest.raises(ConfigProblems) as caught:
        parse_inline_cases([{"id": f"c{i}"} for i in range(25)], source="turnout.yaml: golden_sets[0].cases")
    assert len(caught.value.problems) == 20 and caught.value.more == 5
    assert caught.value.problems[3].field == "[3].input"
