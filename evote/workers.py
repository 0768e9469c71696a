"""Worker processes for CPU-bound work (encrypting ballots, checking proofs).

Workers start from a fresh server process (``forkserver``), not by forking this one: the
parent may run threads (gRPC, progress displays) that ``fork`` would copy mid-lock.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes started without forking the caller."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)
