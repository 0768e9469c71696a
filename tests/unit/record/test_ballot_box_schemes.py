"""The ballot box's scheme-dependent rules under both schemes: the whole admission path, weeding
by ciphertext fingerprint (scheme A's ``α``, scheme B's ``c``), and a reused audited seed."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from evote.board.entry import Entry
from evote.crypto.elgamal import new_ballot_seed
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditReveal
from evote.election.encrypt import encrypt_with_seed
from evote.record import kinds
from evote.record.ballot_box import (
    BallotBox,
    BallotRejected,
    check_proofs,
    derives_from_seed,
    parse_submission,
)
from tests.unit.election.test_ballot import OTHER_VOTER, VOTER, plaintext
from tests.unit.election.test_schemes import ELECTIONS, Election, cast_in


@pytest.fixture(params=ELECTIONS, ids=[e.name for e in ELECTIONS])
def election(request: pytest.FixtureRequest) -> Election:
    chosen: Election = request.param
    return chosen


def entry(election: Election, kind: str, body: bytes, voter: SigningKey) -> bytes:
    return Entry.create(kind, election.manifest.election_id, body, [voter]).encoded


def admit(box: BallotBox, election: Election, data: bytes) -> None:
    submission = parse_submission(data, election.context)
    check_proofs(submission, election.context)
    box.admit(submission)


def open_box(election: Election) -> BallotBox:
    box = BallotBox(election.context, [VOTER.verify_key, OTHER_VOTER.verify_key])
    box.phase = "open"
    return box


def test_an_honest_audit_and_ballot_are_admitted(election: Election) -> None:
    box = open_box(election)
    audited = cast_in(election)
    reveal = AuditReveal(audited.ballot, audited.seed, plaintext().votes)
    admit(box, election, entry(election, kinds.AUDIT, reveal.to_tlv(), VOTER))
    admit(box, election, entry(election, kinds.BALLOT, cast_in(election).ballot.to_tlv(), VOTER))


def test_a_ciphertext_copied_from_another_ballot_is_refused(election: Election) -> None:
    box = open_box(election)
    first = cast_in(election).ballot
    admit(box, election, entry(election, kinds.BALLOT, first.to_tlv(), VOTER))
    other = cast_in(election, voter=OTHER_VOTER).ballot
    contest = other.contests[0]
    copied = dataclasses.replace(
        contest.selections[0], ciphertext=first.contests[0].selections[0].ciphertext
    )
    forged = dataclasses.replace(
        other,
        contests=(
            dataclasses.replace(contest, selections=(copied, *contest.selections[1:])),
            *other.contests[1:],
        ),
    )
    submission = parse_submission(
        entry(election, kinds.BALLOT, forged.to_tlv(), OTHER_VOTER), election.context
    )
    with pytest.raises(BallotRejected, match="already submitted"):
        box.admit(submission)  # refused before its (failing) proofs would even matter


def test_a_ballot_reusing_an_audited_seed_is_refused(election: Election) -> None:
    box = open_box(election)
    audited = cast_in(election)
    reveal = AuditReveal(audited.ballot, audited.seed, plaintext().votes)
    admit(box, election, entry(election, kinds.AUDIT, reveal.to_tlv(), VOTER))
    reused: Any = encrypt_with_seed(
        plaintext(), election.context, VOTER.verify_key, 0, b"\x42" * 16, audited.seed
    ).ballot
    assert derives_from_seed(reused, audited.seed, election.context)
    assert not derives_from_seed(reused, new_ballot_seed(), election.context)
    with pytest.raises(BallotRejected, match="audited seed"):
        admit(box, election, entry(election, kinds.BALLOT, reused.to_tlv(), VOTER))
