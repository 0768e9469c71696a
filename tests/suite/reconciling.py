"""What a voter, a witness and an auditor check after the close, shared by the tests that must
lose no acknowledged ballot (the SIGKILL test, the full-disk test, the load test): every receipt
checks offline, its ballot is at its index, its checkpoint is consistent with the witnessed
closing checkpoint, and the closed board holds exactly the setup, the open, the ballots once
each and the close.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from evote.board.checkpoint import open_checkpoint, verify_witnessed
from evote.board.entry import Entry
from evote.board.merkle import MerkleTree, leaf_hash, verify_consistency
from evote.client.receipt import Receipt, ReceiptRefused, check_receipt
from evote.election.manifest import Manifest
from evote.errors import EvoteError
from evote.record import kinds

LOST: Final = "acknowledged but not on the board at its index"


def reconcile(
    manifest: Manifest,
    closing_note: str,
    entries: Sequence[bytes],
    consistency_proof: Callable[[int, int], list[bytes]],
    receipts: Mapping[bytes, Receipt],
    ballots: Sequence[bytes],
    setup_size: int,
) -> list[str]:
    """The problems of a closed board (its latest checkpoint ``closing_note``, its
    ``entries``) for the ``receipts`` handed out (by entry) and the ``ballots`` acknowledged,
    after ``setup_size`` entries of setup."""
    try:
        final = verify_witnessed(
            closing_note,
            manifest.log_origin,
            manifest.log_key,
            manifest.witness_keys(),
            manifest.witness_quorum,
        )
    except EvoteError as error:
        return [f"the closing checkpoint is not cosigned by a quorum of witnesses: {error}"]
    if MerkleTree([leaf_hash(entry) for entry in entries]).root() != final.root:
        return ["the board's entries are not the tree of its closing checkpoint"]
    problems = []
    decoded = [Entry.decode(entry) for entry in entries]
    if decoded[-1].kind != kinds.CLOSE:
        problems.append("the closing checkpoint does not end with the officials' close")
    proofs: dict[int, list[bytes]] = {}
    for entry, receipt in receipts.items():
        try:
            check_receipt(receipt, manifest, entry)
        except ReceiptRefused as error:
            problems.append(f"receipt for leaf {receipt.leaf_index} refused: {error}")
            continue
        if receipt.leaf_index >= len(entries) or entries[receipt.leaf_index] != entry:
            problems.append(f"ballot {receipt.leaf_index} {LOST}")
        checkpoint, _ = open_checkpoint(receipt.checkpoint, manifest.log_origin, manifest.log_key)
        if checkpoint.size > final.size:
            problems.append(f"receipt checkpoint {checkpoint.size} is beyond the closing one")
            continue
        if checkpoint.size not in proofs:
            proofs[checkpoint.size] = consistency_proof(checkpoint.size, final.size)
        try:
            verify_consistency(
                checkpoint.size, final.size, checkpoint.root, final.root, proofs[checkpoint.size]
            )
        except EvoteError as error:
            problems.append(f"receipt checkpoint {checkpoint.size} is inconsistent: {error}")
    on_board = Counter(
        entry for entry, item in zip(entries, decoded, strict=True) if item.kind == kinds.BALLOT
    )
    tracking_codes = {receipt.tracking_code for receipt in receipts.values()}
    leaves = {receipt.leaf_index for receipt in receipts.values()}
    if not len(tracking_codes) == len(leaves) == len(ballots):
        problems.append(
            f"{len(tracking_codes)} receipts at {len(leaves)} leaves for {len(ballots)} ballots"
        )
    if twice := [entry for entry, count in on_board.items() if count > 1]:
        problems.append(f"{len(twice)} ballots are on the board more than once")
    if missing := set(ballots) - set(on_board):
        problems.append(f"{len(missing)} acknowledged ballots are missing from the board")
    if strangers := set(on_board) - set(ballots):
        problems.append(f"{len(strangers)} ballots on the board were never acknowledged")
    if final.size != setup_size + len(ballots) + 2:
        problems.append(
            f"the closed board holds {final.size} entries, not {setup_size} of setup, the open, "
            f"{len(ballots)} ballots and the close"
        )
    return problems
