"""Hysteresis: a verdict is announced after `hysteresis` consecutive cycles; failed cycles are skipped."""

from __future__ import annotations

import pytest

from evals.advisor import Announcement, Verdict, announce

SWITCH: tuple[Verdict, str | None] = ("switch_advisable", "mistral")
OTHER: tuple[Verdict, str | None] = ("switch_advisable", "llama")
STAY: tuple[Verdict, str | None] = ("stay", None)
THIN: tuple[Verdict, str | None] = ("insufficient_evidence", None)
FAILED = None


def run(cycles: list[tuple[Verdict, str | None] | None], hysteresis: int) -> list[Announcement]:
    announced, state = [], None
    for cycle in cycles:
        state = announce(previous=state, cycle=cycle, hysteresis=hysteresis)
        announced.append(state)
    return announced


@pytest.mark.parametrize(("cycles", "hysteresis", "verdicts", "counts"), [
    ([SWITCH, SWITCH, SWITCH], 3, ["stay", "stay", "switch_advisable"], [1, 2, 3]),
    ([SWITCH, FAILED, SWITCH, SWITCH], 3, ["stay", "stay", "stay", "switch_advisable"], [1, 1, 2, 3]),
    ([SWITCH, STAY, SWITCH, SWITCH], 3, ["stay"] * 4, [1, 1, 1, 2]),
    ([SWITCH, OTHER, OTHER], 2, ["stay", "stay", "switch_advisable"], [1, 1, 2]),
    ([SWITCH, SWITCH, STAY, STAY], 2, ["stay", "switch_advisable", "switch_advisable", "stay"], [1, 2, 1, 2]),
    ([THIN], 1, ["insufficient_evidence"], [1]),
    ([FAILED, FAILED], 1, ["stay", "stay"], [0, 0]),
])
def test_announcement_sequences(
    cycles: list[tuple[Verdict, str | None] | None], hysteresis: int, verdicts: list[str], counts: list[int]
) -> None:
    announced = run(cycles, hysteresis)

    assert [a.verdict for a in announced] == verdicts
    assert [a.consecutive for a in announced] == counts


def test_the_target_is_announced_with_its_verdict_and_a_change_is_flagged_once() -> None:
    announced = run([SWITCH, SWITCH, SWITCH, FAILED, SWITCH], 2)

    assert [a.to for a in announced] == [None, "mistral", "mistral", "mistral", "mistral"]
    assert [a.changed for a in announced] == [False, True, False, False, False]


def test_a_verdict_and_target_must_agree() -> None:
    with pytest.raises(ValueError, match="`to` names the candidate"):
        announce(previous=None, cycle=("stay", "mistral"), hysteresis=1)
    with pytest.raises(ValueError, match="at least 1"):
        announce(previous=None, cycle=STAY, hysteresis=0)
