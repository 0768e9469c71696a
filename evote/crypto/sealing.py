"""Authenticated public-key encryption (``nacl.public.Box``) for key-ceremony shares.

Crypto spec §3.5 round 3: shares travel sealed from dealer to recipient with ceremony-only
X25519 keys (never converted from Ed25519 identity keys), inside signed board entries. ``Box``
authenticates the sender; the caller puts the context (election, sender, recipient) inside
the plaintext so a share cannot be replayed elsewhere. The only module that uses
``nacl.public``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import nacl.exceptions
import nacl.public

from evote.crypto.rng import random_bytes
from evote.errors import DecodeError, SealingError

TRANSPORT_KEY_BYTES: Final = 32
NONCE_BYTES: Final = 24
#: Nonce plus Poly1305 tag.
SEALING_OVERHEAD: Final = NONCE_BYTES + 16


@dataclass(frozen=True, slots=True)
class TransportPublicKey:
    """A ceremony-only X25519 public key."""

    encoded: bytes

    @classmethod
    def decode(cls, data: bytes) -> TransportPublicKey:
        if len(data) != TRANSPORT_KEY_BYTES:
            raise DecodeError(
                f"an X25519 public key is {TRANSPORT_KEY_BYTES} bytes, got {len(data)}"
            )
        return cls(data)

    def encode(self) -> bytes:
        return self.encoded


class TransportPrivateKey:
    """A ceremony-only X25519 private key; delete it when the ceremony ends."""

    __slots__ = ("_key",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) != TRANSPORT_KEY_BYTES:
            raise DecodeError(f"an X25519 private key is {TRANSPORT_KEY_BYTES} bytes")
        self._key = nacl.public.PrivateKey(secret)

    @classmethod
    def generate(cls) -> TransportPrivateKey:
        return cls(random_bytes(TRANSPORT_KEY_BYTES))

    def secret(self) -> bytes:
        """The 32 secret bytes, for encrypted storage only."""
        return bytes(self._key)

    @property
    def public_key(self) -> TransportPublicKey:
        return TransportPublicKey(bytes(self._key.public_key))

    def __repr__(self) -> str:
        return f"TransportPrivateKey(public_key={self.public_key.encoded.hex()})"


def _box(private: TransportPrivateKey, public: TransportPublicKey) -> nacl.public.Box:
    try:
        return nacl.public.Box(private._key, nacl.public.PublicKey(public.encoded))
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError) as exc:
        raise SealingError(f"unusable X25519 public key {public.encoded.hex()}: {exc}") from exc


def usable(key: TransportPublicKey) -> bool:
    """Whether an X25519 public key can be sealed to (libsodium refuses small-order keys)."""
    try:
        _box(TransportPrivateKey.generate(), key)
    except SealingError:
        return False
    return True


def seal(sender: TransportPrivateKey, recipient: TransportPublicKey, plaintext: bytes) -> bytes:
    """``nonce ‖ ciphertext`` of ``plaintext`` from ``sender`` to ``recipient``."""
    return bytes(_box(sender, recipient).encrypt(plaintext, random_bytes(NONCE_BYTES)))


def open_sealed(recipient: TransportPrivateKey, sender: TransportPublicKey, sealed: bytes) -> bytes:
    """The plaintext of ``sealed``, or :class:`SealingError` if it is not from ``sender`` to us."""
    if len(sealed) < SEALING_OVERHEAD:
        raise SealingError(
            f"a sealed message is at least {SEALING_OVERHEAD} bytes, got {len(sealed)}"
        )
    box = _box(recipient, sender)
    try:
        return bytes(box.decrypt(sealed))
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError) as exc:
        raise SealingError(
            "cannot open the sealed message: it was tampered with, or was not sealed by this "
            "sender for this recipient"
        ) from exc
