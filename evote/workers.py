"""Worker processes for CPU-bound work (encrypting ballots, checking proofs) and benchmark
clients.

Workers start from a fresh server process (``forkserver``), not by forking this one: the
parent may run threads (gRPC, progress displays) that ``fork`` would copy mid-lock.

A pool's workers also hold a *lifeline*: the read end of a pipe whose only write end stays in
the process that made the pool. ``ProcessPoolExecutor`` workers otherwise outlive a parent
killed with SIGKILL (a crashed or OOM-killed server): each blocks forever on its task queue,
whose write end it holds itself, and keeps the fork server alive too. On the lifeline's end
of file a worker exits.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from typing import Final

#: Exit status of a worker whose parent died.
ORPHANED: Final = 70


def start_context() -> ForkServerContext | SpawnContext:
    """The multiprocessing context every evote process starts from: the fork server where
    the platform has one, else a fresh interpreter (``spawn``); never ``fork``."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def _hold_lifeline(lifeline: Connection) -> None:
    """In a worker: exit as soon as the pool's parent is gone (the lifeline reads EOF)."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv_bytes()
        os._exit(ORPHANED)

    threading.Thread(target=watch, name="evote-lifeline", daemon=True).start()


class _Pool(ProcessPoolExecutor):
    """A process pool whose workers exit when the process that made it dies."""

    def __init__(self, workers: int, context: ForkServerContext | SpawnContext) -> None:
        reader, self._lifeline = context.Pipe(duplex=False)
        initializer: Callable[[Connection], None] = _hold_lifeline
        super().__init__(
            max_workers=workers, mp_context=context, initializer=initializer, initargs=(reader,)
        )
        self._lifeline_reader = reader

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:  # the workers are gone; without waiting, they may still be finishing tasks
            self._lifeline.close()
            self._lifeline_reader.close()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes started without forking the caller, which exit if
    the caller dies."""
    return _Pool(workers, start_context())
