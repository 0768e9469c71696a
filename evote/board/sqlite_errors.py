"""SQLite's failures as evote's errors, for every SQLite file evote keeps (the board's store, the
registry): a file that cannot be written is :class:`~evote.errors.StoreWriteFailed` (nothing was
stored; retry once the disk is fixed), a damaged one :class:`~evote.errors.StoreCorrupted`
(refuse to serve). Messages are one short line: SQLite can quote a damaged row's bytes.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from evote.errors import BoardError, StoreCorrupted, StoreWriteFailed


def unwritable(error: sqlite3.Error) -> bool:
    """Whether SQLite could not write or reach the file (full, read-only, no permission, an
    I/O error, locked), rather than finding it damaged."""
    name = getattr(error, "sqlite_errorname", "")
    return name.startswith(
        (
            "SQLITE_FULL",
            "SQLITE_READONLY",
            "SQLITE_CANTOPEN",
            "SQLITE_PERM",
            "SQLITE_IOERR",
            "SQLITE_BUSY",
            "SQLITE_LOCKED",
        )
    )


def damaged(error: sqlite3.Error) -> bool:
    """Whether SQLite found the file damaged or its rows inconsistent (rather than the disk
    unwritable or busy): a constraint can only fail on rows the log did not write."""
    name = getattr(error, "sqlite_errorname", "")
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_CONSTRAINT")) or name == "SQLITE_NOTADB"


def sqlite_error(
    path: Path, doing: str, error: sqlite3.Error, *, writing: bool, store: str = "the board's store"
) -> BoardError:
    """The evote error for an SQLite failure while ``doing`` something with ``store`` at
    ``path`` (for a write, ``doing`` names what was not stored): damage to the file is
    :class:`StoreCorrupted` (refuse to serve), a write that did not happen is
    :class:`StoreWriteFailed` (retry later). The message of the latter, which callers of the
    services see, names no file."""
    # One short line: an SQLite message can quote a damaged row's bytes.
    lines = str(error).splitlines() or [type(error).__name__]
    reason = lines[0][:120]
    if writing and not damaged(error):
        return StoreWriteFailed(
            f"{doing} was not stored: {store} cannot write ({reason}); "
            "free disk space or fix the disk, then retry"
        )
    if writing:
        return StoreCorrupted(
            f"{path}: {doing} was not stored ({reason}): the stored rows are inconsistent; "
            "restore the file from a backup"
        )
    return StoreCorrupted(
        f"{path}: {doing} failed ({reason}): the file is damaged; restore it from a backup "
        "(witnesses' checkpoints and voters' receipts show what it must hold)"
    )


def roll_back(db: sqlite3.Connection) -> None:
    """Undo ``db``'s open transaction, if SQLite has not already undone it (a failed COMMIT
    usually has, and a ROLLBACK then would itself fail)."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
