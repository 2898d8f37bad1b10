"""Which cases a model replays when its watch gives it a case sample (`sample_cases`).

A slow candidate (a small model on a CPU, an expensive API) may answer only a sample of the golden set
each cycle. The sample is stratified by the cases' tags, so every segment keeps its share, and chosen by
content hash, so it is the same in every cycle of the same golden-set version (drift compares a run with
runs that were asked the same cases) and a case keeps its place while its content is unchanged. Pairing
leaves the cases outside the sample out (`evals.pairing`): they are never counted as the model's failures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence


def sample_cases(cases: Iterable[tuple[str, Sequence[str]]], *, n: int) -> frozenset[str]:
    """A stratified sample of *n* cases.

    Args:
        cases: `(content hash, tags)` of every case of the golden-set version.
        n: How many to keep (at least 1); all of them when the version has no more than *n*.

    Returns:
        The content hashes of the sample: each group of cases with the same tags gets its share of *n*
        (largest remainders, ties to the larger group), the cases of a group taken in content-hash order.

    Raises:
        ValueError: *n* is below 1.
    """
    if n < 1:
        raise ValueError("a case sample keeps at least 1 case")
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for content_hash, tags in cases:
        groups[tuple(sorted(set(tags)))].append(content_hash)
    total = sum(len(members) for members in groups.values())
    if total <= n:
        return frozenset(key for members in groups.values() for key in members)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    shares = {tags: n * len(members) // total for tags, members in ordered}
    left = n - sum(shares.values())
    by_remainder = sorted(ordered, key=lambda item: (-(n * len(item[1]) % total), -len(item[1]), item[0]))
    for tags, _ in by_remainder[:left]:
        shares[tags] += 1
    return frozenset(key for tags, members in ordered for key in sorted(members)[: shares[tags]])
