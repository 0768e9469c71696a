"""The officials' client on a staged board (no network): the board view refuses whatever does
not check against the signed checkpoint and the pinned election; open, close, tally and result
are built only in their phase, checked again before anyone signs, and the counting rule is each
credential's ballot with the highest sequence number."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from evote.board.entry import Entry, merge_signatures
from evote.board.log import BulletinBoard
from evote.board.witness import Witness
from evote.client.official.calls import rpc_refusal
from evote.client.official.contents import election_context
from evote.client.official.errors import BoardUntrusted, EntryRefused, StepRefused
from evote.client.official.phases import phase_entry
from evote.client.official.posting import check_entry_to_post, phase_rank
from evote.client.official.reading import BoardView, board_view, fetch_board
from evote.client.official.result import build_result, posted_tally, result_entry, verified_shares
from evote.client.official.signing import quorum_missing, sign_entry
from evote.client.official.tally import tally_entry
from evote.crypto.signing import SigningKey
from evote.election.ballot import EncryptedBallot
from evote.election.tally import (
    EncryptedTally,
    TallyResult,
    aggregate,
    counted_ballots,
    encrypted_tally,
    tally_result,
)
from evote.errors import InvalidInput
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.kinds import PhaseMark

VOTERS = 3


class LocalBoard:
    """The board as the officials' client reads it, without the network."""

    def __init__(self, board: BulletinBoard) -> None:
        self.board = board
        self.served: list[int] = []

    def checkpoint(self, size: int = 0) -> str:
        self.served.append(size)
        return self.board.latest_checkpoint() if size == 0 else self.board.checkpoint_at(size)

    def all_entries(self, start: int = 0) -> Iterator[bytes]:
        yield from self.board.entries(start, self.board.size)


@dataclasses.dataclass
class Staged:
    election: StagedElection
    board: BulletinBoard

    @property
    def election_id(self) -> bytes:
        return self.election.manifest.election_id

    def view(self) -> BoardView:
        return fetch_board(LocalBoard(self.board), self.election_id)

    def append(self, *entries: bytes) -> None:
        for entry in entries:
            self.board.append([entry])

    def cosign(self) -> None:
        """Every witness cosigns the latest checkpoint (as `evote observe` witnesses do)."""
        size = self.board.size
        for name, key in self.election.witnesses:
            witness = Witness(name, key, self.election.origin, self.election.log_key.verify_key)
            latest = self.board.latest_checkpoint()
            self.board.add_cosignature(
                size, witness.add_checkpoint(latest, 0, [], int(time.time()))
            )


@pytest.fixture
def staged(tmp_path: Path) -> Iterator[Staged]:
    """Manifest, ceremony, joint key, key checks, credentials; open is up to the test."""
    election = stage_election(
        tmp_path / "election", "Officials test", [REFERENCE_CONTESTS[0]], voters=VOTERS
    )
    board = election.open_board()
    yield Staged(election, board)
    board.close()


@pytest.fixture
def closed(staged: Staged) -> Staged:
    """Open (by the staging), three voters cast, voter 1 twice, then closed and witnessed."""
    election = staged.election
    staged.append(election.ballot(0), election.ballot(1), election.ballot(1, 1), election.ballot(2))
    staged.append(election.mark("close", election.officials))
    staged.cosign()
    return staged


def shares_entry(staged: Staged, guardian: int, tally: EncryptedTally) -> bytes:
    election = staged.election
    shares = election.trustees[guardian - 1].decrypt_tally(election.context, tally.totals)
    return election.entry(
        kinds.DECRYPTION_SHARE, shares.to_tlv(), [election.guardians[guardian - 1]]
    )


def decrypted(staged: Staged) -> tuple[BoardView, EncryptedTally]:
    """The closed staging with its tally and guardians 1 and 3's shares posted."""
    view = staged.view()
    staged.append(tally_entry(view, staged.election.officials).encoded)
    tally = posted_tally(staged.view()).tally
    staged.append(shares_entry(staged, 1, tally), shares_entry(staged, 3, tally))
    return staged.view(), tally


# --- the board view ----------------------------------------------------------------------------


def test_the_view_holds_the_checked_board(staged: Staged) -> None:
    view = staged.view()
    assert view.size == staged.board.size
    assert view.manifest == staged.election.manifest
    assert view.checkpoints[-1][0].size == view.size
    assert election_context(view) == staged.election.context


def test_a_view_of_another_election_is_refused(staged: Staged) -> None:
    other = bytes(32)
    with pytest.raises(BoardUntrusted, match=f"not of {other.hex()}: check --election-id"):
        fetch_board(LocalBoard(staged.board), other)


def test_an_altered_entry_does_not_match_the_signed_root(staged: Staged) -> None:
    entries = staged.board.entries(0, staged.board.size)
    # Entry 1 swapped for another valid entry of the election: the signatures hold, the root not.
    swapped = staged.election.entry(kinds.OPEN, b"x", staged.election.officials)
    with pytest.raises(BoardUntrusted, match="do not match its signed checkpoint"):
        board_view(
            staged.election_id,
            [entries[0], swapped, *entries[2:]],
            [staged.board.latest_checkpoint()],
        )


def test_a_checkpoint_by_another_log_and_an_unsigned_tail_are_refused(staged: Staged) -> None:
    entries = staged.board.entries(0, staged.board.size)
    latest = staged.board.latest_checkpoint()
    forged = latest.replace(latest.splitlines()[-1].split()[-1], "A" * 88)
    with pytest.raises(BoardUntrusted, match="not signed by this election's log"):
        board_view(staged.election_id, entries, [forged])
    with pytest.raises(BoardUntrusted, match="no signed checkpoint covers"):
        board_view(staged.election_id, entries, [staged.board.checkpoint_at(3)])


def test_a_later_view_fetches_only_new_entries_and_sees_a_rewrite(staged: Staged) -> None:
    view = staged.view()
    staged.append(staged.election.ballot(0))
    reader = LocalBoard(staged.board)
    later = fetch_board(reader, staged.election_id, view)
    assert later.size == view.size + 1
    assert later.entries[: view.size] == view.entries

    class Shrunk(LocalBoard):
        def checkpoint(self, size: int = 0) -> str:
            return self.board.checkpoint_at(3)

    with pytest.raises(BoardUntrusted, match="rewrote its history"):
        fetch_board(Shrunk(staged.board), staged.election_id, view)

    class Short(LocalBoard):
        def all_entries(self, start: int = 0) -> Iterator[bytes]:
            yield from self.board.entries(start, self.board.size - 1)

    with pytest.raises(BoardUntrusted, match="served"):
        fetch_board(Short(staged.board), staged.election_id)


# --- open and close ----------------------------------------------------------------------------


def test_open_waits_for_the_credential_list(tmp_path: Path) -> None:
    election = stage_election(
        tmp_path / "keys", "Officials test", [REFERENCE_CONTESTS[0]], voters=0, until="keys"
    )
    board = election.open_board()
    try:
        view = fetch_board(LocalBoard(board), election.manifest.election_id)
        with pytest.raises(StepRefused, match="registration is not closed"):
            phase_entry(view, "open", 1_700_000_000, election.officials)
        with pytest.raises(StepRefused, match="not open, so it cannot close: open it first"):
            phase_entry(view, "close", 1_700_000_000, election.officials)
    finally:
        board.close()


def test_open_twice_and_strangers_are_refused(staged: Staged) -> None:
    view = staged.view()
    with pytest.raises(StepRefused, match="already open"):
        phase_entry(view, "open", 1_700_000_000, staged.election.officials)
    with pytest.raises(EntryRefused, match="not one of the manifest's officials' keys"):
        phase_entry(view, "close", int(time.time()), [SigningKey.generate()])


def test_a_close_signed_in_turn_checks_at_each_signature(staged: Staged) -> None:
    first, second = staged.election.officials
    view = staged.view()
    partial = phase_entry(view, "close", int(time.time()), [first])
    assert quorum_missing(view.manifest, partial) == 1
    with pytest.raises(EntryRefused, match="needs 1 more officials' signatures"):
        check_entry_to_post(view, partial)
    signed = sign_entry(view, partial, [second])
    assert quorum_missing(view.manifest, signed) == 0
    assert check_entry_to_post(view, signed) is None
    staged.append(signed.encoded)
    assert check_entry_to_post(staged.view(), signed) == staged.board.size - 1
    with pytest.raises(StepRefused, match="already closed"):
        sign_entry(staged.view(), partial, [second])
    with pytest.raises(EntryRefused, match="before the opening"):
        phase_entry(view, "close", 0, [first])
    early = Entry.decode(
        staged.election.entry(kinds.CLOSE, PhaseMark("close", 0).to_tlv(), [first])
    )
    with pytest.raises(EntryRefused, match="before the opening"):
        sign_entry(view, early, [second])


# --- the tally ---------------------------------------------------------------------------------


def ballots(staged: Staged, *entries: bytes) -> list[EncryptedBallot]:
    return [
        EncryptedBallot.from_tlv(Entry.decode(entry).body, staged.election.manifest)
        for entry in entries
    ]


def test_the_last_ballot_of_each_credential_counts(staged: Staged) -> None:
    election = staged.election
    a0, b0, b1, c0 = ballots(
        staged, election.ballot(0), election.ballot(1), election.ballot(1, 1), election.ballot(2)
    )
    assert counted_ballots({}) == ()
    # Board indices out of order and a revote placed before the first ballot: the sequence wins.
    cast = {9: a0, 4: b1, 7: b0, 5: c0}
    assert counted_ballots(cast) == (4, 5, 9)
    tally = encrypted_tally(election.manifest, cast)
    assert tally.counted == (4, 5, 9)
    assert tally.totals == aggregate(election.manifest, [b1, c0, a0])


def test_the_tally_waits_for_the_close_and_the_witnesses(staged: Staged) -> None:
    election = staged.election
    with pytest.raises(StepRefused, match="not closed: close it first"):
        tally_entry(staged.view(), election.officials)
    staged.append(election.mark("close", election.officials))
    with pytest.raises(StepRefused, match="witness cosignatures yet"):
        tally_entry(staged.view(), election.officials)
    staged.cosign()
    staged.append(election.ballot(0))  # the board grows after the witnessed close checkpoint
    with pytest.raises(BoardUntrusted, match="outside"):
        tally_entry(staged.view(), election.officials)


def test_a_tally_is_the_same_signed_at_once_or_in_turn(closed: Staged) -> None:
    first, second = closed.election.officials
    view = closed.view()
    at_once = tally_entry(view, [first, second])
    in_turn = sign_entry(view, tally_entry(view, [first]), [second])
    assert in_turn.body == at_once.body
    tally = EncryptedTally.from_tlv(at_once.body, view.manifest)
    ballot_indices = view.positions(kinds.BALLOT)
    assert tally.counted == (ballot_indices[0], ballot_indices[2], ballot_indices[3])


def test_a_wrong_tally_or_a_strangers_signature_is_never_signed(closed: Staged) -> None:
    first, second = closed.election.officials
    view = closed.view()
    good = EncryptedTally.from_tlv(tally_entry(view, [first]).body, view.manifest)
    wrong = dataclasses.replace(good, counted=good.counted[:-1])
    for signers in ([first], [first, second]):
        entry = Entry.decode(closed.election.entry(kinds.TALLY, wrong.to_tlv(), signers))
        with pytest.raises(EntryRefused, match="tally"):
            check_entry_to_post(view, sign_entry(view, entry, [second]))
    stranger = merge_signatures([tally_entry(view, [first, second])], [SigningKey.generate()])
    with pytest.raises(EntryRefused, match="not the manifest's officials'"):
        check_entry_to_post(view, stranger)
    with pytest.raises(EntryRefused, match="not one of the manifest's officials' keys"):
        tally_entry(view, [first, SigningKey.generate()])


# --- shares and the result ---------------------------------------------------------------------


def test_the_result_waits_for_a_quorum_of_verified_shares(closed: Staged) -> None:
    election = closed.election
    with pytest.raises(StepRefused, match="no tally on the board yet"):
        build_result(closed.view())
    closed.append(tally_entry(closed.view(), election.officials).encoded)
    tally = posted_tally(closed.view()).tally
    closed.append(shares_entry(closed, 2, tally))
    # Guardian 1's shares of another aggregate: they do not verify against the posted tally.
    bogus = dataclasses.replace(tally, totals=aggregate(election.manifest, []))
    closed.append(shares_entry(closed, 1, bogus))
    with pytest.raises(StepRefused, match=r"waiting for guardians \[1, 3\].*share of") as refused:
        build_result(closed.view())
    assert "1 guardians' decryption shares verify" in str(refused.value)
    with pytest.raises(InvalidInput, match="decrypting needs 2"):
        tally_result(election.manifest, tally, {}, VOTERS)


def test_shares_are_checked_before_they_are_posted(closed: Staged) -> None:
    view, tally = decrypted(closed)
    again = Entry.decode(shares_entry(closed, 1, tally))  # a new proof: other bytes
    with pytest.raises(StepRefused, match="guardian 1 already has other decryption shares"):
        check_entry_to_post(view, again)
    bogus = dataclasses.replace(tally, totals=aggregate(closed.election.manifest, []))
    with pytest.raises(EntryRefused, match="do not count"):
        check_entry_to_post(view, Entry.decode(shares_entry(closed, 2, bogus)))
    assert check_entry_to_post(view, Entry.decode(shares_entry(closed, 2, tally))) is None


def test_the_result_is_what_the_shares_decrypt_to(closed: Staged) -> None:
    first, second = closed.election.officials
    view, tally = decrypted(closed)
    context = election_context(view)
    verified, problems = verified_shares(view, context, posted_tally(view))
    assert sorted(verified) == [1, 3]
    assert problems == []
    entry, result = result_entry(view, [first])
    assert result.guardians == (1, 3)
    assert sum(result.counts["referendum"]) <= len(tally.counted)
    assert sign_entry(view, entry, [second]).body == entry.body
    changed = TallyResult(
        result.guardians,
        {part: tuple(c + 1 for c in counts) for part, counts in result.counts.items()},
        result.outcomes,
    )
    forged = Entry.decode(closed.election.entry(kinds.RESULT, changed.to_tlv(), [first]))
    with pytest.raises(EntryRefused, match="does not match what the guardians' shares"):
        sign_entry(view, forged, [second])
    missing = dataclasses.replace(result, guardians=(1, 2))
    with pytest.raises(EntryRefused, match=r"guardians \[2\] have no verified shares"):
        sign_entry(
            view,
            Entry.decode(closed.election.entry(kinds.RESULT, missing.to_tlv(), [first])),
            [second],
        )
    closed.append(sign_entry(view, entry, [second]).encoded)
    with pytest.raises(StepRefused, match="result is already on the board"):
        build_result(closed.view())


# --- ordering and failed calls -----------------------------------------------------------------


def test_an_outbox_posts_in_the_elections_phase_order() -> None:
    order = [kinds.CEREMONY_TRANSPORT, kinds.CEREMONY_COMMIT, kinds.GUARDIAN_KEY, kinds.KEY_CHECK]
    shuffled = [
        kinds.KEY_CHECK,
        kinds.GUARDIAN_KEY,
        kinds.CEREMONY_TRANSPORT,
        kinds.CEREMONY_COMMIT,
    ]
    assert sorted(shuffled, key=phase_rank) == order
    assert phase_rank(kinds.DECRYPTION_SHARE) < phase_rank(kinds.RESULT) < phase_rank("unknown")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (grpc.StatusCode.PERMISSION_DENIED, "wrong role: the server refused posting"),
        (grpc.StatusCode.FAILED_PRECONDITION, "wrong phase: the server refused posting"),
        (grpc.StatusCode.UNAVAILABLE, "is not reachable while posting (server down?)"),
        (grpc.StatusCode.INVALID_ARGUMENT, "nothing was changed"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "did not answer in time"),
        (grpc.StatusCode.UNAUTHENTICATED, "did not accept your role certificate"),
        (grpc.StatusCode.NOT_FOUND, "answered NOT_FOUND"),
    ],
)
def test_failed_calls_say_what_to_do(code: grpc.StatusCode, words: str) -> None:
    refusal = rpc_refusal(code, "the detail", server="127.0.0.1:1", doing="posting")
    assert words in str(refusal)
    assert refusal.code == code
    if code not in (grpc.StatusCode.DEADLINE_EXCEEDED,):
        assert "the detail" in str(refusal)
