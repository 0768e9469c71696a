"""Encrypting and verifying one contest: honest round trips, tampering, decoding."""

from __future__ import annotations

import dataclasses

import pytest

from evote.crypto import encoding
from evote.crypto.elgamal import decrypt_to_point, new_ballot_seed, selection_nonce
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
from evote.errors import DecodeError, InvalidInput, ProofError

COUNCIL = ContestShape(option_limits=(1, 1, 1, 1), min_total=0, max_total=2)
ELECTION = hash32("ext-base", "test election")
BINDING = hash32("ballot-binding", "ballot 1")
SECRET = random_scalar()
KEY = base_mul(SECRET)


def encrypt(votes: list[int], seed: bytes | None = None) -> EncryptedContest:
    return encrypt_contest(votes, COUNCIL, 2, KEY, ELECTION, BINDING, seed or new_ballot_seed())


def test_honest_contest_verifies_and_decrypts_to_the_votes() -> None:
    votes = [1, 0, 1, 0]
    contest = encrypt(votes)
    verify_contest(contest, COUNCIL, 2, KEY, ELECTION, BINDING)
    for selection, vote in zip(contest.selections, votes, strict=True):
        assert decrypt_to_point(selection.ciphertext, SECRET) == small_multiple(vote)


def test_undervote_is_allowed_when_min_is_zero() -> None:
    verify_contest(encrypt([0, 0, 0, 0]), COUNCIL, 2, KEY, ELECTION, BINDING)


@pytest.mark.parametrize(
    ("votes", "reason"),
    [([1, 1, 1, 0], "total"), ([2, 0, 0, 0], "outside"), ([1, 0, 0], "expected 4")],
)
def test_invalid_votes_are_refused_before_encryption(votes: list[int], reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        encrypt(votes)


def test_nonces_derive_from_the_seed_so_an_audit_can_recompute_the_ciphertexts() -> None:
    seed = new_ballot_seed()
    contest = encrypt([0, 1, 0, 0], seed)
    for option, selection in enumerate(contest.selections):
        nonce = selection_nonce(ELECTION, BINDING, seed, 2, option)
        assert selection.ciphertext.alpha == base_mul(nonce)


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("contest_index", {"contest_index": 3}),
        ("election", {"election_hash": hash32("ext-base", "another election")}),
        ("binding", {"binding": hash32("ballot-binding", "another ballot")}),
        ("key", {"key": base_mul(random_scalar())}),
    ],
)
def test_contest_does_not_verify_in_another_context(field: str, change: dict[str, object]) -> None:
    contest = encrypt([0, 0, 1, 1])
    arguments: dict[str, object] = {
        "contest_index": 2,
        "key": KEY,
        "election_hash": ELECTION,
        "binding": BINDING,
    }
    arguments.update(change)
    with pytest.raises(ProofError):
        verify_contest(contest, COUNCIL, **arguments)  # type: ignore[arg-type]


def test_swapping_two_selections_is_detected() -> None:
    contest = encrypt([1, 0, 0, 0])
    first, second, *rest = contest.selections
    swapped = dataclasses.replace(contest, selections=(second, first, *rest))
    with pytest.raises(ProofError):
        verify_contest(swapped, COUNCIL, 2, KEY, ELECTION, BINDING)


def test_replacing_a_ciphertext_with_one_from_another_ballot_is_detected() -> None:
    contest, other = encrypt([1, 0, 0, 0]), encrypt([0, 0, 0, 0])
    forged = EncryptedSelection(other.selections[0].ciphertext, contest.selections[0].proof)
    tampered = dataclasses.replace(contest, selections=(forged, *contest.selections[1:]))
    with pytest.raises(ProofError):
        verify_contest(tampered, COUNCIL, 2, KEY, ELECTION, BINDING)


def test_a_contest_whose_total_proof_is_from_another_ballot_fails() -> None:
    contest, other = encrypt([1, 0, 0, 0]), encrypt([1, 0, 0, 0])
    tampered = dataclasses.replace(contest, total_proof=other.total_proof)
    with pytest.raises(ProofError, match="challenge"):
        verify_contest(tampered, COUNCIL, 2, KEY, ELECTION, BINDING)


def test_missing_selection_is_reported() -> None:
    contest = encrypt([1, 0, 0, 0])
    short = dataclasses.replace(contest, selections=contest.selections[:3])
    with pytest.raises(ProofError) as caught:
        verify_contest(short, COUNCIL, 2, KEY, ELECTION, BINDING)
    assert caught.value.field == "selection_count"


def test_tlv_round_trip_preserves_the_contest() -> None:
    contest = encrypt([0, 1, 1, 0])
    data = encoding.encode(contest.to_tlv())
    decoded = EncryptedContest.from_tlv(encoding.decode(data), COUNCIL, what="contest")
    assert decoded == contest
    verify_contest(decoded, COUNCIL, 2, KEY, ELECTION, BINDING)


def test_decoding_refuses_a_proof_of_the_wrong_length() -> None:
    contest = encrypt([0, 1, 1, 0])
    items = contest.to_tlv()
    items[-1] = items[-1][:-64]
    with pytest.raises(DecodeError, match="total_proof"):
        EncryptedContest.from_tlv(encoding.decode(encoding.encode(items)), COUNCIL, what="c")


def test_decoding_refuses_a_missing_option() -> None:
    items = encrypt([0, 1, 1, 0]).to_tlv()
    del items[0]
    with pytest.raises(DecodeError, match="expected 5 items"):
        EncryptedContest.from_tlv(encoding.decode(encoding.encode(items)), COUNCIL, what="c")


@pytest.mark.parametrize(
    ("limits", "low", "high"),
    [((), 0, 0), ((0,), 0, 0), ((1, 1), 2, 1), ((1, 1), 0, 3)],
)
def test_malformed_shapes_are_refused(limits: tuple[int, ...], low: int, high: int) -> None:
    with pytest.raises(InvalidInput):
        ContestShape(limits, low, high)
