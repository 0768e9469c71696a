"""The bulletin board's sequencer: checks entries, appends them, signs checkpoints.

``append`` runs in this order, so that bad input changes nothing and nothing is acknowledged
before it is durable:

1. every entry is parsed and checked against the envelope rules (:class:`EntryRules`);
2. the in-memory Merkle tree is extended and the new checkpoint is signed;
3. the store commits the entries **and** that checkpoint in one transaction;
4. only then is the result returned; if the commit fails, the tree is rolled back. Should the
   store hold more entries after a failed commit than before it (a commit whose answer was lost,
   e.g. an fsync error after the write), the tree no longer matches the store: the board then
   refuses every further append (:class:`StoreCorrupted`) and must be reopened, which rebuilds
   the tree from what is stored.

On opening, the tree is rebuilt from the store and compared with every stored checkpoint, whose
every signature line (the log's and its witnesses' cosignatures) must verify; on any mismatch
the board refuses to serve (:class:`StoreCorrupted`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evote.board.checkpoint import (
    Checkpoint,
    check_every_signature,
    cosignature_time,
    open_checkpoint,
    sign_checkpoint,
)
from evote.board.entry import EntryRules
from evote.board.merkle import MerkleTree
from evote.board.note import NoteSignature, parse_note
from evote.board.store import LogStore, StoredEntry
from evote.crypto.signing import SigningKey, VerifyKey
from evote.errors import BoardError, CheckpointError, EntryRejected, StoreCorrupted


@dataclass(frozen=True, slots=True)
class Appended:
    """Where a batch went: the index of its first entry and the checkpoint that covers it."""

    first_index: int
    count: int
    checkpoint: str


@dataclass(frozen=True, slots=True)
class InclusionBundle:
    """Everything needed to check offline that an entry is on the board."""

    entry: bytes
    index: int
    checkpoint: str
    path: tuple[bytes, ...]


class BulletinBoard:
    """One election's append-only log over a :class:`LogStore`."""

    def __init__(
        self,
        store: LogStore,
        log_key: SigningKey,
        origin: str,
        rules: EntryRules,
        witnesses: Mapping[str, VerifyKey] | None = None,
    ) -> None:
        self._store = store
        self._key = log_key
        self.origin = origin
        self.rules = rules
        self.witnesses = dict(witnesses or {})
        self._lock = threading.Lock()
        #: Why appends are refused (the store may hold an append the tree does not), if so.
        self._broken: str | None = None
        self._tree = MerkleTree(list(store.leaf_hashes()))
        self._check_store_against_checkpoints()

    @property
    def verify_key(self) -> VerifyKey:
        return self._key.verify_key

    @property
    def size(self) -> int:
        return self._tree.size

    def _check_store_against_checkpoints(self) -> None:
        stored = self._store.checkpoints()
        if not stored:
            if self._tree.size:
                raise StoreCorrupted(
                    f"{self._tree.size} entries but no signed checkpoint; refusing to serve"
                )
            return
        for size, text in stored:
            try:
                checkpoint, note = open_checkpoint(text, self.origin, self.verify_key)
                check_every_signature(note, self.origin, self.verify_key, self.witnesses)
            except CheckpointError as error:
                raise StoreCorrupted(
                    f"stored checkpoint of size {size}: {error}; refusing to serve"
                ) from error
            if checkpoint.size != size or size > self._tree.size:
                raise StoreCorrupted(
                    f"stored checkpoint of size {size} has no matching entries; refusing to serve"
                )
            if checkpoint.root != self._tree.root(size):
                raise StoreCorrupted(
                    f"the stored entries do not match the signed checkpoint of size {size}: "
                    "the log was altered; refusing to serve"
                )
        if stored[-1][0] != self._tree.size:
            raise StoreCorrupted(
                f"{self._tree.size - stored[-1][0]} entries are not covered by any checkpoint; "
                "refusing to serve"
            )

    def append(self, entries: Sequence[bytes]) -> Appended:
        """Check and durably append a batch; returns once it is committed."""
        if not entries:
            raise EntryRejected("an append needs at least one entry")
        stored = [StoredEntry.of(self.rules.check(data).encoded) for data in entries]
        if len({entry.leaf_hash for entry in stored}) != len(stored):
            raise EntryRejected("the batch holds the same entry twice")
        with self._lock:
            if self._broken is not None:
                raise StoreCorrupted(self._broken)
            start = self._tree.size
            for entry in stored:
                self._tree.append(entry.leaf_hash)
            try:
                checkpoint = Checkpoint(self.origin, self._tree.size, self._tree.root())
                note = sign_checkpoint(checkpoint, self._key).text()
                self._store.append(stored, note)
            except BaseException:
                self._tree.truncate(start)
                self._check_unchanged(start)
                raise
        return Appended(start, len(stored), note)

    def _check_unchanged(self, size: int) -> None:
        """After a failed append: the store must still hold ``size`` entries, or the tree and
        the store disagree and no further append may be signed over the tree."""
        try:
            stored = self._store.size()
        except BoardError as error:
            stored, reason = -1, str(error)
        else:
            reason = f"it holds {stored} entries, the log {size}"
        if stored != size:
            self._broken = (
                f"a failed append left the store out of step with the log ({reason}); "
                "refusing further appends: restart to rebuild the log from the store"
            )

    def latest_checkpoint(self) -> str:
        """The newest checkpoint note, with every cosignature gathered so far."""
        stored = self._store.checkpoints()
        if not stored:
            raise BoardError("the board is empty: no checkpoint yet")
        return stored[-1][1]

    def checkpoint_at(self, size: int) -> str:
        for stored_size, text in self._store.checkpoints():
            if stored_size == size:
                return text
        raise BoardError(f"the board never signed a checkpoint of size {size}")

    def checkpoints(self) -> list[str]:
        return [text for _, text in self._store.checkpoints()]

    def add_cosignature(self, size: int, signature: NoteSignature) -> str:
        """Attach a witness's cosignature to the checkpoint of ``size``, after checking it."""
        key = self.witnesses.get(signature.name)
        if key is None:
            raise CheckpointError(f"{signature.name!r} is not a witness of this board")
        with self._lock:
            note = parse_note(self.checkpoint_at(size)).with_signature(signature)
            cosignature_time(note, signature.name, key)
            text = note.text()
            self._store.replace_checkpoint(size, text)
        return text

    def entry(self, index: int) -> bytes:
        if not 0 <= index < self._tree.size:
            raise BoardError(f"no entry {index}: the board has {self._tree.size}")
        return self._store.entry(index)

    def entries(self, start: int, end: int) -> list[bytes]:
        """The entries ``[start, end)``; ``end`` is clipped to the board's size."""
        if not 0 <= start <= end:
            raise BoardError(f"invalid entry range [{start}, {end})")
        return self._store.entries(start, min(end, self._tree.size))

    def find(self, tracking_code: bytes) -> int | None:
        return self._store.find(tracking_code)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        with self._lock:
            return self._tree.inclusion_proof(index, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        with self._lock:
            return self._tree.consistency_proof(old_size, new_size)

    def prove(self, index: int) -> InclusionBundle:
        """The entry with its inclusion proof against the newest checkpoint."""
        with self._lock:
            text = self.latest_checkpoint()
            size = Checkpoint.parse(parse_note(text).body).size
            path = self._tree.inclusion_proof(index, size)
        return InclusionBundle(self.entry(index), index, text, tuple(path))

    def close(self) -> None:
        self._store.close()
