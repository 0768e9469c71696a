"""``evote serve`` on a disk that fills up: the server of ``test_faults_disk.py``.

Run as ``python -m tests.suite.faults_launch [--file-size-limit BYTES]
[--swallow-write-errors] serve ...`` with the arguments of ``evote serve``.

``--file-size-limit`` sets ``RLIMIT_FSIZE`` for this process (and the proof workers it
starts) and ignores ``SIGXFSZ``: a write that would make any file larger than the limit fails
with ``EFBIG``, exactly where a full disk fails with ``ENOSPC`` (SQLite answers both with an
error from the write, and its transaction is not committed). The limit is set here, in the
new process before it starts a thread, rather than with ``preexec_fn`` from the test, because
``preexec_fn`` is unsafe in a parent that runs gRPC threads. The WAL file is what grows while
the server appends (a clean stop folds it into the database and removes it), so the limit
caps how much can be appended in one run.

``--swallow-write-errors`` is the negative control: the board's store reports success for an
append it could not write and serves it from memory (the bug the test's checks must catch), so
the ballot box hands out receipts for ballots that are on no disk. (A store that only swallowed
the error would not get that far: the ballot box reads the entry back to build the receipt.)
"""

from __future__ import annotations

import importlib
import resource
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from evote.board import store
from evote.board.store import SqliteStore, StoredEntry
from evote.errors import StoreWriteFailed


class SwallowingStore(SqliteStore):
    """A store that hides its write errors: what it could not write it keeps in memory and
    serves as if stored (a write-back cache that acknowledges before the disk has the data),
    so the log signs checkpoints over it and the ballot box hands out receipts."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._unwritten: list[StoredEntry] = []
        self._unwritten_checkpoints: dict[int, str] = {}

    def size(self) -> int:
        return super().size() + len(self._unwritten)

    def entries(self, start: int, end: int) -> list[bytes]:
        stored = super().size()
        found = super().entries(start, min(end, stored))
        kept = self._unwritten[max(0, start - stored) : max(0, end - stored)]
        return found + [entry.encoded for entry in kept]

    def find(self, tracking_code: bytes) -> int | None:
        found = super().find(tracking_code)
        if found is not None:
            return found
        for offset, entry in enumerate(self._unwritten):
            if entry.leaf_hash == tracking_code:
                return super().size() + offset
        return None

    def append(self, entries: Sequence[StoredEntry], checkpoint: str) -> None:
        if not self._unwritten:
            try:
                super().append(entries, checkpoint)
                return
            except StoreWriteFailed:
                pass
        self._unwritten.extend(entries)
        self._unwritten_checkpoints[self.size()] = checkpoint

    def checkpoints(self) -> list[tuple[int, str]]:
        return super().checkpoints() + sorted(self._unwritten_checkpoints.items())

    def replace_checkpoint(self, size: int, text: str) -> None:
        if size in self._unwritten_checkpoints:
            self._unwritten_checkpoints[size] = text
        else:
            super().replace_checkpoint(size, text)


def main() -> None:
    arguments = sys.argv[1:]
    if "--file-size-limit" in arguments:
        at = arguments.index("--file-size-limit")
        limit = int(arguments[at + 1])
        del arguments[at : at + 2]
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if "--swallow-write-errors" in arguments:
        arguments.remove("--swallow-write-errors")
        # Replace the store before the services import it by name, then check that they did.
        store.SqliteStore = SwallowingStore  # type: ignore[misc]
        server = importlib.import_module("evote.services.server")
        if vars(server).get("SqliteStore") is not SwallowingStore:
            raise SystemExit("evote.services.server no longer opens its board through SqliteStore")
    sys.argv = [sys.argv[0], *arguments]
    cli = importlib.import_module("evote.cli")
    cli.run()


if __name__ == "__main__":
    main()
