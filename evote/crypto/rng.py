"""The only module of the crypto core that touches operating-system randomness.

Randomness comes from :mod:`secrets` (the kernel's ``getrandom``; fork-safe). Proof nonces
are *hedged* (crypto spec §3.6.1): fresh randomness is hashed together with the witness and
the statement, so that a broken RNG alone, or re-proving the same witness under another
statement alone, cannot repeat a nonce.
"""

from __future__ import annotations

import secrets

from evote.crypto.encoding import Value
from evote.crypto.group import L, Scalar
from evote.crypto.hashing import hash_to_scalar


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
