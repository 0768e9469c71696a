"""A voter's receipt, its offline check, and its check against a board.

A receipt says "the entry with this tracking code is leaf ``leaf_index`` of the log, and here
is the log's signed checkpoint and the inclusion proof against it". The voter checks it with
nothing but the manifest (the log's origin and key, the election id) and the entry bytes the
voter's own device built: no call to any server (:func:`check_receipt`). Later, anyone holding
the receipt and the entry can check that a board still backs it
(:func:`check_receipt_on_board`): a box that acknowledged a ballot and then dropped it is
caught there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from evote.board.checkpoint import Checkpoint, open_checkpoint
from evote.board.merkle import leaf_hash, verify_consistency, verify_inclusion
from evote.election.manifest import Manifest
from evote.errors import EvoteError


class ReceiptRefused(EvoteError):
    """The receipt does not prove that the voter's entry is on this election's board."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the ballot box (or the control port) answers for an entry it appended."""

    election_id: bytes
    tracking_code: bytes
    leaf_index: int
    checkpoint: str
    inclusion_proof: tuple[bytes, ...]


def check_receipt(receipt: Receipt, manifest: Manifest, entry: bytes) -> None:
    """Raise :class:`ReceiptRefused` unless ``receipt`` proves ``entry`` is on the board.

    Checks: the election id is the manifest's; the tracking code is the leaf hash of the
    entry the voter built; the checkpoint is signed by the manifest's log key under its
    origin; the inclusion proof leads from that leaf at ``leaf_index`` to the checkpoint's
    root.
    """
    if receipt.election_id != manifest.election_id:
        raise ReceiptRefused("the receipt is for another election")
    leaf = leaf_hash(entry)
    if receipt.tracking_code != leaf:
        raise ReceiptRefused("the tracking code is not the one of the entry this voter built")
    try:
        checkpoint, _ = open_checkpoint(receipt.checkpoint, manifest.log_origin, manifest.log_key)
    except EvoteError as error:
        raise ReceiptRefused(
            f"the checkpoint is not signed by this election's log: {error}"
        ) from None
    try:
        verify_inclusion(
            receipt.leaf_index, checkpoint.size, leaf, receipt.inclusion_proof, checkpoint.root
        )
    except EvoteError as error:
        raise ReceiptRefused(f"the inclusion proof fails: {error}") from None


class ReceiptBoard(Protocol):
    """What the online receipt check reads from a board
    (:class:`evote.client.channels.BoardClient`)."""

    def checkpoint(self, size: int = 0) -> str:
        """The latest checkpoint note."""
        ...

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]: ...

    def entries(self, start: int, limit: int = ...) -> list[bytes]: ...

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]: ...


def check_receipt_on_board(
    receipt: Receipt, manifest: Manifest, entry: bytes, board: ReceiptBoard
) -> Checkpoint:
    """The offline check (:func:`check_receipt`), then against the board as it is now: its
    latest checkpoint is signed by the election's log, extends the receipt's checkpoint (a
    consistency proof), and still holds ``entry`` at the receipt's leaf. Returns the board's
    latest checkpoint.

    A ballot box that acknowledged a ballot and then left it out of the board can only do so
    by signing another history than the one the receipt holds, and this is where that shows:
    :class:`ReceiptRefused` names what the board no longer backs. The voter keeps the receipt
    as the evidence (its checkpoint is signed by the log key).
    """
    check_receipt(receipt, manifest, entry)
    old, _ = open_checkpoint(receipt.checkpoint, manifest.log_origin, manifest.log_key)
    note = board.checkpoint()
    try:
        latest, _ = open_checkpoint(note, manifest.log_origin, manifest.log_key)
    except EvoteError as error:
        raise ReceiptRefused(
            f"the board's latest checkpoint is not signed by this election's log: {error}"
        ) from None
    if latest.size < old.size:
        raise ReceiptRefused(
            f"the board now shows {latest.size} entries, fewer than the {old.size} of the "
            "receipt's checkpoint: it rewrote its history; keep the receipt as evidence"
        )
    proof = [] if latest.size == old.size else board.consistency_proof(old.size, latest.size)
    try:
        verify_consistency(old.size, latest.size, old.root, latest.root, proof)
    except EvoteError as error:
        raise ReceiptRefused(
            f"the board's history does not extend the receipt's checkpoint of size {old.size} "
            f"({error}): the ballot was dropped or replaced; keep the receipt as evidence"
        ) from None
    served = board.entries(receipt.leaf_index, 1)
    if served[:1] != [entry]:
        raise ReceiptRefused(
            f"the board does not serve the receipt's entry at index {receipt.leaf_index}: the "
            "ballot was dropped or replaced; keep the receipt as evidence"
        )
    path = board.inclusion_proof(receipt.leaf_index, latest.size)
    try:
        verify_inclusion(receipt.leaf_index, latest.size, leaf_hash(entry), path, latest.root)
    except EvoteError as error:
        raise ReceiptRefused(f"the entry is not in the board's latest tree: {error}") from None
    return latest
