"""Secrets at rest under a passphrase: Argon2id derives a key, ``SecretBox`` seals the data.

Crypto spec §3.5 (a guardian "stores z_ℓ encrypted at rest (nacl.pwhash.argon2id →
nacl.secret.SecretBox)") and §6 (Python cannot erase memory, so guardian secrets stay
encrypted at rest and are decrypted on the guardian's own machine for one command at a time).
The only module that uses ``nacl.pwhash`` and ``nacl.secret``.

A sealed file is self-describing and versioned (integers big-endian)::

    offset  size  field
    0       8     magic      89 'E' 'V' 'O' 'T' 'E' 0d 0a  (binary; shows text-mode mangling)
    8       1     version    1
    9       1     KDF        1 = Argon2id v1.3 (libsodium's crypto_pwhash_ALG_ARGON2ID13)
    10      4     opslimit   Argon2id passes
    14      8     memlimit   Argon2id memory, in bytes
    22      16    salt       fresh for every sealing
    38      24    nonce      fresh for every sealing
    62      ≥ 16  box        XSalsa20-Poly1305 of the plaintext under the derived key, with tag

The box key is ``BLAKE2b-256(key = Argon2id(passphrase, salt, limits), message = header)``, so
every header byte is authenticated: changing any of them makes the tag fail exactly like a
wrong passphrase does. (Argon2id alone would not do: libsodium counts memory in KiB, so the
low ten bits of ``memlimit`` do not change its output.) Both raise :class:`KeystoreError`; no
other error escapes, and nothing is returned unless the tag checks.

The Argon2id cost is a parameter (:class:`KdfLimits`, with libsodium's interactive, moderate
and sensitive presets) stored in the header, so a file opens with the cost it was sealed with.
Limits below :data:`INTERACTIVE` or above :data:`SENSITIVE` are refused both ways: a key file
cannot be made cheap to attack by mistake, and a crafted file cannot make opening it exhaust
the machine.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Final

import nacl.exceptions
import nacl.pwhash
import nacl.secret

from evote.crypto.rng import random_bytes
from evote.errors import InvalidInput, KeystoreError

MAGIC: Final = b"\x89EVOTE\r\n"
VERSION: Final = 1
KDF_ARGON2ID13: Final = 1
SALT_BYTES: Final = nacl.pwhash.argon2id.SALTBYTES
NONCE_BYTES: Final = nacl.secret.SecretBox.NONCE_SIZE
KEY_BYTES: Final = nacl.secret.SecretBox.KEY_SIZE
TAG_BYTES: Final = nacl.secret.SecretBox.MACBYTES
#: magic, version, KDF, opslimit, memlimit, salt, nonce.
_HEADER: Final = struct.Struct(f">8sBBIQ{SALT_BYTES}s{NONCE_BYTES}s")
HEADER_BYTES: Final = _HEADER.size
_PERSON: Final = b"evote-keystore"
#: A passphrase is 1 to this many bytes (UTF-8 of NFC text, chosen by the caller).
MAX_PASSPHRASE_BYTES: Final = 4096


@dataclass(frozen=True, slots=True)
class KdfLimits:
    """Argon2id's cost: ``opslimit`` passes over ``memlimit`` bytes of memory."""

    opslimit: int
    memlimit: int

    def check(self) -> None:
        """Raise :class:`InvalidInput` unless both limits lie in the accepted range."""
        if not (
            INTERACTIVE.opslimit <= self.opslimit <= SENSITIVE.opslimit
            and INTERACTIVE.memlimit <= self.memlimit <= SENSITIVE.memlimit
        ):
            raise InvalidInput(
                f"Argon2id limits ops={self.opslimit}, mem={self.memlimit} are outside "
                f"[{INTERACTIVE.opslimit}, {SENSITIVE.opslimit}] passes and "
                f"[{INTERACTIVE.memlimit}, {SENSITIVE.memlimit}] bytes"
            )


#: libsodium's presets: about 0.1 s and 64 MiB, 0.5 s and 256 MiB, 3 s and 1 GiB on one core.
INTERACTIVE: Final = KdfLimits(
    nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
)
MODERATE: Final = KdfLimits(
    nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE
)
SENSITIVE: Final = KdfLimits(
    nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE, nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE
)
PRESETS: Final = {"interactive": INTERACTIVE, "moderate": MODERATE, "sensitive": SENSITIVE}


def _check_passphrase(passphrase: bytes) -> None:
    if not 1 <= len(passphrase) <= MAX_PASSPHRASE_BYTES:
        raise InvalidInput(f"a passphrase is 1 to {MAX_PASSPHRASE_BYTES} bytes")


def _box(passphrase: bytes, header: bytes, salt: bytes, limits: KdfLimits) -> nacl.secret.SecretBox:
    """The SecretBox whose key binds the passphrase (through Argon2id) and the whole header."""
    try:
        stretched = nacl.pwhash.argon2id.kdf(
            KEY_BYTES, passphrase, salt, opslimit=limits.opslimit, memlimit=limits.memlimit
        )
    except nacl.exceptions.CryptoError as exc:  # e.g. the memory cannot be allocated
        raise KeystoreError(f"the key derivation (Argon2id) failed: {exc}") from exc
    key = hashlib.blake2b(header, digest_size=KEY_BYTES, key=stretched, person=_PERSON).digest()
    return nacl.secret.SecretBox(key)


def seal_with_passphrase(
    passphrase: bytes, plaintext: bytes, limits: KdfLimits = MODERATE
) -> bytes:
    """The sealed file: a fresh salt and nonce, the header above, then the box."""
    _check_passphrase(passphrase)
    limits.check()
    salt, nonce = random_bytes(SALT_BYTES), random_bytes(NONCE_BYTES)
    header = _HEADER.pack(
        MAGIC, VERSION, KDF_ARGON2ID13, limits.opslimit, limits.memlimit, salt, nonce
    )
    box = _box(passphrase, header, salt, limits)
    try:
        sealed = box.encrypt(plaintext, nonce)
    except nacl.exceptions.CryptoError as exc:
        raise KeystoreError(f"cannot seal: {exc}") from exc
    return header + bytes(sealed.ciphertext)


@dataclass(frozen=True, slots=True)
class _Parsed:
    header: bytes
    limits: KdfLimits
    salt: bytes
    nonce: bytes
    box: bytes


def _parse(sealed: bytes) -> _Parsed:
    if not sealed.startswith(MAGIC):
        raise KeystoreError("not an evote key file (its first bytes are not the key-file magic)")
    if len(sealed) < HEADER_BYTES + TAG_BYTES:
        raise KeystoreError(f"the key file is truncated ({len(sealed)} bytes)")
    _, version, kdf, opslimit, memlimit, salt, nonce = _HEADER.unpack_from(sealed)
    if version != VERSION:
        raise KeystoreError(
            f"key-file format version {version} is not supported (this evote reads {VERSION})"
        )
    if kdf != KDF_ARGON2ID13:
        raise KeystoreError(f"key-file KDF {kdf} is unknown (this evote knows 1, Argon2id v1.3)")
    limits = KdfLimits(opslimit, memlimit)
    try:
        limits.check()
    except InvalidInput as error:
        raise KeystoreError(f"the key file was altered or is not ours: {error}") from error
    return _Parsed(sealed[:HEADER_BYTES], limits, salt, nonce, sealed[HEADER_BYTES:])


def limits_of(sealed: bytes) -> KdfLimits:
    """The Argon2id limits a sealed file was made with (read from its header, unchecked)."""
    return _parse(sealed).limits


def open_with_passphrase(passphrase: bytes, sealed: bytes) -> bytes:
    """The plaintext, or :class:`KeystoreError` for a wrong passphrase or any altered byte."""
    _check_passphrase(passphrase)
    parsed = _parse(sealed)
    box = _box(passphrase, parsed.header, parsed.salt, parsed.limits)
    try:
        return bytes(box.decrypt(parsed.box, parsed.nonce))
    except nacl.exceptions.CryptoError as exc:
        raise KeystoreError(
            "wrong passphrase, or the key file was altered (its authentication tag does not "
            "check); nothing was changed"
        ) from exc
