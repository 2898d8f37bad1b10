"""Applying a scorer to one completion, so that scoring a cycle never stops on one bad case."""

from __future__ import annotations

from evals.cases import Case
from evals.results import Completion, Score
from evals.scoring.registry import Scorer


def no_answer(completion: Completion) -> Score:
    """The score of a completion the model did not answer: 0.0, a failure like a wrong answer.

    A failed call counts against the model rather than being left out, so that a candidate
    cannot look better by failing on the hard cases.
    """
    reason = completion.error or "the model returned no output"
    details = {"error_kind": completion.error_kind} if completion.error_kind else {}
    return Score(value=0.0, explanation=f"no answer: {reason}", details=details)


async def score_completion(
    spec_scorer: Scorer, case: Case, completion: Completion, production: Completion | None
) -> Score:
    """Score one completion of one case. Never raises.

    Args:
        spec_scorer: The scorer built from the watch's spec.
        case: The case answered.
        completion: The answer being scored.
        production: The production model's completion of the same case when *completion* is a
            candidate's (pairwise judges use it), else None.

    Returns:
        The scorer's score; 0.0 with explanation `no answer: <error>` when the completion has no
        answer; `Score.unscorable('<ExceptionType>: <message>')` when the scorer raised.
    """
    if not completion.ok:
        return no_answer(completion)
    try:
        score = await spec_scorer(case, completion, production)
    except Exception as exc:  # one case's bad data or a scorer bug must not stop the cycle
        message = str(exc)
        return Score.unscorable(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)
    if not isinstance(score, Score):
        return Score.unscorable(f"TypeError: scorer returned {type(score).__name__}, not Score")
    return score
