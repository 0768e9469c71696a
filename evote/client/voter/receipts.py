"""Checking a kept receipt: offline, that the log's signed checkpoint includes exactly the
entry this device built and this voter's credential signed; online, that the board as it is
now still extends that checkpoint and still holds the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evote.board.checkpoint import Checkpoint
from evote.board.entry import Entry
from evote.client.channels import TIMEOUT, BoardClient
from evote.client.receipt import ReceiptRefused, check_receipt, check_receipt_on_board
from evote.client.voter.calls import calling, connect
from evote.client.voter.directory import StoredReceipt, VoterDir
from evote.errors import DecodeError
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
    with connect(address, voter.ca_pem() if ca_pem is None else ca_pem) as channel:
        board = BoardClient(channel, timeout)
        with calling(address, "read"):
            try:
                latest = check_receipt_on_board(stored.receipt, manifest, stored.entry, board)
            except ReceiptRefused as refused:
                raise ReceiptRefused(f"{refused}; tell the election officials") from None
    return OnlineCheck(stored, latest)
