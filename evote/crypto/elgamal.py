"""Exponential ElGamal on G (crypto spec §3.6.2, §3.8).

A vote ``σ`` under the joint key ``K`` with nonce ``ξ`` encrypts as ``(α, β) = (ξ·B, ξ·K + σ·B)``.
Ciphertexts add component-wise, so the sum of many votes decrypts to the sum of the values.
Decryption recovers ``σ·B = β − z·α``; the small ``σ`` is read off with :mod:`evote.crypto.dlog`.

Selection nonces are derived from a 32-byte ballot seed, so that a Benaloh audit reveals one
value from which every ciphertext of the ballot can be recomputed (§3.6.1, §3.7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from evote.crypto.encoding import Decoded, expect_bytes
from evote.crypto.group import (
    IDENTITY,
    POINT_BYTES,
    Point,
    Scalar,
    base_mul,
    mul,
    small_multiple,
)
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.rng import random_bytes
from evote.errors import DecodeError, InvalidInput

SEED_BYTES: Final = 32
CIPHERTEXT_BYTES: Final = 2 * POINT_BYTES


@dataclass(frozen=True, slots=True)
class Ciphertext:
    """``(α, β)``: ``alpha = ξ·B`` (the pad's public half), ``beta = ξ·K + σ·B``."""

    alpha: Point
    beta: Point

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha + other.alpha, self.beta + other.beta)

    def encode(self) -> bytes:
        """The packed 64-byte form ``α ‖ β`` used inside TLV ``bytes`` items."""
        return self.alpha.encode() + self.beta.encode()

    @classmethod
    def decode(cls, data: bytes) -> Ciphertext:
        """Parse ``α ‖ β``; both halves are validated and neither may be the identity."""
        if len(data) != CIPHERTEXT_BYTES:
            raise DecodeError(f"a ciphertext is {CIPHERTEXT_BYTES} bytes, got {len(data)}")
        return cls(Point.decode(data[:POINT_BYTES]), Point.decode(data[POINT_BYTES:]))

    @classmethod
    def from_tlv(cls, value: Decoded, *, what: str) -> Ciphertext:
        return cls.decode(expect_bytes(value, CIPHERTEXT_BYTES, what=what))


#: The encryption of 0 with nonce 0: the neutral element of homomorphic addition.
ZERO_CIPHERTEXT: Final = Ciphertext(IDENTITY, IDENTITY)


def encrypt(value: int, nonce: Scalar, key: Point) -> Ciphertext:
    """Encrypt a small non-negative ``value`` under ``key`` with ``nonce`` (1F + 1V + ≤1 add)."""
    if nonce.is_zero():
        raise InvalidInput("an encryption nonce must be non-zero")
    if key.is_identity():
        raise InvalidInput("the election key cannot be the identity")
    pad = mul(nonce, key)
    beta = pad if value == 0 else pad + small_multiple(value)
    return Ciphertext(base_mul(nonce), beta)


def sum_ciphertexts(ciphertexts: list[Ciphertext]) -> Ciphertext:
    """The homomorphic sum; :data:`ZERO_CIPHERTEXT` for an empty list."""
    total = ZERO_CIPHERTEXT
    for ciphertext in ciphertexts:
        total = total + ciphertext
    return total


def decrypt_to_point(ciphertext: Ciphertext, secret: Scalar) -> Point:
    """``β − z·α = σ·B`` with the whole secret ``z`` (tests and single-key tools only)."""
    return ciphertext.beta - mul(secret, ciphertext.alpha)


def new_ballot_seed() -> bytes:
    """A fresh 32-byte ballot seed ``ξ_B``; never reuse one after an audit."""
    return random_bytes(SEED_BYTES)


def selection_nonce(
    election_hash: bytes, binding: bytes, seed: bytes, contest_index: int, selection_index: int
) -> Scalar:
    """``ξ_{c,s} = Hq("selection-nonce", H_E, D_b, ξ_B, c, s)`` (§3.6.1).

    Raises :class:`InvalidInput` in the 2^-252 case of a zero nonce: draw a new seed.
    """
    if len(seed) != SEED_BYTES:
        raise InvalidInput(f"a ballot seed is {SEED_BYTES} bytes, got {len(seed)}")
    nonce = hash_to_scalar(
        "selection-nonce", election_hash, binding, seed, contest_index, selection_index
    )
    if nonce.is_zero():
        raise InvalidInput("this ballot seed derives a zero nonce; draw a new seed")
    return nonce
