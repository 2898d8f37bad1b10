"""Judge drift in the analysis step: pin the judge's reference verdicts, re-judge them, store kappa.

When the watch has a `judge` / `pairwise_judge` scorer (`evals.drift.judge.judged_spec`): the first
cycle pins a fixed sample of its verdicts, or the labels of `drift: {judge_labels: FILE}` (judged
at once, for their reference kappa); every `judge_every` checked cycles after, the same questions
are put to the judge again. The re-judging goes past the judge cache (a context without one), or a
changed judge would be answered by its old self; it passes the judge's limits and the watch's
budget like any judge call, and its cost is the cycle's. A re-run of the step judges nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from evals.cases import canonical_json, sha256_hex
from evals.drift.judge import JudgeAgreement, PinnedVerdict, judge_agreement, judged_spec, pinned_sample
from evals.drift.judge_labels import JudgeLabel
from evals.results import Completion
from evals.scoring.apply import score_completion
from evals.scoring.context import ScorerContext
from evals.scoring.registry import ScorerSpec
from jobs.scoring_context import JudgeProviders, judge_budget
from service.settings import get_settings
from service.storage import judge_drift, leases, results, runs
from service.storage.db import session_scope
from service.storage.judge_drift_tables import JudgeReferenceRow

log = logging.getLogger(__name__)


def check_judge_drift(cycle_id: int, *, fence: leases.StepFence | None = None) -> dict[str, Any] | None:
    """Pin or re-judge the watch's judge verdicts in cycle *cycle_id*, as due; store the outcome (only
    while *fence*, the analysis step's lease, is held, when given).

    Returns:
        The stored judging (`turnout drift --json`'s entry for the judge), or None when the watch has
        no judge, nothing was due, or nothing could be pinned.
    """
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
        recipe = runs.recipe(cycle)
        spec = judged_spec(recipe.scorers)
        if spec is None:
            return None
        judge_name = str(spec.options.get("model"))
        judge_id = judge_drift.model_id(session, name=judge_name)
        if judge_id is None:
            log.warning("cycle %s: judge model '%s' is no longer declared; no judge drift check", cycle_id, judge_name)
            return None
        labels = [JudgeLabel.from_data(data) for data in recipe.watch.judge_label_set]
        source = "labels" if labels else "first_cycle"
        labels_hash = sha256_hex(canonical_json([label.to_data() for label in labels])) if labels else ""
        reference = judge_drift.find_reference(session, watch_id=cycle.watch_id, scorer_key=spec.key,
                                               source=source, labels_hash=labels_hash)
        pairwise = spec.name == "pairwise_judge"
        leases.fence(session, fence)
        if reference is None and not labels:
            own = pinned_sample(judge_drift.first_cycle_verdicts(session, cycle_id=cycle_id, scorer_key=spec.key,
                                                                 pairwise=pairwise))
            if not own:
                return None  # nothing judged this cycle: pin from the next one that is
            reference = judge_drift.pin_reference(
                session, watch_id=cycle.watch_id, judge_model_id=judge_id, scorer_key=spec.key, source=source,
                labels_hash="", cycle_id=cycle_id, verdicts=list(own), reference_kappa=1.0)
            document = _pinned_document(judge_name, spec, reference)
            judge_drift.save_judging(session, reference=reference, cycle_id=cycle_id, document=document)
            return document
        if reference is None:
            cases = judge_drift.cases_of_version(session, version_id=cycle.golden_set_version_id)
            verdicts = [PinnedVerdict(case_id=label.case, content_hash=cases[label.case][0], answer=label.answer,
                                      value=label.score, production=label.production)
                        for label in labels if label.case in cases]
            if len(verdicts) < 2:
                log.warning("cycle %s: the judge labels name fewer than 2 cases of this golden-set version", cycle_id)
                return None
            reference = judge_drift.pin_reference(
                session, watch_id=cycle.watch_id, judge_model_id=judge_id, scorer_key=spec.key, source=source,
                labels_hash=labels_hash, cycle_id=cycle_id, verdicts=verdicts, reference_kappa=None)
        elif not judge_drift.due(session, reference=reference, cycle_id=cycle_id,
                                 every=recipe.watch.drift.judge_every):
            return None
        pinned = [PinnedVerdict.from_data(data) for data in reference.verdicts]
        cases_found = judge_drift.cases_by_hash(session, content_hashes={verdict.content_hash for verdict in pinned})
        confidence = recipe.watch.policy.confidence
        first_labelled = reference.reference_kappa is None
    values, failed, spent, refused = asyncio.run(_rejudge(spec, pinned, cases_found, cycle_id=cycle_id))
    if refused is not None:  # not a disagreement: judged again next cycle
        log.warning("cycle %s: judge drift not checked: %s", cycle_id, refused)
        with session_scope() as session:
            leases.fence(session, fence)
            results.add_judge_cost(session, cycle_id=cycle_id, cost_usd=spent)
        return None
    agreement = judge_agreement(judge_model=judge_name, pinned=pinned, rejudged=values, failed=failed,
                                reference_kappa=reference.reference_kappa, confidence=confidence)
    with session_scope() as session:
        leases.fence(session, fence)
        results.add_judge_cost(session, cycle_id=cycle_id, cost_usd=spent)
        if first_labelled:
            # The labels' first judging is what agreement with them looks like: the reference.
            judge_drift.set_reference_kappa(session, reference_id=reference.id or 0, kappa=agreement.kappa.kappa)
            agreement = judge_agreement(judge_model=judge_name, pinned=pinned, rejudged=values, failed=failed,
                                        reference_kappa=agreement.kappa.kappa, confidence=confidence)
        document = _document(judge_name, spec, reference, agreement, first_labelled=first_labelled)
        judge_drift.save_judging(session, reference=reference, cycle_id=cycle_id, document=document)
    return document


async def _rejudge(spec: ScorerSpec, pinned: list[PinnedVerdict], cases: dict[str, Any], *,
                   cycle_id: int) -> tuple[list[float | None], list[bool], float, str | None]:
    """Each pinned question put to the judge again, without a cache: (values, failed in passing, cost,
    why the budget refused a call or None)."""
    providers = JudgeProviders(budget=judge_budget(cycle_id=cycle_id))
    scorer = spec.build(ScorerContext(providers=providers, cache=None))
    limit = asyncio.Semaphore(get_settings().score_concurrency)

    async def one(verdict: PinnedVerdict) -> tuple[float | None, bool]:
        case = cases.get(verdict.content_hash)
        if case is None:
            return None, True  # the case is gone from the store: left out, not a disagreement
        answer = Completion(case_id=case.id, output=verdict.answer)
        production = None if verdict.production is None else Completion(case_id=case.id, output=verdict.production)
        async with limit:
            score = await score_completion(scorer, case, answer, production)
        return score.value, score.retryable

    try:
        outcomes = await asyncio.gather(*(one(verdict) for verdict in pinned))
    finally:
        await providers.aclose()
    return ([value for value, _ in outcomes], [failed for _, failed in outcomes], providers.take_spent(),
            providers.refused)


def _base(judge_name: str, spec: ScorerSpec, reference: JudgeReferenceRow) -> dict[str, Any]:
    # The keys of a model's check (`DriftCheck.to_dict`), so readers of `turnout drift --json` need no case.
    return {"role": "judge", "scorer": spec.key, "judge_reference": reference.source,
            "judge_pinned_cycle_id": reference.cycle_id, "run_id": None, "reference_run_ids": [],
            "score_change": None, "ci_low": None, "ci_high": None, "output_change_rate": None,
            "expected_change_rate": None, "fingerprint_changed": False, "new_fingerprints": [],
            "served_model_changed": False, "probe_p": None, "drift_share": None, "drifted_columns": [],
            "judge_reference_kappa": reference.reference_kappa, "judge_n_verdicts": len(reference.verdicts),
            "judge_n_failed": 0, "judge_model": judge_name}


def _pinned_document(judge_name: str, spec: ScorerSpec, reference: JudgeReferenceRow) -> dict[str, Any]:
    message = (f"judge {judge_name}: {len(reference.verdicts)} verdicts of this cycle pinned as the reference; "
               "re-judged every judge_every cycles")
    return {**_base(judge_name, spec, reference), "verdict": "stable",
            "reasons": [{"kind": "judge_pinned", "message": message}], "judge_message": message,
            "judge_kappa": None, "judge_ci_low": None, "judge_ci_high": None, "judge_agreement": None}


def _document(judge_name: str, spec: ScorerSpec, reference: JudgeReferenceRow, agreement: JudgeAgreement, *,
              first_labelled: bool) -> dict[str, Any]:
    # As for models, reasons are what drifted (or that the set was just pinned); a stable judging says
    # its numbers in `judge_message`.
    kappa = agreement.kappa
    reasons = []
    if first_labelled:
        reasons = [{"kind": "judge_pinned", "message": agreement.message + "; the labels' reference kappa from now on"}]
    elif agreement.drifted:
        reasons = [{"kind": "judge_kappa", "message": agreement.message}]
    return {**_base(judge_name, spec, reference), "verdict": "drifted" if agreement.drifted else "stable",
            "reasons": reasons, "judge_message": agreement.message, "judge_kappa": kappa.kappa,
            "judge_ci_low": kappa.ci_low, "judge_ci_high": kappa.ci_high, "judge_agreement": kappa.observed,
            "judge_reference_kappa": agreement.reference_kappa, "judge_n_verdicts": kappa.n,
            "judge_n_failed": agreement.n_failed}
