"""``evote serve`` over a board store that acknowledges ballots before committing them: the
negative control of ``test_ballot_box_crash.py``.

Run as ``python -m tests.integration.crash_tls_early_ack serve ...`` with the arguments of
``evote serve``. A batch of ballots is written into an open SQLite transaction and answered at
once (the ballot box hands out a receipt whose checkpoint is signed over it); the transaction
commits only with the next batch holding another kind of entry (the officials' close) or at a
clean shutdown. A SIGKILL therefore loses every ballot acknowledged since the last commit:
the bug the crash test's checks must catch, with the real command line, ports and TLS.

The store reaches into :class:`SqliteStore`'s connection and lock on purpose: the fault is
"the write is not durable when the answer goes out", which only the store can inject.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from evote.board import store
from evote.board.entry import Entry
from evote.board.store import SqliteStore, StoredEntry
from evote.record import kinds


class EarlyAckStore(SqliteStore):
    """Ballots are stored in an uncommitted transaction; any other entry commits them."""

    def append(self, entries: Sequence[StoredEntry], checkpoint: str) -> None:
        ballots_only = all(Entry.decode(entry.encoded).kind == kinds.BALLOT for entry in entries)
        with self._lock:
            if not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
            # The open transaction sees its own rows, so the indices follow on.
            (start,) = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()
            self._db.executemany(
                "INSERT INTO entries (idx, encoded, leaf_hash) VALUES (?, ?, ?)",
                [(start + offset, e.encoded, e.leaf_hash) for offset, e in enumerate(entries)],
            )
            self._db.execute(
                "INSERT INTO checkpoints (size, note) VALUES (?, ?)",
                (start + len(entries), checkpoint),
            )
            if not ballots_only:
                self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._db.in_transaction:
                self._db.execute("COMMIT")
        super().close()


def main() -> None:
    # Replace the store before the services import it by name, then check that they did.
    store.SqliteStore = EarlyAckStore  # type: ignore[misc]
    server = importlib.import_module("evote.services.server")
    if vars(server).get("SqliteStore") is not EarlyAckStore:
        raise SystemExit("evote.services.server no longer opens its board through SqliteStore")
    cli = importlib.import_module("evote.cli")
    cli.run()


if __name__ == "__main__":
    main()
