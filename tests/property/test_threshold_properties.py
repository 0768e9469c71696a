"""Hypothesis properties of threshold decryption (crypto spec §3.5, §3.9.2, §7)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from evote.crypto.dlog import discrete_log
from evote.crypto.elgamal import Ciphertext, encrypt, sum_ciphertexts
from evote.crypto.group import IDENTITY, L, Point, Scalar, base_mul, mul
from evote.crypto.proofs.chaum_pedersen import prove_decryption_share, verify_decryption_share
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.threshold import (
    MAX_GUARDIANS,
    Polynomial,
    combine_shares,
    joint_key,
    lagrange_coefficient,
    verification_key,
    verify_share,
)
from evote.errors import ShareError

TARGET = DecryptionTarget(b"\x99" * 32, b"property-tally")
nonzero_scalars = st.integers(min_value=1, max_value=L - 1).map(Scalar)


@dataclasses.dataclass(frozen=True)
class Setup:
    guardians: int
    quorum: int
    polynomials: tuple[Polynomial, ...]
    key: Point
    key_shares: dict[int, Scalar]
    verification_keys: dict[int, Point]
    secret: Scalar


@st.composite
def setups(draw: st.DrawFn, *, min_quorum: int = 1) -> Setup:
    """An honest key ceremony with random 1 ≤ t ≤ n ≤ 7 and random coefficients."""
    guardians = draw(st.integers(min_value=min_quorum, max_value=7), label="n")
    quorum = draw(st.integers(min_value=min_quorum, max_value=guardians), label="t")
    polynomials = tuple(
        Polynomial(tuple(draw(st.lists(nonzero_scalars, min_size=quorum, max_size=quorum))))
        for _ in range(guardians)
    )
    commitments = [p.commitments() for p in polynomials]
    secret = Scalar(sum(p.coefficients[0].value for p in polynomials))
    # Constants that cancel give the identity key, which joint_key refuses (tested elsewhere).
    assume(not secret.is_zero())
    indices = range(1, guardians + 1)
    key_shares = {i: Scalar(sum(p.evaluate(i).value for p in polynomials)) for i in indices}
    verification_keys = {i: verification_key(i, commitments) for i in indices}
    return Setup(
        guardians,
        quorum,
        polynomials,
        joint_key(commitments),
        key_shares,
        verification_keys,
        secret,
    )


def _tally(setup: Setup, votes: list[int], nonces: list[Scalar]) -> Ciphertext:
    return sum_ciphertexts([encrypt(v, n, setup.key) for v, n in zip(votes, nonces, strict=True)])


def _shares(setup: Setup, ciphertext: Ciphertext, subset: list[int]) -> dict[int, Point]:
    shares = {}
    for index in subset:
        share = prove_decryption_share(ciphertext, setup.key_shares[index], index, TARGET)
        verify_decryption_share(ciphertext, share, setup.verification_keys[index], TARGET)
        shares[index] = share.share
    return shares


@given(setup=setups(), data=st.data())
def test_threshold_decryption_is_correct(setup: Setup, data: st.DataObject) -> None:
    votes = data.draw(st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=5))
    nonces = data.draw(st.lists(nonzero_scalars, min_size=len(votes), max_size=len(votes)))
    size = data.draw(st.integers(min_value=setup.quorum, max_value=setup.guardians), label="|S|")
    subset = data.draw(
        st.permutations(range(1, setup.guardians + 1)).map(lambda p: list(p[:size])), label="S"
    )
    ciphertext = _tally(setup, votes, nonces)
    combined = combine_shares(_shares(setup, ciphertext, subset), setup.quorum)
    assert combined == mul(setup.secret, ciphertext.alpha)
    assert discrete_log(ciphertext.beta - combined, 3 * len(votes)) == sum(votes)


@given(setup=setups(), data=st.data())
def test_key_shares_match_verification_keys_and_interpolate(
    setup: Setup, data: st.DataObject
) -> None:
    for index, share in setup.key_shares.items():
        assert base_mul(share) == setup.verification_keys[index]
    size = data.draw(st.integers(min_value=setup.quorum, max_value=setup.guardians), label="|S|")
    subset = data.draw(
        st.permutations(range(1, setup.guardians + 1)).map(lambda p: list(p[:size])), label="S"
    )
    total = Scalar(0)
    for index in subset:
        total = total + lagrange_coefficient(index, subset) * setup.key_shares[index]
    assert total == setup.secret
    assert setup.key == base_mul(setup.secret)


@given(
    subset=st.lists(
        st.integers(min_value=1, max_value=MAX_GUARDIANS), min_size=1, max_size=12, unique=True
    )
)
def test_lagrange_coefficients_sum_to_one(subset: list[int]) -> None:
    assert sum(lagrange_coefficient(index, subset).value for index in subset) % L == 1


@given(setup=setups(min_quorum=2), data=st.data())
def test_quorum_minus_one_shares_give_the_wrong_result(setup: Setup, data: st.DataObject) -> None:
    votes = data.draw(st.lists(st.integers(min_value=0, max_value=1), min_size=1, max_size=4))
    nonces = data.draw(st.lists(nonzero_scalars, min_size=len(votes), max_size=len(votes)))
    subset = data.draw(
        st.permutations(range(1, setup.guardians + 1)).map(lambda p: list(p[: setup.quorum - 1])),
        label="S",
    )
    # The claim needs a joint polynomial of full degree t − 1 and a non-trivial A: with a zero
    # leading coefficient t − 1 points do determine P(0), and with A = I every share is I.
    assume(not Scalar(sum(p.coefficients[-1].value for p in setup.polynomials)).is_zero())
    ciphertext = _tally(setup, votes, nonces)
    assume(not ciphertext.alpha.is_identity())
    shares = _shares(setup, ciphertext, subset)
    # combine_shares refuses this; interpolate by hand with the coefficients.
    combined = IDENTITY
    for index, share in shares.items():
        combined = combined + mul(lagrange_coefficient(index, subset), share)
    assert combined != mul(setup.secret, ciphertext.alpha)
    assert ciphertext.beta - combined != base_mul(Scalar(sum(votes)))
    # The key shares alone do not interpolate to the secret either.
    interpolated = Scalar(0)
    for index in subset:
        interpolated = interpolated + lagrange_coefficient(index, subset) * setup.key_shares[index]
    assert interpolated != setup.secret


@given(
    coefficients=st.lists(nonzero_scalars, min_size=1, max_size=6),
    index=st.integers(min_value=1, max_value=MAX_GUARDIANS),
    delta=nonzero_scalars,
)
def test_feldman_check_accepts_exactly_the_right_share(
    coefficients: list[Scalar], index: int, delta: Scalar
) -> None:
    polynomial = Polynomial(tuple(coefficients))
    commitments = polynomial.commitments()
    share = polynomial.evaluate(index)
    verify_share(share, index, commitments)
    with pytest.raises(ShareError):
        verify_share(share + delta, index, commitments)
