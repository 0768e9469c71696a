"""The compact ``(c, v)`` form shared by single-statement Σ-protocol proofs (crypto spec §1).

The verifier recomputes the commitments from ``(c, v)`` and re-hashes, so the commitments
themselves are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from evote.crypto.group import SCALAR_BYTES, Scalar
from evote.errors import DecodeError

COMPACT_PROOF_BYTES: Final = 2 * SCALAR_BYTES


@dataclass(frozen=True, slots=True)
class CompactProof:
    """A challenge ``c`` and a response ``v = u − c·x``."""

    challenge: Scalar
    response: Scalar

    def encode(self) -> bytes:
        return self.challenge.encode() + self.response.encode()

    @classmethod
    def decode(cls, data: bytes) -> CompactProof:
        """Parse ``c ‖ v``; both scalars must be canonical (R3)."""
        if len(data) != COMPACT_PROOF_BYTES:
            raise DecodeError(f"a (c, v) proof is {COMPACT_PROOF_BYTES} bytes, got {len(data)}")
        return cls(Scalar.decode(data[:SCALAR_BYTES]), Scalar.decode(data[SCALAR_BYTES:]))
