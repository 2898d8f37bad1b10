"""May a model serve production traffic? The advisor's privacy eligibility, on `evals.policy`'s predicate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evals.models import ModelSpec
from evals.policy import serving_problem


@dataclass(frozen=True)
class PrivacyCheck:
    """Whether one model may serve production traffic under the watch's policy."""

    model: str
    """The model's name."""
    ok: bool
    """True when it qualifies."""
    reason: str | None
    """Why it does not qualify (None when it does)."""


def check_serving(model: ModelSpec, *, privacy: str, allowed_residencies: Sequence[str]) -> PrivacyCheck:
    """Check that `model` may serve production traffic for a golden set of class `privacy`.

    Args:
        model: The model.
        privacy: The golden set's privacy class.
        allowed_residencies: The policy's residencies; when set, a model must declare one of them.

    Returns:
        The check, with the rule broken as a sentence.
    """
    problem = serving_problem(model, privacy=privacy, allowed_residencies=allowed_residencies)
    return PrivacyCheck(model=model.name, ok=problem is None, reason=problem)
