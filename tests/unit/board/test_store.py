"""The LogStore contract, for the memory and the SQLite store alike, and SQLite's own checks."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evote.board.store import SCHEMA_VERSION, LogStore, MemoryStore, SqliteStore, StoredEntry
from evote.errors import BoardError, DuplicateEntry, StoreCorrupted

StoreFactory = Callable[[], LogStore]


def stored(label: str) -> StoredEntry:
    data = f"entry {label}".encode()
    return StoredEntry.of(data)


@pytest.fixture(params=["memory", "sqlite"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A factory that opens the store under test (for SQLite: the same file each time)."""
    opened: list[LogStore] = []
    memory = MemoryStore()

    def factory() -> LogStore:
        store: LogStore = memory if request.param == "memory" else SqliteStore(tmp_path / "b.db")
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: StoreFactory) -> LogStore:
    return open_store()


def contents(store: LogStore) -> tuple[int, list[bytes], list[bytes], list[tuple[int, str]]]:
    size = store.size()
    return (
        size,
        [store.entry(index) for index in range(size)],
        list(store.leaf_hashes()),
        store.checkpoints(),
    )


def test_a_new_store_is_empty(store: LogStore) -> None:
    assert contents(store) == (0, [], [], [])
    assert store.find(stored("a").tracking_code) is None


def test_append_stores_entries_and_checkpoint_together(store: LogStore) -> None:
    first = [stored("a"), stored("b"), stored("c")]
    store.append(first, "checkpoint 3")
    second = [stored("d")]
    store.append(second, "checkpoint 4")
    everything = first + second
    assert contents(store) == (
        4,
        [e.encoded for e in everything],
        [e.leaf_hash for e in everything],
        [(3, "checkpoint 3"), (4, "checkpoint 4")],
    )


def test_find_by_tracking_code(store: LogStore) -> None:
    entries = [stored("a"), stored("b"), stored("c")]
    store.append(entries[:1], "1")
    store.append(entries[1:], "3")
    for index, entry in enumerate(entries):
        assert store.find(entry.tracking_code) == index
    assert store.find(stored("z").tracking_code) is None
    assert store.find(b"") is None


def test_entries_reads_a_range_in_order(store: LogStore) -> None:
    everything = [stored(str(i)) for i in range(6)]
    store.append(everything[:2], "2")
    store.append(everything[2:], "6")
    encoded = [e.encoded for e in everything]
    assert store.entries(0, 6) == encoded
    assert store.entries(2, 5) == encoded[2:5]
    assert store.entries(4, 4) == []
    assert store.entries(4, 60) == encoded[4:]
    assert store.entries(6, 10) == []


def test_entry_out_of_range(store: LogStore) -> None:
    store.append([stored("a")], "1")
    for index in (1, 5, -1):
        with pytest.raises(BoardError, match=f"no entry at index {index}"):
            store.entry(index)


def test_duplicate_of_a_stored_entry_is_refused_and_nothing_written(store: LogStore) -> None:
    store.append([stored("a"), stored("b")], "2")
    before = contents(store)
    with pytest.raises(DuplicateEntry) as raised:
        store.append([stored("c"), stored("b")], "4")
    assert raised.value.index == 1
    assert "already on the board at index 1" in str(raised.value)
    assert contents(store) == before
    assert store.find(stored("c").tracking_code) is None


def test_duplicate_inside_one_batch_is_refused_and_nothing_written(store: LogStore) -> None:
    store.append([stored("a")], "1")
    before = contents(store)
    with pytest.raises(BoardError, match="same entry twice"):
        store.append([stored("b"), stored("c"), stored("b")], "4")
    assert contents(store) == before
    assert store.find(stored("b").tracking_code) is None
    # The refused batch can be sent again without its duplicate.
    store.append([stored("b"), stored("c")], "3")
    assert store.size() == 3


def test_replace_checkpoint(store: LogStore) -> None:
    store.append([stored("a")], "one")
    store.append([stored("b")], "two")
    store.replace_checkpoint(1, "one, cosigned")
    assert store.checkpoints() == [(1, "one, cosigned"), (2, "two")]
    store.replace_checkpoint(2, "two, cosigned")
    assert store.checkpoints() == [(1, "one, cosigned"), (2, "two, cosigned")]
    assert store.size() == 2


@pytest.mark.parametrize("size", [0, 3, -1])
def test_replace_checkpoint_needs_an_existing_checkpoint(store: LogStore, size: int) -> None:
    store.append([stored("a")], "one")
    with pytest.raises(BoardError, match=f"no checkpoint of size {size}"):
        store.replace_checkpoint(size, "invented")
    assert store.checkpoints() == [(1, "one")]


def test_binary_entries_are_kept_byte_for_byte(store: LogStore) -> None:
    data = bytes(range(256)) + b"\x00" * 10
    entry = StoredEntry.of(data)
    store.append([entry], "note with — em dash\n")
    assert store.entry(0) == data
    assert store.checkpoints() == [(1, "note with — em dash\n")]


def test_reopening_keeps_everything(open_store: StoreFactory) -> None:
    store = open_store()
    store.append([stored("a"), stored("b")], "2")
    store.append([stored("c")], "3")
    store.replace_checkpoint(2, "2 cosigned")
    before = contents(store)
    reopened = open_store()
    assert contents(reopened) == before
    assert reopened.find(stored("c").tracking_code) == 2
    reopened.append([stored("d")], "4")
    assert reopened.size() == 4
    with pytest.raises(DuplicateEntry):
        reopened.append([stored("a")], "5")


# --- SQLite specifics ---------------------------------------------------------------------------


def edit(path: Path, statement: str, parameters: tuple[object, ...] = ()) -> None:
    """Change the store's file behind its back, as an attacker or a bad disk would."""
    connection = sqlite3.connect(path)
    try:
        with connection:
            assert connection.execute(statement, parameters).rowcount == 1
    finally:
        connection.close()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    path = tmp_path / "board.db"
    store = SqliteStore(path)
    store.append([stored("a"), stored("b"), stored("c")], "3")
    store.close()
    return path


def test_sqlite_reopen_after_close_keeps_everything(sqlite_path: Path) -> None:
    store = SqliteStore(sqlite_path)
    try:
        assert store.size() == 3
        assert [store.entry(i) for i in range(3)] == [stored(x).encoded for x in "abc"]
        assert list(store.leaf_hashes()) == [stored(x).leaf_hash for x in "abc"]
        assert store.checkpoints() == [(3, "3")]
    finally:
        store.close()


def test_sqlite_uses_the_wal_journal(sqlite_path: Path) -> None:
    store = SqliteStore(sqlite_path)
    try:
        connection = sqlite3.connect(sqlite_path)
        try:
            (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        finally:
            connection.close()
        assert mode == "wal"
    finally:
        store.close()


def test_sqlite_corrupted_entry_blob_is_detected_on_read(sqlite_path: Path) -> None:
    edit(sqlite_path, "UPDATE entries SET encoded = ? WHERE idx = 1", (b"entry B",))
    store = SqliteStore(sqlite_path)
    try:
        assert store.entry(0) == stored("a").encoded
        with pytest.raises(StoreCorrupted, match="entry 1 does not match its leaf hash"):
            store.entry(1)
        assert store.entry(2) == stored("c").encoded
        assert store.entries(2, 3) == [stored("c").encoded]
        with pytest.raises(StoreCorrupted, match="entry 1 does not match its leaf hash"):
            store.entries(0, 3)
    finally:
        store.close()


def test_sqlite_missing_entry_is_detected(sqlite_path: Path) -> None:
    edit(sqlite_path, "DELETE FROM entries WHERE idx = 1")
    store = SqliteStore(sqlite_path)
    try:
        with pytest.raises(StoreCorrupted, match="entry 1 is missing"):
            list(store.leaf_hashes())
    finally:
        store.close()


@pytest.mark.parametrize("version", [str(SCHEMA_VERSION + 1), "0", "one"])
def test_sqlite_wrong_schema_version_is_refused(sqlite_path: Path, version: str) -> None:
    edit(sqlite_path, "UPDATE meta SET value = ? WHERE key = 'schema'", (version,))
    with pytest.raises(StoreCorrupted, match=f"has board schema {version}; this evote reads 1"):
        SqliteStore(sqlite_path)


def test_sqlite_schema_version_is_recorded(sqlite_path: Path) -> None:
    connection = sqlite3.connect(sqlite_path)
    try:
        rows = connection.execute("SELECT key, value FROM meta").fetchall()
    finally:
        connection.close()
    assert rows == [("schema", str(SCHEMA_VERSION))]


def test_sqlite_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(StoreCorrupted, match="cannot open board store"):
        SqliteStore(path)


def test_sqlite_append_is_one_transaction(sqlite_path: Path) -> None:
    # A checkpoint row already sits where this batch's checkpoint goes: the checkpoint insert
    # fails after the entries were inserted, and the whole transaction must roll back.
    connection = sqlite3.connect(sqlite_path)
    try:
        with connection:
            connection.execute("INSERT INTO checkpoints (size, note) VALUES (5, 'squatter')")
    finally:
        connection.close()
    store = SqliteStore(sqlite_path)
    try:
        with pytest.raises(BoardError, match="the append was not stored"):
            store.append([stored("d"), stored("e")], "5")
        assert store.size() == 3
        assert store.find(stored("d").tracking_code) is None
        assert store.checkpoints() == [(3, "3"), (5, "squatter")]
        # The store is still usable afterwards.
        store.append([stored("d")], "4")
        assert store.size() == 4
    finally:
        store.close()
    reopened = SqliteStore(sqlite_path)
    try:
        assert reopened.size() == 4
    finally:
        reopened.close()


def test_sqlite_duplicate_check_sees_committed_entries_after_reopen(sqlite_path: Path) -> None:
    store = SqliteStore(sqlite_path)
    try:
        with pytest.raises(DuplicateEntry) as raised:
            store.append([stored("c")], "4")
        assert raised.value.index == 2
        assert store.size() == 3
    finally:
        store.close()
