"""inspect_ai multiple-choice samples (`input`, `choices`, `target` letters), imported as inspect_ai runs them.

The prompt is the question rendered into the choices template of inspect_ai's `multiple_choice`
solver (choices lettered `A) ...`, the model asked for `ANSWER: $LETTER`; the several-answers
template when the target has more than one letter), choices in the order given (no shuffling).
The expected answer is the target letter(s); the choices and the target letters are kept in
`metadata` (`choices`, `choice_target`), where the `choice` scorer finds them.
"""

from __future__ import annotations

from typing import Any

from evals.errors import GoldenSetError
from evals.goldensets.common import kind_of

SINGLE_ANSWER_TEMPLATE = (
    "Answer the following multiple choice question. The entire content of your response should be of the "
    "following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of {letters}.\n\n"
    "{question}\n\n{choices}"
)
"""inspect_ai's template for a question with one right choice."""
MULTIPLE_ANSWER_TEMPLATE = (
    "Answer the following multiple choice question where multiple answers may be correct. The entire content of "
    "your response should be of the following format: 'ANSWER: $LETTERS' (without quotes) where LETTERS is one "
    "or more of {letters}.\n\n{question}\n\n{choices}"
)
"""inspect_ai's template when several choices are right."""
MAX_CHOICES = 26


def letter(index: int) -> str:
    """`0` -> `A`, `1` -> `B`, ..."""
    return chr(ord("A") + index)


def render_question(question: str, choices: list[str], *, several: bool) -> str:
    """The prompt inspect_ai's `multiple_choice` solver sends for *question* and *choices*."""
    options = "\n".join(f"{letter(i)}) {text}" for i, text in enumerate(choices))
    letters = ",".join(letter(i) for i in range(len(choices)))
    template = MULTIPLE_ANSWER_TEMPLATE if several else SINGLE_ANSWER_TEMPLATE
    return template.format(letters=letters, question=question, choices=options)


def target_letters(target: Any, n_choices: int, *, file: str, line: int, field: str) -> list[str]:
    """The target as a sorted list of letters within the choices.

    Raises:
        GoldenSetError: When the target is not a letter (or a list of letters) naming a choice.
    """
    items = target if isinstance(target, list) else [target]
    letters: list[str] = []
    for item in items:
        if not (isinstance(item, str) and len(item.strip()) == 1 and item.strip().isalpha()):
            shown = repr(item) if isinstance(item, str) else kind_of(item)
            raise GoldenSetError(f"a multiple-choice target is a letter or a list of letters (A for the first "
                                 f"choice), got {shown}", file=file, line=line, field=field)
        found = item.strip().upper()
        if ord(found) - ord("A") >= n_choices:
            raise GoldenSetError(f"target {found!r} names no choice: there are {n_choices} (A to "
                                 f"{letter(n_choices - 1)})", file=file, line=line, field=field)
        letters.append(found)
    if not letters:
        raise GoldenSetError("a multiple-choice sample needs a target letter", file=file, line=line, field=field)
    return sorted(set(letters))


def multiple_choice(question: Any, choices: Any, target: Any, *, file: str, line: int,
                    fields: tuple[str, str, str]) -> dict[str, Any]:
    """The case fields of one multiple-choice sample: `input`, `expected` and the `metadata` to add.

    Args:
        question: The sample's input (text).
        choices: Its choices (a list of texts).
        target: The right letter(s).
        file: Where the sample is, for errors.
        line: Its line.
        fields: The column names of input, choices and target, for errors.

    Raises:
        GoldenSetError: On chat-message input, choices that are not a list of 2 to 26 texts, or a
            target that names no choice.
    """
    input_field, choices_field, target_field = fields
    if not isinstance(question, str):
        raise GoldenSetError(f"a multiple-choice sample's input must be text, got {kind_of(question)} (Turnout "
                             "renders the choices into it as inspect_ai does)", file=file, line=line, field=input_field)
    if not (isinstance(choices, list) and 2 <= len(choices) <= MAX_CHOICES
            and all(isinstance(text, str) and text.strip() for text in choices)):
        raise GoldenSetError(f"choices must be a list of 2 to {MAX_CHOICES} non-empty texts, got "
                             f"{kind_of(choices)}", file=file, line=line, field=choices_field)
    letters = target_letters(target, len(choices), file=file, line=line, field=target_field)
    return {
        "input": render_question(question, choices, several=len(letters) > 1),
        "expected": ", ".join(letters),
        "metadata": {"question": question, "choices": choices, "choice_target": letters},
    }
