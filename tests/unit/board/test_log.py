"""The bulletin board: append, checkpoints, rollback, reopening, tamper detection, proofs."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from evote.board.checkpoint import (
    Checkpoint,
    cosign,
    open_checkpoint,
    sign_checkpoint,
    verify_witnessed,
)
from evote.board.entry import Entry, EntryKind, EntryRules
from evote.board.log import BulletinBoard
from evote.board.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from evote.board.note import NoteSignature, parse_note
from evote.board.store import LogStore, MemoryStore, SqliteStore, StoredEntry
from evote.board.witness import Witness
from evote.crypto.signing import SigningKey
from evote.errors import (
    BoardError,
    CheckpointError,
    DuplicateEntry,
    EntryRejected,
    InclusionProofError,
    InvalidInput,
    StoreCorrupted,
)

ELECTION_ID = hashlib.sha256(b"log test election").digest()
RULES = EntryRules.of(ELECTION_ID, [EntryKind("ballot"), EntryKind("official", 2)])
ORIGIN = "evote.test/abc"
LOG_KEY = SigningKey(b"\x61" * 32)
OTHER_KEY = SigningKey(b"\x62" * 32)
VOTER = SigningKey(b"\x63" * 32)
OFFICIALS = [SigningKey(b"\x64" * 32), SigningKey(b"\x65" * 32)]
WITNESS_KEYS = {
    "witness.test/w1": SigningKey(b"\x66" * 32),
    "witness.test/w2": SigningKey(b"\x67" * 32),
}
WITNESSES = {name: key.verify_key for name, key in WITNESS_KEYS.items()}


def ballot(label: str) -> bytes:
    return Entry.create("ballot", ELECTION_ID, label.encode(), [VOTER]).encoded


def official(label: str) -> bytes:
    return Entry.create("official", ELECTION_ID, label.encode(), OFFICIALS).encoded


def board_on(store: LogStore, key: SigningKey = LOG_KEY) -> BulletinBoard:
    return BulletinBoard(store, key, ORIGIN, RULES, WITNESSES)


def opened(text: str) -> Checkpoint:
    return open_checkpoint(text, ORIGIN, LOG_KEY.verify_key)[0]


def reference_root(entries: Sequence[bytes]) -> bytes:
    return MerkleTree([leaf_hash(e) for e in entries]).root()


@pytest.fixture
def board() -> BulletinBoard:
    return board_on(MemoryStore())


def state(board: BulletinBoard) -> tuple[int, list[str]]:
    return board.size, board.checkpoints()


# --- append -------------------------------------------------------------------------------------


def test_a_new_board_is_empty(board: BulletinBoard) -> None:
    assert board.size == 0
    assert board.checkpoints() == []
    with pytest.raises(BoardError, match="no checkpoint yet"):
        board.latest_checkpoint()


def test_append_returns_index_and_a_checkpoint_covering_the_batch(board: BulletinBoard) -> None:
    entries: list[bytes] = []
    for batch in ([ballot("a")], [ballot("b"), official("o"), ballot("c")], [ballot("d")]):
        result = board.append(batch)
        assert (result.first_index, result.count) == (len(entries), len(batch))
        entries.extend(batch)
        checkpoint = opened(result.checkpoint)
        assert checkpoint.origin == ORIGIN
        assert checkpoint.size == len(entries) == board.size
        assert checkpoint.root == reference_root(entries)
        assert board.latest_checkpoint() == result.checkpoint
        assert board.checkpoint_at(len(entries)) == result.checkpoint
        for offset, data in enumerate(batch):
            index = result.first_index + offset
            assert board.entry(index) == data
            assert board.find(leaf_hash(data)) == index
    assert len(board.checkpoints()) == 3


def test_entries_are_stored_as_submitted(board: BulletinBoard) -> None:
    data = ballot("exact")
    board.append([data])
    assert board.entry(0) == data


def test_entries_reads_a_clipped_range(board: BulletinBoard) -> None:
    entries = [ballot(str(i)) for i in range(5)]
    board.append(entries[:2])
    board.append(entries[2:])
    assert board.entries(0, 5) == entries
    assert board.entries(1, 3) == entries[1:3]
    assert board.entries(3, 100) == entries[3:]
    assert board.entries(2, 2) == []
    assert board.entries(5, 9) == []
    for start, end in ((-1, 2), (3, 2)):
        with pytest.raises(BoardError, match="invalid entry range"):
            board.entries(start, end)


def test_checkpoint_at_unknown_size(board: BulletinBoard) -> None:
    board.append([ballot("a"), ballot("b")])
    with pytest.raises(BoardError, match="never signed a checkpoint of size 1"):
        board.checkpoint_at(1)


@pytest.mark.parametrize("index", [-1, 1, 7])
def test_entry_out_of_range(board: BulletinBoard, index: int) -> None:
    board.append([ballot("a")])
    with pytest.raises(BoardError, match=f"no entry {index}"):
        board.entry(index)


# --- bad input changes nothing ------------------------------------------------------------------


def test_empty_batch_is_refused(board: BulletinBoard) -> None:
    with pytest.raises(EntryRejected, match="at least one entry"):
        board.append([])
    assert state(board) == (0, [])


@pytest.mark.parametrize(
    "bad",
    [
        Entry.create("ballot", hashlib.sha256(b"other").digest(), b"x", [VOTER]).encoded,
        Entry.create("official", ELECTION_ID, b"x", OFFICIALS[:1]).encoded,
        Entry.create("tally", ELECTION_ID, b"x", [VOTER]).encoded,
        b"garbage",
    ],
    ids=["other-election", "too-few-signers", "undeclared-kind", "garbage"],
)
def test_a_rejected_entry_changes_nothing(board: BulletinBoard, bad: bytes) -> None:
    board.append([ballot("a")])
    before = state(board)
    good = ballot("b")
    with pytest.raises(EntryRejected):
        board.append([good, bad])
    assert state(board) == before
    assert board.find(hashlib.sha256(good).digest()) is None
    # The good entry can still go in, at the next index, under a consistent checkpoint.
    result = board.append([good])
    assert result.first_index == 1
    assert opened(result.checkpoint).root == reference_root([ballot("a"), good])


def test_a_duplicate_changes_nothing(board: BulletinBoard) -> None:
    board.append([ballot("a"), ballot("b")])
    before = state(board)
    with pytest.raises(DuplicateEntry) as raised:
        board.append([ballot("c"), ballot("a")])
    assert raised.value.index == 0
    assert state(board) == before
    with pytest.raises(EntryRejected, match="same entry twice"):
        board.append([ballot("c"), ballot("c")])
    assert state(board) == before
    result = board.append([ballot("c")])
    assert opened(result.checkpoint).root == reference_root([ballot(x) for x in "abc"])


class FailingStore:
    """A store whose next append fails after the board has extended its tree."""

    def __init__(self, inner: LogStore) -> None:
        self.inner = inner
        self.fail_next = False

    def size(self) -> int:
        return self.inner.size()

    def leaf_hashes(self) -> Iterator[bytes]:
        return self.inner.leaf_hashes()

    def entry(self, index: int) -> bytes:
        return self.inner.entry(index)

    def entries(self, start: int, end: int) -> list[bytes]:
        return self.inner.entries(start, end)

    def find(self, tracking_code: bytes) -> int | None:
        return self.inner.find(tracking_code)

    def append(self, entries: Sequence[StoredEntry], checkpoint: str) -> None:
        if self.fail_next:
            self.fail_next = False
            raise BoardError("disk full")
        self.inner.append(entries, checkpoint)

    def checkpoints(self) -> list[tuple[int, str]]:
        return self.inner.checkpoints()

    def replace_checkpoint(self, size: int, text: str) -> None:
        self.inner.replace_checkpoint(size, text)

    def close(self) -> None:
        self.inner.close()


def test_a_failing_commit_rolls_back_the_tree() -> None:
    store = FailingStore(MemoryStore())
    board = board_on(store)
    board.append([ballot("a"), ballot("b"), ballot("c")])
    before = state(board)
    store.fail_next = True
    with pytest.raises(BoardError, match="disk full"):
        board.append([ballot("d"), ballot("e")])
    assert state(board) == before
    assert store.size() == 3
    # Proofs still come from the old tree...
    with pytest.raises(InvalidInput):
        board.inclusion_proof(0, 5)
    assert board.inclusion_proof(0, 3) == MerkleTree(
        [leaf_hash(ballot(x)) for x in "abc"]
    ).inclusion_proof(0, 3)
    # ...and the next append signs the root of exactly what was committed.
    result = board.append([ballot("f")])
    assert result.first_index == 3
    assert opened(result.checkpoint).root == reference_root([ballot(x) for x in "abcf"])
    board_on(store.inner)  # the committed data still opens cleanly


# --- reopening and tampering with the SQLite file -----------------------------------------------


def build_sqlite_board(path: Path) -> list[bytes]:
    board = board_on(SqliteStore(path))
    batches = [[ballot("a")], [ballot("b"), official("o")], [ballot("c"), ballot("d")]]
    for batch in batches:
        board.append(batch)
    board.close()
    return [entry for batch in batches for entry in batch]


def test_reopening_a_sqlite_board_rebuilds_the_same_root(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    entries = build_sqlite_board(path)
    board = board_on(SqliteStore(path))
    try:
        assert board.size == 5
        latest = opened(board.latest_checkpoint())
        assert (latest.size, latest.root) == (5, reference_root(entries))
        for index, data in enumerate(entries):
            bundle = board.prove(index)
            verify_inclusion(index, 5, leaf_hash(data), bundle.path, latest.root)
        result = board.append([ballot("e")])
        assert opened(result.checkpoint).root == reference_root([*entries, ballot("e")])
        assert board.consistency_proof(5, 6) == MerkleTree(
            [leaf_hash(e) for e in [*entries, ballot("e")]]
        ).consistency_proof(5, 6)
    finally:
        board.close()


def tamper(path: Path, statement: str, parameters: tuple[object, ...] = ()) -> None:
    connection = sqlite3.connect(path)
    try:
        with connection:
            assert connection.execute(statement, parameters).rowcount == 1
    finally:
        connection.close()


def test_opening_refuses_an_entry_changed_together_with_its_leaf_hash(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    build_sqlite_board(path)
    forged = ballot("B")
    tamper(
        path,
        "UPDATE entries SET encoded = ?, leaf_hash = ? WHERE idx = 1",
        (forged, leaf_hash(forged)),
    )
    with pytest.raises(StoreCorrupted, match="do not match the signed checkpoint of size 3"):
        board_on(SqliteStore(path))


def test_an_entry_changed_without_its_leaf_hash_is_refused_on_read(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    build_sqlite_board(path)
    tamper(path, "UPDATE entries SET encoded = ? WHERE idx = 2", (ballot("X"),))
    board = board_on(SqliteStore(path))
    try:
        with pytest.raises(StoreCorrupted, match="entry 2 does not match its leaf hash"):
            board.entry(2)
        with pytest.raises(StoreCorrupted):
            board.prove(2)
        with pytest.raises(StoreCorrupted, match="entry 2"):
            board.entries(0, 5)
    finally:
        board.close()


def test_opening_refuses_a_deleted_last_entry(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    build_sqlite_board(path)
    tamper(path, "DELETE FROM entries WHERE idx = 4")
    with pytest.raises(StoreCorrupted, match="checkpoint of size 5 has no matching entries"):
        board_on(SqliteStore(path))


def test_opening_refuses_a_deleted_middle_entry(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    build_sqlite_board(path)
    tamper(path, "DELETE FROM entries WHERE idx = 0")
    with pytest.raises(StoreCorrupted, match="entry 0 is missing"):
        board_on(SqliteStore(path))


def test_opening_refuses_a_deleted_last_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    build_sqlite_board(path)
    tamper(path, "DELETE FROM checkpoints WHERE size = 5")
    with pytest.raises(StoreCorrupted, match="2 entries are not covered by any checkpoint"):
        board_on(SqliteStore(path))


def test_opening_refuses_entries_without_any_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    store = SqliteStore(path)
    store.append([StoredEntry.of(ballot("a"))], "x")
    store.close()
    tamper(path, "DELETE FROM checkpoints WHERE size = 1")
    with pytest.raises(StoreCorrupted, match="1 entries but no signed checkpoint"):
        board_on(SqliteStore(path))


def test_opening_refuses_a_checkpoint_signed_by_another_key(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    build_sqlite_board(path)
    connection = sqlite3.connect(path)
    try:
        (text,) = connection.execute("SELECT note FROM checkpoints WHERE size = 3").fetchone()
    finally:
        connection.close()
    # Same body (the true root!), signed by another key under the log's name.
    forged = sign_checkpoint(opened(text), OTHER_KEY).text()
    tamper(path, "UPDATE checkpoints SET note = ? WHERE size = 3", (forged,))
    with pytest.raises(StoreCorrupted, match=r"stored checkpoint of size 3: .*no signature from"):
        board_on(SqliteStore(path))


def test_opening_refuses_a_checkpoint_stored_under_the_wrong_size(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    build_sqlite_board(path)
    tamper(path, "UPDATE checkpoints SET size = 2 WHERE size = 3")
    with pytest.raises(StoreCorrupted, match="size 2 has no matching entries"):
        board_on(SqliteStore(path))


def test_opening_with_another_log_key_or_origin_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    build_sqlite_board(path)
    with pytest.raises(StoreCorrupted):
        board_on(SqliteStore(path), key=OTHER_KEY)
    with pytest.raises(StoreCorrupted, match=r"not 'evote\.test/other'"):
        BulletinBoard(SqliteStore(path), LOG_KEY, "evote.test/other", RULES)


def test_opening_a_memory_store_with_a_forged_checkpoint_is_refused() -> None:
    store = MemoryStore()
    board_on(store).append([ballot("a"), ballot("b")])
    lie = sign_checkpoint(Checkpoint(ORIGIN, 2, bytes(32)), LOG_KEY).text()
    store.replace_checkpoint(2, lie)
    with pytest.raises(StoreCorrupted, match="do not match the signed checkpoint of size 2"):
        board_on(store)


# --- proofs -------------------------------------------------------------------------------------


def test_prove_gives_a_bundle_that_verifies(board: BulletinBoard) -> None:
    entries = [ballot(str(i)) for i in range(11)]
    board.append(entries[:4])
    board.append(entries[4:])
    for index, data in enumerate(entries):
        bundle = board.prove(index)
        assert (bundle.entry, bundle.index) == (data, index)
        checkpoint = opened(bundle.checkpoint)
        assert checkpoint.size == 11
        verify_inclusion(
            index, checkpoint.size, leaf_hash(bundle.entry), bundle.path, checkpoint.root
        )
        # The bundle proves this entry at this index, and nothing else.
        with pytest.raises(InclusionProofError):
            verify_inclusion(
                (index + 1) % 11, checkpoint.size, leaf_hash(data), bundle.path, checkpoint.root
            )
        with pytest.raises(InclusionProofError):
            verify_inclusion(index, 11, leaf_hash(data + b"x"), bundle.path, checkpoint.root)


def test_an_early_bundle_stays_valid_through_a_consistency_proof(board: BulletinBoard) -> None:
    board.append([ballot("a"), ballot("b"), ballot("c")])
    bundle = board.prove(1)
    early = opened(bundle.checkpoint)
    board.append([ballot("d"), ballot("e")])
    board.append([ballot("f")])
    latest = opened(board.latest_checkpoint())
    verify_inclusion(1, early.size, leaf_hash(bundle.entry), bundle.path, early.root)
    verify_consistency(
        early.size,
        latest.size,
        early.root,
        latest.root,
        board.consistency_proof(early.size, latest.size),
    )
    verify_inclusion(
        1, latest.size, leaf_hash(bundle.entry), board.inclusion_proof(1, latest.size), latest.root
    )


# --- cosignatures -------------------------------------------------------------------------------


def cosigned_by(name: str, text: str, timestamp: int = 10) -> NoteSignature:
    """A fresh witness's cosignature (it checks the log signature; from size 0 no proof)."""
    witness = Witness(name, WITNESS_KEYS[name], ORIGIN, LOG_KEY.verify_key)
    return witness.add_checkpoint(text, 0, [], timestamp)


def test_add_cosignature_from_configured_witnesses(board: BulletinBoard) -> None:
    text = board.append([ballot("a"), ballot("b")]).checkpoint
    first = board.add_cosignature(2, cosigned_by("witness.test/w1", text))
    assert board.latest_checkpoint() == first
    verify_witnessed(first, ORIGIN, LOG_KEY.verify_key, WITNESSES, 1)
    with pytest.raises(CheckpointError, match="needs 2"):
        verify_witnessed(first, ORIGIN, LOG_KEY.verify_key, WITNESSES, 2)
    both = board.add_cosignature(2, cosigned_by("witness.test/w2", text))
    assert board.checkpoint_at(2) == both
    assert verify_witnessed(both, ORIGIN, LOG_KEY.verify_key, WITNESSES, 2).size == 2


def test_add_cosignature_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    board = board_on(SqliteStore(path))
    text = board.append([ballot("a")]).checkpoint
    board.add_cosignature(1, cosigned_by("witness.test/w1", text))
    board.close()
    reopened = board_on(SqliteStore(path))
    try:
        verify_witnessed(reopened.latest_checkpoint(), ORIGIN, LOG_KEY.verify_key, WITNESSES, 1)
    finally:
        reopened.close()


def test_add_cosignature_refuses_an_unknown_witness(board: BulletinBoard) -> None:
    text = board.append([ballot("a")]).checkpoint
    stranger = SigningKey(b"\x6f" * 32)
    note = parse_note(text)
    signature = cosign(note, "stranger.test/w", stranger, 1)
    with pytest.raises(CheckpointError, match=r"'stranger\.test/w' is not a witness"):
        board.add_cosignature(1, signature)
    # A configured name with the wrong key is not that witness either.
    impostor = cosign(note, "witness.test/w1", stranger, 1)
    with pytest.raises(CheckpointError, match="no cosignature from witness"):
        board.add_cosignature(1, impostor)
    assert board.latest_checkpoint() == text


def test_add_cosignature_refuses_a_bad_signature(board: BulletinBoard) -> None:
    first = board.append([ballot("a")]).checkpoint
    second = board.append([ballot("b")]).checkpoint
    name = "witness.test/w1"
    # A valid cosignature of checkpoint 1, offered for checkpoint 2.
    with pytest.raises(CheckpointError, match="does not verify"):
        board.add_cosignature(2, cosigned_by(name, first))
    # A cosignature whose signature bytes were altered.
    good = cosigned_by(name, second)
    bad = NoteSignature(good.name, good.key_id, good.payload[:-1] + bytes([good.payload[-1] ^ 1]))
    with pytest.raises(CheckpointError, match="does not verify"):
        board.add_cosignature(2, bad)
    assert board.checkpoints() == [first, second]


def test_add_cosignature_refuses_a_second_one_from_the_same_witness(
    board: BulletinBoard,
) -> None:
    text = board.append([ballot("a")]).checkpoint
    board.add_cosignature(1, cosigned_by("witness.test/w1", text, 10))
    before = board.checkpoints()
    with pytest.raises(CheckpointError, match="already carries a signature"):
        board.add_cosignature(1, cosigned_by("witness.test/w1", text, 11))
    assert board.checkpoints() == before


def test_add_cosignature_for_a_size_never_signed(board: BulletinBoard) -> None:
    text = board.append([ballot("a")]).checkpoint
    with pytest.raises(BoardError, match="never signed a checkpoint of size 3"):
        board.add_cosignature(3, cosigned_by("witness.test/w1", text))
