"""The privacy rules that hold before any data leaves, and for serving production traffic.

A watch's policy itself is the advisor's, `evals.advisor.policy.AdvisorPolicy`.

Both privacy checks rest on one predicate, `may_receive`: `check_privacy` refuses a watch at `apply`
(and a re-score at `turnout rescore`) when any model that would see the data, judges included, may not,
and `serving_problem` (the advisor's eligibility) adds that, with `allowed_residencies` set, every
model must declare an allowed residency, whatever the golden set's class.
"""

from __future__ import annotations

from collections.abc import Sequence

from evals.errors import PolicyViolation
from evals.models import ModelSpec


def default_margin() -> float:
    """The non-inferiority margin of a policy that names none: `AdvisorPolicy.margin`'s one default."""
    from evals.advisor.policy import AdvisorPolicy  # noqa: PLC0415 - the advisor's privacy check imports this module

    return float(AdvisorPolicy.model_fields["margin"].default)


def may_receive(model: ModelSpec, *, privacy: str, allowed_residencies: Sequence[str]) -> bool:
    """True when `model` may be sent a golden set of class `privacy`.

    A confidential set may go to self-hosted models, and to API models whose residency is listed
    in `allowed_residencies`; other classes may go anywhere.
    """
    if privacy != "confidential" or model.hosting != "api":
        return True
    return model.residency is not None and model.residency in allowed_residencies


def serving_problem(model: ModelSpec, *, privacy: str, allowed_residencies: Sequence[str]) -> str | None:
    """Why `model` may not serve production traffic for a golden set of class `privacy`, or None.

    Args:
        model: The model.
        privacy: The golden set's privacy class (its traffic is assumed alike).
        allowed_residencies: The watch's policy; when not empty, a model must declare one of them.

    Returns:
        A sentence naming the model and the rule it breaks, or None when it qualifies.
    """
    allowed = ", ".join(allowed_residencies)
    if allowed_residencies and model.residency is None:
        return (f"{model.name} declares no residency, and policy.allowed_residencies is [{allowed}]: "
                f"a model without a declared residency does not qualify")
    if allowed_residencies and model.residency not in allowed_residencies:
        return f"{model.name} has residency {model.residency}, which is not in policy.allowed_residencies [{allowed}]"
    if not may_receive(model, privacy=privacy, allowed_residencies=allowed_residencies):
        return (f"{model.name} is hosted by an API provider (hosting: api, residency: {model.residency or 'unset'}) "
                f"and the golden set is {privacy}")
    return None


def check_privacy(
    *,
    watch_name: str,
    golden_set: str,
    privacy: str,
    models: Sequence[ModelSpec],
    allowed_residencies: Sequence[str],
    judges: Sequence[ModelSpec] = (),
) -> PolicyViolation | None:
    """The violation, if the watch would send a confidential golden set to an API model.

    A confidential set may go to self-hosted models, and to API models whose residency the
    watch's policy lists in `allowed_residencies`. Judge models count like the others: a judge
    receives each case's input and reference and the answers it judges.

    Args:
        watch_name: The watch, for the message.
        golden_set: The golden set's name, for the message.
        privacy: The golden set's privacy class.
        models: The production and candidate models.
        allowed_residencies: The watch's `policy.allowed_residencies`.
        judges: The models the watch's scorers call as judges (nested parts included).

    Returns:
        The first violation found, naming the model and what to change; None when every model may
        receive the set.
    """
    if privacy != "confidential":
        return None
    named = [(model, "model") for model in models] + [(judge, "judge model") for judge in judges]
    for model, role in named:
        if may_receive(model, privacy=privacy, allowed_residencies=allowed_residencies):
            continue
        residency = model.residency or "unset"
        sees = " (a judge receives each case's input, reference and answers)" if role == "judge model" else ""
        return PolicyViolation(
            f"watch '{watch_name}' would send the confidential golden set '{golden_set}' to {role} "
            f"'{model.name}'{sees}, which is hosted by an API provider (hosting: api, residency: {residency}). "
            f"Use a self-hosted model (hosting: self_hosted), or, if that provider may receive this data, "
            f"set the model's residency and list it in the watch's policy.allowed_residencies"
            f"{f' (e.g. [{model.residency}])' if model.residency else ''}, or lower the golden set's privacy class."
        )
    return None
