"""The public record: the board exported to a directory, and loaded back with every check.

A record directory holds exactly two files:

``entries.tlv``
    the TLV text ``"evote-record/v1/entries"`` followed by every entry's stored bytes, in
    index order (each entry is one self-delimiting TLV value).
``checkpoints.tlv``
    the TLV text ``"evote-record/v1/checkpoints"`` followed by one TLV ``bytes`` value per
    checkpoint the log signed, by increasing size: the UTF-8 signed note with every witness
    cosignature gathered.

Every byte is covered: each entry by the Merkle root of every checkpoint at or after it (and
by its own signatures), each checkpoint by the log's signature, each cosignature line by its
witness's signature, and the last checkpoint covers the last entry. Loading re-checks all of
it, so changing, adding or reordering any byte, or dropping an entry, makes
:func:`load_record` fail. Two things a record cannot show by itself: that it is the *latest*
one (compare its last checkpoint with one that witnesses cosigned), and that no intermediate
checkpoint was left out (each is an independent signed statement; receipts and witnesses
hold the ones they were given, and a consistency proof links any of them to the record).

The files are read and written here, from plain entry bytes and note texts, so that anyone who
keeps a record (the export from a board, an observer's mirror of one) writes the same format;
each file is replaced atomically and durably (:func:`evote.files.write_atomically`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from evote.board.checkpoint import Checkpoint, check_every_signature
from evote.board.entry import Entry, EntryRules
from evote.board.merkle import MerkleTree, leaf_hash
from evote.board.note import SignedNote, parse_note
from evote.crypto import encoding
from evote.crypto.signing import VerifyKey
from evote.errors import DecodeError, EvoteError, RecordError
from evote.files import write_atomically

ENTRIES_FILE: Final = "entries.tlv"
CHECKPOINTS_FILE: Final = "checkpoints.tlv"
ENTRIES_HEADER: Final = "evote-record/v1/entries"
CHECKPOINTS_HEADER: Final = "evote-record/v1/checkpoints"


@dataclass(frozen=True, slots=True)
class Record:
    """A loaded and fully checked record."""

    origin: str
    entries: tuple[Entry, ...]
    checkpoints: tuple[tuple[Checkpoint, SignedNote], ...]

    @property
    def size(self) -> int:
        return len(self.entries)


def read_entries(directory: str | Path) -> list[bytes]:
    """The stored bytes of every entry of a record, unchecked (:func:`load_record` checks)."""
    return _read_values(Path(directory) / ENTRIES_FILE, ENTRIES_HEADER)


def read_checkpoints(directory: str | Path) -> list[str]:
    """The signed notes of a record's checkpoints, in file order, as text; unchecked beyond
    being UTF-8 text in ``bytes`` values (:func:`load_record` checks them)."""
    notes = []
    for position, value in enumerate(
        _read_values(Path(directory) / CHECKPOINTS_FILE, CHECKPOINTS_HEADER)
    ):
        where = f"checkpoint {position}"
        try:
            notes.append(encoding.expect_bytes(encoding.decode(value), what=where).decode())
        except (DecodeError, UnicodeDecodeError) as error:
            raise RecordError(f"{where}: {error}") from error
    return notes


def write_record(directory: str | Path, entries: Iterable[bytes], notes: Iterable[str]) -> None:
    """Write a record directory: :func:`write_entries`, then :func:`write_checkpoints`.

    In that order, so that a write cut short never leaves a checkpoint whose entries are
    missing: entries past the last checkpoint are what a reader can find, and drop.
    """
    write_entries(directory, entries)
    write_checkpoints(directory, notes)


def write_entries(directory: str | Path, entries: Iterable[bytes]) -> None:
    """Replace the record's ``entries.tlv`` by these entries' stored bytes, in index order
    (atomically and durably: a reader sees the old file or the new one)."""
    data = encoding.encode(ENTRIES_HEADER) + b"".join(entries)
    write_atomically(Path(directory) / ENTRIES_FILE, data)


def write_checkpoints(directory: str | Path, notes: Iterable[str]) -> None:
    """Replace the record's ``checkpoints.tlv`` by these signed notes, given by increasing
    size (atomically and durably)."""
    values = [encoding.encode(note.encode("utf-8")) for note in notes]
    write_atomically(
        Path(directory) / CHECKPOINTS_FILE, encoding.encode(CHECKPOINTS_HEADER) + b"".join(values)
    )


def _read_values(path: Path, header: str) -> list[bytes]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecordError(f"cannot read {path}: {error.strerror}") from error
    try:
        values = encoding.split_values(data)
        if not values or encoding.decode(values[0]) != header:
            raise RecordError(f"{path} does not start with the header {header!r}")
    except DecodeError as error:
        raise RecordError(f"{path} is not a sequence of TLV values: {error}") from error
    return values[1:]


def load_record(
    directory: str | Path,
    origin: str,
    log_key: VerifyKey,
    rules: EntryRules,
    witnesses: Mapping[str, VerifyKey],
) -> Record:
    """Read a record and check every entry, checkpoint and signature; raise :class:`RecordError`.

    ``origin`` and ``log_key`` (and the witness keys) are trust roots from outside the record:
    the election's manifest, checked against its published fingerprint.
    """
    root = Path(directory)
    present = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    if present != sorted([ENTRIES_FILE, CHECKPOINTS_FILE]):
        raise RecordError(f"{root} must hold exactly {ENTRIES_FILE} and {CHECKPOINTS_FILE}")
    entries: list[Entry] = []
    tree = MerkleTree()
    for index, data in enumerate(_read_values(root / ENTRIES_FILE, ENTRIES_HEADER)):
        try:
            entries.append(rules.check(data))
        except EvoteError as error:
            raise RecordError(f"entry {index}: {error}") from error
        tree.append(leaf_hash(data))
    checkpoints: list[tuple[Checkpoint, SignedNote]] = []
    previous = 0
    for position, text in enumerate(read_checkpoints(root)):
        where = f"checkpoint {position}"
        try:
            note = parse_note(text)
            check_every_signature(note, origin, log_key, witnesses)
            checkpoint = Checkpoint.parse(note.body)
        except EvoteError as error:
            raise RecordError(f"{where}: {error}") from error
        if checkpoint.origin != origin:
            raise RecordError(f"{where} belongs to log {checkpoint.origin!r}")
        if not previous < checkpoint.size <= tree.size:
            raise RecordError(f"{where} has size {checkpoint.size}, out of order or past the end")
        if checkpoint.root != tree.root(checkpoint.size):
            raise RecordError(
                f"{where}: the entries do not match its root (size {checkpoint.size})"
            )
        checkpoints.append((checkpoint, note))
        previous = checkpoint.size
    if previous != tree.size:
        raise RecordError(f"entries {previous} to {tree.size - 1} are covered by no checkpoint")
    return Record(origin, tuple(entries), tuple(checkpoints))
