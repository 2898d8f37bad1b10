"""Replay a golden set against one provider: a bounded worker pool that yields completions in batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator

from evals.providers.base import Provider, Request
from evals.results import Completion

_Item = Completion | BaseException | None
"""What a worker reports: a completion, the exception that stopped it, or None when it ran dry."""


async def _work(requests: Iterator[Request], provider: Provider, out: asyncio.Queue[_Item]) -> None:
    """Pull requests from the shared iterator until it is empty, one call at a time."""
    try:
        for request in requests:
            out.put_nowait(await provider.complete(request))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a provider bug or a bad case: re-raised by replay
        out.put_nowait(exc)
        return
    out.put_nowait(None)


async def replay(
    requests: Iterable[Request],
    *,
    provider: Provider,
    max_concurrency: int,
    batch_size: int = 64,
    flush_interval_s: float = 0.5,
) -> AsyncIterator[list[Completion]]:
    """Call the provider for every request, at most `max_concurrency` at once.

    Requests are pulled lazily by `max_concurrency` workers, so a 100k-case set never holds
    100k tasks. Completions are yielded in batches, in completion order, so the caller can
    store each batch as it finishes. Close the generator (e.g. `contextlib.aclosing`) to stop
    early: calls in flight are cancelled and awaited before `aclose()` returns.

    Args:
        requests: The calls to make; consumed lazily.
        provider: The model endpoint; it retries and turns per-case failures into Completions.
        max_concurrency: Calls in flight at once (at least 1).
        batch_size: Yield once this many completions are waiting.
        flush_interval_s: Yield what is waiting once this long has passed since the last yield.

    Yields:
        Lists of completions; every request appears exactly once across all batches.

    Raises:
        ValueError: If `max_concurrency` or `batch_size` is below 1.
        Exception: Whatever the provider or the request iterator raised (a bug, not a case failure).
    """
    if max_concurrency < 1 or batch_size < 1:
        raise ValueError("max_concurrency and batch_size must be at least 1")
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    shared = iter(requests)
    workers = [asyncio.create_task(_work(shared, provider, queue)) for _ in range(max_concurrency)]
    running = len(workers)
    batch: list[Completion] = []
    last_flush = loop.time()
    try:
        while running:
            # With nothing waiting there is nothing to flush, so wait for the next completion.
            wait = max(0.0, last_flush + flush_interval_s - loop.time()) if batch else None
            try:
                item = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                pass  # time to flush what is waiting
            else:
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    batch.append(item)
            if batch and (len(batch) >= batch_size or loop.time() - last_flush >= flush_interval_s):
                ready, batch = batch, []
                yield ready
                last_flush = loop.time()
        if batch:
            yield batch
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
