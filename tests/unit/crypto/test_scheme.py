"""The homomorphic-scheme boundary and scheme A behind it (crypto spec §2, §3.4, §3.8, §3.9)."""

from __future__ import annotations

import dataclasses

import pytest

from evote.crypto.elgamal import ZERO_CIPHERTEXT, Ciphertext, sum_ciphertexts
from evote.crypto.group import BASE, IDENTITY, L, Scalar, base_mul, mul
from evote.crypto.hashing import hash32
from evote.crypto.proofs.chaum_pedersen import DecryptionShare
from evote.crypto.proofs.range import RangeProof
from evote.crypto.proofs.statements import DecryptionTarget, RangeStatement
from evote.crypto.scheme import PROTOCOL_VERSION, SCHEME_A, ElGamalEd25519, scheme_for
from evote.crypto.threshold import Polynomial, joint_key, lagrange_coefficient, verification_key
from evote.errors import InvalidInput, ProofError, TallyOutOfRange, VerificationError

GUARDIANS = 4
QUORUM = 2
ELECTION_HASH = b"\x5e" * 32
TARGET = DecryptionTarget(ELECTION_HASH, b"contest-1/option-0")

_POLYNOMIALS = [Polynomial.random(QUORUM) for _ in range(GUARDIANS)]
_COMMITMENTS = [p.commitments() for p in _POLYNOMIALS]
KEY = joint_key(_COMMITMENTS)
KEY_SHARES = {
    i: Scalar(sum(p.evaluate(i).value for p in _POLYNOMIALS)) for i in range(1, GUARDIANS + 1)
}
VERIFICATION_KEYS = {i: verification_key(i, _COMMITMENTS) for i in range(1, GUARDIANS + 1)}


def _statement(ballot: int, selection: int | None = 0) -> RangeStatement:
    return RangeStatement(ELECTION_HASH, bytes([ballot]) * 32, 1, selection)


def _cast(votes: list[int]) -> Ciphertext:
    """Encrypt, prove and verify each vote through the scheme; return the tally ciphertext."""
    ciphertexts = []
    for ballot, vote in enumerate(votes):
        nonce = SCHEME_A.random_nonce()
        ciphertext = SCHEME_A.encrypt(vote, nonce, KEY)
        statement = _statement(ballot)
        proof = SCHEME_A.prove_range(ciphertext, vote, nonce, 0, 1, KEY, statement)
        SCHEME_A.verify_range(ciphertext, proof, 0, 1, KEY, statement)
        ciphertexts.append(ciphertext)
    total = ZERO_CIPHERTEXT
    for ciphertext in ciphertexts:
        total = SCHEME_A.add(total, ciphertext)
    return total


def _shares(ciphertext: Ciphertext, guardians: tuple[int, ...]) -> dict[int, DecryptionShare]:
    shares = {}
    for index in guardians:
        share = SCHEME_A.partial_decrypt(ciphertext, KEY_SHARES[index], index, TARGET)
        SCHEME_A.verify_partial(ciphertext, share, VERIFICATION_KEYS[index], TARGET)
        shares[index] = share
    return shares


# --- parameters ------------------------------------------------------------------------------


def test_params_hash_is_the_specified_hash() -> None:
    # §3.4: H_P = H32("params", "edwards25519-prime-order", B, L, "sha512-tlv", version).
    expected = hash32("params", "edwards25519-prime-order", BASE, L, "sha512-tlv", PROTOCOL_VERSION)
    assert SCHEME_A.params_hash == expected
    assert len(SCHEME_A.params_hash) == 32
    assert ElGamalEd25519().params_hash == expected


def test_params_hash_depends_on_the_protocol_version() -> None:
    other = hash32(
        "params", "edwards25519-prime-order", BASE, L, "sha512-tlv", PROTOCOL_VERSION + 1
    )
    assert other != SCHEME_A.params_hash


def test_scheme_name() -> None:
    assert SCHEME_A.name == "edwards25519-elgamal"


def test_scheme_for_known_params_hash() -> None:
    assert scheme_for(SCHEME_A.params_hash) is SCHEME_A


@pytest.mark.parametrize(
    "params_hash",
    [
        pytest.param(b"\x00" * 32, id="zeros"),
        pytest.param(bytes([SCHEME_A.params_hash[0] ^ 1]) + SCHEME_A.params_hash[1:], id="bitflip"),
        pytest.param(SCHEME_A.params_hash[:31], id="truncated"),
        pytest.param(SCHEME_A.params_hash + b"\x00", id="extended"),
        pytest.param(b"", id="empty"),
    ],
)
def test_scheme_for_unknown_params_hash_is_refused(params_hash: bytes) -> None:
    with pytest.raises(VerificationError, match="unknown parameter set"):
        scheme_for(params_hash)


def test_random_nonces_are_non_zero_and_fresh() -> None:
    nonces = {SCHEME_A.random_nonce() for _ in range(8)}
    assert len(nonces) == 8
    assert all(not n.is_zero() for n in nonces)


# --- the full path through the interface -----------------------------------------------------


@pytest.mark.parametrize("guardians", [(1, 2), (3, 4), (1, 4), (1, 2, 3, 4)])
def test_encrypt_prove_tally_decrypt(guardians: tuple[int, ...]) -> None:
    votes = [1, 1, 0, 1, 0]
    tally = _cast(votes)
    assert SCHEME_A.combine(tally, _shares(tally, guardians), QUORUM, len(votes)) == 3


def test_add_is_homomorphic() -> None:
    a = SCHEME_A.encrypt(2, SCHEME_A.random_nonce(), KEY)
    b = SCHEME_A.encrypt(3, SCHEME_A.random_nonce(), KEY)
    total = SCHEME_A.add(a, b)
    assert total == a + b
    assert SCHEME_A.combine(total, _shares(total, (2, 3)), QUORUM, 10) == 5


def test_verify_range_through_the_scheme_rejects_a_tampered_proof() -> None:
    nonce = SCHEME_A.random_nonce()
    ciphertext = SCHEME_A.encrypt(1, nonce, KEY)
    proof = SCHEME_A.prove_range(ciphertext, 1, nonce, 0, 1, KEY, _statement(0))
    tampered = RangeProof(proof.challenges, (proof.responses[0] + Scalar(1), proof.responses[1]))
    with pytest.raises(ProofError) as caught:
        SCHEME_A.verify_range(ciphertext, tampered, 0, 1, KEY, _statement(0))
    assert caught.value.field == "challenge"
    # Replay under another ballot's binding through the interface fails too.
    with pytest.raises(ProofError):
        SCHEME_A.verify_range(ciphertext, proof, 0, 1, KEY, _statement(1))


def test_prove_range_through_the_scheme_refuses_out_of_range_values() -> None:
    nonce = SCHEME_A.random_nonce()
    ciphertext = SCHEME_A.encrypt(2, nonce, KEY)
    with pytest.raises(InvalidInput):
        SCHEME_A.prove_range(ciphertext, 2, nonce, 0, 1, KEY, _statement(0))


def test_verify_partial_rejects_a_wrong_share() -> None:
    tally = _cast([1, 0])
    share = SCHEME_A.partial_decrypt(tally, KEY_SHARES[1], 1, TARGET)
    with pytest.raises(ProofError):
        SCHEME_A.verify_partial(tally, share, VERIFICATION_KEYS[2], TARGET)
    wrong = dataclasses.replace(share, share=share.share + base_mul(Scalar(1)))
    with pytest.raises(ProofError):
        SCHEME_A.verify_partial(tally, wrong, VERIFICATION_KEYS[1], TARGET)


# --- combine ---------------------------------------------------------------------------------


def test_combine_refuses_a_mislabeled_share() -> None:
    tally = _cast([1, 1])
    shares = _shares(tally, (1, 2))
    mislabeled = {1: shares[1], 3: shares[2]}
    with pytest.raises(InvalidInput, match="guardian 3"):
        SCHEME_A.combine(tally, mislabeled, QUORUM, 2)
    swapped = {1: shares[2], 2: shares[1]}
    with pytest.raises(InvalidInput):
        SCHEME_A.combine(tally, swapped, QUORUM, 2)


def test_combine_refuses_fewer_shares_than_quorum() -> None:
    tally = _cast([1, 1])
    with pytest.raises(InvalidInput):
        SCHEME_A.combine(tally, _shares(tally, (4,)), QUORUM, 2)


def test_combine_beyond_the_bound_raises_tally_out_of_range() -> None:
    tally = _cast([1, 1, 1])
    shares = _shares(tally, (1, 3))
    assert SCHEME_A.combine(tally, shares, QUORUM, 3) == 3
    for bound in [0, 1, 2]:
        with pytest.raises(TallyOutOfRange):
            SCHEME_A.combine(tally, shares, QUORUM, bound)


def test_combine_with_a_wrong_share_raises_tally_out_of_range() -> None:
    # Never clamp: a bad (unverified) share shows up as an out-of-range total.
    tally = _cast([1, 0, 1])
    shares = _shares(tally, (1, 2))
    shares[2] = dataclasses.replace(shares[2], share=shares[2].share + base_mul(Scalar(12345)))
    with pytest.raises(TallyOutOfRange):
        SCHEME_A.combine(tally, shares, QUORUM, 3)


def test_zero_ballots_combine_to_zero() -> None:
    tally = sum_ciphertexts([])
    assert tally == ZERO_CIPHERTEXT
    shares = _shares(tally, (1, 2))
    assert all(s.share == IDENTITY and s.proof is None for s in shares.values())
    assert SCHEME_A.combine(tally, shares, QUORUM, 0) == 0


def test_selection_tally_of_zero_decodes_to_zero() -> None:
    tally = _cast([0, 0, 0, 0])
    assert not tally.alpha.is_identity()
    shares = _shares(tally, (2, 4))
    # T = Bc − M = I.
    combined = IDENTITY
    for index, share in shares.items():
        combined = combined + mul(lagrange_coefficient(index, [2, 4]), share.share)
    assert tally.beta - combined == IDENTITY
    assert SCHEME_A.combine(tally, shares, QUORUM, 4) == 0


def test_identity_aggregate_from_colluding_nonces() -> None:
    # R5: nonces ξ and L − ξ sum to 0: A = I, every share is the unproved identity, and the
    # tally is read off β with no crash.
    xi = SCHEME_A.random_nonce()
    first = SCHEME_A.encrypt(1, xi, KEY)
    second = SCHEME_A.encrypt(1, -xi, KEY)
    tally = SCHEME_A.add(first, second)
    assert tally.alpha == IDENTITY
    shares = _shares(tally, (1, 2, 3))
    assert all(s == DecryptionShare(i, IDENTITY, None) for i, s in shares.items())
    assert SCHEME_A.combine(tally, shares, QUORUM, 2) == 2
    # A proved, non-identity share is not accepted for this aggregate.
    honest_elsewhere = SCHEME_A.partial_decrypt(first, KEY_SHARES[1], 1, TARGET)
    with pytest.raises(ProofError) as caught:
        SCHEME_A.verify_partial(tally, honest_elsewhere, VERIFICATION_KEYS[1], TARGET)
    assert caught.value.field == "share"
    # The bound still applies.
    with pytest.raises(TallyOutOfRange):
        SCHEME_A.combine(tally, shares, QUORUM, 1)


def test_identity_aggregate_needs_no_shares() -> None:
    # R5: with A = I, β is the tally in clear; combine reads it without any share.
    xi = SCHEME_A.random_nonce()
    tally = SCHEME_A.add(SCHEME_A.encrypt(2, xi, KEY), SCHEME_A.encrypt(1, -xi, KEY))
    assert SCHEME_A.combine(tally, {}, QUORUM, 3) == 3
    assert SCHEME_A.combine(ZERO_CIPHERTEXT, {}, QUORUM, 0) == 0


def test_identity_aggregate_with_a_zero_total() -> None:
    xi = SCHEME_A.random_nonce()
    tally = SCHEME_A.add(SCHEME_A.encrypt(0, xi, KEY), SCHEME_A.encrypt(0, -xi, KEY))
    assert tally == ZERO_CIPHERTEXT
    assert SCHEME_A.combine(tally, _shares(tally, (1, 2)), QUORUM, 2) == 0


def test_range_proof_on_an_identity_alpha_is_rejected_through_the_scheme() -> None:
    proof = RangeProof((Scalar(1), Scalar(2)), (Scalar(3), Scalar(4)))
    forged = Ciphertext(IDENTITY, base_mul(Scalar(1)))
    with pytest.raises(ProofError) as caught:
        SCHEME_A.verify_range(forged, proof, 0, 1, KEY, _statement(0))
    assert caught.value.field == "alpha"


def test_key_shares_match_verification_keys() -> None:
    for index, share in KEY_SHARES.items():
        assert base_mul(share) == VERIFICATION_KEYS[index]
    assert base_mul(Scalar(sum(p.coefficients[0].value for p in _POLYNOMIALS))) == KEY
