"""Which cases two runs are compared on: unscorable left out on both sides, a missing answer a failure."""

from __future__ import annotations

from evals.pairing import ScoreTable, pair_runs
from evals.stats import compare, compare_pairs


def test_unscorable_cases_are_left_out_on_both_sides_with_counts() -> None:
    # given a case the judge could not score in A only, and one it could not score in B only
    a = ScoreTable(values={"x": [1.0], "y": [0.0]}, unscorable=frozenset({"z"}), tags={"x": ["lang:fr"]})
    b = ScoreTable(values={"x": [1.0], "z": [1.0]}, unscorable=frozenset({"y"}))
    # when the runs are paired
    pairs = pair_runs(a, b)
    # then neither case is a pair, each side's count says so, and the reason is given
    assert pairs.keys == ("x",)
    assert pairs.left_out == {"y": "unscorable", "z": "unscorable"}
    assert (pairs.unscorable_a, pairs.unscorable_b) == (1, 1)
    assert pairs.tags == {"x": ["lang:fr"]}


def test_a_case_one_side_did_not_answer_counts_as_its_failure() -> None:
    a = ScoreTable(values={"x": [1.0], "y": [1.0]})
    b = ScoreTable(values={"x": [1.0], "y": []})
    pairs = pair_runs(a, b)
    assert pairs.keys == ("x", "y") and pairs.failed_b == ("y",) and pairs.failed_a == ()
    assert list(pairs.b["y"]) == [0.0]
    assert compare_pairs(pairs, margin=0.05).difference == -0.5


def test_compare_on_mappings_is_the_same_rule() -> None:
    a = {"x": [1.0], "y": [1.0]}
    b = {"x": [1.0]}
    assert compare(a, b).to_dict() == compare_pairs(pair_runs(ScoreTable(values=a), ScoreTable(values=b))).to_dict()


def test_the_comparison_says_how_many_cases_were_unscorable_and_why() -> None:
    # given two cases the judge could not score in A (a failed call, an unparsable reply) and one in B
    failed, garbled = "judge call failed: HTTP 500: server error", "judge reply has no score from 0 to 10"
    a = ScoreTable(values={"x": [1.0], "w": [1.0]}, unscorable=frozenset({"y", "z"}),
                   reasons={"y": failed, "z": garbled})
    b = ScoreTable(values={"x": [1.0], "y": [1.0], "z": [0.0]}, unscorable=frozenset({"w"}), reasons={"w": failed})
    # when they are compared
    comparison = compare_pairs(pair_runs(a, b), margin=0.05)
    # then the comparison counts them per side and by reason
    assert (comparison.n_pairs, comparison.unscorable_a, comparison.unscorable_b) == (1, 2, 1)
    assert comparison.unscorable_reasons == {failed: 2, garbled: 1}
