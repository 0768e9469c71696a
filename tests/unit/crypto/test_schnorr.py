"""Schnorr proofs of knowledge of key-ceremony coefficients (crypto spec §3.5 round 2, §5.4)."""

from __future__ import annotations

import pytest

from evote.crypto.group import IDENTITY, SCALAR_BYTES, L, Point, Scalar, base_mul, mul
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.proofs.compact import COMPACT_PROOF_BYTES, CompactProof
from evote.crypto.proofs.schnorr import prove_coefficient, verify_coefficient
from evote.crypto.rng import random_scalar
from evote.errors import DecodeError, InvalidInput, NonCanonicalScalar, ProofError

BASE_HASH = b"\x42" * 32
GUARDIAN = 3
COEFFICIENT = 1


def _expect_failure(
    field: str,
    commitment: Point,
    proof: CompactProof,
    base_hash: bytes = BASE_HASH,
    guardian: int = GUARDIAN,
    coefficient: int = COEFFICIENT,
) -> None:
    with pytest.raises(ProofError) as caught:
        verify_coefficient(commitment, proof, base_hash, guardian, coefficient)
    assert caught.value.proof == "coefficient knowledge"
    assert caught.value.field == field


@pytest.fixture
def proved() -> tuple[Scalar, Point, CompactProof]:
    secret = random_scalar()
    commitment, proof = prove_coefficient(secret, BASE_HASH, GUARDIAN, COEFFICIENT)
    return secret, commitment, proof


def test_honest_proof_verifies(proved: tuple[Scalar, Point, CompactProof]) -> None:
    secret, commitment, proof = proved
    assert commitment == base_mul(secret)
    verify_coefficient(commitment, proof, BASE_HASH, GUARDIAN, COEFFICIENT)


def test_challenge_is_the_specified_hash(proved: tuple[Scalar, Point, CompactProof]) -> None:
    # §5.4: Hq("pok-coefficient", H_B, i, j, K_ij, h) with h = v·B + c·K_ij.
    _, commitment, proof = proved
    h = base_mul(proof.response) + mul(proof.challenge, commitment)
    expected = hash_to_scalar("pok-coefficient", BASE_HASH, GUARDIAN, COEFFICIENT, commitment, h)
    assert proof.challenge == expected


def test_response_is_nonce_minus_challenge_times_secret(
    proved: tuple[Scalar, Point, CompactProof],
) -> None:
    # Sign convention of §1: h = u·B and v = u − c·a, so u = v + c·a reproduces h.
    secret, commitment, proof = proved
    u = proof.response + proof.challenge * secret
    h = base_mul(u)
    assert hash_to_scalar("pok-coefficient", BASE_HASH, GUARDIAN, COEFFICIENT, commitment, h) == (
        proof.challenge
    )


def test_proofs_are_fresh() -> None:
    secret = random_scalar()
    first = prove_coefficient(secret, BASE_HASH, GUARDIAN, COEFFICIENT)
    second = prove_coefficient(secret, BASE_HASH, GUARDIAN, COEFFICIENT)
    assert first[0] == second[0]
    assert first[1] != second[1]


def test_zero_coefficient_is_refused() -> None:
    with pytest.raises(InvalidInput):
        prove_coefficient(Scalar(0), BASE_HASH, GUARDIAN, COEFFICIENT)


def test_challenge_plus_one_fails(proved: tuple[Scalar, Point, CompactProof]) -> None:
    _, commitment, proof = proved
    _expect_failure(
        "challenge", commitment, CompactProof(proof.challenge + Scalar(1), proof.response)
    )


def test_response_plus_one_fails(proved: tuple[Scalar, Point, CompactProof]) -> None:
    _, commitment, proof = proved
    _expect_failure(
        "challenge", commitment, CompactProof(proof.challenge, proof.response + Scalar(1))
    )


def test_swapped_challenge_and_response_fail(proved: tuple[Scalar, Point, CompactProof]) -> None:
    _, commitment, proof = proved
    _expect_failure("challenge", commitment, CompactProof(proof.response, proof.challenge))


def test_changing_the_base_hash_fails(proved: tuple[Scalar, Point, CompactProof]) -> None:
    _, commitment, proof = proved
    _expect_failure("challenge", commitment, proof, base_hash=b"\x43" * 32)


@pytest.mark.parametrize("guardian", [1, 2, 4])
def test_changing_the_guardian_index_fails(
    proved: tuple[Scalar, Point, CompactProof], guardian: int
) -> None:
    # A guardian replaying another's commitment and proof under its own index is rejected.
    _, commitment, proof = proved
    _expect_failure("challenge", commitment, proof, guardian=guardian)


@pytest.mark.parametrize("coefficient", [0, 2])
def test_changing_the_coefficient_index_fails(
    proved: tuple[Scalar, Point, CompactProof], coefficient: int
) -> None:
    _, commitment, proof = proved
    _expect_failure("challenge", commitment, proof, coefficient=coefficient)


def test_changing_the_commitment_fails(proved: tuple[Scalar, Point, CompactProof]) -> None:
    secret, commitment, proof = proved
    _expect_failure("challenge", base_mul(random_scalar()), proof)
    _expect_failure("challenge", base_mul(secret + Scalar(1)), proof)
    _expect_failure("challenge", -commitment, proof)


def test_proof_for_another_coefficient_fails(proved: tuple[Scalar, Point, CompactProof]) -> None:
    _, commitment, _ = proved
    _, other_proof = prove_coefficient(random_scalar(), BASE_HASH, GUARDIAN, COEFFICIENT)
    _expect_failure("challenge", commitment, other_proof)


def test_identity_commitment_is_rejected(proved: tuple[Scalar, Point, CompactProof]) -> None:
    _, _, proof = proved
    _expect_failure("commitment", IDENTITY, proof)
    _expect_failure("commitment", IDENTITY, CompactProof(Scalar(0), Scalar(0)))


def test_trivial_proof_is_rejected(proved: tuple[Scalar, Point, CompactProof]) -> None:
    _, commitment, _ = proved
    _expect_failure("challenge", commitment, CompactProof(Scalar(0), Scalar(0)))


def test_compact_proof_round_trip(proved: tuple[Scalar, Point, CompactProof]) -> None:
    _, commitment, proof = proved
    data = proof.encode()
    assert len(data) == COMPACT_PROOF_BYTES
    assert data == proof.challenge.encode() + proof.response.encode()
    decoded = CompactProof.decode(data)
    assert decoded == proof
    verify_coefficient(commitment, decoded, BASE_HASH, GUARDIAN, COEFFICIENT)


@pytest.mark.parametrize("slot", [0, 1])
def test_compact_proof_decode_rejects_scalar_plus_l(
    proved: tuple[Scalar, Point, CompactProof], slot: int
) -> None:
    # R3: v + L (or c + L) is another byte string libsodium would accept.
    _, _, proof = proved
    scalars = [proof.challenge, proof.response]
    parts = [s.encode() for s in scalars]
    parts[slot] = (scalars[slot].value + L).to_bytes(SCALAR_BYTES, "little")
    with pytest.raises(NonCanonicalScalar):
        CompactProof.decode(b"".join(parts))


@pytest.mark.parametrize("length", [0, 32, 63, 65])
def test_compact_proof_decode_rejects_wrong_lengths(length: int) -> None:
    with pytest.raises(DecodeError):
        CompactProof.decode(b"\x01" * length)
