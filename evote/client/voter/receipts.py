"""Checking a kept receipt: offline, that the log's signed checkpoint includes exactly the
entry this device built and this voter's credential signed; online, that the board as it is
now still extends that checkpoint and still holds the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evote.board.checkpoint import Checkpoint, open_checkpoint
from evote.board.entry import Entry
from evote.board.merkle import leaf_hash, verify_consistency, verify_inclusion
from evote.client.channels import TIMEOUT, BoardClient
from evote.client.receipt import ReceiptRefused, check_receipt
from evote.client.voter.calls import calling, connect
from evote.client.voter.directory import StoredReceipt, VoterDir
from evote.errors import DecodeError, EvoteError, VerificationError
from evote.record import kinds


def check_stored_receipt(directory: Path, path: Path | None = None) -> StoredReceipt:
    """Offline: the receipt file proves its entry is on this election's board, and the entry is
    one this voter's credential signed. ``path`` defaults to the latest cast ballot's receipt."""
    voter = VoterDir(directory)
    state = voter.load_state()
    manifest = voter.manifest(state)
    stored = voter.read_receipt(voter.latest_cast() if path is None else path)
    check_receipt(stored.receipt, manifest, stored.entry)
    try:
        entry = Entry.decode(stored.entry)
    except DecodeError as error:
        raise ReceiptRefused(f"the receipt's entry is not an entry: {error}") from error
    expected = kinds.BALLOT if stored.kind == "cast" else kinds.AUDIT
    if entry.kind != expected:
        raise ReceiptRefused(f"a {stored.kind} receipt holds a {entry.kind} entry")
    if entry.signers != (state.credential,):
        raise ReceiptRefused("the receipt's entry is not signed by this voter's credential")
    return stored


@dataclass(frozen=True, slots=True)
class OnlineCheck:
    """The receipt checked against the board as it is now."""

    stored: StoredReceipt
    latest: Checkpoint


def check_receipt_online(
    directory: Path,
    path: Path | None = None,
    *,
    server: str | None = None,
    ca_pem: bytes | None = None,
    timeout: float = TIMEOUT,
) -> OnlineCheck:
    """The offline check, then against the board now: its latest checkpoint is signed by the
    election's log key, extends the receipt's checkpoint (a consistency proof: nothing was
    rewritten since), and the entry at the receipt's leaf is still the voter's bytes."""
    stored = check_stored_receipt(directory, path)
    voter = VoterDir(directory)
    state = voter.load_state()
    manifest = voter.manifest(state)
    address = server or state.server
    receipt = stored.receipt
    old, _ = open_checkpoint(receipt.checkpoint, manifest.log_origin, manifest.log_key)
    with connect(address, voter.ca_pem() if ca_pem is None else ca_pem) as channel:
        board = BoardClient(channel, timeout)
        with calling(address, "read"):
            note = board.checkpoint()
            try:
                latest, _ = open_checkpoint(note, manifest.log_origin, manifest.log_key)
            except EvoteError as error:
                raise ReceiptRefused(
                    f"the board's latest checkpoint is not signed by this election's log: {error}"
                ) from error
            if latest.size < old.size:
                raise ReceiptRefused(
                    f"the board now shows {latest.size} entries, fewer than the {old.size} of "
                    "your receipt's checkpoint: it rewrote history; keep your receipt and tell "
                    "the election officials"
                )
            proof = (
                [] if latest.size == old.size else board.consistency_proof(old.size, latest.size)
            )
            served = board.entries(receipt.leaf_index, 1)
            path_now = board.inclusion_proof(receipt.leaf_index, latest.size)
    try:
        verify_consistency(old.size, latest.size, old.root, latest.root, proof)
    except VerificationError as error:
        raise ReceiptRefused(
            f"the board's history does not extend your receipt's checkpoint ({error}): it was "
            "rewritten; keep your receipt and tell the election officials"
        ) from error
    if served[:1] != [stored.entry]:
        raise ReceiptRefused(
            f"the board does not serve your ballot's bytes at entry {receipt.leaf_index} any "
            "more; keep your receipt and tell the election officials"
        )
    try:
        verify_inclusion(
            receipt.leaf_index, latest.size, leaf_hash(stored.entry), path_now, latest.root
        )
    except VerificationError as error:
        raise ReceiptRefused(f"your entry is not in the board's latest tree: {error}") from error
    return OnlineCheck(stored, latest)
