"""The observer's mirror: its own copy of every entry the board served, the Merkle tree over
them, and every checkpoint it verified with the valid cosignatures it saw.

On disk the mirror is a record directory in the export format (:mod:`evote.board.record`):
``entries.tlv`` and ``checkpoints.tlv``, each replaced atomically and durably, entries first,
so ``evote verify DIR`` runs on the mirror as it is. A restart resumes from it after
re-checking it in full; entries past its last checkpoint (a write cut short) are dropped and
fetched again.

What the board signs is checked here against the mirror: a checkpoint smaller than one already
verified, a root other than the mirror's at the same size, or entries that do not lead to the
root the board signed are :class:`HistoryRewritten`, with the checkpoint verified before as
evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from evote.board.checkpoint import Checkpoint
from evote.board.merkle import MerkleTree, leaf_hash
from evote.board.note import NoteSignature, SignedNote
from evote.board.record import (
    CHECKPOINTS_FILE,
    ENTRIES_FILE,
    read_checkpoints,
    read_entries,
    write_checkpoints,
    write_entries,
)
from evote.client.observer.reports import HistoryRewritten
from evote.errors import RecordError


class Mirror:
    """The copy of one board kept in ``directory`` (see the module).

    Entries are written to disk before they are added in memory, and a checkpoint is written
    with :meth:`save_checkpoints`, so a failed write leaves the mirror in memory as it was.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._entries: list[bytes] = []
        self._tree = MerkleTree()
        self._checkpoints: dict[int, tuple[Checkpoint, SignedNote]] = {}

    @property
    def size(self) -> int:
        """How many entries the mirror holds (all covered by a verified checkpoint)."""
        return len(self._entries)

    @property
    def entries(self) -> Sequence[bytes]:
        return self._entries

    @property
    def checkpoints(self) -> Mapping[int, tuple[Checkpoint, SignedNote]]:
        """Every verified checkpoint by size, with the cosignatures kept for it."""
        return self._checkpoints

    def latest_note(self) -> str | None:
        """The largest verified checkpoint's note, ``None`` before the first."""
        if not self._checkpoints:
            return None
        return self._checkpoints[max(self._checkpoints)][1].text()

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return self._tree.consistency_proof(old_size, new_size)

    def root(self, size: int) -> bytes:
        """The Merkle root of the first ``size`` mirrored entries."""
        return self._tree.root(size)

    def note_at(self, size: int) -> str | None:
        """The verified checkpoint of ``size`` entries, else the latest (``None`` before any)."""
        stored = self._checkpoints.get(size)
        return stored[1].text() if stored is not None else self.latest_note()

    # --- resuming ---------------------------------------------------------------------------------

    def read(self) -> tuple[list[bytes], list[str]] | None:
        """The record files in the directory, unchecked: the entries and the checkpoints' notes
        (``None`` if there is no record yet). Anything else in the directory is refused."""
        for name in (ENTRIES_FILE, CHECKPOINTS_FILE):
            # What an interrupted write_atomically leaves behind; the file itself is intact.
            (self.directory / f".{name}.partial").unlink(missing_ok=True)
        present = sorted(path.name for path in self.directory.iterdir())
        strangers = [name for name in present if name not in (ENTRIES_FILE, CHECKPOINTS_FILE)]
        if strangers:
            raise RecordError(
                f"{self.directory} holds {', '.join(strangers)}: a mirror directory holds only "
                f"{ENTRIES_FILE} and {CHECKPOINTS_FILE}; give an empty or new directory"
            )
        if ENTRIES_FILE not in present:
            if CHECKPOINTS_FILE in present:
                raise RecordError(f"{self.directory} has checkpoints but no {ENTRIES_FILE}")
            return None
        entries = read_entries(self.directory)
        notes = read_checkpoints(self.directory) if CHECKPOINTS_FILE in present else []
        if not entries:
            raise RecordError(f"{self.directory / ENTRIES_FILE} holds no entry, not even entry 0")
        return entries, notes

    def restore(
        self, entries: Sequence[bytes], checkpoints: Sequence[tuple[Checkpoint, SignedNote]]
    ) -> list[bytes]:
        """Take the entries read back and their checkpoints (already verified under the log
        key), in file order, after checking that the entries match every checkpoint's root.

        Returns the entries kept: those the last checkpoint covers. Any after them were written
        by a poll cut short, and are dropped from the file too (they are fetched again).
        """
        tree = MerkleTree([leaf_hash(data) for data in entries])
        previous = 0
        for position, (checkpoint, _) in enumerate(checkpoints):
            where = f"the mirror's checkpoint {position}"
            if not previous < checkpoint.size <= tree.size:
                raise RecordError(f"{where} has size {checkpoint.size}, out of order or too big")
            if checkpoint.root != tree.root(checkpoint.size):
                raise RecordError(
                    f"{where}: the mirror's entries do not match its root (size "
                    f"{checkpoint.size}): the mirror was altered; move it aside and start anew"
                )
            previous = checkpoint.size
        kept = list(entries[:previous])
        for checkpoint, note in checkpoints:
            self._checkpoints[checkpoint.size] = (checkpoint, note)
        self._append(kept)
        if previous != len(entries):
            self.save_entries()
        return kept

    # --- growing ----------------------------------------------------------------------------------

    def extend(self, fresh: Sequence[bytes], checkpoint: Checkpoint, note: SignedNote) -> None:
        """Add entries the board served, if the mirror's entries and these lead to the root
        the board signed in ``checkpoint`` (:class:`HistoryRewritten` otherwise)."""
        size = self.size
        for data in fresh:
            self._tree.append(leaf_hash(data))
        root = self._tree.root()
        self._tree.truncate(size)
        if root != checkpoint.root:
            raise HistoryRewritten(
                f"the entries the board served do not lead to the root it signed for size "
                f"{checkpoint.size}: the signed tree is not the mirror plus these entries",
                earlier=self.latest_note(),
                later=note.text(),
            )
        self.save_entries(fresh)  # on disk first: a failed write changes nothing here
        self._append(fresh)

    def _append(self, fresh: Sequence[bytes]) -> None:
        for data in fresh:
            self._entries.append(data)
            self._tree.append(leaf_hash(data))

    def keep(self, checkpoint: Checkpoint, note: SignedNote) -> bool:
        """Store a verified checkpoint (its root already matches the mirror), merging the
        cosignatures of one already stored at that size; True if anything changed. The
        caller saves the checkpoints (:meth:`save_checkpoints`)."""
        stored = self._checkpoints.get(checkpoint.size)
        if stored is None:
            self._checkpoints[checkpoint.size] = (checkpoint, note)
            return True
        kept = stored[1]
        merged = list(kept.signatures)
        for signature in note.signatures:
            if kept.find(signature.name, signature.key_id) is None:
                merged.append(signature)
        if len(merged) == len(kept.signatures):
            return False
        self._checkpoints[checkpoint.size] = (stored[0], SignedNote(kept.body, tuple(merged)))
        return True

    def add_cosignature(self, size: int, signature: NoteSignature) -> None:
        """Attach a cosignature to the stored checkpoint of ``size`` and save the checkpoints:
        durably, or not at all (a failed write leaves the mirror as it was)."""
        checkpoint, note = self._checkpoints[size]
        self._checkpoints[size] = (checkpoint, note.with_signature(signature))
        try:
            self.save_checkpoints()
        except BaseException:
            self._checkpoints[size] = (checkpoint, note)
            raise

    # --- checking what the board signs against the mirror -------------------------------------

    def check_latest(self, checkpoint: Checkpoint, note: SignedNote) -> None:
        """Raise :class:`HistoryRewritten` if the board's latest checkpoint is smaller than
        one already verified, or contradicts the mirror (:meth:`check_root`)."""
        latest = max(self._checkpoints, default=0)
        if checkpoint.size < latest:
            raise HistoryRewritten(
                f"the board's checkpoint went back from size {latest} to size {checkpoint.size}",
                earlier=self.latest_note(),
                later=note.text(),
            )
        self.check_root(checkpoint, note)

    def check_root(self, checkpoint: Checkpoint, note: SignedNote) -> None:
        """Raise :class:`HistoryRewritten` if a checkpoint the mirror covers (of any size, the
        latest or an earlier one) has another root than the mirror's entries."""
        if checkpoint.size <= self.size and checkpoint.root != self._tree.root(checkpoint.size):
            earlier = self._checkpoints.get(checkpoint.size)
            raise HistoryRewritten(
                f"the board signed another root for size {checkpoint.size} than the one of "
                "the entries it served before",
                earlier=earlier[1].text() if earlier else self.latest_note(),
                later=note.text(),
            )

    # --- on disk ----------------------------------------------------------------------------------

    def save_entries(self, fresh: Sequence[bytes] = ()) -> None:
        """Write the mirror's entries, and ``fresh`` after them (entries.tlv is written in
        full, atomically: an interrupted write leaves the previous file)."""
        write_entries(self.directory, [*self._entries, *fresh])

    def save_checkpoints(self) -> None:
        """Write every verified checkpoint, by increasing size, with its cosignatures."""
        write_checkpoints(
            self.directory,
            [self._checkpoints[size][1].text() for size in sorted(self._checkpoints)],
        )
