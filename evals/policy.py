"""Privacy rules that hold before any data leaves: which models may see which golden sets."""

from __future__ import annotations

from collections.abc import Sequence

from evals.errors import PolicyViolation
from evals.models import ModelSpec


def check_privacy(
    *,
    watch_name: str,
    golden_set: str,
    privacy: str,
    models: Sequence[ModelSpec],
    allowed_residencies: Sequence[str],
) -> PolicyViolation | None:
    """The violation, if the watch would send a confidential golden set to an API model.

    A confidential set may go to self-hosted models, and to API models whose residency the
    watch's policy lists in `allowed_residencies`.
    """
    if privacy != "confidential":
        return None
    for model in models:
        if model.hosting != "api" or (model.residency is not None and model.residency in allowed_residencies):
            continue
        residency = model.residency or "unset"
        return PolicyViolation(
            f"watch '{watch_name}' would send the confidential golden set '{golden_set}' to model "
            f"'{model.name}', which is hosted by an API provider (hosting: api, residency: {residency}). "
            f"Use a self-hosted model (hosting: self_hosted), or, if that provider may receive this data, "
            f"set the model's residency and list it in the watch's policy.allowed_residencies"
            f"{f' (e.g. [{model.residency}])' if model.residency else ''}, or lower the golden set's privacy class."
        )
    return None
