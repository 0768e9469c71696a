"""Opening and closing the election: the officials' ``open`` and ``close`` marks, built or
checked only in their phase, and the officials' keys that sign every officials' entry.

The opening needs the joint key (the guardians' commitments, signed by every guardian and an
official quorum), every guardian's verified key check and the credential list on the board;
the close needs an opening signed by an official quorum, and a time that is not before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from evote.board.entry import Entry
from evote.client.official.contents import (
    check_officials_signed,
    credential_list,
    election_context,
    require_key_checks,
    the_one,
)
from evote.client.official.errors import BoardUntrusted, EntryRefused, StepRefused
from evote.client.official.reading import BoardView
from evote.crypto.signing import SigningKey, VerifyKey
from evote.election.manifest import Manifest
from evote.errors import DecodeError, InvalidInput
from evote.record import kinds
from evote.record.kinds import PhaseMark

Phase = Literal["open", "close"]


def check_phase(view: BoardView, phase: Phase, mark: PhaseMark) -> None:
    """Refuse unless the board is ready for ``mark`` (the rules in the module docstring)."""
    open_at = the_one(view, kinds.OPEN)
    close_at = the_one(view, kinds.CLOSE)
    if phase == "open":
        if open_at is not None:
            raise StepRefused(f"the election is already open (entry {open_at})")
        if close_at is not None:
            raise StepRefused(f"the election was closed (entry {close_at}) and never reopens")
        context = election_context(view)
        require_key_checks(view, context)
        credential_list(view)
        return
    if open_at is None:
        raise StepRefused(
            "the election is not open, so it cannot close: open it first (`evote official open`)"
        )
    if close_at is not None:
        raise StepRefused(f"the election is already closed (entry {close_at})")
    check_officials_signed(view, open_at)
    try:
        opened = PhaseMark.from_tlv(view.entries[open_at].body, "open")
    except DecodeError as error:
        raise BoardUntrusted(f"the open mark (entry {open_at}) does not parse: {error}") from error
    if mark.timestamp < opened.timestamp:
        raise EntryRefused(
            f"the close mark's time {mark.timestamp} is before the opening's {opened.timestamp}: "
            "check the clock of the machine that made it"
        )


def phase_entry(view: BoardView, phase: Phase, now: int, signers: Sequence[SigningKey]) -> Entry:
    """The officials' ``open`` or ``close`` mark at time ``now`` (seconds), signed by
    ``signers`` (officials' keys), if the board is ready for it."""
    keys = officials_keys(view.manifest, signers)
    mark = PhaseMark(phase, now)
    check_phase(view, phase, mark)
    return Entry.create(phase, view.election_id, mark.to_tlv(), keys)


def officials_keys(manifest: Manifest, signers: Sequence[SigningKey]) -> list[SigningKey]:
    """``signers`` without repeats, each required to be one of the manifest's officials."""
    keys: dict[VerifyKey, SigningKey] = {}
    for key in signers:
        if key.verify_key not in manifest.officials:
            raise EntryRefused(
                f"key {key.verify_key.encode().hex()[:16]}… is not one of the manifest's "
                "officials' keys: only officials sign the joint key, open, close, tally and "
                "result"
            )
        keys.setdefault(key.verify_key, key)
    if not keys:
        raise InvalidInput("give at least one official's key")
    return list(keys.values())
