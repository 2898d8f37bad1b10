"""The drift step: each model's run of a cycle against its reference runs, its verdict stored; then
the watch's judge against its pinned verdicts (`jobs.judge_drift`).

Runs in every cycle's analysis step (inline in `turnout run` too). A model whose run failed gets no
check; a reference that cannot be compared (it shares no case) is logged and the model skipped, so
one bad pin never fails a cycle.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlmodel import Session

from evals.drift.mmd import MMDResult, mmd_test
from evals.drift.settings import ProbeSettings
from evals.drift.verdict import DataDrift, DriftCheck, check_drift
from evals.errors import BadReference, ConfigError
from evals.models import ModelSpec, display_name
from jobs.judge_drift import check_judge_drift
from service.settings import get_settings
from service.storage import drift, judge_drift, leases, outbox, probe, runs
from service.storage.blobs import blob_store
from service.storage.db import session_scope
from service.storage.tables import RunRow, utcnow

log = logging.getLogger(__name__)

PROBE_SEED = 0
"""Seeds the probe test's permutations."""

OURS = ("evals", "jobs", "service")
"""Our packages: a module of theirs that cannot be imported is no missing extra."""


def check_cycle_drift(cycle_id: int, *, build_report: bool = True,
                      fence: leases.StepFence | None = None) -> dict[int, DriftCheck]:
    """Check every answered run of cycle *cycle_id* for drift and store the verdicts.

    Args:
        cycle_id: A cycle whose runs are scored.
        build_report: Also build and store the Evidently report of each compared run.
        fence: The analysis step's lease: the checks are committed only while it is held.

    Returns:
        Run id -> its check.
    """
    checks: dict[int, DriftCheck] = {}
    reports = _data_drift_reports(cycle_id) if build_report else {}
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
        recipe = runs.recipe(cycle)
        settings, key = recipe.watch.drift, recipe.primary.key
        store = blob_store(get_settings())
        for run in runs.cycle_runs(session, cycle_id=cycle_id):
            if run.state != "finished":
                continue
            references = drift.reference_runs(session, run=run, k=settings.reference_runs)
            current = drift.run_sample(session, run=run, scorer_key=key)
            samples = [drift.run_sample(session, run=ref, scorer_key=key) for ref in references]
            deterministic = _temperature(run.model_spec) == 0
            data_drift, snapshot = reports.get(run.id or 0, (None, None))
            probe_settings = settings.probe or ProbeSettings()
            tested = None if settings.probe is None or not samples else _probe_test(
                session, run=run, references=references, settings=probe_settings)
            try:
                check = check_drift(current=current, references=samples, margin=recipe.watch.policy.margin,
                                    confidence=recipe.watch.policy.confidence, deterministic=deterministic,
                                    data_drift=data_drift, drift_share=settings.drift_share, probe=tested,
                                    probe_alpha=probe_settings.alpha)
            except BadReference as exc:
                log.warning("cycle %s, run %s: no drift check: %s", cycle_id, run.id, exc)
                continue
            leases.fence(session, fence)
            if tested is not None:
                probe.save_probe_test(session, run=run, watch_id=cycle.watch_id,
                                      reference_run_ids=[ref.id or 0 for ref in references], result=tested,
                                      temperature=probe_settings.temperature,
                                      rejected=tested.p_value < probe_settings.alpha)
            report_key = None
            if snapshot is not None:
                report_key = f"drift/{cycle.watch_id}/{cycle_id}/{run.model_id}.json"
                store.put(session, report_key, snapshot.encode())
            document = check.to_dict()
            if data_drift is not None:
                document["columns"] = data_drift.columns
            drift.save_drift(session, run=run, watch_id=cycle.watch_id, document=document, report_key=report_key)
            if run.role == "production" and document["verdict"] == "drifted":
                name = display_name(str(run.model_spec.get("name", "production")),
                                    simulated=run.model_spec.get("kind") == "sim")
                outbox.record_drift(session, cycle=cycle, lines=[
                    f"{name}: {reason['message']}" for reason in document["reasons"]])
            checks[run.id or 0] = check
    try:
        check_judge_drift(cycle_id, fence=fence)
    except ConfigError as exc:  # e.g. the judge model is no longer declared: the cycle goes on
        log.warning("cycle %s: no judge drift check: %s", cycle_id, exc)
    prune_reports(watch_id=cycle.watch_id, keep_days=settings.keep_reports_days)
    return checks


def _data_drift_reports(cycle_id: int) -> dict[int, tuple[DataDrift, str]]:
    """Evidently's report of each finished run of the cycle against its reference runs, by run id.

    Built outside any transaction: on SQLite a write transaction held open while Evidently works (seconds a
    run, more on a loaded machine) locks out every other writer, the analysis step's own lease renewals and
    the next cycle's replays included, until the lease runs out and the step is sent again.
    """
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
        recipe = runs.recipe(cycle)
        inputs = {}
        for run in runs.cycle_runs(session, cycle_id=cycle_id):
            references = drift.reference_runs(session, run=run, k=recipe.watch.drift.reference_runs)
            if run.state == "finished" and references:
                inputs[run.id or 0] = (drift.run_sample(session, run=run, scorer_key=recipe.primary.key),
                                       [drift.run_sample(session, run=ref, scorer_key=recipe.primary.key)
                                        for ref in references])
    if not inputs:
        return {}
    from evals.drift.report import data_drift_report  # Evidently takes seconds to import

    reports: dict[int, tuple[DataDrift, str]] = {}
    for run_id, (current, samples) in inputs.items():
        try:
            reports[run_id] = data_drift_report(current=current, references=samples)
        except ImportError as exc:  # installed without the `drift` extra: the other signals still run
            if (exc.name or "").partition(".")[0] in OURS:
                raise  # one of our own modules is missing: a broken install, not a missing extra
            log.warning("cycle %s: no Evidently report (pip install 'turnout[drift]'): %s", cycle_id, exc)
            return {}
    return reports


def _probe_test(session: Session, *, run: RunRow, references: list[RunRow], settings: ProbeSettings
                ) -> MMDResult | None:
    """The probe's test of *run*'s samples against its reference runs' (at the same temperature); None
    when either side has none (the probe was configured after the reference runs, or every call failed)."""
    current = probe.probe_samples(session, run_ids=[run.id or 0], temperature=settings.temperature)
    reference = probe.probe_samples(session, run_ids=[ref.id or 0 for ref in references],
                                    temperature=settings.temperature)
    if not current or not reference:
        return None
    # A fixed seed: analysing the same samples again gives the same p-value.
    return mmd_test(current, reference, permutations=settings.permutations, seed=PROBE_SEED)


def _temperature(spec: dict[str, Any]) -> float | None:
    value = ModelSpec.model_validate(spec).params.get("temperature")
    return float(value) if isinstance(value, int | float) else None


def snapshot_json(*, watch: str, cycle_id: int, model: str) -> str:
    """The stored Evidently snapshot of *model*'s check in cycle *cycle_id*, as JSON text.

    Raises:
        NotFound: no such check, or its report was pruned or never built.
    """
    with session_scope() as session:
        _, rows = drift.drift_rows(session, watch_name=watch, cycle_id=cycle_id, model=model)
        row = rows[0][1]
        data = None if row.report_key is None else blob_store(get_settings()).get(session, row.report_key)
    if data is None:
        raise runs.NotFound(f"the drift report of '{model}' in cycle {cycle_id} was pruned or never built "
                            "(only compared runs get one); its verdict and scalars are kept")
    return json.dumps(json.loads(data))


def drift_document(*, watch: str, cycle_id: int | None = None, model: str | None = None) -> dict[str, Any]:
    """The drift checks of a cycle of *watch* (default: its latest checked one), as `turnout drift --json`
    prints them: `{"watch", "cycle_id", "models": [{"model", "verdict", "reasons", ...}]}`.

    Raises:
        NotFound: no such watch, cycle check or model.
    """
    with session_scope() as session:
        found, rows = drift.drift_rows(session, watch_name=watch, cycle_id=cycle_id)
        simulated = drift.simulated_runs(session, run_ids=[row.run_id for _, row in rows])
        models = [{"model": name, **row.document, "report_stored": row.report_key is not None,
                   "simulated": row.run_id in simulated} for name, row in rows]
        # The judge's latest judging up to this cycle (it is re-judged every judge_every cycles).
        judges = judge_drift.judge_rows(session, watch_id=rows[0][1].watch_id, cycle_id=found)
        models += [{"model": name, **row.document, "judged_cycle_id": row.cycle_id, "report_stored": False,
                    "simulated": False} for name, row in judges]
    chosen = [entry for entry in models if model is None or entry["model"] == model]
    if not chosen:
        raise runs.NotFound(f"model '{model}' has no drift check in cycle {found}; checked: "
                            f"{', '.join(str(entry['model']) for entry in models)}")
    return {"watch": watch, "cycle_id": found, "models": chosen}


def report_html(*, watch: str, cycle_id: int, model: str) -> str:
    """The drift report page of *model* in cycle *cycle_id*: a heading with the verdict and its reasons (the
    model labelled when simulated), then Evidently's report.

    Raises:
        NotFound: no such check, or its report was pruned or never built.
    """
    from evals.drift.report import ReportHeading, render_html  # Evidently takes seconds to import

    item = drift_document(watch=watch, cycle_id=cycle_id, model=model)["models"][0]
    heading = ReportHeading(model=model, watch=watch, cycle_id=cycle_id, verdict=str(item["verdict"]),
                            reasons=tuple(str(r["message"]) for r in item["reasons"]),
                            simulated=bool(item["simulated"]))
    return render_html(snapshot_json(watch=watch, cycle_id=cycle_id, model=model), heading=heading)


def pin_reference(*, watch: str, run_id: int) -> None:
    """Pin run *run_id* as its model's drift baseline in *watch* (`turnout drift WATCH --pin RUN_ID`).

    Raises:
        NotFound: no such watch or run.
        BadReference: the run replayed another golden set, or answered nothing.
    """
    with session_scope() as session:
        drift.pin_reference(session, watch_name=watch, run_id=run_id)


def prune_reports(*, watch_id: int, keep_days: int) -> int:
    """Delete the watch's snapshots older than *keep_days* (their verdicts and scalars stay); returns how many."""
    with session_scope() as session:
        store = blob_store(get_settings())
        expired = drift.expired_reports(session, watch_id=watch_id, keep_days=keep_days, now=utcnow())
        for row in expired:
            assert row.report_key is not None
            store.delete(session, row.report_key)
            row.report_key = None
            session.add(row)
        return len(expired)
