"""Checkpoints shown to the observer from elsewhere: a voter's receipt, or a checkpoint note
another observer or a witness kept.

A board that shows one history to this observer and another to someone else (a split view)
cannot be caught by polling it: every answer it gives the observer is consistent. It is caught
when the two views meet. A voter's receipt holds the checkpoint the board signed when it took
the ballot; another observer's checkpoint is what that observer's mirror leads to. Either is
compared with this observer's mirror
(:meth:`~evote.client.observer.following.Observer.compare_checkpoint`); one the mirror's
entries do not lead to is a :class:`~evote.client.observer.reports.SplitView`.

A shown file is read in two steps, so that a file that is not one is refused before the
observer reads the board or writes its mirror: :func:`read_shown_checkpoint` reads the format
(a receipt's JSON, or the text of a signed note), and :meth:`ShownCheckpoint.check` then
checks it against the election's manifest once that is known (the log's signature; for a
receipt, that its inclusion proof leads from the voter's entry to that checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from evote.board.checkpoint import Checkpoint, open_checkpoint
from evote.board.note import MAX_NOTE_BYTES, parse_note
from evote.client.receipt import ReceiptRefused, check_receipt
from evote.client.voter.directory import StoredReceipt
from evote.election.manifest import Manifest
from evote.errors import CheckpointError

#: A receipt file holds one entry (a ballot) and a short proof: a megabyte is far past any.
MAX_SHOWN_FILE: Final = 1 << 20


class ShownCheckpointRefused(CheckpointError):
    """A file shown to the observer is not a receipt or checkpoint note of this election."""


@dataclass(frozen=True, slots=True)
class ShownCheckpoint:
    """A checkpoint that reached the observer another way: ``note`` is the signed checkpoint
    note, ``source`` says where it came from (for the report), ``receipt`` is the voter's
    receipt it was read from, if it was."""

    note: str
    source: str
    receipt: StoredReceipt | None = None

    def check(self, manifest: Manifest) -> Checkpoint:
        """The checkpoint, once checked to be signed by ``manifest``'s log (and, for a receipt,
        to include the voter's entry at its place). Raises :class:`ShownCheckpointRefused`:
        a checkpoint the log did not sign proves nothing about the board."""
        if self.receipt is not None:
            try:
                check_receipt(self.receipt.receipt, manifest, self.receipt.entry)
            except ReceiptRefused as error:
                raise ShownCheckpointRefused(f"{self.source}: {error}") from None
        try:
            checkpoint, _ = open_checkpoint(self.note, manifest.log_origin, manifest.log_key)
        except CheckpointError as error:
            raise ShownCheckpointRefused(
                f"{self.source}: the checkpoint is not signed by this election's log: {error}"
            ) from None
        return checkpoint


def read_shown_checkpoint(path: Path) -> ShownCheckpoint:
    """Read a voter's receipt file (the JSON ``evote vote`` keeps in ``receipts/``) or a
    signed checkpoint note (its text, as the board serves it). Raises
    :class:`ShownCheckpointRefused` if the file is neither, or cannot be read."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_SHOWN_FILE + 1)
    except OSError as error:
        raise ShownCheckpointRefused(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > MAX_SHOWN_FILE:
        raise ShownCheckpointRefused(
            f"{path} is larger than any receipt or checkpoint note ({MAX_SHOWN_FILE} bytes)"
        )
    if data.lstrip().startswith(b"{"):
        try:
            stored = StoredReceipt.from_json(data, str(path))
        except ReceiptRefused as error:
            raise ShownCheckpointRefused(str(error)) from None
        except RecursionError:
            raise ShownCheckpointRefused(f"{path} nests its JSON too deeply") from None
        return ShownCheckpoint(stored.receipt.checkpoint, f"the receipt {path}", stored)
    if len(data) > MAX_NOTE_BYTES:
        raise ShownCheckpointRefused(f"{path} is not a receipt, and too long for a checkpoint note")
    try:
        text = data.decode("utf-8")
        Checkpoint.parse(parse_note(text).body)
    except (UnicodeDecodeError, CheckpointError) as error:
        reason = "it is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
        raise ShownCheckpointRefused(
            f"{path} is neither an evote receipt nor a signed checkpoint note: {reason}"
        ) from None
    return ShownCheckpoint(text, f"the checkpoint note {path}")
