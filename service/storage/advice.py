"""What the advisor reads about a cycle's runs, and the recommendations it writes, one per cycle.

The announcement (hysteresis) is computed from the watch's previous recommendation in the same
transaction as the row is written, with the watch row locked, so two cycles of one watch closing
at once cannot both build on the same predecessor.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from sqlmodel import Session, col, select

from evals.advisor import Announcement, Recommendation, Verdict, announce
from evals.metrics import percentile
from service.storage import outbox
from service.storage.public import RecommendationPublic
from service.storage.runs import NotFound, get_cycle
from service.storage.tables import (
    CaseRow,
    CompletionRow,
    GoldenSetRow,
    GoldenSetVersionRow,
    RecommendationRow,
    RunRow,
    ScoreRow,
    WatchRow,
    utcnow,
)


@dataclass(frozen=True)
class RunFacts:
    """What one run measured, as the advisor's evidence needs it."""

    failures: Counter[str] = field(default_factory=Counter)
    """Failed completions by kind: `context_length`, or `errors` for every other error; `refusals` counts
    answers the `refusal` scorer judged to be refusals (when the watch scores with it)."""
    segment_failures: dict[str, Counter[str]] = field(default_factory=dict)
    """The same per case tag."""
    p95_ms: float | None = None
    """p95 latency of the answered completions."""
    ttft_p95_ms: float | None = None
    """p95 time to first token of the streamed ones."""
    input_tokens: float | None = None
    """Mean prompt tokens per answered completion; None when no completion reported tokens."""
    output_tokens: float | None = None
    """Mean completion tokens per answered completion."""
    measured_rps: float | None = None
    """Completions per second of the run's wall time: a lower bound on what one replica serves."""


REFUSAL_SCORER = "refusal"
"""The scorer whose 0 marks an answer as a refusal: a failure of that model in its pair."""


def run_facts(session: Session, *, run: RunRow) -> RunFacts:
    """Failures by kind (overall and per tag), latency and ttft p95, token mix and throughput of *run*."""
    rows = session.exec(select(CompletionRow, CaseRow.tags)
                        .join(CaseRow, col(CaseRow.id) == CompletionRow.golden_case_id)
                        .where(CompletionRow.run_id == run.id)).all()
    failures: Counter[str] = Counter()
    segments: dict[str, Counter[str]] = defaultdict(Counter)
    latencies: list[float] = []
    ttfts: list[float] = []
    tokens_in: list[int] = []
    tokens_out: list[int] = []
    for completion, tags in rows:
        latency, ttft, n_in, n_out = (completion.latency_ms, completion.ttft_ms, completion.input_tokens,
                                      completion.output_tokens)
        if completion.error is not None:
            bucket = "context_length" if completion.error_kind == "context_length" else "errors"
            failures[bucket] += 1
            for tag in tags:
                segments[tag][bucket] += 1
            continue
        if latency is not None:
            latencies.append(float(latency))
        if ttft is not None:
            ttfts.append(float(ttft))
        if n_in is not None and n_out is not None:
            tokens_in.append(n_in)
            tokens_out.append(n_out)
    refused = session.exec(select(CaseRow.tags)
                           .join(CompletionRow, col(CompletionRow.golden_case_id) == CaseRow.id)
                           .join(ScoreRow, col(ScoreRow.completion_id) == CompletionRow.id)
                           .where(col(CompletionRow.run_id) == run.id, col(CompletionRow.error).is_(None),
                                  col(ScoreRow.scorer_name) == REFUSAL_SCORER, col(ScoreRow.value) == 0.0)).all()
    for tags in refused:
        failures["refusals"] += 1
        for tag in tags:
            segments[tag]["refusals"] += 1
    rps = None
    if run.started_at is not None and run.finished_at is not None and run.n_done:
        seconds = (run.finished_at - run.started_at).total_seconds()
        rps = run.n_done / seconds if seconds > 0 else None
    return RunFacts(failures=failures, segment_failures=dict(segments),
                    p95_ms=run.latency_p95_ms if run.latency_p95_ms is not None else percentile(latencies, 95),
                    ttft_p95_ms=percentile(ttfts, 95),
                    input_tokens=sum(tokens_in) / len(tokens_in) if tokens_in else None,
                    output_tokens=sum(tokens_out) / len(tokens_out) if tokens_out else None,
                    measured_rps=rps)


def golden_set_privacy(session: Session, *, cycle_id: int) -> str:
    """The privacy class of the golden set the cycle replayed."""
    cycle = get_cycle(session, cycle_id=cycle_id)
    version = session.get(GoldenSetVersionRow, cycle.golden_set_version_id)
    golden_set = session.get(GoldenSetRow, version.golden_set_id) if version is not None else None
    return golden_set.privacy if golden_set is not None else "internal"


def save_recommendation(session: Session, *, cycle_id: int, recommendation: Recommendation,
                        inputs: dict[str, Any]) -> RecommendationPublic:
    """Store the cycle's recommendation with the announcement that follows the watch's previous one.

    Saving a cycle's recommendation again (a retried step, `turnout advise --recompute`) replaces
    it, announced from the same predecessor, so it is idempotent.

    Args:
        session: The open transaction the row (and its announcement) is written in.
        cycle_id: The cycle advised.
        recommendation: The advisor's value for it.
        inputs: Its recipe: comparison ids, policy, prices, scorer.

    Returns:
        The stored row, as read back.
    """
    cycle = get_cycle(session, cycle_id=cycle_id)
    watch = session.exec(select(WatchRow).where(WatchRow.id == cycle.watch_id).with_for_update()).one()
    previous = session.exec(select(RecommendationRow).where(RecommendationRow.watch_id == cycle.watch_id,
                                                            col(RecommendationRow.cycle_id) < cycle_id)
                            .order_by(col(RecommendationRow.cycle_id).desc()).limit(1)).first()
    before = None if previous is None else Announcement(
        verdict=_verdict(previous.verdict), to=previous.to, streak_verdict=_verdict(previous.cycle_verdict),
        streak_to=previous.cycle_to, consecutive=previous.consecutive)
    state = announce(previous=before, cycle=(recommendation.cycle_verdict, recommendation.to),
                     hysteresis=recommendation.hysteresis)
    document = recommendation.to_dict(watch=watch.name, cycle_id=cycle_id, announcement=state)
    row = session.exec(select(RecommendationRow).where(RecommendationRow.cycle_id == cycle_id)).first()
    row = row or RecommendationRow(watch_id=cycle.watch_id, cycle_id=cycle_id, cycle_verdict="", verdict="")
    row.cycle_verdict, row.cycle_to = recommendation.cycle_verdict, recommendation.to
    row.verdict, row.to, row.consecutive, row.changed = state.verdict, state.to, state.consecutive, state.changed
    row.document, row.inputs, row.updated_at = document, inputs, utcnow()
    session.add(row)
    session.flush()
    if state.changed:  # the alert is written with the announcement, in this transaction
        outbox.record_verdict(session, cycle=cycle, watch=watch, document=document,
                              previous_verdict=before.verdict if before is not None else "stay")
    return recommendation_public(row, watch.name)


def recommendation(session: Session, *, watch_name: str, cycle_id: int | None = None) -> RecommendationPublic:
    """The watch's latest recommendation, or the one of *cycle_id*.

    Raises:
        NotFound: no such watch, or no recommendation (yet) for it or that cycle.
    """
    watch = session.exec(select(WatchRow).where(WatchRow.name == watch_name)).first()
    if watch is None:
        raise NotFound(f"no watch named '{watch_name}'; `turnout apply -f turnout.yaml` declares watches")
    query = select(RecommendationRow).where(RecommendationRow.watch_id == watch.id)
    if cycle_id is not None:
        query = query.where(RecommendationRow.cycle_id == cycle_id)
    row = session.exec(query.order_by(col(RecommendationRow.cycle_id).desc()).limit(1)).first()
    if row is None:
        which = f"cycle {cycle_id} of watch '{watch_name}'" if cycle_id is not None else f"watch '{watch_name}'"
        raise NotFound(f"no recommendation for {which}: a recommendation is made after each cycle that "
                       f"finishes (`turnout run {watch_name}`)")
    return recommendation_public(row, watch.name)


def cycle_recommendation(session: Session, *, cycle_id: int) -> RecommendationPublic | None:
    """The recommendation made after *cycle_id*, or None (a failed cycle, or one not analysed yet)."""
    row = session.exec(select(RecommendationRow).where(RecommendationRow.cycle_id == cycle_id)).first()
    if row is None:
        return None
    watch = session.get(WatchRow, row.watch_id)
    return recommendation_public(row, watch.name if watch is not None else "")


def _verdict(value: str) -> Verdict:
    return cast(Verdict, value) if value in ("stay", "switch_advisable", "insufficient_evidence") else "stay"


def recommendation_public(row: RecommendationRow, watch: str) -> RecommendationPublic:
    return RecommendationPublic(watch=watch, cycle_id=row.cycle_id, verdict=row.verdict, to=row.to,
                                cycle_verdict=row.cycle_verdict, cycle_to=row.cycle_to,
                                consecutive=row.consecutive, changed=row.changed, document=row.document,
                                inputs=row.inputs, updated_at=row.updated_at)
