"""The only module of the crypto core that touches operating-system randomness.

Randomness comes from :mod:`secrets` (the kernel's ``getrandom``; fork-safe). Proof nonces
are *hedged* (crypto spec §3.6.1): fresh randomness is hashed together with the witness and
the statement, so that a broken RNG alone, or re-proving the same witness under another
statement alone, cannot repeat a nonce.
"""

from __future__ import annotations

import math
import secrets
from typing import Final

from evote.crypto.encoding import Value
from evote.crypto.group import L, Scalar
from evote.crypto.hashing import hash32, hash_to_scalar
from evote.errors import InvalidInput

#: Extra bits drawn beyond a big-integer bound, so that reducing modulo it is unbiased to 2^-128.
_BIAS_BITS: Final = 128
#: Bytes per block of ``H32`` output when expanding a hedged big-integer nonce.
_BLOCK_BYTES: Final = 32


def random_bytes(length: int) -> bytes:
    """``length`` bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(length)


def random_below(bound: int) -> int:
    """A uniform integer in ``[0, bound)``."""
    return secrets.randbelow(bound)


def random_scalar() -> Scalar:
    """A uniform non-zero scalar (R4: 64 bytes reduced mod L, bias below 2^-259)."""
    while True:
        value = int.from_bytes(random_bytes(64), "little") % L
        if value:
            return Scalar(value)


def hedged_scalar(witness: Scalar, statement: Value, branch: int) -> Scalar:
    """A non-zero proof nonce ``Hq("proof-nonce", fresh, witness, statement, branch)``."""
    while True:
        nonce = hash_to_scalar("proof-nonce", random_bytes(32), witness, statement, branch)
        if not nonce.is_zero():
            return nonce


def random_unit(modulus: int) -> int:
    """A uniform element of ``Z*_modulus``: in ``[1, modulus)`` and coprime to it.

    Paillier encryption nonces ``ρ`` (crypto spec §4.3) must be units: ``ρ = 0`` would even make
    phe draw its own, unknown, randomness.
    """
    if modulus < 2:
        raise InvalidInput(f"Z*_m needs a modulus of at least 2, got {modulus}")
    while True:
        value = secrets.randbelow(modulus)
        if value and math.gcd(value, modulus) == 1:
            return value


def hedged_below(bound: int, witness: Value, statement: Value, branch: int) -> int:
    """A hedged big-integer proof nonce in ``[0, bound)`` (crypto spec §3.6.1, for Paillier).

    Fresh randomness is hashed with the witness, the statement and the branch, block after
    block of ``H32("paillier/proof-nonce", fresh, witness, statement, branch, counter)``, to
    128 bits beyond the bound, then reduced (bias below 2^-128). As with :func:`hedged_scalar`,
    neither a broken RNG alone nor re-proving the same witness under another statement alone
    repeats a nonce.
    """
    if bound < 1:
        raise InvalidInput(f"a nonce bound must be positive, got {bound}")
    fresh = random_bytes(32)
    blocks = (bound.bit_length() + _BIAS_BITS + 8 * _BLOCK_BYTES - 1) // (8 * _BLOCK_BYTES)
    stream = b"".join(
        hash32("paillier/proof-nonce", fresh, witness, statement, branch, counter)
        for counter in range(blocks)
    )
    return int.from_bytes(stream, "big") % bound
