"""LLM-as-judge scorers: rubric scoring against the reference, and pairwise production vs candidate.

The judge is any configured model, named by the `model` option and reached through the
ScorerContext's providers; its sampling parameters are the model's own (declare judge models
with `temperature: 0`). Prompts are pinned, versioned constants: the version is an option and
is stored, with the judge model's name, in every score's details, so a changed prompt is a new
version and old scores stay explainable. Judge answers are cached when the context has a cache,
keyed by judge model, prompt version and the rendered messages; only answers that parsed are
cached, so a garbled reply is asked again next time.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from evals.cases import Case
from evals.providers.base import Provider
from evals.results import RETRYABLE, Completion, ErrorKind, Request, Score
from evals.scoring.apply import no_answer
from evals.scoring.context import ScorerContext, judge_cache_key, require_context
from evals.scoring.jsontext import NotJson, find_json_objects, parse_json_answer
from evals.scoring.judge_prompts import PAIRWISE_PROMPTS, RUBRIC_PROMPTS, PromptTemplate, render_case
from evals.scoring.options import text_option
from evals.scoring.registry import Scorer, ScorerSpec, scorer
from evals.scoring.text import clip

NEEDS_PRODUCTION = "pairwise judging needs the production answer"
_SCORE_FIELD = re.compile(r"""["']?score["']?\s*[:=]\s*["']?(-?\d+(?:\.\d+)?)""", re.IGNORECASE)
_WINNER_FIELD = re.compile(r"""["']?winner["']?\s*[:=]\s*["']?(A|B|tie)\b""", re.IGNORECASE)
_WINNERS = {"a": "A", "answer a": "A", "b": "B", "answer b": "B", "tie": "tie", "draw": "tie", "equal": "tie"}
JUDGE_SCORERS = frozenset({"judge", "pairwise_judge"})
"""Scorers whose `model` option names a judge model that is sent the case and the answers."""


def judge_models(specs: Iterable[ScorerSpec]) -> list[str]:
    """The judge models *specs* call, parts of composite scorers (`scorers:` options) included.

    Read leniently, as stored specs are: a part that is not a well-formed spec names no judge.

    Args:
        specs: Scorer specs, e.g. a watch's.

    Returns:
        Model names in the order first met, each once.
    """
    found: dict[str, None] = {}

    def walk(name: object, options: object) -> None:
        if not isinstance(options, dict):
            return
        if name in JUDGE_SCORERS and isinstance(options.get("model"), str):
            found.setdefault(options["model"])
        parts = options.get("scorers")
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict):
                walk(part.get("name"), part.get("options") or {})
            elif isinstance(part, str):
                part_name, _, raw = part.partition(":")
                try:
                    walk(part_name.strip(), json.loads(raw) if raw else {})
                except json.JSONDecodeError:
                    continue

    for spec in specs:
        walk(spec.name, spec.options)
    return list(found)


@dataclass(frozen=True)
class JudgeReply:
    """One judge call's outcome: the reply text, or why there is none."""

    text: str | None
    error: str | None
    cached: bool
    key: str
    error_kind: ErrorKind | None = None
    """How the call failed, when it did."""

    @property
    def retryable(self) -> bool:
        """True when the call failed in a way that may pass (rate limit, server, timeout, connection)."""
        return self.error_kind in RETRYABLE


class JudgeClient:
    """Calls one judge model with one prompt version, through the context's cache."""

    def __init__(self, context: ScorerContext, model: str, prompt_version: str) -> None:
        self.model = model
        self.prompt_version = prompt_version
        self._provider: Provider = context.providers(model)  # an unknown model fails the build
        self._cache = context.cache

    async def ask(self, messages: list[dict[str, str]], case_id: str, repetition: int) -> JudgeReply:
        """Send *messages* to the judge, unless the cache already holds its answer."""
        key = judge_cache_key(self.model, self.prompt_version, messages)
        if self._cache is not None:
            hit = await self._cache.get(key)
            if hit is not None and isinstance(hit.get("text"), str):
                return JudgeReply(text=hit["text"], error=None, cached=True, key=key)
        reply = await self._provider.complete(Request(case_id=case_id, repetition=repetition, messages=messages))
        if not reply.ok or reply.output is None:
            return JudgeReply(text=None, error=reply.error or "the judge returned no output", cached=False, key=key,
                              error_kind=reply.error_kind)
        return JudgeReply(text=reply.output, error=None, cached=False, key=key)

    async def keep(self, reply: JudgeReply) -> None:
        """Cache a reply that parsed (a hit is already cached)."""
        if self._cache is not None and not reply.cached and reply.text is not None:
            await self._cache.put(key=reply.key, value={"text": reply.text, "judge_model": self.model,
                                                        "prompt_version": self.prompt_version})

    def details(self) -> dict[str, Any]:
        """What every judged score records about its judge."""
        return {"judge_model": self.model, "prompt_version": self.prompt_version}


def _json_field(text: str, field: str) -> Any:
    """The *field* of the judge's JSON reply: whole reply, fenced block, or an object in prose."""
    candidates: list[Any] = []
    try:
        candidates.append(parse_json_answer(text.strip()).value)
    except NotJson:
        pass
    candidates.extend(find_json_objects(text))
    for candidate in candidates:
        if isinstance(candidate, dict) and field in candidate:
            return candidate[field]
    return None


def parse_rubric_reply(text: str) -> tuple[float, str] | None:
    """(score 0-10, explanation) from a rubric judge's reply, or None when it has no usable score."""
    raw = _json_field(text, "score")
    if raw is None:
        found = _SCORE_FIELD.search(text)
        raw = found.group(1) if found else None
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    if not 0 <= value <= 10:
        return None
    explanation = _json_field(text, "explanation")
    return value, explanation if isinstance(explanation, str) else ""


def parse_pairwise_reply(text: str) -> tuple[str, str] | None:
    """(winner "A" | "B" | "tie", explanation) from a pairwise judge's reply, or None."""
    raw = _json_field(text, "winner")
    if raw is None:
        found = _WINNER_FIELD.search(text)
        raw = found.group(1) if found else None
    winner = _WINNERS.get(raw.strip().lower()) if isinstance(raw, str) else None
    if winner is None:
        return None
    explanation = _json_field(text, "explanation")
    return winner, explanation if isinstance(explanation, str) else ""


def _prompt(prompts: dict[str, PromptTemplate], version: Any) -> PromptTemplate:
    if not isinstance(version, str) or version not in prompts:
        raise ValueError(f"option 'prompt_version' must be one of {', '.join(sorted(prompts))}, got {version!r}")
    return prompts[version]


@scorer("judge", version="1")
def judge(
    *,
    model: str,
    rubric: str | None = None,
    prompt_version: str = "rubric-v1",
    context: ScorerContext | None = None,
) -> Scorer:
    """An LLM judge scores the answer 0-10 against the reference and criteria; value = score / 10."""
    judge_model = text_option("model", model)
    extra_rubric = None if rubric is None else text_option("rubric", rubric)
    template = _prompt(RUBRIC_PROMPTS, prompt_version)
    client = JudgeClient(require_context(context), judge_model, prompt_version)

    async def score(case: Case, completion: Completion, production: Completion | None = None) -> Score:
        if completion.output is None or not completion.ok:
            return no_answer(completion)
        criteria = "\n".join(part for part in (extra_rubric, case.criteria) if part)
        if not (case.expected and case.expected.strip()) and not criteria:
            return Score.unscorable("case has no expected answer or criteria, and the scorer has no 'rubric'")
        messages = template.render(**render_case(case), criteria=criteria, answer=completion.output)
        reply = await client.ask(messages, case.id, completion.repetition)
        details = client.details() | {"cached": reply.cached}
        if reply.text is None:
            return Score(value=None, error=f"judge call failed: {reply.error}", details=details,
                         retryable=reply.retryable)
        parsed = parse_rubric_reply(reply.text)
        if parsed is None:
            details["raw"] = clip(reply.text, 2000)
            return Score(value=None, error="judge reply has no score from 0 to 10", details=details)
        await client.keep(reply)
        judged, explanation = parsed
        details["judge_score"] = judged
        return Score(value=judged / 10, explanation=explanation or None, details=details)

    return score


def _candidate_outcome(winner: str, candidate_label: str) -> float:
    if winner == "tie":
        return 0.5
    return 1.0 if winner == candidate_label else 0.0


@scorer("pairwise_judge", version="1")
def pairwise_judge(
    *, model: str, prompt_version: str = "pairwise-v1", context: ScorerContext | None = None
) -> Scorer:
    """An LLM judge compares candidate and production answers, asked in both orders.

    Value: candidate win 1.0 / tie 0.5 / loss 0.0, averaged over the two orders, so a judge that
    prefers whichever answer comes first scores 0.5 rather than deciding by position.
    """
    judge_model = text_option("model", model)
    template = _prompt(PAIRWISE_PROMPTS, prompt_version)
    client = JudgeClient(require_context(context), judge_model, prompt_version)

    async def verdict(case: Case, repetition: int, order: str, first: str, second: str) -> dict[str, Any]:
        messages = template.render(**render_case(case), answer_a=first, answer_b=second)
        reply = await client.ask(messages, case.id, repetition)
        outcome: dict[str, Any] = {"order": order, "cached": reply.cached}
        if reply.text is None:
            return outcome | {"error": f"judge call failed: {reply.error}", "retryable": reply.retryable}
        parsed = parse_pairwise_reply(reply.text)
        if parsed is None:
            return outcome | {"error": "judge reply names no winner (A, B or tie)", "raw": clip(reply.text, 2000)}
        await client.keep(reply)
        winner, explanation = parsed
        candidate_label = "B" if order == "production_first" else "A"
        return outcome | {"winner": winner, "candidate": _candidate_outcome(winner, candidate_label),
                          "explanation": explanation}

    async def score(case: Case, completion: Completion, production: Completion | None = None) -> Score:
        if completion.output is None or not completion.ok:
            return no_answer(completion)
        if production is None:
            return Score.unscorable(NEEDS_PRODUCTION)
        details = client.details()
        if production.output is None or not production.ok:
            # A side that could not answer loses (DESIGN.md §6): nothing to ask the judge.
            return Score(value=1.0, explanation="production gave no answer; the candidate wins",
                         details=details | {"production_error": production.error})
        verdicts = await asyncio.gather(
            verdict(case, completion.repetition, "production_first", production.output, completion.output),
            verdict(case, completion.repetition, "candidate_first", completion.output, production.output),
        )
        details["verdicts"] = list(verdicts)
        errors = [f"{v['order']}: {v['error']}" for v in verdicts if "error" in v]
        if errors:
            retryable = any(v.get("retryable") for v in verdicts)
            return Score(value=None, error="; ".join(errors), details=details, retryable=retryable)
        outcomes = [float(v["candidate"]) for v in verdicts]
        details["consistent"] = outcomes[0] == outcomes[1]
        value = sum(outcomes) / len(outcomes)
        words = {1.0: "wins", 0.5: "ties", 0.0: "loses"}
        explanation = "; ".join(f"candidate {words[o]} ({v['order']})" for o, v in zip(outcomes, verdicts, strict=True))
        return Score(value=value, explanation=explanation, details=details)

    return score
