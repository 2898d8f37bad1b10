"""Multiple choice, scored as inspect_ai's `choice` scorer scores its `multiple_choice` solver's answers."""

from __future__ import annotations

import re

from evals.cases import Case
from evals.results import Completion, Score
from evals.scoring.apply import no_answer
from evals.scoring.registry import Scorer, scorer
from evals.scoring.text import clip

ANSWER_PATTERN = re.compile(r"(?i)ANSWER\s*:\s*([A-Za-z ,]+)(?:[^\w]|\n|$)")
"""inspect_ai's: the first `ANSWER: ...` in the answer; the letters in it are the choices made."""


def chosen(output: str, n_choices: int) -> list[str] | None:
    """The letters chosen in *output* (those naming a choice, as inspect_ai marks them), or None without `ANSWER:`."""
    match = ANSWER_PATTERN.search(output)
    if match is None or not match.group(1):
        return None
    indexes = {ord(char.upper()) - ord("A") for char in match.group(1)}
    return [chr(ord("A") + i) for i in sorted(indexes) if 0 <= i < n_choices]


@scorer("choice", version="1")
def choice() -> Scorer:
    """1.0 when the letters after `ANSWER:` are exactly the target's, else 0.0 (no `ANSWER:` line: 0.0).

    For cases imported from inspect_ai multiple-choice samples (their `choices` and
    `choice_target` metadata); other cases are unscorable.
    """

    async def score(case: Case, completion: Completion, production: Completion | None = None) -> Score:
        if completion.output is None or not completion.ok:
            return no_answer(completion)
        choices, target = case.metadata.get("choices"), case.metadata.get("choice_target")
        if not isinstance(choices, list) or not isinstance(target, list) or not target:
            return Score.unscorable("case is not a multiple-choice sample (no choices and target letters)")
        answers = chosen(completion.output, len(choices))
        details = {"target": target, "chosen": answers}
        if answers is None:
            return Score(value=0.0, explanation=f"no 'ANSWER: <letter>' in {clip(completion.output, 60)!r}",
                         details=details)
        right = answers == sorted(target)
        return Score(value=float(right), explanation=f"chose {', '.join(answers) or 'nothing'}; target "
                     f"{', '.join(target)}", details=details)

    return score
