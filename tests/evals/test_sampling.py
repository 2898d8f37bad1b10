"""A candidate's case sample (`sample_cases`): stratified by tags, the same every time, and paired fairly."""

from __future__ import annotations

import pytest

from evals.cases import sha256_hex
from evals.pairing import ScoreTable, pair_runs
from evals.sampling import sample_cases
from evals.stats import compare_pairs


def _cases(**groups: int) -> list[tuple[str, list[str]]]:
    """`lang_fr=30` → 30 cases tagged `lang:fr`, with hash-like keys."""
    return [(sha256_hex(f"{name}-{i}"), [name.replace("_", ":")]) for name, n in groups.items() for i in range(n)]


def test_each_group_of_tags_keeps_its_share_of_the_sample() -> None:
    # given the demo's shape: 30 French, 30 English, 12 long-document cases
    cases = _cases(lang_fr=30, lang_en=30, doc_long=12)
    # when 24 of them are sampled
    chosen = sample_cases(cases, n=24)
    # then each group gets its share: 10, 10 and 4
    tags = {key: tags[0] for key, tags in cases}
    assert len(chosen) == 24
    assert sorted(tags[key] for key in chosen).count("lang:fr") == 10
    assert sorted(tags[key] for key in chosen).count("lang:en") == 10
    assert sorted(tags[key] for key in chosen).count("doc:long") == 4


def test_the_sample_is_the_same_whatever_the_order_and_kept_case_by_case() -> None:
    cases = _cases(lang_fr=9, lang_en=9)
    chosen = sample_cases(cases, n=6)
    assert sample_cases(list(reversed(cases)), n=6) == chosen
    # a case added to a group may take a place, but the cases kept are those first in hash order
    fr = sorted(key for key, tags in cases if tags == ["lang:fr"])
    assert {key for key in chosen if key in fr} == set(fr[:3])


def test_shares_that_do_not_divide_go_to_the_largest_remainders() -> None:
    cases = _cases(lang_en=3, lang_fr=1)
    chosen = sample_cases(cases, n=2)
    en = {key for key, tags in cases if tags == ["lang:en"]}
    assert len(chosen) == 2 and chosen <= en  # 1.5 and 0.5: the tie goes to the larger group


def test_a_sample_as_large_as_the_set_is_the_set_and_an_empty_one_is_refused() -> None:
    cases = _cases(lang_en=3)
    assert sample_cases(cases, n=3) == sample_cases(cases, n=50) == {key for key, _ in cases}
    with pytest.raises(ValueError, match="at least 1"):
        sample_cases(cases, n=0)


def test_cases_outside_a_sample_are_left_out_not_counted_as_failures() -> None:
    # given production answered x, y, z (all right) and the candidate was asked only x and y (one wrong)
    production = ScoreTable(values={"x": [1.0], "y": [1.0], "z": [1.0]}, cases=frozenset("xyz"))
    candidate = ScoreTable(values={"x": [1.0], "y": [0.0]}, cases=frozenset("xyz"), sample=frozenset("xy"))
    # when they are paired
    pairs = pair_runs(production, candidate)
    # then z is left out as not sampled, not a failure of the candidate; the versions are the same
    assert pairs.keys == ("x", "y") and pairs.left_out == {"z": "not_sampled"}
    assert pairs.failed_b == () and not pairs.across_versions
    assert compare_pairs(pairs, margin=0.05).difference == -0.5
    # and a sampled case the candidate has no answer for is still its failure
    silent = ScoreTable(values={"x": [1.0]}, cases=frozenset("xyz"), sample=frozenset("xy"))
    assert pair_runs(production, silent).failed_b == ("y",)
