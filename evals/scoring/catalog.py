"""The built-in scorers, listed in one place.

Each factory carries its name and version in its `@scorer` decorator, which registers it as its
module loads; `registered_scorers()` imports this module, so the modules named here are the ones
whose scorers exist. tests/evals/test_scorers.py checks that every scorer under evals/scoring is
listed, so a new family cannot be left out by accident.
"""

from __future__ import annotations

from evals.scoring import builtin, choice, compose, judge, language, overlap, refusal, semantic
from evals.scoring.registry import ScorerFactory

BUILTIN_SCORERS: tuple[ScorerFactory, ...] = (
    # deterministic, against the expected answer or an option (evals/scoring/builtin.py)
    builtin.exact_match,
    builtin.contains,
    builtin.regex,
    builtin.json_valid,
    builtin.json_schema,
    builtin.numeric,
    builtin.asserts,
    choice.choice,
    # text overlap with the expected answer
    overlap.token_f1,
    overlap.rouge_l,
    overlap.chrf,
    overlap.bleu,
    overlap.length_ratio,
    # properties of the answer itself
    language.language,
    refusal.refusal,
    semantic.semantic_similarity,
    # scorers made of other scorers
    compose.all_of,
    compose.any_of,
    compose.weighted,
    # LLM judges (need a ScorerContext)
    judge.judge,
    judge.pairwise_judge,
)
"""Every built-in scorer factory, registered under the name its decorator gives."""
