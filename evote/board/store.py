"""Where the board keeps its entries and checkpoints: the only I/O in ``evote.board``.

One interface, two stores:

* :class:`SqliteStore`, the embedded default: WAL journal, ``synchronous=FULL``. A batch of
  entries and the checkpoint signed over them commit in **one** transaction, so nothing is
  acknowledged, and no checkpoint exists, for data that is not on disk.
* :class:`MemoryStore`, for tests and simulations: the same contract without durability.

A store that cannot write (the disk is full, read-only or failing) raises
:class:`StoreWriteFailed` and has stored nothing: the caller answers "try again later", never a
receipt. A store whose file is damaged (a flipped byte, a truncated file) raises
:class:`StoreCorrupted` on opening or on the read that meets the damage: SQLite's own
``integrity_check`` runs at every opening, and every entry read is checked against its leaf hash.

Stores hold bytes and do not check signatures; :class:`evote.board.log.BulletinBoard` checks
what it stores and, on opening, checks what it finds.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from evote.board.merkle import HASH_BYTES, leaf_hash
from evote.board.sqlite_errors import roll_back, sqlite_error, unwritable
from evote.errors import BoardError, DuplicateEntry, StoreCorrupted, StoreWriteFailed

SCHEMA_VERSION: Final = 1
_RESTORE: Final = ": the file is damaged; restore it from a backup"


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry's bytes with its leaf hash (also its tracking code), as the store keeps them."""

    encoded: bytes
    leaf_hash: bytes

    @classmethod
    def of(cls, encoded: bytes) -> StoredEntry:
        return cls(encoded, leaf_hash(encoded))

    @property
    def tracking_code(self) -> bytes:
        return self.leaf_hash


class LogStore(Protocol):
    """Append-only storage of entries and of the checkpoints signed over them."""

    def size(self) -> int: ...

    def leaf_hashes(self) -> Iterator[bytes]:
        """Every stored leaf hash, in index order."""
        ...

    def entry(self, index: int) -> bytes: ...

    def entries(self, start: int, end: int) -> list[bytes]:
        """The entries ``[start, end)``, in index order."""
        ...

    def find(self, tracking_code: bytes) -> int | None:
        """The index of the entry with this tracking code (leaf hash), if stored."""
        ...

    def append(self, entries: Sequence[StoredEntry], checkpoint: str) -> None:
        """Store ``entries`` after the current end together with ``checkpoint``, atomically.

        Raises :class:`DuplicateEntry` (nothing stored) if an entry is already present, and
        :class:`BoardError` for an empty batch or one that holds the same entry twice.
        """
        ...

    def checkpoints(self) -> list[tuple[int, str]]:
        """Every stored checkpoint note, as (size, text), by increasing size."""
        ...

    def replace_checkpoint(self, size: int, text: str) -> None:
        """Store a checkpoint note with more signature lines (cosignatures) for ``size``."""
        ...

    def close(self) -> None: ...


class MemoryStore:
    """An in-memory :class:`LogStore` for tests and simulations."""

    def __init__(self) -> None:
        self._entries: list[StoredEntry] = []
        self._index: dict[bytes, int] = {}
        self._checkpoints: dict[int, str] = {}

    def size(self) -> int:
        return len(self._entries)

    def leaf_hashes(self) -> Iterator[bytes]:
        return (entry.leaf_hash for entry in list(self._entries))

    def entry(self, index: int) -> bytes:
        if not 0 <= index < len(self._entries):
            raise BoardError(f"no entry at index {index}")
        return self._entries[index].encoded

    def entries(self, start: int, end: int) -> list[bytes]:
        return [entry.encoded for entry in self._entries[start:end]]

    def find(self, tracking_code: bytes) -> int | None:
        return self._index.get(tracking_code)

    def append(self, entries: Sequence[StoredEntry], checkpoint: str) -> None:
        _check_no_duplicates(entries, self.find)
        start = len(self._entries)
        for offset, entry in enumerate(entries):
            self._index[entry.leaf_hash] = start + offset
        self._entries.extend(entries)
        self._checkpoints[len(self._entries)] = checkpoint

    def checkpoints(self) -> list[tuple[int, str]]:
        return sorted(self._checkpoints.items())

    def replace_checkpoint(self, size: int, text: str) -> None:
        if size not in self._checkpoints:
            raise BoardError(f"no checkpoint of size {size} to add signatures to")
        self._checkpoints[size] = text

    def close(self) -> None:
        """Nothing to release."""


def _check_no_duplicates(
    entries: Sequence[StoredEntry], find: Callable[[bytes], int | None]
) -> None:
    if not entries:
        raise BoardError("an append needs at least one entry")
    if len({entry.leaf_hash for entry in entries}) != len(entries):
        raise BoardError("the batch holds the same entry twice")
    for entry in entries:
        existing = find(entry.leaf_hash)
        if existing is not None:
            raise DuplicateEntry(existing)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY,
    encoded BLOB NOT NULL,
    leaf_hash BLOB NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
"""


class SqliteStore:
    """A durable :class:`LogStore` in one SQLite file (WAL, ``synchronous=FULL``).

    One connection, guarded by a lock; a single writer is what the board needs, and readers in
    other processes see consistent snapshots through WAL. Every SQLite failure becomes
    :class:`StoreCorrupted` (the file is damaged, or a read failed) or
    :class:`StoreWriteFailed` (a write did not happen; nothing was stored).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise StoreWriteFailed(f"cannot open board store {self.path}: {error}") from error
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._check_file()
            self._db.executescript(_SCHEMA)
            self._check_schema_version()
        except sqlite3.Error as error:
            self._db.close()
            if not unwritable(error):
                raise StoreCorrupted(
                    f"cannot open board store {self.path}: {str(error)[:120]}; the file is "
                    "damaged or not a board: restore it from a backup"
                ) from error
            raise StoreWriteFailed(f"cannot open board store {self.path}: {error}") from error
        except BaseException:
            self._db.close()
            raise
        self._lock = threading.Lock()

    def _check_file(self) -> None:
        """SQLite's own check of the whole file, so a damaged file is refused at the start
        rather than on the read that meets the damage. ``integrity_check``, not the cheaper
        ``quick_check``: only the former compares the leaf-hash index with the entries, and a
        damaged index would let :meth:`find` miss an entry (a retried ballot stored twice).
        On 20,000 ballot-sized entries it took about a third of the time of replaying them."""
        problems = [str(row[0]) for row in self._db.execute("PRAGMA integrity_check(5)")]
        if problems != ["ok"]:
            raise StoreCorrupted(
                f"board store {self.path} is damaged ({'; '.join(problems)}): refusing to serve; "
                "restore it from a backup"
            )

    def _check_schema_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        elif row[0] != str(SCHEMA_VERSION):
            raise StoreCorrupted(
                f"{self.path} has board schema {row[0]}; this evote reads {SCHEMA_VERSION}"
            )

    def _read(self, doing: str, sql: str, parameters: tuple[object, ...] = ()) -> list[Any]:
        """Run a query under the lock; an SQLite failure is :class:`StoreCorrupted`."""
        with self._lock:
            try:
                return self._db.execute(sql, parameters).fetchall()
            except sqlite3.Error as error:
                raise sqlite_error(self.path, doing, error, writing=False) from error

    def size(self) -> int:
        ((count,),) = self._read("counting entries", "SELECT COUNT(*) FROM entries")
        return int(count)

    def leaf_hashes(self) -> Iterator[bytes]:
        rows = self._read("reading leaf hashes", "SELECT idx, leaf_hash FROM entries ORDER BY idx")
        for expected, (index, value) in enumerate(rows):
            if index != expected:
                raise StoreCorrupted(f"{self.path}: entry {expected} is missing{_RESTORE}")
            if not isinstance(value, bytes) or len(value) != HASH_BYTES:
                raise StoreCorrupted(
                    f"{self.path}: entry {index} has a malformed leaf hash{_RESTORE}"
                )
            yield value

    def entry(self, index: int) -> bytes:
        found = self.entries(index, index + 1)
        if not found:
            raise BoardError(f"no entry at index {index}")
        return found[0]

    def entries(self, start: int, end: int) -> list[bytes]:
        rows = self._read(
            f"reading entries {start} to {end}",
            "SELECT idx, encoded, leaf_hash FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
            (start, end),
        )
        result = []
        for expected, (index, encoded, stored_hash) in enumerate(rows, start):
            if index != expected:
                raise StoreCorrupted(f"{self.path}: entry {expected} is missing{_RESTORE}")
            if not isinstance(encoded, bytes) or leaf_hash(encoded) != stored_hash:
                raise StoreCorrupted(
                    f"{self.path}: entry {index} does not match its leaf hash{_RESTORE}"
                )
            result.append(encoded)
        return result

    def find(self, tracking_code: bytes) -> int | None:
        with self._lock:
            try:
                return self._find_unlocked(tracking_code)
            except sqlite3.Error as error:
                raise sqlite_error(self.path, "finding an entry", error, writing=False) from error

    def append(self, entries: Sequence[StoredEntry], checkpoint: str) -> None:
        with self._lock:
            try:
                _check_no_duplicates(entries, self._find_unlocked)
                (start,) = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()
            except sqlite3.Error as error:
                raise sqlite_error(self.path, "appending", error, writing=False) from error
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO entries (idx, encoded, leaf_hash) VALUES (?, ?, ?)",
                    [(start + offset, e.encoded, e.leaf_hash) for offset, e in enumerate(entries)],
                )
                self._db.execute(
                    "INSERT INTO checkpoints (size, note) VALUES (?, ?)",
                    (start + len(entries), checkpoint),
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                roll_back(self._db)
                raise sqlite_error(self.path, "the append", error, writing=True) from error
            except BaseException:
                roll_back(self._db)
                raise

    def _find_unlocked(self, tracking_code: bytes) -> int | None:
        row = self._db.execute(
            "SELECT idx FROM entries WHERE leaf_hash = ?", (tracking_code,)
        ).fetchone()
        return None if row is None else int(row[0])

    def checkpoints(self) -> list[tuple[int, str]]:
        # As bytes, decoded here: a damaged note is then named, not quoted in an SQLite error.
        rows = self._read(
            "reading checkpoints",
            "SELECT size, CAST(note AS BLOB) FROM checkpoints ORDER BY size",
        )
        notes = []
        for size, note in rows:
            try:
                notes.append((int(size), bytes(note).decode()))
            except (TypeError, ValueError) as error:
                raise StoreCorrupted(
                    f"{self.path}: the checkpoint of size {size} is not text: the file is "
                    "damaged; restore it from a backup"
                ) from error
        return notes

    def replace_checkpoint(self, size: int, text: str) -> None:
        with self._lock:
            try:
                cursor = self._db.execute(
                    "UPDATE checkpoints SET note = ? WHERE size = ?", (text, size)
                )
            except sqlite3.Error as error:
                roll_back(self._db)
                raise sqlite_error(self.path, "the cosignature", error, writing=True) from error
        if cursor.rowcount != 1:
            raise BoardError(f"no checkpoint of size {size} to add signatures to")

    def close(self) -> None:
        with self._lock:
            self._db.close()
