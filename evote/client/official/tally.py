"""The encrypted tally: each credential's last ballot, summed, after the close the witnesses
cosigned, and checked as the guardians check it before they decrypt.

The tally is checked with the guardians' own check
(:func:`evote.record.guardian_tally.check_tally`: the ballot box's rules replayed with every
proof, the counted set and the sums, the witnessed closing checkpoint), run on the board's
entries followed by the tally entry. That check wants the tally signed by an official quorum,
so an entry that is still short of the quorum is checked by the same replay
(:func:`evote.record.guardian_tally.replay_ballot_box`) and compared byte for byte with the
tally it gives.

The counting rule (each credential's ballot with the highest sequence number) is
:func:`evote.election.tally.encrypted_tally`, which the mock election uses too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evote.board.entry import Entry
from evote.client.official.contents import (
    check_officials_signed,
    credential_list,
    election_context,
    the_one,
)
from evote.client.official.errors import BoardUntrusted, EntryRefused, StepRefused
from evote.client.official.phases import officials_keys
from evote.client.official.reading import BoardView, witnessed_after
from evote.crypto.signing import SigningKey, VerifyKey
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
from evote.election.tally import encrypted_tally
from evote.errors import DecodeError, RecordError
from evote.record import kinds
from evote.record.guardian_tally import check_tally, replay_ballot_box
from evote.verify import checks


@dataclass(frozen=True, slots=True)
class VotingPeriod:
    """Where voting opened and closed on the board, and the credentials that could vote."""

    open_at: int
    close_at: int
    credentials: tuple[VerifyKey, ...]


def voting_period(view: BoardView) -> VotingPeriod:
    """The voting period of an election that is closed, whose close the witnesses cosigned,
    and that has no tally yet: what the tally needs (:class:`StepRefused` otherwise)."""
    open_at = the_one(view, kinds.OPEN)
    close_at = the_one(view, kinds.CLOSE)
    if open_at is None:
        raise StepRefused("the election never opened, so there is nothing to tally")
    if close_at is None:
        raise StepRefused(
            "the election is not closed: close it first (`evote official close`); nothing is "
            "tallied while voters can still cast"
        )
    tally_at = the_one(view, kinds.TALLY)
    if tally_at is not None:
        raise StepRefused(
            f"the tally is already on the board (entry {tally_at}); next, the guardians decrypt "
            "it (`evote guardian decrypt`) and their shares are posted"
        )
    for index in (open_at, close_at):
        check_officials_signed(view, index)
    if not witnessed_after(view, close_at):
        raise StepRefused(
            f"no checkpoint covering the close (entry {close_at}) carries "
            f"{view.manifest.witness_quorum} witness cosignatures yet, so the closed board is "
            "not settled: wait until the witnesses cosign (`evote observe --witness-key ...`), "
            "then run this again"
        )
    return VotingPeriod(open_at, close_at, credential_list(view))


def _parsed_ballots(
    view: BoardView, context: ElectionContext, voting: VotingPeriod
) -> dict[int, EncryptedBallot]:
    """The ballots on the board by index, parsed without checking their proofs (the guardians'
    check that follows replays every rule). Parsed with the election context: a scheme B
    ballot's ciphertexts are read with the dealer's key."""
    cast: dict[int, EncryptedBallot] = {}
    for index in (*view.positions(kinds.BALLOT), *view.positions(kinds.AUDIT)):
        if not voting.open_at < index < voting.close_at:
            raise BoardUntrusted(f"entry {index} ({view.entries[index].kind}) lies outside voting")
    for index in view.positions(kinds.BALLOT):
        try:
            cast[index] = EncryptedBallot.from_tlv(view.entries[index].body, context)
        except DecodeError as error:
            raise BoardUntrusted(f"entry {index} (ballot) does not parse: {error}") from error
    return cast


def replayed_ballots(
    view: BoardView, context: ElectionContext, voting: VotingPeriod
) -> dict[int, EncryptedBallot]:
    """Every ballot the ballot box admits when its rules (proofs included) are replayed over
    the board in order, by index; raise :class:`BoardUntrusted` at the first one it refuses."""
    try:
        return replay_ballot_box(
            view.entries, voting.open_at, voting.close_at, context, voting.credentials
        )
    except RecordError as error:
        raise BoardUntrusted(str(error)) from error


def _guardians_check(view: BoardView, context: ElectionContext, entry: Entry) -> None:
    """The guardians' own check of a tally (it needs the tally signed by an official quorum)."""
    try:
        check_tally(view.record(entry), context)
    except RecordError as error:
        raise EntryRefused(
            f"the guardians' check refuses this tally, so they would not decrypt it: {error}"
        ) from error


def tally_entry(view: BoardView, signers: Sequence[SigningKey]) -> Entry:
    """The encrypted tally of each credential's last ballot, signed by ``signers``, after the
    checks a guardian runs before decrypting (see the module docstring)."""
    keys = officials_keys(view.manifest, signers)
    context = election_context(view)
    voting = voting_period(view)
    if len(keys) >= view.manifest.official_quorum:
        tally = encrypted_tally(context, _parsed_ballots(view, context, voting))
        entry = Entry.create(kinds.TALLY, view.election_id, tally.to_tlv(), keys)
        _guardians_check(view, context, entry)
        return entry
    tally = encrypted_tally(context, replayed_ballots(view, context, voting))
    return Entry.create(kinds.TALLY, view.election_id, tally.to_tlv(), keys)


def check_tally_entry(view: BoardView, entry: Entry) -> None:
    """Refuse a tally entry (signed by officials only) unless the guardians would decrypt it:
    with an official quorum, their own check; short of it, the replay done here must give
    exactly its body."""
    context = election_context(view)
    voting = voting_period(view)
    if checks.official_signers(entry, view.manifest) >= view.manifest.official_quorum:
        _guardians_check(view, context, entry)
        return
    expected = encrypted_tally(context, replayed_ballots(view, context, voting))
    if entry.body != expected.to_tlv():
        raise EntryRefused(
            "this tally is not the sum of each credential's last ballot on the board (it should "
            f"count {len(expected.counted)} ballots: entries {_few(expected.counted)}); do not "
            "sign it"
        )


def _few(indices: Sequence[int]) -> str:
    if not indices:
        return "none"
    shown = ", ".join(map(str, indices[:5]))
    return shown + (f" and {len(indices) - 5} more" if len(indices) > 5 else "")
