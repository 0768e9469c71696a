"""The ballot box's admission rules (docs/election-record.md checks 7–8), each refused alone."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pytest

from evote.board.entry import Entry
from evote.crypto.elgamal import new_ballot_seed
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditReveal
from evote.election.encrypt import EncryptionResult, encrypt_with_seed
from evote.errors import StoreCorrupted
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import stage_election
from evote.record import kinds
from evote.record.ballot_box import (
    BallotBox,
    BallotRejected,
    SequenceRejected,
    Submission,
    check_proofs,
    parse_submission,
)
from evote.record.ballot_station import BallotStation
from tests.unit.election.test_audit import reuse_nonces
from tests.unit.election.test_ballot import (
    CONTEXT,
    OTHER_VOTER,
    VOTER,
    cast,
    plaintext,
    replace_selection,
)
from tests.unit.election.test_manifest import MANIFEST

OUTSIDER = SigningKey(b"\x6f" * 32)


def ballot_entry(result: EncryptionResult, signers: Sequence[SigningKey] | None = None) -> bytes:
    """The board entry of a cast ballot, signed by its voter unless told otherwise."""
    voter = VOTER if result.ballot.credential == VOTER.verify_key else OTHER_VOTER
    keys = [voter] if signers is None else signers
    return Entry.create(kinds.BALLOT, MANIFEST.election_id, result.ballot.to_tlv(), keys).encoded


def audit_entry(result: EncryptionResult, voter: SigningKey = VOTER) -> bytes:
    reveal = AuditReveal(result.ballot, result.seed, plaintext(result.ballot.style).votes)
    return Entry.create(kinds.AUDIT, MANIFEST.election_id, reveal.to_tlv(), [voter]).encoded


Phase = Literal["setup", "open", "closed"]


def new_box(phase: Phase = "open") -> BallotBox:
    box = BallotBox(CONTEXT, [VOTER.verify_key, OTHER_VOTER.verify_key])
    box.phase = phase
    return box


def parsed(data: bytes) -> Submission:
    submission = parse_submission(data, CONTEXT)
    check_proofs(submission, CONTEXT)
    return submission


def submit(box: BallotBox, data: bytes) -> None:
    box.admit(parsed(data))


# --- happy paths ----------------------------------------------------------------------------------


def test_ballots_of_listed_voters_are_admitted() -> None:
    box = new_box()
    submit(box, ballot_entry(cast()))
    submit(box, ballot_entry(cast("south", voter=OTHER_VOTER)))


def test_a_revote_with_the_next_sequence_is_admitted() -> None:
    box = new_box()
    assert box.expected_sequence(VOTER.verify_key) == 0
    submit(box, ballot_entry(cast(sequence=0)))
    submit(box, ballot_entry(cast(sequence=1)))
    submit(box, ballot_entry(cast("south", sequence=2)))
    assert box.expected_sequence(VOTER.verify_key) == 3
    assert box.expected_sequence(OTHER_VOTER.verify_key) == 0


def test_audits_then_a_fresh_ballot_are_admitted() -> None:
    box = new_box()
    submit(box, audit_entry(cast()))
    submit(box, audit_entry(cast()))
    submit(box, ballot_entry(cast()))


def test_an_audit_does_not_raise_the_sequence_a_ballot_must_exceed() -> None:
    box = new_box()
    submit(box, audit_entry(cast(sequence=3)))
    submit(box, ballot_entry(cast(sequence=0)))


def test_parse_submission_tells_ballots_from_audits() -> None:
    result = cast()
    ballot = parse_submission(ballot_entry(result), CONTEXT)
    assert (ballot.kind, ballot.ballot, ballot.reveal) == ("ballot", result.ballot, None)
    audit = parse_submission(audit_entry(result), CONTEXT)
    assert audit.kind == "audit"
    assert audit.ballot == result.ballot
    assert audit.reveal is not None
    assert audit.reveal.seed == result.seed


# --- phase ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["setup", "closed"])
@pytest.mark.parametrize("kind", ["ballot", "audit"])
def test_nothing_is_admitted_unless_the_election_is_open(phase: Phase, kind: str) -> None:
    result = cast()
    data = ballot_entry(result) if kind == "ballot" else audit_entry(result)
    with pytest.raises(BallotRejected, match=f"the election is not open \\(it is {phase}\\)"):
        submit(new_box(phase), data)


def test_a_refused_submission_leaves_no_trace() -> None:
    box = new_box("setup")
    data = ballot_entry(cast())
    with pytest.raises(BallotRejected, match="not open"):
        submit(box, data)
    box.phase = "open"
    submit(box, data)


# --- credential and signatures --------------------------------------------------------------------


def test_a_credential_not_on_the_list_is_refused() -> None:
    result = cast(voter=OUTSIDER)
    with pytest.raises(BallotRejected, match="not on the published list"):
        submit(new_box(), ballot_entry(result, [OUTSIDER]))


@pytest.mark.parametrize(
    "signers",
    [[OTHER_VOTER], [VOTER, OTHER_VOTER], [OTHER_VOTER, VOTER], [VOTER, VOTER], []],
    ids=["another-key", "two-keys", "two-keys-reversed", "same-key-twice", "unsigned"],
)
def test_a_ballot_is_signed_by_its_own_credential_and_nothing_else(
    signers: list[SigningKey],
) -> None:
    with pytest.raises(BallotRejected, match="signed by its own credential and nothing else"):
        submit(new_box(), ballot_entry(cast(), signers))


def test_an_audit_is_signed_by_its_own_credential() -> None:
    with pytest.raises(BallotRejected, match="signed by its own credential"):
        submit(new_box(), audit_entry(cast(), OTHER_VOTER))


def test_a_ballot_refused_for_its_signer_can_still_be_cast_properly() -> None:
    box = new_box()
    result = cast()
    with pytest.raises(BallotRejected, match="signed by its own credential"):
        submit(box, ballot_entry(result, [OTHER_VOTER]))
    submit(box, ballot_entry(result))


# --- ballot ids -----------------------------------------------------------------------------------


def test_a_ballot_cast_twice_is_refused() -> None:
    box = new_box()
    data = ballot_entry(cast())
    submit(box, data)
    with pytest.raises(BallotRejected, match="was already used"):
        submit(box, data)


def test_an_audited_ballot_id_can_never_be_cast() -> None:
    box = new_box()
    audited = cast()
    submit(box, audit_entry(audited))
    fresh_seed = encrypt_with_seed(
        plaintext(), CONTEXT, VOTER.verify_key, 0, audited.ballot.ballot_id, new_ballot_seed()
    )
    with pytest.raises(BallotRejected, match=f"{audited.ballot.ballot_id.hex()} was already used"):
        submit(box, ballot_entry(fresh_seed))


def test_a_cast_ballot_cannot_be_audited_afterwards() -> None:
    box = new_box()
    result = cast()
    submit(box, ballot_entry(result))
    with pytest.raises(BallotRejected, match="was already used"):
        submit(box, audit_entry(result))


def test_ballot_ids_are_unique_across_voters() -> None:
    box = new_box()
    mine = cast()
    submit(box, ballot_entry(mine))
    theirs = encrypt_with_seed(
        plaintext(), CONTEXT, OTHER_VOTER.verify_key, 0, mine.ballot.ballot_id, new_ballot_seed()
    )
    with pytest.raises(BallotRejected, match="was already used"):
        submit(box, ballot_entry(theirs))


# --- sequence numbers -----------------------------------------------------------------------------


def test_a_replayed_old_ballot_after_a_revote_is_refused() -> None:
    box = new_box()
    first = ballot_entry(cast(sequence=0))
    submit(box, first)
    submit(box, ballot_entry(cast(sequence=1)))
    with pytest.raises(BallotRejected, match="was already used"):
        submit(box, first)  # the very same entry: its id is spent
    with pytest.raises(SequenceRejected, match=r"sequence 0 refused: expected sequence 2") as old:
        submit(box, ballot_entry(cast(sequence=0)))  # an old sequence, re-encrypted
    assert (old.value.sequence, old.value.expected) == (0, 2)
    assert "replayed" in str(old.value)


def test_a_credentials_first_ballot_has_sequence_0() -> None:
    box = new_box()
    with pytest.raises(SequenceRejected, match=r"sequence 2 refused: expected sequence 0") as got:
        submit(box, ballot_entry(cast(sequence=2)))
    assert "its first must have sequence 0" in str(got.value)
    assert box.expected_sequence(VOTER.verify_key) == 0  # the refusal changed nothing
    submit(box, ballot_entry(cast(sequence=0)))


def test_a_repeated_sequence_is_refused_per_credential() -> None:
    box = new_box()
    submit(box, ballot_entry(cast(sequence=0)))
    with pytest.raises(SequenceRejected, match=r"sequence 0 refused: expected sequence 1"):
        submit(box, ballot_entry(cast(sequence=0)))
    submit(box, ballot_entry(cast(voter=OTHER_VOTER, sequence=0)))  # per credential


def test_a_jump_in_sequence_is_refused_with_the_number_expected() -> None:
    """Whoever holds the credential cannot cast far ahead and so block every later revote."""
    box = new_box()
    submit(box, ballot_entry(cast(sequence=0)))
    with pytest.raises(SequenceRejected, match=r"sequence 1000000 refused: expected sequence 1"):
        submit(box, ballot_entry(cast(sequence=1_000_000)))
    with pytest.raises(SequenceRejected, match=r"sequence 2 refused: expected sequence 1"):
        submit(box, ballot_entry(cast(sequence=2)))
    submit(box, ballot_entry(cast(sequence=1)))  # the number the refusal named


def test_a_sequence_refusal_survives_pickling() -> None:
    """The refusal crosses process boundaries (proof workers) with its numbers intact."""
    refusal = pickle.loads(pickle.dumps(SequenceRejected(5, 1)))  # noqa: S301 - our own bytes
    assert (refusal.sequence, refusal.expected, str(refusal)) == (
        5,
        1,
        str(SequenceRejected(5, 1)),
    )


# --- weeding: no α twice --------------------------------------------------------------------------


def test_a_ciphertext_copied_from_another_ballot_is_refused() -> None:
    box = new_box()
    victim = cast()
    submit(box, ballot_entry(victim))
    own = cast(voter=OTHER_VOTER)
    copied_ciphertext = victim.ballot.contests[1].selections[1].ciphertext
    copier = dataclasses.replace(own, ballot=replace_selection(own.ballot, 1, 1, copied_ciphertext))
    submission = parse_submission(ballot_entry(copier), CONTEXT)
    with pytest.raises(BallotRejected, match=r"ballot refused: range proof: head\."):
        check_proofs(submission, CONTEXT)  # without the nonce the copier cannot prove it ...
    with pytest.raises(BallotRejected, match="already submitted"):
        box.admit(submission)  # ... and the box refuses the copied α on its own anyway


def test_nonces_of_an_audited_ballot_reused_in_a_cast_ballot_are_refused() -> None:
    box = new_box()
    audited = cast()
    submit(box, audit_entry(audited))
    reused = reuse_nonces(audited, plaintext(), CONTEXT, b"\x43" * 16, 0)
    data = ballot_entry(EncryptionResult(reused, audited.seed))
    submission = parsed(data)  # valid proofs: the device knows the nonces
    with pytest.raises(BallotRejected, match="a ciphertext of this ballot was already submitted"):
        box.admit(submission)


def test_an_audit_showing_a_cast_ballots_ciphertexts_is_refused_twice_over() -> None:
    box = new_box()
    cast_first = cast()
    submit(box, ballot_entry(cast_first))
    reused = reuse_nonces(cast_first, plaintext(), CONTEXT, b"\x44" * 16, 0)
    submission = parse_submission(audit_entry(EncryptionResult(reused, cast_first.seed)), CONTEXT)
    with pytest.raises(BallotRejected, match="audit refused: referendum: option 0 does not"):
        check_proofs(submission, CONTEXT)  # the seed derives other nonces under a new id ...
    with pytest.raises(BallotRejected, match="already submitted"):
        box.admit(submission)  # ... and the α are the cast ballot's


def test_a_ballot_repeating_an_alpha_inside_itself_is_refused() -> None:
    result = cast()
    repeated = result.ballot.contests[0].selections[0].ciphertext
    inner = replace_selection(result.ballot, 2, 3, repeated)
    submission = parse_submission(ballot_entry(EncryptionResult(inner, result.seed)), CONTEXT)
    with pytest.raises(BallotRejected, match="already submitted"):
        new_box().admit(submission)


# --- proofs ---------------------------------------------------------------------------------------


def test_a_ballot_copied_under_another_credential_fails_its_proofs() -> None:
    stolen = cast()
    moved = dataclasses.replace(stolen.ballot, credential=OTHER_VOTER.verify_key)
    data = ballot_entry(EncryptionResult(moved, stolen.seed), [OTHER_VOTER])
    with pytest.raises(BallotRejected, match=r"ballot refused: range proof: referendum\."):
        check_proofs(parse_submission(data, CONTEXT), CONTEXT)


def test_an_audit_that_does_not_re_encrypt_is_refused() -> None:
    result = cast()
    lying = AuditReveal(
        result.ballot, result.seed, plaintext("north", {"council/north": ["b"]}).votes
    )
    data = Entry.create(kinds.AUDIT, MANIFEST.election_id, lying.to_tlv(), [VOTER]).encoded
    with pytest.raises(BallotRejected, match="audit refused: referendum: option 0"):
        check_proofs(parse_submission(data, CONTEXT), CONTEXT)


def test_a_tampered_proof_is_refused() -> None:
    result = cast()
    contests = list(result.ballot.contests)
    contests[2] = dataclasses.replace(
        contests[2], total_proof=cast().ballot.contests[2].total_proof
    )
    tampered = dataclasses.replace(result.ballot, contests=tuple(contests))
    data = ballot_entry(EncryptionResult(tampered, result.seed))
    with pytest.raises(BallotRejected, match=r"ballot refused: range proof: council/north\."):
        check_proofs(parse_submission(data, CONTEXT), CONTEXT)


# --- parsing --------------------------------------------------------------------------------------


def test_parse_submission_refuses_what_is_not_a_ballot_or_audit() -> None:
    with pytest.raises(BallotRejected, match="malformed submission"):
        parse_submission(b"\x00\x01", CONTEXT)
    open_mark = Entry.create(kinds.OPEN, MANIFEST.election_id, b"body", [VOTER]).encoded
    with pytest.raises(BallotRejected, match="takes ballots and audits, not 'open' entries"):
        parse_submission(open_mark, CONTEXT)


@pytest.mark.parametrize("kind", [kinds.BALLOT, kinds.AUDIT])
def test_parse_submission_refuses_a_malformed_body(kind: str) -> None:
    body = cast().ballot.to_tlv() if kind == kinds.AUDIT else MANIFEST.to_tlv()
    data = Entry.create(kind, MANIFEST.election_id, body, [VOTER]).encoded
    with pytest.raises(BallotRejected, match=r"malformed submission: (ballot|audit): expected"):
        parse_submission(data, CONTEXT)


# --- signatures, election, and seeds revealed by audits -------------------------------------------


def forged_signature(data: bytes) -> bytes:
    """The same entry with the last byte of its signature flipped."""
    return data[:-1] + bytes([data[-1] ^ 1])


def test_a_forged_signature_is_refused_before_anything_is_recorded() -> None:
    box = new_box()
    honest = ballot_entry(cast())
    with pytest.raises(BallotRejected, match="signature does not verify"):
        submit(box, forged_signature(honest))
    # The forged copy did not burn the ballot id or the ciphertexts: the real one still goes in.
    submit(box, honest)


def test_an_entry_of_another_election_is_refused() -> None:
    result = cast()
    data = Entry.create(kinds.BALLOT, b"\x01" * 32, result.ballot.to_tlv(), [VOTER]).encoded
    with pytest.raises(BallotRejected, match="another election"):
        submit(new_box(), data)


def test_a_ballot_reusing_an_audited_seed_under_a_new_ballot_id_is_refused() -> None:
    box = new_box()
    seed = new_ballot_seed()
    audited = encrypt_with_seed(plaintext(), CONTEXT, VOTER.verify_key, 0, b"\x01" * 16, seed)
    submit(box, audit_entry(audited))
    reused = encrypt_with_seed(plaintext(), CONTEXT, VOTER.verify_key, 0, b"\x02" * 16, seed)
    with pytest.raises(BallotRejected, match="reused an audited seed"):
        submit(box, ballot_entry(reused))
    fresh = encrypt_with_seed(
        plaintext(), CONTEXT, VOTER.verify_key, 0, b"\x03" * 16, new_ballot_seed()
    )
    submit(box, ballot_entry(fresh))


def test_an_audit_revealing_the_seed_of_an_earlier_cast_ballot_is_refused() -> None:
    box = new_box()
    seed = new_ballot_seed()
    submit(
        box,
        ballot_entry(
            encrypt_with_seed(plaintext(), CONTEXT, VOTER.verify_key, 0, b"\x04" * 16, seed)
        ),
    )
    later = encrypt_with_seed(plaintext(), CONTEXT, VOTER.verify_key, 1, b"\x05" * 16, seed)
    with pytest.raises(BallotRejected, match="reused an audited seed"):
        submit(box, audit_entry(later))


# --- the same rule after a restart (the station replays the board) ------------------------------


def test_a_restarted_station_replays_the_board_and_expects_the_next_sequence(
    tmp_path: Path,
) -> None:
    staged = stage_election(tmp_path / "election", "Box test", [REFERENCE_CONTESTS[0]], voters=1)
    board = staged.open_board()
    try:
        station = BallotStation(board)
        station.submit(staged.ballot(0, sequence=0), "ballot")
        station.submit(staged.ballot(0, sequence=1), "ballot")
    finally:
        board.close()
    board = staged.open_board()
    try:
        restarted = BallotStation(board)
        size = board.size
        with pytest.raises(SequenceRejected, match="expected sequence 2"):
            restarted.submit(staged.ballot(0, sequence=3), "ballot")
        with pytest.raises(SequenceRejected, match="expected sequence 2"):
            restarted.submit(staged.ballot(0, sequence=1), "ballot")
        assert board.size == size  # nothing written
        assert restarted.submit(staged.ballot(0, sequence=2), "ballot").index == size
    finally:
        board.close()


def test_a_board_holding_a_sequence_gap_is_not_served(tmp_path: Path) -> None:
    """A gap that reached the board around the box breaks its rules: the station refuses to
    serve rather than enforce other rules than the verifier's."""
    staged = stage_election(tmp_path / "election", "Box test", [REFERENCE_CONTESTS[0]], voters=1)
    board = staged.open_board()
    try:
        board.append([staged.ballot(0, sequence=0), staged.ballot(0, sequence=2)])
        with pytest.raises(StoreCorrupted, match=r"expected sequence 1"):
            BallotStation(board)
    finally:
        board.close()
