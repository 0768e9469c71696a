"""Reading the board and checking it before anything is built from it: the view an official's
client trusts.

:func:`fetch_board` reads every entry and the latest signed checkpoint from the public port,
pins entry 0 to the election id the officials published (the manifest, hence the trust roots),
checks every entry's envelope and signatures under the election's rules, recomputes the Merkle
root of the entries it holds and compares it with the checkpoint the log signed under the
manifest's origin and key (:class:`BoardView`). After the close it also gathers the checkpoints
that cover the close, for the witnesses' cosignatures the tally needs.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import grpc

from evote.board.checkpoint import Checkpoint, open_checkpoint, verify_witnessed
from evote.board.entry import Entry
from evote.board.merkle import MerkleTree, leaf_hash
from evote.board.note import SignedNote, parse_note
from evote.board.record import Record
from evote.client.official.errors import BoardUntrusted
from evote.election.manifest import Manifest
from evote.errors import CheckpointError, DecodeError, EntryRejected, InvalidInput, InvalidSignature
from evote.record import kinds

#: Checkpoints after the close asked for, at most, to find one the witnesses cosigned.
CLOSING_CHECKPOINTS: Final = 64


class BoardSource(Protocol):
    """What :func:`fetch_board` reads (:class:`evote.client.channels.BoardClient`)."""

    def checkpoint(self, size: int = 0) -> str:
        """The latest checkpoint note, or the one of ``size`` entries."""
        ...

    def all_entries(self, start: int = 0) -> Iterator[bytes]:
        """Every entry from ``start``, page by page."""
        ...


@dataclass(frozen=True, slots=True)
class BoardView:
    """The board as checked against a signed checkpoint: the manifest (pinned by election id),
    every entry (envelope and signatures checked), and the checkpoints fetched, by size; the
    last one covers every entry."""

    manifest: Manifest
    entries: tuple[Entry, ...]
    checkpoints: tuple[tuple[Checkpoint, SignedNote], ...]

    @property
    def election_id(self) -> bytes:
        return self.manifest.election_id

    @property
    def size(self) -> int:
        return len(self.entries)

    def positions(self, kind: str) -> list[int]:
        """The indices of every entry of ``kind``."""
        return [index for index, entry in enumerate(self.entries) if entry.kind == kind]

    def index_of(self, entry: Entry) -> int | None:
        """Where these exact bytes are on the board, if they are."""
        for index, held in enumerate(self.entries):
            if held.encoded == entry.encoded:
                return index
        return None

    def record(self, *more: Entry) -> Record:
        """The view as a record (what the guardians' checks read), with ``more`` entries
        after the board's own (entries not posted yet, which no checkpoint covers)."""
        return Record(self.manifest.log_origin, (*self.entries, *more), self.checkpoints)


def board_view(
    election_id: bytes,
    entries: Sequence[bytes],
    notes: Sequence[str],
    previous: BoardView | None = None,
) -> BoardView:
    """Check what a board served and return the view; raise :class:`BoardUntrusted`.

    ``entries`` are the stored bytes from index 0 (or, with ``previous``, those after its
    entries, which are not checked again); ``notes`` are checkpoint notes, the largest of which
    must cover every entry. Each note must be signed by the manifest's log key under its origin,
    and its root must be the Merkle root of the entries held here up to its size.
    """
    if previous is not None and previous.election_id != election_id:
        raise InvalidInput("a board view is extended with entries of its own election only")
    parsed = list(previous.entries) if previous is not None else []
    if previous is None:
        if not entries:
            raise BoardUntrusted("the board holds no entry: entry 0 must be the manifest")
        manifest = _pinned_manifest(entries[0], election_id)
    else:
        manifest = previous.manifest
    rules = kinds.entry_rules(election_id, manifest.scheme_name)
    for index, data in enumerate(entries, len(parsed)):
        try:
            parsed.append(rules.check(data))
        except EntryRejected as error:
            raise BoardUntrusted(
                f"entry {index} is not a valid entry of this election: {error}"
            ) from error
    tree = MerkleTree([leaf_hash(entry.encoded) for entry in parsed])
    held_notes = [note.text() for _, note in previous.checkpoints] if previous else []
    by_size: dict[int, tuple[Checkpoint, SignedNote]] = {}
    for text in (*held_notes, *notes):
        # The board only ever adds cosignatures to a checkpoint: the note read last wins.
        checkpoint, note = _checked(text, manifest, tree)
        by_size[checkpoint.size] = (checkpoint, note)
    if not by_size or max(by_size) != tree.size:
        raise BoardUntrusted(
            f"no signed checkpoint covers the {tree.size} entries the board served: the board "
            "may be changing under a read; run the command again"
        )
    return BoardView(manifest, tuple(parsed), tuple(by_size[size] for size in sorted(by_size)))


def _pinned_manifest(data: bytes, election_id: bytes) -> Manifest:
    try:
        first = Entry.decode(data)
        if first.kind != kinds.MANIFEST:
            raise BoardUntrusted(f"entry 0 is a {first.kind!r} entry, not the manifest")
        found = hashlib.sha256(first.body).digest()
        if found != election_id:
            raise BoardUntrusted(
                f"entry 0 is the manifest of election {found.hex()}, not of {election_id.hex()}: "
                "check --election-id and --server"
            )
        return Manifest.from_tlv(first.body)
    except (DecodeError, InvalidInput) as error:
        raise BoardUntrusted(f"entry 0 is not a manifest: {error}") from error


def _checked(text: str, manifest: Manifest, tree: MerkleTree) -> tuple[Checkpoint, SignedNote]:
    """Open one checkpoint under the log's key and check its root against our own tree."""
    try:
        checkpoint, note = open_checkpoint(text, manifest.log_origin, manifest.log_key)
    except (CheckpointError, InvalidSignature, DecodeError) as error:
        raise BoardUntrusted(
            f"a checkpoint is not signed by this election's log: {error}"
        ) from error
    if checkpoint.size > tree.size:
        raise BoardUntrusted(
            f"the checkpoint of size {checkpoint.size} covers more entries than the {tree.size} "
            "the board served"
        )
    if checkpoint.root != tree.root(checkpoint.size):
        raise BoardUntrusted(
            f"the entries the board served do not match its signed checkpoint of size "
            f"{checkpoint.size}: the board contradicts what it signed"
        )
    return checkpoint, note


def fetch_board(
    board: BoardSource, election_id: bytes, previous: BoardView | None = None
) -> BoardView:
    """Read the board up to its latest checkpoint and check it (:func:`board_view`).

    With ``previous`` only the entries after it are fetched (its entries stay as they were
    checked; the new checkpoint's root is recomputed over all of them). Once the election is
    closed, the checkpoints right after the close are fetched too, until one carries the
    witnesses' quorum (the tally needs it).
    """
    latest = board.checkpoint()
    try:
        size = Checkpoint.parse(parse_note(latest).body).size
    except (CheckpointError, DecodeError) as error:
        raise BoardUntrusted(f"the board's checkpoint does not parse: {error}") from error
    start = 0 if previous is None else previous.size
    if size < start:
        raise BoardUntrusted(
            f"the board's latest checkpoint has {size} entries, fewer than the {start} it "
            "served before: the board rewrote its history"
        )
    fresh = list(itertools.islice(board.all_entries(start), size - start))
    if len(fresh) != size - start:
        raise BoardUntrusted(
            f"the board signed a checkpoint of {size} entries but served {start + len(fresh)}"
        )
    view = board_view(election_id, fresh, [latest], previous)
    closes = view.positions(kinds.CLOSE)
    if not closes or witnessed_after(view, closes[0]):
        return view
    notes = []
    for covering in range(closes[0] + 1, min(view.size, closes[0] + 1 + CLOSING_CHECKPOINTS)):
        try:
            note = board.checkpoint(covering)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                continue  # that size was inside a batch: the log signed no checkpoint of it
            raise
        notes.append(note)
        if _is_witnessed(note, view.manifest):
            break
    return board_view(election_id, [], notes, view)


def _is_witnessed(note: str, manifest: Manifest) -> bool:
    try:
        verify_witnessed(
            note,
            manifest.log_origin,
            manifest.log_key,
            manifest.witness_keys(),
            manifest.witness_quorum,
        )
    except (CheckpointError, InvalidSignature, DecodeError):
        return False
    return True


def witnessed_after(view: BoardView, index: int) -> bool:
    """Whether some checkpoint covering entry ``index`` carries the witnesses' quorum."""
    return any(
        checkpoint.size > index and _is_witnessed(note.text(), view.manifest)
        for checkpoint, note in view.checkpoints
    )
