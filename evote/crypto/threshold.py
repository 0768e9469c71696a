"""Shamir shares with Feldman commitments, and Lagrange combination (crypto spec §3.5, §3.9.2).

Each guardian ``i`` deals a polynomial ``P_i(x) = Σ_j a_{i,j}·x^j`` of degree ``t − 1`` and
publishes ``K_{i,j} = a_{i,j}·B``. Guardian ``ℓ`` receives ``s_{i,ℓ} = P_i(ℓ)`` and checks it
against the commitments. The joint key is ``K = Σ_i K_{i,0}``, guardian ``ℓ``'s share of the
joint secret is ``z_ℓ = Σ_i s_{i,ℓ}`` and its public verification key is
``K̂_ℓ = Σ_i Σ_j ℓ^j·K_{i,j}``. Any ``t`` shares combine with Lagrange coefficients
``w_ℓ = Π_{m≠ℓ} m·(m − ℓ)^{-1}``; ``t − 1`` shares reveal nothing.

Guardian indices are 1..n (0 would be the secret itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from evote.crypto.group import IDENTITY, L, Point, Scalar, base_mul, mul
from evote.crypto.rng import random_scalar
from evote.errors import InvalidInput, ShareError

#: Guardian indices must stay far below L so that ``m − ℓ`` is never 0 mod L.
MAX_GUARDIANS: Final = 1000


def _check_index(index: int) -> None:
    if not 1 <= index <= MAX_GUARDIANS:
        raise InvalidInput(f"guardian indices run from 1 to {MAX_GUARDIANS}, got {index}")


@dataclass(frozen=True, slots=True)
class Polynomial:
    """A dealer's secret polynomial; ``coefficients[0]`` is its contribution to the secret."""

    coefficients: tuple[Scalar, ...]

    @classmethod
    def random(cls, quorum: int) -> Polynomial:
        """A uniformly random polynomial of degree ``quorum − 1`` with non-zero coefficients."""
        if quorum < 1:
            raise InvalidInput(f"the quorum must be at least 1, got {quorum}")
        return cls(tuple(random_scalar() for _ in range(quorum)))

    def evaluate(self, index: int) -> Scalar:
        """``P(index) mod L`` by Horner's rule."""
        _check_index(index)
        result = 0
        for coefficient in reversed(self.coefficients):
            result = (result * index + coefficient.value) % L
        return Scalar(result)

    def commitments(self) -> tuple[Point, ...]:
        """Feldman commitments ``a_j·B``."""
        return tuple(base_mul(coefficient) for coefficient in self.coefficients)


def _evaluate_in_exponent(commitments: Sequence[Point], index: int) -> Point:
    """``Σ_j (index^j mod L)·C_j``."""
    result = IDENTITY
    power = 1
    for commitment in commitments:
        result = result + mul(Scalar(power), commitment)
        power = power * index % L
    return result


def verify_share(share: Scalar, index: int, commitments: Sequence[Point]) -> None:
    """Raise :class:`ShareError` unless ``share·B = Σ_j index^j·K_j`` (Feldman's check)."""
    _check_index(index)
    if not commitments:
        raise InvalidInput("a dealer publishes at least one commitment")
    if base_mul(share) != _evaluate_in_exponent(commitments, index):
        raise ShareError(f"the share for guardian {index} does not match the dealer's commitments")


def joint_key(commitment_sets: Iterable[Sequence[Point]]) -> Point:
    """``K = Σ_i K_{i,0}`` over the qualified dealers."""
    key = IDENTITY
    for commitments in commitment_sets:
        key = key + commitments[0]
    if key.is_identity():
        raise InvalidInput("the joint key is the identity: the dealers' constants cancel out")
    return key


def verification_key(index: int, commitment_sets: Sequence[Sequence[Point]]) -> Point:
    """``K̂_ℓ = Σ_i Σ_j ℓ^j·K_{i,j}``, computable by anyone from the public commitments.

    The dealers' commitments are summed per degree first, so this costs ``t`` multiplications
    whatever the number of dealers.
    """
    _check_index(index)
    if not commitment_sets:
        raise InvalidInput("no dealers' commitments given")
    quorum = len(commitment_sets[0])
    if any(len(commitments) != quorum for commitments in commitment_sets):
        raise InvalidInput("every dealer commits to the same number of coefficients")
    summed = []
    for degree in range(quorum):
        total = IDENTITY
        for commitments in commitment_sets:
            total = total + commitments[degree]
        summed.append(total)
    return _evaluate_in_exponent(summed, index)


def lagrange_coefficient(index: int, indices: Iterable[int]) -> Scalar:
    """``w_ℓ = Π_{m ∈ S, m ≠ ℓ} m·(m − ℓ)^{-1} mod L`` for interpolation at 0."""
    _check_index(index)
    numerator, denominator = 1, 1
    seen = set()
    for other in indices:
        _check_index(other)
        if other in seen:
            raise InvalidInput(f"guardian {other} appears twice in the decrypting set")
        seen.add(other)
        if other == index:
            continue
        numerator = numerator * other % L
        denominator = denominator * (other - index) % L
    if index not in seen:
        raise InvalidInput(f"guardian {index} is not in the decrypting set")
    return Scalar(numerator * pow(denominator, -1, L))


def combine_shares(shares: Mapping[int, Point], quorum: int) -> Point:
    """``M = Σ_{ℓ∈S} w_ℓ·M_ℓ`` from at least ``quorum`` distinct guardians' shares."""
    if len(shares) < quorum:
        raise InvalidInput(
            f"decryption needs shares from at least {quorum} guardians, got {len(shares)}"
        )
    indices = sorted(shares)
    combined = IDENTITY
    for index in indices:
        combined = combined + mul(lagrange_coefficient(index, indices), shares[index])
    return combined
