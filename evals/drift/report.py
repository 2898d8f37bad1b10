"""The Evidently data-drift report of a run against its reference runs, on per-case columns.

Columns: the primary score, latency, time to first token, input and output tokens, and descriptors of
the answer text that work offline (length, words, sentences, share of non-letters, code fences, valid
JSON), plus the text itself. The two wall-clock columns are judged by the factor they changed by
(`evals.drift.timing_drift`); the others by Evidently's default tests. Evidently is imported here only
(it takes seconds), by the caller that builds a report. A column Evidently cannot test is reported as
untestable with why, never a failure: text drift on a small vocabulary (short answers) raises "After
pruning, no terms remain".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from evals.drift.signals import RunSample
from evals.drift.text_drift import text_method
from evals.drift.verdict import DataDrift
from evals.models import display_name

NUMERIC = ("score", "latency_ms", "ttft_ms", "input_tokens", "output_tokens")
"""The per-case numeric columns read from the completions and scores."""

TEXT = "output"
"""The answer text column."""

TIMINGS = ("latency_ms", "ttft_ms")
"""The wall-clock columns, judged by how much they changed (`evals.drift.timing_drift`), not by a test."""

DESCRIPTORS = ("output_length", "output_words", "output_sentences", "output_non_letter_pct", "output_has_code",
               "output_is_json")
"""The columns the text descriptors add."""

PRUNED = "After pruning, no terms remain"
"""What Evidently's text drift raises on a vocabulary too small to test."""

UNTESTABLE_TEXT = f"text drift not testable: {PRUNED.lower()} (answers too short)"


def _frame(samples: Sequence[RunSample]) -> Any:
    import pandas as pd

    rows = [{"score": case.score, "latency_ms": case.latency_ms, "ttft_ms": case.ttft_ms,
             "input_tokens": case.input_tokens, "output_tokens": case.output_tokens, TEXT: case.output}
            for sample in samples for case in sample.cases.values() if case.output is not None]
    return pd.DataFrame(rows, columns=[*NUMERIC, TEXT])


def _descriptors() -> list[Any]:
    from evidently.descriptors import (
        Contains,
        IsValidJSON,
        NonLetterCharacterPercentage,
        SentenceCount,
        TextLength,
        WordCount,
    )

    return [TextLength(TEXT, alias="output_length"), WordCount(TEXT, alias="output_words"),
            SentenceCount(TEXT, alias="output_sentences"),
            NonLetterCharacterPercentage(TEXT, alias="output_non_letter_pct"),
            Contains(TEXT, items=["```"], alias="output_has_code"), IsValidJSON(TEXT, alias="output_is_json")]


def data_drift_report(*, current: RunSample, references: Sequence[RunSample],
                      drift_share: float = 0.5) -> tuple[DataDrift, str]:
    """Build the report of *current* against *references* (their answered cases pooled).

    Args:
        current: The run checked.
        references: Its reference runs.
        drift_share: Evidently's own threshold for its dataset-drift flag (stored in the snapshot).

    Returns:
        The scalars (drift share, drifted columns, per-column test, value and flag) and the snapshot
        as JSON text (the blob; HTML is rendered from it on request).
    """
    from evidently import DataDefinition, Dataset

    cur, ref = _frame([current]), _frame(references)
    untestable: dict[str, str] = {}
    numeric = []
    for column in NUMERIC:
        if cur[column].isna().all() or ref[column].isna().all():
            untestable[column] = "no values on one side"
        else:
            numeric.append(column)
    definition = DataDefinition(numerical_columns=numeric, text_columns=[TEXT])
    datasets = [Dataset.from_pandas(frame[[*numeric, TEXT]], data_definition=definition, descriptors=_descriptors())
                for frame in (cur, ref)]
    columns = [*numeric, *DESCRIPTORS]
    method = text_method(len(ref))
    if _text_testable(cur[TEXT], ref[TEXT]):
        columns.append(TEXT)
    else:
        untestable[TEXT] = UNTESTABLE_TEXT
    try:
        snapshot = _report(columns, drift_share=drift_share, text_method=method).run(*datasets)
    except ValueError as exc:  # the check above missed a case: build the report once more without the text
        if PRUNED not in str(exc) or TEXT not in columns:
            raise
        untestable[TEXT] = UNTESTABLE_TEXT
        columns.remove(TEXT)
        snapshot = _report(columns, drift_share=drift_share, text_method=method).run(*datasets)
    return _scalars(snapshot.dict(), untestable), snapshot.dumps()  # the full form, which `render_html` loads


def _report(columns: list[str], *, drift_share: float, text_method: str | None) -> Any:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    from evals.drift.timing_drift import FACTOR, timing_method

    timings = [column for column in TIMINGS if column in columns]
    return Report([DataDriftPreset(columns=columns, drift_share=drift_share, text_method=text_method,
                                   per_column_method={column: timing_method() for column in timings},
                                   per_column_threshold={column: FACTOR for column in timings})])


def _text_testable(current: Any, reference: Any) -> bool:
    """Whether Evidently's text drift will find a term to test. It trains a domain classifier on TF-IDF
    features fitted (`max_df=0.5`, English stop words) on a seeded half of both sides pooled, and raises
    "After pruning, no terms remain" on a small vocabulary, after the report's other columns cost their
    time. Fitting the same vectorizer on the same half first (0.4 s of CPU on 20,000 answers here) spares
    building the report twice (1.3 s)."""
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import train_test_split

    texts = pd.concat([reference, current], ignore_index=True)
    if len(texts) < 2:
        return False
    train, _ = train_test_split(texts, test_size=0.5, random_state=42, shuffle=True)
    try:
        TfidfVectorizer(sublinear_tf=True, max_df=0.5, stop_words="english").fit(train)
    except ValueError:  # no terms left after pruning, or none at all
        return False
    return True


def _scalars(data: dict[str, Any], untestable: dict[str, str]) -> DataDrift:
    columns: dict[str, dict[str, Any]] = {column: {"untestable": why} for column, why in untestable.items()}
    share = None
    for metric in data.get("metrics", []):
        config = metric.get("config", {})
        kind = str(config.get("type", ""))
        if kind.endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif kind.endswith("ValueDrift"):
            method, threshold, value = str(config.get("method", "")), float(config["threshold"]), metric["value"]
            if value is None:
                columns[config["column"]] = {"untestable": f"{method} gave no value"}
                continue
            # p-values drift below the threshold; distances and scores above it
            drifted = value < threshold if method.endswith("p_value") else value >= threshold
            columns[config["column"]] = {"test": method, "value": float(value), "threshold": threshold,
                                         "drifted": bool(drifted)}
    drifted_columns = tuple(sorted(column for column, result in columns.items() if result.get("drifted")))
    tested = [result for result in columns.values() if "drifted" in result]
    if tested:
        share = len(drifted_columns) / len(tested)
    return DataDrift(drift_share=share if tested else None, drifted_columns=drifted_columns, columns=columns)


def render_html(snapshot_json: str, *, heading: ReportHeading | None = None) -> str:
    """The report's HTML, rendered from a stored snapshot, with *heading* (whose model, its verdict and
    reasons) above Evidently's tabs."""
    from evidently.core.report import Snapshot

    snapshot = Snapshot.loads(snapshot_json)
    html: str = snapshot.get_html_str(as_iframe=False)
    if heading is None:
        return html
    top = heading.html()
    at = html.find(">", html.find("<body")) + 1 if "<body" in html else 0
    return html[:at] + top + html[at:]


@dataclass(frozen=True)
class ReportHeading:
    """What a drift report page says above Evidently's tabs: the model (labelled when simulated), the
    watch and cycle, the verdict and its reasons."""

    model: str
    watch: str
    cycle_id: int
    verdict: str
    reasons: tuple[str, ...] = ()
    simulated: bool = False

    def html(self) -> str:
        """The heading as an HTML fragment; every text escaped."""
        name = escape(display_name(self.model, simulated=self.simulated))
        items = "".join(f"<li>{escape(reason)}</li>" for reason in self.reasons)
        note = ("<p><strong>simulated model</strong> (kind: sim): its answers, latencies and fingerprint are "
                "drawn from turnout.yaml, not measured on a real endpoint.</p>") if self.simulated else ""
        return (f'<section id="turnout-drift" style="font-family:sans-serif;margin:1em">'
                f"<h1>Drift of {name}: {escape(self.verdict)}</h1>"
                f"<p>watch {escape(self.watch)}, cycle {self.cycle_id}</p>{note}<ul>{items}</ul></section>")
