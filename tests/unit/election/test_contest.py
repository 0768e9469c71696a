"""Encrypting and verifying one contest: honest round trips, tampering, decoding.

Every test runs under both schemes (the contest code is one code path): scheme A under a random
joint key, scheme B under a 2048-bit dealer's key (:mod:`tests.unit.election.paillier_keys`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from evote.crypto import encoding
from evote.crypto.elgamal import decrypt_to_point, new_ballot_seed
from evote.crypto.group import base_mul, small_multiple
from evote.crypto.hashing import hash32
from evote.crypto.rng import random_scalar
from evote.election.contest import (
    ContestShape,
    EncryptedContest,
    EncryptedSelection,
    verify_contest,
)
from evote.election.encrypt import encrypt_contest
from evote.election.schemes import AnyScheme, ElGamalElection, PaillierElection
from evote.errors import DecodeError, InvalidInput, ProofError
from tests.unit.election.paillier_keys import dealt, other_dealt, plaintext_of

COUNCIL = ContestShape(option_limits=(1, 1, 1, 1), min_total=0, max_total=2)
ELECTION = hash32("ext-base", "test election")
BINDING = hash32("ballot-binding", "ballot 1")
SECRET = random_scalar()


def _small(point: Any) -> int:
    return next(value for value in range(10) if small_multiple(value) == point)


@dataclass(frozen=True)
class Scheme:
    """One scheme under test: the election's scheme object, another key of the same scheme,
    a decryption oracle, and how to cut the last branch off an encoded proof."""

    scheme: AnyScheme
    other: AnyScheme
    decrypt: Callable[[Any], int]
    shorten: Callable[[Any], Any]


ELGAMAL = Scheme(
    ElGamalElection(base_mul(SECRET), (), ()),
    ElGamalElection(base_mul(random_scalar()), (), ()),
    lambda ciphertext: _small(decrypt_to_point(ciphertext, SECRET)),
    lambda proof: proof[:-64],
)
PAILLIER = Scheme(
    PaillierElection(dealt(3, 2).public_key),
    PaillierElection(other_dealt(3, 2).public_key),
    plaintext_of,
    lambda proof: [items[:-1] for items in proof],
)


@pytest.fixture(params=[ELGAMAL, PAILLIER], ids=["elgamal", "paillier"])
def case(request: pytest.FixtureRequest) -> Scheme:
    chosen: Scheme = request.param
    return chosen


def encrypt(
    case: Scheme, votes: list[int], seed: bytes | None = None
) -> EncryptedContest[Any, Any]:
    return encrypt_contest(
        votes, COUNCIL, 2, case.scheme, ELECTION, BINDING, seed or new_ballot_seed()
    )


def verify(case: Scheme, contest: EncryptedContest[Any, Any]) -> None:
    verify_contest(contest, COUNCIL, 2, case.scheme, ELECTION, BINDING)


def test_honest_contest_verifies_and_decrypts_to_the_votes(case: Scheme) -> None:
    votes = [1, 0, 1, 0]
    contest = encrypt(case, votes)
    verify(case, contest)
    assert [case.decrypt(selection.ciphertext) for selection in contest.selections] == votes


def test_undervote_is_allowed_when_min_is_zero(case: Scheme) -> None:
    verify(case, encrypt(case, [0, 0, 0, 0]))


@pytest.mark.parametrize(
    ("votes", "reason"),
    [([1, 1, 1, 0], "total"), ([2, 0, 0, 0], "outside"), ([1, 0, 0], "expected 4")],
)
def test_invalid_votes_are_refused_before_encryption(
    case: Scheme, votes: list[int], reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        encrypt(case, votes)


def test_nonces_derive_from_the_seed_so_an_audit_can_recompute_the_ciphertexts(
    case: Scheme,
) -> None:
    seed = new_ballot_seed()
    votes = [0, 1, 0, 0]
    contest = encrypt(case, votes, seed)
    scheme = case.scheme
    for option, (selection, vote) in enumerate(zip(contest.selections, votes, strict=True)):
        nonce = scheme.selection_nonce(ELECTION, BINDING, seed, 2, option)
        assert scheme.made_with_nonce(selection.ciphertext, nonce)
        assert scheme.encrypt(vote, nonce) == selection.ciphertext
        other = scheme.selection_nonce(ELECTION, BINDING, new_ballot_seed(), 2, option)
        assert not scheme.made_with_nonce(selection.ciphertext, other)


def test_the_contest_nonce_opens_the_sum(case: Scheme) -> None:
    seed = new_ballot_seed()
    contest = encrypt(case, [1, 0, 1, 0], seed)
    scheme = case.scheme
    nonces = [scheme.selection_nonce(ELECTION, BINDING, seed, 2, option) for option in range(4)]
    total = scheme.zero()
    for selection in contest.selections:
        total = scheme.add(total, selection.ciphertext)
    assert scheme.encrypt(2, scheme.contest_nonce(nonces)) == total


@pytest.mark.parametrize("field", ["contest_index", "election_hash", "binding", "scheme"])
def test_contest_does_not_verify_in_another_context(case: Scheme, field: str) -> None:
    contest = encrypt(case, [0, 0, 1, 1])
    arguments: dict[str, Any] = {
        "contest_index": 2,
        "scheme": case.scheme,
        "election_hash": ELECTION,
        "binding": BINDING,
    }
    arguments[field] = {
        "contest_index": 3,
        "election_hash": hash32("ext-base", "another election"),
        "binding": hash32("ballot-binding", "another ballot"),
        "scheme": case.other,
    }[field]
    with pytest.raises(ProofError):
        verify_contest(contest, COUNCIL, **arguments)


def test_swapping_two_selections_is_detected(case: Scheme) -> None:
    contest = encrypt(case, [1, 0, 0, 0])
    first, second, *rest = contest.selections
    with pytest.raises(ProofError):
        verify(case, dataclasses.replace(contest, selections=(second, first, *rest)))


def test_replacing_a_ciphertext_with_one_from_another_ballot_is_detected(case: Scheme) -> None:
    contest, other = encrypt(case, [1, 0, 0, 0]), encrypt(case, [0, 0, 0, 0])
    forged = EncryptedSelection(other.selections[0].ciphertext, contest.selections[0].proof)
    with pytest.raises(ProofError):
        verify(case, dataclasses.replace(contest, selections=(forged, *contest.selections[1:])))


def test_a_contest_whose_total_proof_is_from_another_ballot_fails(case: Scheme) -> None:
    contest, other = encrypt(case, [1, 0, 0, 0]), encrypt(case, [1, 0, 0, 0])
    with pytest.raises(ProofError, match="challenge"):
        verify(case, dataclasses.replace(contest, total_proof=other.total_proof))


def test_missing_selection_is_reported(case: Scheme) -> None:
    contest = encrypt(case, [1, 0, 0, 0])
    with pytest.raises(ProofError) as caught:
        verify(case, dataclasses.replace(contest, selections=contest.selections[:3]))
    assert caught.value.field == "selection_count"


def test_tlv_round_trip_preserves_the_contest(case: Scheme) -> None:
    contest = encrypt(case, [0, 1, 1, 0])
    data = encoding.encode(contest.to_value(case.scheme))
    decoded = EncryptedContest.from_tlv(
        encoding.decode(data), COUNCIL, what="contest", codec=case.scheme
    )
    assert decoded == contest
    verify(case, decoded)


def test_a_contest_does_not_decode_under_another_schemes_codec(case: Scheme) -> None:
    contest = encrypt(case, [0, 1, 1, 0])
    data = encoding.encode(contest.to_value(case.scheme))
    other = PAILLIER.scheme if case is ELGAMAL else ELGAMAL.scheme
    with pytest.raises(DecodeError):
        EncryptedContest.from_tlv(encoding.decode(data), COUNCIL, what="contest", codec=other)


def test_decoding_refuses_a_proof_of_the_wrong_length(case: Scheme) -> None:
    items = encrypt(case, [0, 1, 1, 0]).to_value(case.scheme)
    items[-1] = case.shorten(items[-1])
    with pytest.raises(DecodeError, match="total_proof"):
        EncryptedContest.from_tlv(
            encoding.decode(encoding.encode(items)), COUNCIL, what="c", codec=case.scheme
        )


def test_decoding_refuses_a_missing_option(case: Scheme) -> None:
    items = encrypt(case, [0, 1, 1, 0]).to_value(case.scheme)
    del items[0]
    with pytest.raises(DecodeError, match="expected 5 items"):
        EncryptedContest.from_tlv(
            encoding.decode(encoding.encode(items)), COUNCIL, what="c", codec=case.scheme
        )


def test_scheme_a_encodes_exactly_as_before() -> None:
    """Scheme A's contest is ``[[α‖β, c‖v…], …, total proof]`` of packed bytes, as always."""
    contest = encrypt(ELGAMAL, [0, 1, 1, 0])
    assert contest.to_tlv() == [
        *([s.ciphertext.encode(), s.proof.encode()] for s in contest.selections),
        contest.total_proof.encode(),
    ]


@pytest.mark.parametrize(
    ("limits", "low", "high"),
    [((), 0, 0), ((0,), 0, 0), ((1, 1), 2, 1), ((1, 1), 0, 3)],
)
def test_malformed_shapes_are_refused(limits: tuple[int, ...], low: int, high: int) -> None:
    with pytest.raises(InvalidInput):
        ContestShape(limits, low, high)
