"""Judge drift: a judge's verdicts on a pinned set, asked again, held to the pinned ones by Cohen's kappa.

The pinned set is either the first cycle's own verdicts of the judge on a fixed sample (up to
`SAMPLE_SIZE` cases, chosen by a hash of the case id so the same cases are chosen whatever order
they come in), or a person's verdicts from `drift: {judge_labels: FILE}`. Every `judge_every`
cycles the same questions (case and answer(s)) are put to the judge again, past the judge cache,
and the agreement of the new verdicts with the pinned ones is Cohen's kappa (`evals.stats.kappa`),
verdicts taken as categories.

The reference kappa is what agreement looked like when the set was pinned: 1 for the judge's own
verdicts (they agree with themselves), the kappa of the judge's first verdicts against a person's
labels for a labelled set. A re-judging whose whole interval lies below that reference (its upper
bound under it) is a `drifted` reason for the judge model: one flipped verdict of 50 is not (its
interval reaches 1), a judge that answers differently on many is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from evals.scoring.judge import JUDGE_SCORERS
from evals.scoring.registry import ScorerSpec
from evals.stats.kappa import Kappa, cohen_kappa

SAMPLE_SIZE = 50
"""Cases pinned from the first cycle, at 50 judge calls a re-judging (100 for a pairwise judge). With 50
verdicts in 5 even categories, up to 3 changed verdicts keep kappa's upper bound at 1 (stable); 5
changed give kappa 0.875 [0.771, 0.979] (drifted), 17 give 0.575 [0.411, 0.739]."""

UNSCORABLE = "unscorable"
"""The category of a re-judged verdict that has no value (a reply with no score): a disagreement."""


@dataclass(frozen=True)
class PinnedVerdict:
    """One pinned question with its reference verdict."""

    case_id: str
    """The case's id."""
    content_hash: str
    """The case's content hash (the same case whatever version of the golden set)."""
    answer: str
    """The answer judged (for a pairwise judge, the candidate's)."""
    value: float
    """The reference verdict, in the judge scorer's units (0 to 1)."""
    production: str | None = None
    """For a pairwise judge, the production answer."""

    def to_data(self) -> dict[str, Any]:
        """The JSON form stored with the pinned set."""
        return {"case_id": self.case_id, "content_hash": self.content_hash, "answer": self.answer,
                "value": self.value, "production": self.production}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PinnedVerdict:
        """The verdict `to_data` wrote."""
        return cls(case_id=str(data["case_id"]), content_hash=str(data["content_hash"]), answer=str(data["answer"]),
                   value=float(data["value"]), production=data.get("production"))


@dataclass(frozen=True)
class JudgeAgreement:
    """One re-judging of the pinned set, against its reference."""

    kappa: Kappa
    """Cohen's kappa of the new verdicts with the pinned ones."""
    reference_kappa: float | None
    """The kappa the set was pinned with (1 for the judge's own verdicts); None when not measurable."""
    n_pinned: int
    """Verdicts in the pinned set."""
    n_failed: int
    """Of those, calls that failed in passing (rate limit, server error): left out, not disagreements."""
    drifted: bool
    """The interval's upper bound is below the reference kappa."""
    message: str
    """What a person reads, with the numbers."""


def judged_spec(specs: Iterable[ScorerSpec]) -> ScorerSpec | None:
    """The judge scorer whose drift is watched: the primary scorer if it is a judge, else the first
    `judge` / `pairwise_judge` of the watch (parts of composite scorers are not watched)."""
    judges = [spec for spec in specs if spec.name in JUDGE_SCORERS]
    return next((spec for spec in judges if spec.primary), judges[0] if judges else None)


def sample_key(case_id: str) -> str:
    """The order cases are pinned in: a hash of the id, so the sample does not depend on file order."""
    return hashlib.sha256(case_id.encode()).hexdigest()


def pinned_sample(verdicts: Iterable[PinnedVerdict], *, size: int = SAMPLE_SIZE) -> tuple[PinnedVerdict, ...]:
    """The fixed sample of a first cycle's verdicts: the *size* cases first by `sample_key`, one each."""
    by_case: dict[str, PinnedVerdict] = {}
    for verdict in verdicts:
        by_case.setdefault(verdict.case_id, verdict)
    chosen = sorted(by_case.values(), key=lambda verdict: sample_key(verdict.case_id))[:size]
    return tuple(chosen)


def category(value: float | None) -> str:
    """A verdict as a kappa category: the value, rounded so float noise cannot split a category."""
    return UNSCORABLE if value is None else f"{round(value, 6):g}"


def judge_agreement(
    *,
    judge_model: str,
    pinned: Sequence[PinnedVerdict],
    rejudged: Sequence[float | None],
    failed: Sequence[bool],
    reference_kappa: float | None,
    confidence: float = 0.95,
) -> JudgeAgreement:
    """The agreement of a re-judging with the pinned set, and whether the judge drifted.

    Args:
        judge_model: The judge model's name (for the message).
        pinned: The pinned verdicts.
        rejudged: The new verdict of each (None: the reply had no usable verdict).
        failed: Per pinned verdict, True when the call failed in passing: left out.
        reference_kappa: The kappa the set was pinned with.
        confidence: Level of kappa's interval.

    Returns:
        The agreement; `drifted` when kappa's upper bound is below `reference_kappa`.
    """
    if not len(pinned) == len(rejudged) == len(failed):
        raise ValueError("one new verdict (and one failure flag) per pinned verdict")
    kept = [(category(p.value), category(r)) for p, r, f in zip(pinned, rejudged, failed, strict=True) if not f]
    kappa = cohen_kappa([a for a, _ in kept], [b for _, b in kept], confidence=confidence)
    n_failed = sum(failed)
    where = f"judge {judge_model}: kappa"
    if kappa.kappa is None or kappa.ci_high is None or kappa.ci_low is None:
        why = "no verdict came back" if not kept else "every verdict, pinned and new, is the same one"
        return JudgeAgreement(kappa=kappa, reference_kappa=reference_kappa, n_pinned=len(pinned), n_failed=n_failed,
                              drifted=False, message=f"{where} not measurable: {why}")
    numbers = (f"{where} = {kappa.kappa:.2f} [{kappa.ci_low:.2f}, {kappa.ci_high:.2f}] on {kappa.n} pinned verdicts"
               f" ({kappa.observed:.0%} agree)")
    if n_failed:
        numbers += f", {n_failed} call(s) failed and left out"
    drifted = reference_kappa is not None and kappa.ci_high < reference_kappa
    if reference_kappa is None:
        message = f"{numbers}; no reference kappa to hold it to"
    elif drifted:
        message = f"{numbers}, below the reference {reference_kappa:.2f}: the judge's verdicts changed"
    else:
        message = f"{numbers}; reference {reference_kappa:.2f}"
    return JudgeAgreement(kappa=kappa, reference_kappa=reference_kappa, n_pinned=len(pinned), n_failed=n_failed,
                          drifted=drifted, message=message)
