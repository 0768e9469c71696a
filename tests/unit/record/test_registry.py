"""The registry's SQLite file: a write the disk refuses is a clear, retryable error and leaves
the roll as it was; the write then succeeds once the disk can write again."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from evote.crypto.signing import SigningKey
from evote.errors import StoreWriteFailed
from evote.record.registry import Counts, Registry

ELECTION = bytes(32)


class _CommitFails:
    """A connection whose COMMITs fail as on a full disk: SQLite undoes the transaction, then
    reports the error (so a ROLLBACK afterwards would itself fail)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.failing = True

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.failing:
            self.db.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self.db.executemany(sql, rows)

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    def close(self) -> None:
        self.db.close()


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry.sqlite3", ELECTION)


def _failing(registry: Registry) -> _CommitFails:
    failing = _CommitFails(registry._db)
    registry._db = failing  # type: ignore[assignment]
    return failing


def test_enrollment_and_close(registry: Registry) -> None:
    registry.import_roll(["code-1", "code-2"])
    credential = SigningKey.generate().verify_key.encode()
    assert registry.enroll("code-1", credential) == Counts(2, 1, False)
    assert registry.close() == registry.close()
    assert registry.counts() == Counts(2, 1, True)


def test_a_roll_import_the_disk_refuses_changes_nothing(registry: Registry) -> None:
    registry.import_roll(["code-1"])
    failing = _failing(registry)
    with pytest.raises(StoreWriteFailed, match="roll import was not stored: the registry"):
        registry.import_roll(["code-2", "code-3"])
    assert registry.counts() == Counts(1, 0, False)
    failing.failing = False
    assert registry.import_roll(["code-2", "code-3"]) == Counts(3, 0, False)


def test_an_enrollment_the_disk_refuses_changes_nothing(registry: Registry) -> None:
    registry.import_roll(["code-1"])
    credential = SigningKey.generate().verify_key.encode()
    failing = _failing(registry)
    with pytest.raises(StoreWriteFailed, match="free disk space"):
        registry.enroll("code-1", credential)
    assert registry.counts() == Counts(1, 0, False)
    failing.failing = False
    assert registry.enroll("code-1", credential) == Counts(1, 1, False)


def test_a_close_the_disk_refuses_leaves_registration_open(registry: Registry) -> None:
    registry.import_roll(["code-1"])
    failing = _failing(registry)
    with pytest.raises(StoreWriteFailed):
        registry.close()
    assert not registry.counts().closed
    failing.failing = False
    registry.close()
    assert registry.counts().closed
