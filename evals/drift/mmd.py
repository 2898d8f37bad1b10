"""The MMD two-sample test of the distribution probe ("model equality testing", Gao, Liang & Guestrin,
ICLR 2025, arXiv 2410.20247): are a model's sampled answers drawn from the distribution its reference
runs' answers were?

Each sample is a (prompt, answer) pair. The kernel is the product of "same prompt" and a normalised
character n-gram spectrum kernel on the answers: for orders 3, 4 and 5, the cosine of the two answers'
n-gram count vectors, averaged over the orders (an answer shorter than an order counts as one n-gram,
itself). So answers are only compared with answers to the same prompt, and the squared MMD is the sum
over prompts of the squared distance between the two sides' mean feature vectors, each prompt weighted
by its share of the samples. The p-value comes from permutations of the current/reference labels within
each prompt (the prompts are fixed by design, not drawn), which makes the test exact at any size:
under "same distribution" P(p <= alpha) <= alpha.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

ORDERS = (3, 4, 5)
"""The character n-gram orders of the spectrum kernel."""

ALPHA = 0.001
"""Default level of the test. A probe runs every cycle for every model: at 0.01, a daily watch of three
models would raise a false alarm about once a month; at 0.001, once in about a year, and 20 cycles of
an unchanged endpoint raise one with probability 2 %."""

PERMUTATIONS = 9999
"""Default permutations of the labels behind a p-value: its smallest value is 1 / 10,000, and a p-value
is below `ALPHA` when at most 8 permutations reach the observed statistic. With 1,000 it would take none
at all, and a true p of 0.0005 would be missed 4 times in 10 for want of resolution (1 time in 15 here)."""

ELEMENTS = 2_000_000
"""Random keys (permutations x samples) drawn and sorted at a time, which bounds the memory of a large
probe to tens of MB. The keys come off one generator in order, so the p-value does not depend on it."""


@dataclass(frozen=True)
class ProbeSample:
    """One sampled answer to one probe prompt."""

    prompt: str
    """The prompt's key (a case's content hash): answers are compared with answers to the same prompt."""
    text: str
    """The answer."""


@dataclass(frozen=True)
class MMDResult:
    """The outcome of one two-sample test."""

    statistic: float
    """Unbiased squared MMD of current against reference (about 0 when the distributions agree)."""
    p_value: float
    """Share of label permutations whose statistic reaches the observed one, (1 + hits) / (1 + permutations)."""
    n_current: int
    """Current samples tested."""
    n_reference: int
    """Reference samples tested."""
    n_prompts: int
    """Prompts with samples on both sides (the others are left out)."""
    permutations: int
    """Permutations drawn."""


def spectrum_features(texts: Sequence[str], *, orders: Sequence[int] = ORDERS) -> sparse.csr_matrix:
    """Each text's character n-gram spectrum as a sparse row, scaled so that the dot product of two rows
    is the mean over *orders* of the cosine between their n-gram counts (a row with itself gives 1)."""
    vocabulary: dict[tuple[int, str], int] = {}
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    scale = 1.0 / np.sqrt(len(orders))
    for text in texts:
        for n in orders:
            counts = Counter([text[i:i + n] for i in range(len(text) - n + 1)] if len(text) >= n else [text])
            norm = scale / float(np.sqrt(sum(c * c for c in counts.values())))
            indices.extend([vocabulary.setdefault((n, gram), len(vocabulary)) for gram in counts])
            data.extend([count * norm for count in counts.values()])
        indptr.append(len(indices))
    return sparse.csr_matrix((np.asarray(data), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
                             shape=(len(texts), max(len(vocabulary), 1)))


def mmd_test(current: Sequence[ProbeSample], reference: Sequence[ProbeSample], *,
             permutations: int = PERMUTATIONS, seed: int = 0) -> MMDResult | None:
    """Test "the current samples come from the reference samples' distribution".

    The result depends only on the two multisets of samples and *seed*, not on their order.

    Args:
        current: The run's samples.
        reference: The reference runs' samples, pooled.
        permutations: Label permutations drawn for the p-value (at least 1).
        seed: Seeds the permutations.

    Returns:
        The statistic and p-value; None when no prompt has samples on both sides.
    """
    if permutations < 1:
        raise ValueError("permutations must be at least 1")
    shared = {s.prompt for s in current} & {s.prompt for s in reference}
    # Sorted, so the outcome is a function of the multisets (answers arrive in any order).
    rows = sorted([(s.prompt, 0, s.text) for s in current if s.prompt in shared]
                  + [(s.prompt, 1, s.text) for s in reference if s.prompt in shared])
    if not rows:
        return None
    prompts = np.array([prompt for prompt, _, _ in rows])
    is_reference = np.array([side for _, side, _ in rows], dtype=bool)
    n_reference = int(is_reference.sum())
    n_current = len(rows) - n_reference
    _, block = np.unique(prompts, return_inverse=True)
    # Sampled answers repeat: each distinct one is featurised once, and its kernel row computed once.
    distinct, position = np.unique(np.array([text for _, _, text in rows], dtype=object), return_inverse=True)
    features = spectrum_features(list(distinct))
    gram = _same_prompt_gram((features @ features.T).toarray(), position, block)
    weights = np.where(is_reference, -1.0 / n_reference, 1.0 / n_current)
    observed = float(weights @ (gram @ weights))
    rng = np.random.default_rng(seed)
    hits = 0
    step = max(1, ELEMENTS // len(rows))
    for start in range(0, permutations, step):
        size = min(step, permutations - start)
        # Within-prompt shuffles: random keys in [0, 1) offset by the prompt's number keep each row of
        # the argsort a permutation of positions that maps every prompt's block onto itself.
        order = np.argsort(rng.random((size, len(rows))) + block[None, :], axis=1)
        shuffled = weights[order]                    # size x samples
        stats = np.einsum("ij,ij->j", shuffled.T, gram @ shuffled.T)
        hits += int(np.count_nonzero(stats >= observed - 1e-12 * max(1.0, abs(observed))))
    return MMDResult(statistic=observed, p_value=(1 + hits) / (1 + permutations), n_current=n_current,
                     n_reference=n_reference, n_prompts=len(shared), permutations=permutations)


def _same_prompt_gram(inner: np.ndarray, position: np.ndarray, block: np.ndarray) -> sparse.csr_matrix:
    """The samples' kernel matrix with "same prompt" applied and the diagonal removed (the unbiased
    estimate), block-diagonal since rows are sorted by prompt; *inner* is the distinct answers' kernel."""
    blocks = []
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1], True])
    for start, stop in zip(starts[:-1], starts[1:], strict=True):
        rows = position[start:stop]
        part = inner[np.ix_(rows, rows)]
        np.fill_diagonal(part, 0.0)
        blocks.append(part)
    return sparse.block_diag(blocks, format="csr")
