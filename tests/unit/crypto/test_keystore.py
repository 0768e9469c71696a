"""Secrets at rest under a passphrase (crypto spec §3.5 round 5, §6): Argon2id → SecretBox."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable

import nacl.pwhash
import nacl.secret
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evote.crypto import keystore
from evote.crypto.keystore import (
    HEADER_BYTES,
    INTERACTIVE,
    MAGIC,
    MODERATE,
    SENSITIVE,
    TAG_BYTES,
    KdfLimits,
    limits_of,
    open_with_passphrase,
    seal_with_passphrase,
)
from evote.errors import InvalidInput, KeystoreError

PASSPHRASE = b"correct horse battery staple"
SECRET = b"z_l = 0x0123456789abcdef, and the guardian's identity seed"

#: Every header field: (name, offset, size). The box follows the header.
FIELDS = [
    ("magic", 0, 8),
    ("version", 8, 1),
    ("kdf", 9, 1),
    ("opslimit", 10, 4),
    ("memlimit", 14, 8),
    ("salt", 22, 16),
    ("nonce", 38, 24),
]


@pytest.fixture(scope="module")
def sealed() -> bytes:
    return seal_with_passphrase(PASSPHRASE, SECRET, INTERACTIVE)


def flip(data: bytes, position: int, bit: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 1 << bit
    return bytes(changed)


@given(
    plaintext=st.binary(max_size=2048),
    passphrase=st.binary(min_size=1, max_size=64),
    other=st.binary(min_size=1, max_size=64),
)
def test_round_trip_and_only_the_passphrase_opens(
    plaintext: bytes, passphrase: bytes, other: bytes
) -> None:
    data = seal_with_passphrase(passphrase, plaintext, INTERACTIVE)
    assert len(data) == HEADER_BYTES + len(plaintext) + TAG_BYTES
    assert open_with_passphrase(passphrase, data) == plaintext
    if other != passphrase:
        with pytest.raises(KeystoreError, match="wrong passphrase"):
            open_with_passphrase(other, data)


def test_the_format_is_as_documented(sealed: bytes) -> None:
    """An independent reading of the documented layout, with PyNaCl and hashlib directly."""
    header = sealed[:HEADER_BYTES]
    magic, version, kdf, ops, mem = struct.unpack(">8sBBIQ", header[:22])
    assert (magic, version, kdf) == (b"\x89EVOTE\r\n", 1, 1)
    assert (ops, mem) == (INTERACTIVE.opslimit, INTERACTIVE.memlimit)
    salt, nonce = header[22:38], header[38:62]
    stretched = nacl.pwhash.argon2id.kdf(32, PASSPHRASE, salt, opslimit=ops, memlimit=mem)
    key = hashlib.blake2b(header, digest_size=32, key=stretched, person=b"evote-keystore")
    plaintext = nacl.secret.SecretBox(key.digest()).decrypt(sealed[HEADER_BYTES:], nonce)
    assert plaintext == SECRET
    assert SECRET not in sealed


def test_every_sealing_draws_a_fresh_salt_and_nonce() -> None:
    first = seal_with_passphrase(PASSPHRASE, SECRET, INTERACTIVE)
    second = seal_with_passphrase(PASSPHRASE, SECRET, INTERACTIVE)
    assert first[22:38] != second[22:38]
    assert first[38:62] != second[38:62]
    assert first[HEADER_BYTES:] != second[HEADER_BYTES:]


def test_the_limits_are_stored_and_read_back() -> None:
    data = seal_with_passphrase(PASSPHRASE, SECRET, MODERATE)
    assert limits_of(data) == MODERATE
    assert open_with_passphrase(PASSPHRASE, data) == SECRET


@pytest.mark.parametrize(("name", "offset", "size"), FIELDS)
@pytest.mark.parametrize("end", ["first", "last"])
@pytest.mark.parametrize("bit", [0, 7])
def test_tampering_with_any_header_field_is_refused(
    sealed: bytes, name: str, offset: int, size: int, end: str, bit: int
) -> None:
    position = offset if end == "first" else offset + size - 1
    with pytest.raises(KeystoreError):
        open_with_passphrase(PASSPHRASE, flip(sealed, position, bit))


def test_the_low_bits_of_memlimit_are_authenticated_too(sealed: bytes) -> None:
    """libsodium counts memory in KiB, so Argon2id alone ignores these bits: the header is
    bound into the box key, and the tag fails."""
    last = 14 + 8 - 1
    changed = flip(sealed, last, 0)
    assert limits_of(changed).memlimit == INTERACTIVE.memlimit ^ 1
    with pytest.raises(KeystoreError, match="wrong passphrase, or the key file was altered"):
        open_with_passphrase(PASSPHRASE, changed)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_tampering_with_the_box_is_refused(sealed: bytes, where: str) -> None:
    position = {"first": HEADER_BYTES, "middle": (HEADER_BYTES + len(sealed)) // 2}.get(
        where, len(sealed) - 1
    )
    with pytest.raises(KeystoreError, match="wrong passphrase, or the key file was altered"):
        open_with_passphrase(PASSPHRASE, flip(sealed, position, 3))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: b"PK\x03\x04" + data[4:], "not an evote key file"),
        (lambda data: data[:8] + b"\x02" + data[9:], "version 2 is not supported"),
        (lambda data: data[:9] + b"\x02" + data[10:], "KDF 2 is unknown"),
        (lambda data: data[:10] + struct.pack(">I", 1) + data[14:], "outside"),
        (lambda data: data[:14] + struct.pack(">Q", 1 << 40) + data[22:], "outside"),
        (lambda data: data[: HEADER_BYTES + TAG_BYTES - 1], "truncated"),
        (lambda data: data[:-1], "wrong passphrase"),
        (lambda data: data + b"\x00", "wrong passphrase"),
        (lambda data: b"", "not an evote key file"),
    ],
)
def test_malformed_files_name_the_problem(
    sealed: bytes, change: Callable[[bytes], bytes], message: str
) -> None:
    with pytest.raises(KeystoreError, match=message):
        open_with_passphrase(PASSPHRASE, change(sealed))


def test_the_magic_is_binary_and_catches_newline_conversion() -> None:
    assert MAGIC[0] & 0x80
    assert b"\r\n" in MAGIC


@pytest.mark.parametrize(
    "limits",
    [
        KdfLimits(INTERACTIVE.opslimit - 1, INTERACTIVE.memlimit),
        KdfLimits(INTERACTIVE.opslimit, INTERACTIVE.memlimit - 1024),
        KdfLimits(SENSITIVE.opslimit + 1, SENSITIVE.memlimit),
        KdfLimits(SENSITIVE.opslimit, SENSITIVE.memlimit + 1024),
    ],
)
def test_limits_outside_the_presets_are_refused_when_sealing(limits: KdfLimits) -> None:
    with pytest.raises(InvalidInput, match="outside"):
        seal_with_passphrase(PASSPHRASE, SECRET, limits)


@pytest.mark.parametrize("passphrase", [b"", b"x" * (keystore.MAX_PASSPHRASE_BYTES + 1)])
def test_passphrase_length_is_checked_both_ways(sealed: bytes, passphrase: bytes) -> None:
    with pytest.raises(InvalidInput, match="passphrase"):
        seal_with_passphrase(passphrase, SECRET, INTERACTIVE)
    with pytest.raises(InvalidInput, match="passphrase"):
        open_with_passphrase(passphrase, sealed)


def test_the_presets_are_libsodiums() -> None:
    assert keystore.PRESETS == {
        "interactive": INTERACTIVE,
        "moderate": MODERATE,
        "sensitive": SENSITIVE,
    }
    assert KdfLimits(3, 256 * 1024 * 1024) == MODERATE
