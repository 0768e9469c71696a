"""Writing the public record from a board, and restoring a record into a store.

The record format, its reading and writing, and its checks are in :mod:`evote.board.record`,
which a verifier (or an observer keeping its own mirror) uses without the sequencer or the
stores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from evote.board.log import BulletinBoard
from evote.board.record import CHECKPOINTS_FILE, ENTRIES_FILE, Record, write_record
from evote.board.store import LogStore, StoredEntry
from evote.errors import RecordError

_EXPORT_PAGE: Final = 1000


def export_record(board: BulletinBoard, directory: str | Path) -> None:
    """Write the board's record into ``directory`` (created; it must not hold a record yet)."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    for name in (ENTRIES_FILE, CHECKPOINTS_FILE):
        if (target / name).exists():
            raise RecordError(f"{target / name} exists; export into a new directory")
    entries: list[bytes] = []
    for start in range(0, board.size, _EXPORT_PAGE):
        entries.extend(board.entries(start, start + _EXPORT_PAGE))
    write_record(target, entries, board.checkpoints())


def restore(record: Record, store: LogStore) -> None:
    """Write a checked record into an empty store, checkpoint by checkpoint."""
    if store.size():
        raise RecordError("restore needs an empty store")
    start = 0
    for checkpoint, note in record.checkpoints:
        batch = record.entries[start : checkpoint.size]
        store.append(
            [StoredEntry.of(entry.encoded) for entry in batch],
            note.text(),
        )
        start = checkpoint.size
