"""User-labelled judge verdicts (`drift: {judge_labels: FILE}`): the reference a judge is held to.

One verdict a line, for one answer to one case of the watch's golden set, in the units of the
judge scorer's value (0 to 1: a rubric judge's score / 10; a pairwise judge's candidate outcome,
1 win, 0.5 tie, 0 loss):

    {"case": "q1", "answer": "Paris", "score": 1.0}                                  # judge
    {"case": "q1", "answer": "Paris", "production": "Lyon", "score": 1.0}            # pairwise_judge

or a CSV file with the header `case,answer,score` (and `production` for a pairwise judge). Read
and checked at `turnout apply`; every mistake names the file and line.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.errors import ConfigError

MAX_LABELS = 1000
"""Labels a file may hold: each is judged again every `judge_every` cycles."""


@dataclass(frozen=True)
class JudgeLabel:
    """One user-labelled verdict."""

    case: str
    """The case id in the watch's golden set."""
    answer: str
    """The answer the verdict is about (for a pairwise judge: the candidate's)."""
    score: float
    """The verdict, in the judge scorer's units (0 to 1)."""
    production: str | None = None
    """For a pairwise judge: the production answer the candidate's is compared with."""
    line: int = 0
    """Where it is in the file (for messages)."""

    def to_data(self) -> dict[str, Any]:
        """The JSON form stored with the watch."""
        return {"case": self.case, "answer": self.answer, "score": self.score, "production": self.production,
                "line": self.line}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> JudgeLabel:
        """The label `to_data` wrote."""
        return cls(case=str(data["case"]), answer=str(data["answer"]), score=float(data["score"]),
                   production=None if data.get("production") is None else str(data["production"]),
                   line=int(data.get("line") or 0))


def read_judge_labels(path: Path, *, case_ids: Iterable[str], pairwise: bool) -> tuple[JudgeLabel, ...]:
    """Read and check a judge-labels file.

    Args:
        path: The JSONL (`.jsonl`, `.json`) or CSV (`.csv`) file.
        case_ids: The ids of the watch's golden set; a label must name one of them.
        pairwise: The watch's judge is a `pairwise_judge`: each label needs the `production` answer.

    Returns:
        The labels, in file order.

    Raises:
        ConfigError: naming the file and line of the first problem.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("judge labels file not found", file=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    records = _csv_records(path, text) if path.suffix.lower() == ".csv" else _jsonl_records(path, text)
    known = set(case_ids)
    seen: dict[tuple[str, str, str | None], int] = {}
    labels = []
    for line, record in records:
        label = _label(path, line, record, known=known, pairwise=pairwise)
        key = (label.case, label.answer, label.production)
        if key in seen:
            raise ConfigError(f"case '{label.case}' has this answer labelled twice (also line {seen[key]}); keep one",
                              file=path, line=line)
        seen[key] = line
        labels.append(label)
    if len(labels) < 2:
        raise ConfigError(f"a judge's agreement needs at least 2 labelled verdicts, the file has {len(labels)}",
                          file=path)
    if len(labels) > MAX_LABELS:
        raise ConfigError(f"{len(labels)} labels: at most {MAX_LABELS} (each is judged again every judge_every "
                          "cycles)", file=path)
    return tuple(labels)


def _jsonl_records(path: Path, text: str) -> list[tuple[int, Any]]:
    records = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            records.append((number, json.loads(raw)))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not a JSON object: {exc.msg} (column {exc.colno})", file=path, line=number) from None
    return records


def _csv_records(path: Path, text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"case", "answer", "score"} - set(reader.fieldnames or ())
    if missing:
        raise ConfigError(f"the header must name the columns case, answer, score (and production for a pairwise "
                          f"judge); missing: {', '.join(sorted(missing))}", file=path, line=1)
    records = []
    for row in reader:
        if None in row:
            raise ConfigError("more values than the header has columns", file=path, line=reader.line_num)
        if any((value or "").strip() for value in row.values()):
            records.append((reader.line_num, {key: value for key, value in row.items() if value != ""}))
    return records


def _label(path: Path, line: int, record: Any, *, known: set[str], pairwise: bool) -> JudgeLabel:
    def fail(message: str) -> ConfigError:
        return ConfigError(message, file=path, line=line)

    if not isinstance(record, dict):
        raise fail("each line must be an object with case, answer and score")
    unknown = set(record) - {"case", "answer", "score", "production"}
    if unknown:
        raise fail(f"unknown key(s) {', '.join(sorted(unknown))}: a label has case, answer, score (and production)")
    case, answer, production = record.get("case"), record.get("answer"), record.get("production")
    if not isinstance(case, str) or not case:
        raise fail("'case' must be the id of a case of the watch's golden set")
    if case not in known:
        raise fail(f"case '{case}' is not in the watch's golden set")
    if not isinstance(answer, str) or not answer.strip():
        raise fail("'answer' must be the (non-empty) answer the verdict is about")
    if pairwise and (not isinstance(production, str) or not production.strip()):
        raise fail("the watch's judge is a pairwise_judge: give the 'production' answer the candidate's is compared "
                   "with")
    if not pairwise and production is not None:
        raise fail("'production' is for a pairwise_judge; the watch's judge scores one answer")
    score = _score(record.get("score"))
    if score is None:
        raise fail(f"'score' must be a number from 0 to 1 (the judge scorer's value), not {record.get('score')!r}")
    return JudgeLabel(case=case, answer=answer, score=score, production=production if pairwise else None, line=line)


def _score(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None
