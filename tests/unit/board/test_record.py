"""The exported record: a good round trip, then a corpus of evil records that must all fail."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evote.board.checkpoint import Checkpoint, cosign, open_checkpoint, sign_checkpoint
from evote.board.entry import Entry, EntryKind, EntryRules
from evote.board.export import export_record, restore
from evote.board.log import BulletinBoard
from evote.board.merkle import MerkleTree, leaf_hash, verify_consistency
from evote.board.note import parse_note, sign_note
from evote.board.record import (
    CHECKPOINTS_FILE,
    ENTRIES_FILE,
    Record,
    load_record,
)
from evote.board.store import LogStore, MemoryStore, SqliteStore
from evote.board.witness import Witness
from evote.crypto import encoding
from evote.crypto.signing import SigningKey
from evote.errors import ConsistencyError, RecordError

ELECTION_ID = hashlib.sha256(b"record test election").digest()
RULES = EntryRules.of(ELECTION_ID, [EntryKind("ballot"), EntryKind("official", 2)])
ORIGIN = "evote.test/record"
LOG_KEY = SigningKey(b"\x71" * 32)
VOTER = SigningKey(b"\x72" * 32)
OFFICIALS = [SigningKey(b"\x73" * 32), SigningKey(b"\x74" * 32)]
WITNESS_KEYS = {
    "witness.test/w1": SigningKey(b"\x75" * 32),
    "witness.test/w2": SigningKey(b"\x76" * 32),
}
WITNESSES = {name: key.verify_key for name, key in WITNESS_KEYS.items()}
ENTRIES_HEADER = encoding.encode("evote-record/v1/entries")
CHECKPOINTS_HEADER = encoding.encode("evote-record/v1/checkpoints")


def ballot(label: str) -> bytes:
    return Entry.create("ballot", ELECTION_ID, label.encode(), [VOTER]).encoded


def official(label: str) -> bytes:
    return Entry.create("official", ELECTION_ID, label.encode(), OFFICIALS).encoded


def new_board(store: LogStore | None = None) -> BulletinBoard:
    return BulletinBoard(store or MemoryStore(), LOG_KEY, ORIGIN, RULES, WITNESSES)


def witness_everything(board: BulletinBoard) -> None:
    """Every witness cosigns every checkpoint, in order, as the protocol does."""
    for name, key in WITNESS_KEYS.items():
        witness = Witness(name, key, ORIGIN, LOG_KEY.verify_key)
        for timestamp, text in enumerate(board.checkpoints(), start=1000):
            size = open_checkpoint(text, ORIGIN, LOG_KEY.verify_key)[0].size
            proof = board.consistency_proof(witness.state.size, size)
            signature = witness.add_checkpoint(text, witness.state.size, proof, timestamp)
            board.add_cosignature(size, signature)


def build_board() -> BulletinBoard:
    board = new_board()
    board.append([official("manifest")])
    board.append([ballot("a"), ballot("b")])
    board.append([ballot("c")])
    board.append([ballot("d"), ballot("e"), official("close")])
    witness_everything(board)
    return board


def load(directory: Path) -> Record:
    return load_record(directory, ORIGIN, LOG_KEY.verify_key, RULES, WITNESSES)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("record") / "good"
    export_record(build_board(), directory)
    return directory


@pytest.fixture
def copy(good: Path, tmp_path: Path) -> Path:
    """A fresh copy of the good record, to be mutated."""
    target = tmp_path / "evil"
    shutil.copytree(good, target)
    return target


def values(path: Path) -> list[bytes]:
    """The TLV values of a record file after its header."""
    return encoding.split_values(path.read_bytes())[1:]


def rewrite(path: Path, header: bytes, items: list[bytes]) -> None:
    path.write_bytes(header + b"".join(items))


def notes(directory: Path) -> list[str]:
    return [
        encoding.expect_bytes(encoding.decode(v), what="note").decode()
        for v in values(directory / CHECKPOINTS_FILE)
    ]


def write_notes(directory: Path, texts: list[str]) -> None:
    rewrite(
        directory / CHECKPOINTS_FILE,
        CHECKPOINTS_HEADER,
        [encoding.encode(text.encode()) for text in texts],
    )


# --- the good record ----------------------------------------------------------------------------


def test_the_record_holds_exactly_two_files(good: Path) -> None:
    assert sorted(p.name for p in good.iterdir()) == [CHECKPOINTS_FILE, ENTRIES_FILE]
    assert (good / ENTRIES_FILE).read_bytes().startswith(ENTRIES_HEADER)
    assert (good / CHECKPOINTS_FILE).read_bytes().startswith(CHECKPOINTS_HEADER)


def test_export_load_restore_round_trip(good: Path) -> None:
    original = build_board()
    record = load(good)
    assert record.origin == ORIGIN
    assert record.size == original.size == 7
    assert [e.encoded for e in record.entries] == original.entries(0, original.size)
    assert [note.text() for _, note in record.checkpoints] == original.checkpoints()
    assert [c.size for c, _ in record.checkpoints] == [1, 3, 4, 7]

    store = MemoryStore()
    restore(record, store)
    restored = new_board(store)  # opening re-checks every stored checkpoint
    assert restored.size == original.size
    assert restored.checkpoints() == original.checkpoints()
    latest = open_checkpoint(restored.latest_checkpoint(), ORIGIN, LOG_KEY.verify_key)[0]
    assert latest.root == MerkleTree([leaf_hash(e.encoded) for e in record.entries]).root()
    assert restored.consistency_proof(3, 7) == original.consistency_proof(3, 7)
    for index in range(original.size):
        assert restored.prove(index) == original.prove(index)


def test_restore_into_sqlite_and_export_again(good: Path, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "restored.db")
    try:
        restore(load(good), store)
        export_record(new_board(store), tmp_path / "again")
    finally:
        store.close()
    for name in (ENTRIES_FILE, CHECKPOINTS_FILE):
        assert (tmp_path / "again" / name).read_bytes() == (good / name).read_bytes()


def test_restore_needs_an_empty_store(good: Path) -> None:
    store = MemoryStore()
    new_board(store).append([ballot("x")])
    with pytest.raises(RecordError, match="empty store"):
        restore(load(good), store)


def test_export_refuses_to_overwrite_a_record(good: Path) -> None:
    with pytest.raises(RecordError, match="exists"):
        export_record(build_board(), good)


def test_an_empty_board_exports_an_empty_record(tmp_path: Path) -> None:
    export_record(new_board(), tmp_path / "empty")
    record = load(tmp_path / "empty")
    assert (record.size, record.checkpoints) == (0, ())


# --- evil records: byte flips -------------------------------------------------------------------


def flip_everywhere(directory: Path, name: str, positions: range) -> list[int]:
    """Flip the byte at each position in turn; return the positions whose record loaded."""
    path = directory / name
    original = path.read_bytes()
    accepted = []
    for position in positions:
        data = bytearray(original)
        data[position] ^= 0x01
        path.write_bytes(bytes(data))
        try:
            load(directory)
        except RecordError:
            continue
        accepted.append(position)
    path.write_bytes(original)
    return accepted


def test_every_single_byte_flip_of_entries_is_caught(copy: Path) -> None:
    size = len((copy / ENTRIES_FILE).read_bytes())
    assert flip_everywhere(copy, ENTRIES_FILE, range(size)) == []
    load(copy)  # the unflipped copy still loads: each failure was the flip's


def test_every_single_byte_flip_of_checkpoints_is_caught(copy: Path) -> None:
    size = len((copy / CHECKPOINTS_FILE).read_bytes())
    assert flip_everywhere(copy, CHECKPOINTS_FILE, range(size)) == []
    load(copy)


@given(
    name=st.sampled_from([ENTRIES_FILE, CHECKPOINTS_FILE]),
    where=st.floats(min_value=0, max_value=1, exclude_max=True),
    mask=st.integers(min_value=1, max_value=255),
)
def test_any_byte_changed_to_any_value_is_caught(
    good: Path, name: str, where: float, mask: int
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "evil"
        shutil.copytree(good, directory)
        data = bytearray((directory / name).read_bytes())
        data[int(where * len(data))] ^= mask
        (directory / name).write_bytes(bytes(data))
        with pytest.raises(RecordError):
            load(directory)


@pytest.mark.parametrize("name", [ENTRIES_FILE, CHECKPOINTS_FILE])
@pytest.mark.parametrize("edit", ["truncate", "append-byte", "append-value"])
def test_truncated_or_extended_files_are_caught(copy: Path, name: str, edit: str) -> None:
    path = copy / name
    data = path.read_bytes()
    changed = {
        "truncate": data[:-1],
        "append-byte": data + b"\x00",
        "append-value": data + encoding.encode(b""),
    }[edit]
    path.write_bytes(changed)
    with pytest.raises(RecordError):
        load(copy)


# --- evil records: entries dropped, reordered, duplicated ---------------------------------------


Mutation = Callable[[list[bytes]], list[bytes]]
ENTRY_MUTATIONS: dict[str, Mutation] = {
    "drop-last": lambda e: e[:-1],
    "drop-first": lambda e: e[1:],
    "drop-middle": lambda e: e[:3] + e[4:],
    "swap-within-batch": lambda e: [e[0], e[2], e[1], *e[3:]],
    "swap-across-batches": lambda e: [e[0], e[1], e[3], e[2], *e[4:]],
    "reverse": lambda e: e[::-1],
    "duplicate-middle": lambda e: [*e[:3], e[2], *e[3:]],
    "duplicate-last": lambda e: [*e, e[-1]],
    "replace-with-valid-entry": lambda e: [*e[:2], ballot("forged"), *e[3:]],
    "append-valid-entry": lambda e: [*e, ballot("late")],
    "empty": lambda e: [],
}


@pytest.mark.parametrize("mutation", ENTRY_MUTATIONS.values(), ids=ENTRY_MUTATIONS.keys())
def test_entry_list_mutations_are_caught(copy: Path, mutation: Mutation) -> None:
    entries = values(copy / ENTRIES_FILE)
    mutated = mutation(entries)
    assert mutated != entries
    rewrite(copy / ENTRIES_FILE, ENTRIES_HEADER, mutated)
    with pytest.raises(RecordError):
        load(copy)


def test_dropping_the_last_entry_names_the_checkpoint(copy: Path) -> None:
    rewrite(copy / ENTRIES_FILE, ENTRIES_HEADER, values(copy / ENTRIES_FILE)[:-1])
    with pytest.raises(RecordError, match="checkpoint 3 has size 7, out of order or past the end"):
        load(copy)


def test_an_extra_entry_is_reported_as_uncovered(copy: Path) -> None:
    rewrite(copy / ENTRIES_FILE, ENTRIES_HEADER, [*values(copy / ENTRIES_FILE), ballot("z")])
    with pytest.raises(RecordError, match="entries 7 to 7 are covered by no checkpoint"):
        load(copy)


def test_a_changed_entry_names_its_index(copy: Path) -> None:
    entries = values(copy / ENTRIES_FILE)
    entries[4] = Entry.create("ballot", ELECTION_ID, b"c", [OFFICIALS[0]]).encoded
    rewrite(copy / ENTRIES_FILE, ENTRIES_HEADER, entries)
    with pytest.raises(RecordError, match="entries do not match its root"):
        load(copy)
    entries[4] = b"\x02\x00\x00\x00\x00"
    rewrite(copy / ENTRIES_FILE, ENTRIES_HEADER, entries)
    with pytest.raises(RecordError, match="entry 4: malformed entry"):
        load(copy)


# --- evil records: checkpoints ------------------------------------------------------------------


def test_dropping_the_last_checkpoint_leaves_entries_uncovered(copy: Path) -> None:
    write_notes(copy, notes(copy)[:-1])
    with pytest.raises(RecordError, match="entries 4 to 6 are covered by no checkpoint"):
        load(copy)


def test_no_checkpoint_at_all(copy: Path) -> None:
    write_notes(copy, [])
    with pytest.raises(RecordError, match="entries 0 to 6 are covered by no checkpoint"):
        load(copy)


@pytest.mark.parametrize(
    "mutation",
    [
        lambda n: [n[1], n[0], *n[2:]],
        lambda n: n[::-1],
        lambda n: [n[0], n[1], n[1], *n[2:]],
        lambda n: [*n, n[-1]],
    ],
    ids=["swap", "reverse", "duplicate-middle", "duplicate-last"],
)
def test_reordered_or_duplicated_checkpoints_are_caught(
    copy: Path, mutation: Callable[[list[str]], list[str]]
) -> None:
    write_notes(copy, mutation(notes(copy)))
    with pytest.raises(RecordError, match="out of order or past the end"):
        load(copy)


def test_an_unknown_signature_line_is_caught(copy: Path) -> None:
    texts = notes(copy)
    note = parse_note(texts[1])
    stranger = cosign(note, "stranger.test/w", SigningKey(b"\x7f" * 32), 5)
    texts[1] = note.with_signature(stranger).text()
    write_notes(copy, texts)
    with pytest.raises(RecordError, match="checkpoint 1: signature line from unknown signer"):
        load(copy)


def test_a_second_log_line_with_another_key_is_caught(copy: Path) -> None:
    texts = notes(copy)
    note = parse_note(texts[2])
    other = SigningKey(b"\x7e" * 32)
    texts[2] = note.with_signature(sign_note(note.body, ORIGIN, other)).text()
    write_notes(copy, texts)
    with pytest.raises(RecordError, match=f"unknown signer '{ORIGIN}'"):
        load(copy)


def test_a_dropped_cosignature_line_still_loads_but_a_changed_one_does_not(copy: Path) -> None:
    # Cosignature lines are optional extras; dropping one leaves a valid (less witnessed)
    # record. Changing one is caught.
    texts = notes(copy)
    note = parse_note(texts[0])
    assert len(note.signatures) == 3
    second = note.signatures[2]
    texts[0] = note.text().replace(second.line(), "")
    write_notes(copy, texts)
    load(copy)
    forged = note.text().replace(
        second.line(), second.line().replace(second.name, "witness.test/w3")
    )
    texts[0] = forged
    write_notes(copy, texts)
    with pytest.raises(RecordError):
        load(copy)


def test_a_checkpoint_signed_by_another_log_key_is_caught(copy: Path) -> None:
    texts = notes(copy)
    checkpoint = Checkpoint.parse(parse_note(texts[1]).body)
    texts[1] = sign_checkpoint(checkpoint, SigningKey(b"\x7d" * 32)).text()
    write_notes(copy, texts)
    with pytest.raises(RecordError, match="checkpoint 1: the note carries no signature"):
        load(copy)


def test_a_note_that_is_not_text_is_caught(copy: Path) -> None:
    items = values(copy / CHECKPOINTS_FILE)
    items[0] = encoding.encode(b"\xff\xfe not utf-8")
    rewrite(copy / CHECKPOINTS_FILE, CHECKPOINTS_HEADER, items)
    with pytest.raises(RecordError, match="checkpoint 0"):
        load(copy)
    items[0] = encoding.encode("a text value, not bytes")
    rewrite(copy / CHECKPOINTS_FILE, CHECKPOINTS_HEADER, items)
    with pytest.raises(RecordError, match="checkpoint 0"):
        load(copy)


# --- evil records: the directory and the headers ------------------------------------------------


def test_an_extra_file_is_caught(copy: Path) -> None:
    (copy / "README").write_text("trust me\n")
    with pytest.raises(RecordError, match="must hold exactly"):
        load(copy)


def test_a_left_over_partial_file_is_caught(copy: Path) -> None:
    (copy / (ENTRIES_FILE + ".partial")).write_bytes(b"")
    with pytest.raises(RecordError, match="must hold exactly"):
        load(copy)


@pytest.mark.parametrize("name", [ENTRIES_FILE, CHECKPOINTS_FILE])
def test_a_missing_file_is_caught(copy: Path, name: str) -> None:
    (copy / name).unlink()
    with pytest.raises(RecordError, match="must hold exactly"):
        load(copy)


def test_a_missing_directory_is_caught(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="must hold exactly"):
        load(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("name", "header"),
    [
        (ENTRIES_FILE, encoding.encode("evote-record/v2/entries")),
        (ENTRIES_FILE, CHECKPOINTS_HEADER),
        (ENTRIES_FILE, encoding.encode(b"evote-record/v1/entries")),
        (CHECKPOINTS_FILE, encoding.encode("evote-record/v1/checkpoint")),
        (CHECKPOINTS_FILE, ENTRIES_HEADER),
        (CHECKPOINTS_FILE, b""),
    ],
)
def test_a_wrong_header_is_caught(copy: Path, name: str, header: bytes) -> None:
    path = copy / name
    real_header = ENTRIES_HEADER if name == ENTRIES_FILE else CHECKPOINTS_HEADER
    path.write_bytes(header + path.read_bytes()[len(real_header) :])
    with pytest.raises(RecordError):
        load(copy)


@pytest.mark.parametrize("name", [ENTRIES_FILE, CHECKPOINTS_FILE])
def test_an_empty_file_is_caught(copy: Path, name: str) -> None:
    (copy / name).write_bytes(b"")
    with pytest.raises(RecordError, match="does not start with the header"):
        load(copy)


def test_the_trust_roots_come_from_outside(good: Path) -> None:
    other_rules = EntryRules.of(hashlib.sha256(b"x").digest(), [EntryKind("ballot")])
    with pytest.raises(RecordError, match="entry 0"):
        load_record(good, ORIGIN, LOG_KEY.verify_key, other_rules, WITNESSES)
    with pytest.raises(RecordError, match="checkpoint 0"):
        load_record(good, ORIGIN, SigningKey(b"\x7c" * 32).verify_key, RULES, WITNESSES)
    with pytest.raises(RecordError, match="checkpoint 0"):
        load_record(good, "evote.test/other", LOG_KEY.verify_key, RULES, WITNESSES)
    with pytest.raises(RecordError, match=r"unknown signer 'witness\.test/w2'"):
        load_record(
            good,
            ORIGIN,
            LOG_KEY.verify_key,
            RULES,
            {"witness.test/w1": WITNESSES["witness.test/w1"]},
        )


# --- a forked log -------------------------------------------------------------------------------


def record_tree(record: Record) -> MerkleTree:
    return MerkleTree([leaf_hash(entry.encoded) for entry in record.entries])


def test_a_fork_cannot_pass_off_its_record_against_the_other_checkpoint(tmp_path: Path) -> None:
    # Same log key, same first three entries, then the two boards diverge.
    honest, fork = new_board(), new_board()
    for board in (honest, fork):
        board.append([official("manifest")])
        board.append([ballot("a"), ballot("b")])
    honest.append([ballot("voter's ballot")])
    fork.append([ballot("someone else")])
    fork.append([ballot("more"), ballot("and more")])
    # The voter holds the honest checkpoint of size 4 (say, from a receipt).
    held = open_checkpoint(honest.latest_checkpoint(), ORIGIN, LOG_KEY.verify_key)[0]

    export_record(fork, tmp_path / "fork")
    record = load(tmp_path / "fork")  # internally consistent: the log key signed it all
    tree = record_tree(record)
    latest = record.checkpoints[-1][0]
    assert (held.size, latest.size) == (4, 6)
    with pytest.raises(ConsistencyError):
        verify_consistency(
            held.size, latest.size, held.root, latest.root, tree.consistency_proof(held.size)
        )
    # Nor can the fork's checkpoint of the same size stand beside the held one.
    same_size = open_checkpoint(fork.checkpoint_at(4), ORIGIN, LOG_KEY.verify_key)[0]
    with pytest.raises(ConsistencyError, match="a fork"):
        verify_consistency(4, 4, held.root, same_size.root, [])
    # The shared prefix is still consistent: the check is not refusing everything.
    shared = open_checkpoint(honest.checkpoint_at(3), ORIGIN, LOG_KEY.verify_key)[0]
    verify_consistency(3, latest.size, shared.root, latest.root, tree.consistency_proof(3))


def test_an_honest_extension_passes_against_an_earlier_checkpoint(tmp_path: Path) -> None:
    board = new_board()
    board.append([ballot("a"), ballot("b")])
    held = open_checkpoint(board.latest_checkpoint(), ORIGIN, LOG_KEY.verify_key)[0]
    board.append([ballot("c")])
    board.append([ballot("d"), ballot("e")])
    export_record(board, tmp_path / "record")
    record = load(tmp_path / "record")
    latest = record.checkpoints[-1][0]
    verify_consistency(
        held.size, latest.size, held.root, latest.root, record_tree(record).consistency_proof(2)
    )
