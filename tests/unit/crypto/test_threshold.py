"""Feldman VSS, joint keys and Lagrange combination (crypto spec §3.5, §3.9.2)."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from evote.crypto import dlog
from evote.crypto.elgamal import Ciphertext, encrypt, sum_ciphertexts
from evote.crypto.group import IDENTITY, L, Point, Scalar, base_mul, mul
from evote.crypto.proofs.chaum_pedersen import prove_decryption_share, verify_decryption_share
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.rng import random_scalar
from evote.crypto.threshold import (
    MAX_GUARDIANS,
    Polynomial,
    combine_shares,
    joint_key,
    lagrange_coefficient,
    verification_key,
    verify_share,
)
from evote.errors import InvalidInput, ShareError, TallyOutOfRange

TARGET = DecryptionTarget(b"\x77" * 32, b"contest-0/option-0")


@dataclasses.dataclass(frozen=True)
class Ceremony:
    """The outputs of a simulated, all-honest key ceremony (§3.5 round 5)."""

    quorum: int
    polynomials: tuple[Polynomial, ...]
    commitments: tuple[tuple[Point, ...], ...]
    key: Point
    key_shares: dict[int, Scalar]
    verification_keys: dict[int, Point]

    @property
    def secret(self) -> Scalar:
        return Scalar(sum(p.coefficients[0].value for p in self.polynomials))


def _ceremony(guardians: int, quorum: int) -> Ceremony:
    polynomials = tuple(Polynomial.random(quorum) for _ in range(guardians))
    commitments = tuple(p.commitments() for p in polynomials)
    indices = range(1, guardians + 1)
    for dealer, commitment_set in zip(polynomials, commitments, strict=True):
        for index in indices:
            verify_share(dealer.evaluate(index), index, commitment_set)
    key_shares = {
        index: Scalar(sum(p.evaluate(index).value for p in polynomials)) for index in indices
    }
    verification_keys = {index: verification_key(index, commitments) for index in indices}
    return Ceremony(
        quorum, polynomials, commitments, joint_key(commitments), key_shares, verification_keys
    )


CEREMONY = _ceremony(5, 3)
VOTES = [1, 0, 1, 1, 0, 1, 1]
TALLY = sum_ciphertexts([encrypt(v, random_scalar(), CEREMONY.key) for v in VOTES])


def _decrypt(
    ceremony: Ceremony, ciphertext: Ciphertext, subset: tuple[int, ...], bound: int
) -> int:
    shares = {}
    for index in subset:
        share = prove_decryption_share(ciphertext, ceremony.key_shares[index], index, TARGET)
        verify_decryption_share(ciphertext, share, ceremony.verification_keys[index], TARGET)
        shares[index] = share.share
    combined = combine_shares(shares, ceremony.quorum)
    return dlog.discrete_log(ciphertext.beta - combined, bound)


# --- polynomials and Feldman commitments -----------------------------------------------------


def test_polynomial_evaluation_matches_the_naive_formula() -> None:
    polynomial = Polynomial((Scalar(7), Scalar(3), Scalar(L - 1)))
    for x in [1, 2, 5, MAX_GUARDIANS]:
        assert polynomial.evaluate(x) == Scalar(7 + 3 * x - x * x)


def test_random_polynomial_has_quorum_non_zero_coefficients() -> None:
    polynomial = Polynomial.random(4)
    assert len(polynomial.coefficients) == 4
    assert all(not c.is_zero() for c in polynomial.coefficients)
    assert Polynomial.random(4) != polynomial


@pytest.mark.parametrize("quorum", [0, -1])
def test_random_polynomial_refuses_an_empty_quorum(quorum: int) -> None:
    with pytest.raises(InvalidInput):
        Polynomial.random(quorum)


def test_commitments_are_coefficients_times_base() -> None:
    polynomial = Polynomial.random(3)
    assert polynomial.commitments() == tuple(base_mul(c) for c in polynomial.coefficients)


@pytest.mark.parametrize("index", [0, -1, MAX_GUARDIANS + 1])
def test_evaluation_at_an_invalid_index_is_refused(index: int) -> None:
    # Index 0 would hand out the dealer's secret.
    with pytest.raises(InvalidInput):
        Polynomial.random(2).evaluate(index)


def test_honest_shares_match_their_commitments() -> None:
    for dealer, commitments in zip(CEREMONY.polynomials, CEREMONY.commitments, strict=True):
        for index in range(1, 6):
            verify_share(dealer.evaluate(index), index, commitments)


def test_share_inconsistent_with_its_commitments_raises_share_error() -> None:
    dealer, commitments = CEREMONY.polynomials[0], CEREMONY.commitments[0]
    share = dealer.evaluate(2)
    with pytest.raises(ShareError, match="guardian 2"):
        verify_share(share + Scalar(1), 2, commitments)
    # A correct share presented for another index is inconsistent too.
    with pytest.raises(ShareError):
        verify_share(share, 3, commitments)
    # So is a share from another dealer's polynomial.
    with pytest.raises(ShareError):
        verify_share(CEREMONY.polynomials[1].evaluate(2), 2, commitments)


def test_tampered_commitment_is_detected() -> None:
    dealer, commitments = CEREMONY.polynomials[0], CEREMONY.commitments[0]
    for degree in range(len(commitments)):
        tampered = list(commitments)
        tampered[degree] = tampered[degree] + base_mul(Scalar(1))
        with pytest.raises(ShareError):
            verify_share(dealer.evaluate(4), 4, tampered)


def test_complaint_resolution_both_ways() -> None:
    # §3.5 round 4: the dealer reveals the disputed share in clear and everyone checks it.
    dealer, commitments = CEREMONY.polynomials[2], CEREMONY.commitments[2]
    # The complainer lied: the revealed share verifies.
    verify_share(dealer.evaluate(1), 1, commitments)
    # The dealer is guilty: what it revealed does not verify.
    with pytest.raises(ShareError):
        verify_share(dealer.evaluate(1) - Scalar(5), 1, commitments)


@pytest.mark.parametrize("index", [0, MAX_GUARDIANS + 1])
def test_verify_share_refuses_an_invalid_index(index: int) -> None:
    with pytest.raises(InvalidInput):
        verify_share(Scalar(1), index, CEREMONY.commitments[0])


def test_verify_share_refuses_empty_commitments() -> None:
    with pytest.raises(InvalidInput):
        verify_share(Scalar(1), 1, [])


# --- joint key and verification keys ---------------------------------------------------------


def test_joint_key_is_the_sum_of_constant_commitments() -> None:
    assert CEREMONY.key == base_mul(CEREMONY.secret)
    total = IDENTITY
    for commitments in CEREMONY.commitments:
        total = total + commitments[0]
    assert CEREMONY.key == total


def test_joint_key_refuses_cancelling_constants() -> None:
    a = random_scalar()
    with pytest.raises(InvalidInput, match="identity"):
        joint_key([(base_mul(a),), (base_mul(-a),)])
    with pytest.raises(InvalidInput):
        joint_key([])


def test_verification_keys_match_key_shares() -> None:
    # Each guardian checks z_ℓ·B = K̂_ℓ.
    for index, share in CEREMONY.key_shares.items():
        assert base_mul(share) == CEREMONY.verification_keys[index]


def test_wrong_key_share_fails_the_verification_key_check() -> None:
    for index, share in CEREMONY.key_shares.items():
        assert base_mul(share + Scalar(1)) != CEREMONY.verification_keys[index]
        # Another guardian's share is wrong for this index too.
        other = CEREMONY.key_shares[index % 5 + 1]
        assert base_mul(other) != CEREMONY.verification_keys[index]


def test_key_shares_interpolate_to_the_joint_secret() -> None:
    for subset in itertools.combinations(range(1, 6), 3):
        total = Scalar(0)
        for index in subset:
            total = total + lagrange_coefficient(index, subset) * CEREMONY.key_shares[index]
        assert total == CEREMONY.secret


def test_verification_key_refuses_bad_inputs() -> None:
    with pytest.raises(InvalidInput):
        verification_key(1, [])
    with pytest.raises(InvalidInput):
        verification_key(0, CEREMONY.commitments)
    uneven = [CEREMONY.commitments[0], CEREMONY.commitments[1][:2]]
    with pytest.raises(InvalidInput, match="same number"):
        verification_key(1, uneven)


# --- Lagrange coefficients -------------------------------------------------------------------


def test_lagrange_coefficients_sum_to_one_for_every_subset() -> None:
    for size in range(1, 6):
        for subset in itertools.combinations(range(1, 6), size):
            total = sum(lagrange_coefficient(i, subset).value for i in subset)
            assert total % L == 1


def test_lagrange_coefficient_known_values() -> None:
    # S = {1, 2}: w_1 = 2/(2−1) = 2, w_2 = 1/(1−2) = −1.
    assert lagrange_coefficient(1, [1, 2]) == Scalar(2)
    assert lagrange_coefficient(2, [1, 2]) == Scalar(L - 1)
    # A singleton set interpolates with weight 1.
    assert lagrange_coefficient(4, [4]) == Scalar(1)


def test_lagrange_coefficient_ignores_order() -> None:
    assert lagrange_coefficient(3, [1, 3, 5]) == lagrange_coefficient(3, [5, 1, 3])


def test_lagrange_coefficient_refuses_duplicate_indices() -> None:
    with pytest.raises(InvalidInput, match="twice"):
        lagrange_coefficient(1, [1, 2, 2])
    with pytest.raises(InvalidInput, match="twice"):
        lagrange_coefficient(1, [1, 1, 2])


@pytest.mark.parametrize("bad", [0, -3, MAX_GUARDIANS + 1])
def test_lagrange_coefficient_refuses_indices_out_of_range(bad: int) -> None:
    with pytest.raises(InvalidInput):
        lagrange_coefficient(1, [1, 2, bad])
    with pytest.raises(InvalidInput):
        lagrange_coefficient(bad, [1, 2])


def test_lagrange_coefficient_refuses_an_index_outside_the_set() -> None:
    with pytest.raises(InvalidInput, match="not in"):
        lagrange_coefficient(4, [1, 2, 3])
    with pytest.raises(InvalidInput):
        lagrange_coefficient(1, [])


# --- combining decryption shares -------------------------------------------------------------


def test_every_quorum_subset_of_five_decrypts_the_same_tally() -> None:
    subsets = list(itertools.combinations(range(1, 6), 3))
    assert len(subsets) == 10
    results = {subset: _decrypt(CEREMONY, TALLY, subset, len(VOTES)) for subset in subsets}
    assert set(results.values()) == {sum(VOTES)}


@pytest.mark.parametrize("subset", [(1, 2, 3, 4), (1, 2, 3, 4, 5), (2, 5, 3, 1)])
def test_more_than_quorum_shares_also_decrypt(subset: tuple[int, ...]) -> None:
    assert _decrypt(CEREMONY, TALLY, subset, len(VOTES)) == sum(VOTES)


def test_fewer_shares_than_quorum_are_refused() -> None:
    shares = {i: mul(CEREMONY.key_shares[i], TALLY.alpha) for i in (1, 2)}
    with pytest.raises(InvalidInput, match="at least 3"):
        combine_shares(shares, 3)
    with pytest.raises(InvalidInput):
        combine_shares({}, 1)


def test_quorum_minus_one_shares_interpolate_to_the_wrong_value() -> None:
    # Bypass combine_shares's quorum check with the coefficients themselves.
    for subset in itertools.combinations(range(1, 6), 2):
        combined = IDENTITY
        for index in subset:
            share = mul(CEREMONY.key_shares[index], TALLY.alpha)
            combined = combined + mul(lagrange_coefficient(index, subset), share)
        assert combined != mul(CEREMONY.secret, TALLY.alpha)
        with pytest.raises(TallyOutOfRange):
            dlog.discrete_log(TALLY.beta - combined, len(VOTES))


def test_combine_refuses_out_of_range_indices() -> None:
    share = mul(CEREMONY.key_shares[1], TALLY.alpha)
    with pytest.raises(InvalidInput):
        combine_shares({0: share, 1: share, 2: share}, 3)
    with pytest.raises(InvalidInput):
        combine_shares({1: share, 2: share, MAX_GUARDIANS + 1: share}, 3)


def test_combining_a_wrong_share_gives_a_wrong_tally() -> None:
    # Combination itself does not check shares; the proofs do (see test_chaum_pedersen).
    shares = {i: mul(CEREMONY.key_shares[i], TALLY.alpha) for i in (1, 2, 3)}
    shares[2] = shares[2] + base_mul(Scalar(1))
    assert combine_shares(shares, 3) != mul(CEREMONY.secret, TALLY.alpha)


def test_identity_shares_combine_to_the_identity() -> None:
    assert combine_shares({1: IDENTITY, 2: IDENTITY, 3: IDENTITY}, 3) == IDENTITY


def test_zero_tally_decodes_to_zero() -> None:
    # A selection tally of 0: T = Bc − M = I.
    zero_tally = sum_ciphertexts([encrypt(0, random_scalar(), CEREMONY.key) for _ in range(4)])
    for subset in [(1, 2, 3), (3, 4, 5)]:
        shares = {i: mul(CEREMONY.key_shares[i], zero_tally.alpha) for i in subset}
        assert zero_tally.beta - combine_shares(shares, 3) == IDENTITY
        assert _decrypt(CEREMONY, zero_tally, subset, 4) == 0


def test_quorum_of_one_and_quorum_of_all() -> None:
    for guardians, quorum in [(1, 1), (3, 1), (3, 3)]:
        ceremony = _ceremony(guardians, quorum)
        tally = encrypt(2, random_scalar(), ceremony.key) + encrypt(
            1, random_scalar(), ceremony.key
        )
        for size in range(quorum, guardians + 1):
            for subset in itertools.combinations(range(1, guardians + 1), size):
                assert _decrypt(ceremony, tally, subset, 3) == 3
