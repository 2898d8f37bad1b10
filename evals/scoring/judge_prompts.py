"""The judges' pinned prompt templates, by version.

A template never changes once released: a better prompt is a new version (`rubric-v2`), because
scores stored under the old version must stay explainable and comparable. Placeholders use
`string.Template` (`$name`), so braces in answers and in the JSON examples need no escaping.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from evals.cases import Case

NONE_GIVEN = "(none given)"


@dataclass(frozen=True)
class PromptTemplate:
    """A system and a user message with `$placeholders`."""

    system: str
    user: str

    def render(self, **values: str) -> list[dict[str, str]]:
        """The chat messages with every placeholder filled (a missing one raises KeyError)."""
        return [
            {"role": "system", "content": Template(self.system).substitute(values)},
            {"role": "user", "content": Template(self.user).substitute(values)},
        ]


def render_case(case: Case) -> dict[str, str]:
    """The case's question, reference answer and document as prompt text."""
    if isinstance(case.input, str):
        question = case.input
    else:
        question = "\n".join(f"{message.role}: {message.content}" for message in case.input)
    return {
        "question": question,
        "reference": case.expected if case.expected and case.expected.strip() else NONE_GIVEN,
        "document": case.context if case.context and case.context.strip() else NONE_GIVEN,
    }


RUBRIC_V1 = PromptTemplate(
    system=(
        "You are a strict, impartial grader of answers written by an AI assistant. You compare the "
        "answer with the reference answer and the grading criteria, and you reply with JSON only."
    ),
    user="""Grade the answer to the question below.

[Question]
$question

[Document the question is about]
$document

[Reference answer]
$reference

[Grading criteria]
$criteria

[Answer to grade]
$answer

Give a score from 0 to 10: 10 means the answer is fully correct and complete with respect to the
reference answer and meets every criterion; 0 means it is wrong, off-topic or a refusal. Judge
correctness and completeness, not style or length.

Reply with JSON only, in this shape:
{"score": <integer from 0 to 10>, "explanation": "<one or two sentences>"}""",
)

PAIRWISE_V1 = PromptTemplate(
    system=(
        "You are an impartial judge comparing two answers written by AI assistants to the same "
        "question. The order in which the answers appear says nothing about their quality. You "
        "reply with JSON only."
    ),
    user="""Decide which answer to the question below is better.

[Question]
$question

[Document the question is about]
$document

[Reference answer]
$reference

[Answer A]
$answer_a

[Answer B]
$answer_b

The better answer is the more correct, complete and helpful one, judged against the reference
answer when there is one. Do not prefer an answer for its length or its position. Say "tie" when
neither is better.

Reply with JSON only, in this shape:
{"winner": "A" | "B" | "tie", "explanation": "<one or two sentences>"}""",
)

RUBRIC_PROMPTS: dict[str, PromptTemplate] = {"rubric-v1": RUBRIC_V1}
"""Rubric judge prompts by version."""
PAIRWISE_PROMPTS: dict[str, PromptTemplate] = {"pairwise-v1": PAIRWISE_V1}
"""Pairwise judge prompts by version."""
