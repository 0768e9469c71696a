"""Measuring CPU time robustly on a shared machine: the best of several batches."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds_per_call(action: Callable[[], object], calls: int, repeats: int = 5) -> float:
    """The smallest per-call CPU time over ``repeats`` batches of ``calls`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(calls):
            action()
        best = min(best, (time.process_time() - start) / calls)
    return best


def best_seconds_per_item(run_batch: Callable[[], int], repeats: int = 3) -> float:
    """The smallest per-item CPU time of ``run_batch`` (which returns how many items it did)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        items = run_batch()
        best = min(best, (time.process_time() - start) / max(items, 1))
    return best
