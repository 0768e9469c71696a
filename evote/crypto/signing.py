"""Ed25519 signatures (RFC 8032) through PyNaCl: the only module that uses ``nacl.signing``.

Verification raises :class:`InvalidSignature`; it never returns a boolean. Verify keys are
validated as points of the prime-order subgroup when decoded (keys made by
:meth:`SigningKey.generate` always are), so a key with a torsion component cannot alias
another key's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import nacl.exceptions
import nacl.signing

from evote.crypto.group import Point
from evote.crypto.rng import random_bytes
from evote.errors import DecodeError, InvalidSignature

SEED_BYTES: Final = 32
VERIFY_KEY_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64


@dataclass(frozen=True, slots=True)
class VerifyKey:
    """An Ed25519 public key."""

    encoded: bytes

    @classmethod
    def decode(cls, data: bytes) -> VerifyKey:
        """Parse a 32-byte verify key; it must be a valid point of the prime-order subgroup."""
        if len(data) != VERIFY_KEY_BYTES:
            raise DecodeError(f"an Ed25519 verify key is {VERIFY_KEY_BYTES} bytes, got {len(data)}")
        Point.decode(data)
        return cls(data)

    def encode(self) -> bytes:
        return self.encoded

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise :class:`InvalidSignature` unless ``signature`` signs ``message`` under this key."""
        if len(signature) != SIGNATURE_BYTES:
            raise InvalidSignature(
                f"an Ed25519 signature is {SIGNATURE_BYTES} bytes, got {len(signature)}"
            )
        try:
            nacl.signing.VerifyKey(self.encoded).verify(message, signature)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError) as exc:
            raise InvalidSignature(
                f"signature does not verify under key {self.encoded.hex()}"
            ) from exc


class SigningKey:
    """An Ed25519 private key. Not a dataclass: its seed must not appear in reprs or logs."""

    __slots__ = ("_key",)

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise DecodeError(f"an Ed25519 seed is {SEED_BYTES} bytes, got {len(seed)}")
        self._key = nacl.signing.SigningKey(seed)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(random_bytes(SEED_BYTES))

    def seed(self) -> bytes:
        """The 32-byte secret seed, for encrypted storage only."""
        return bytes(self._key)

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(bytes(self._key.verify_key))

    def sign(self, message: bytes) -> bytes:
        """The detached 64-byte signature of ``message``."""
        return bytes(self._key.sign(message).signature)

    def __repr__(self) -> str:
        return f"SigningKey(verify_key={self.verify_key.encoded.hex()})"
