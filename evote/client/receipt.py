"""A voter's receipt and its offline check.

A receipt says "the entry with this tracking code is leaf ``leaf_index`` of the log, and here
is the log's signed checkpoint and the inclusion proof against it". The voter checks it with
nothing but the manifest (the log's origin and key, the election id) and the entry bytes the
voter's own device built: no call to any server.
"""

from __future__ import annotations

from dataclasses import dataclass

from evote.board.checkpoint import open_checkpoint
from evote.board.merkle import leaf_hash, verify_inclusion
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
