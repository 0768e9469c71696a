"""Authenticated public-key encryption of key-ceremony shares (crypto spec §3.5 round 3)."""

from __future__ import annotations

import pytest

from evote.crypto.sealing import (
    NONCE_BYTES,
    SEALING_OVERHEAD,
    TRANSPORT_KEY_BYTES,
    TransportPrivateKey,
    TransportPublicKey,
    open_sealed,
    seal,
)
from evote.errors import DecodeError, SealingError

PLAINTEXT = b"TLV(['share', H_B, 1, 2, s_12])"
#: X25519 public keys of small order: libsodium refuses a shared secret with them.
SMALL_ORDER_KEYS = [
    bytes(32),
    b"\x01" + bytes(31),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]


@pytest.fixture
def sender() -> TransportPrivateKey:
    return TransportPrivateKey.generate()


@pytest.fixture
def recipient() -> TransportPrivateKey:
    return TransportPrivateKey.generate()


def test_round_trip(sender: TransportPrivateKey, recipient: TransportPrivateKey) -> None:
    sealed = seal(sender, recipient.public_key, PLAINTEXT)
    assert len(sealed) == len(PLAINTEXT) + SEALING_OVERHEAD
    assert PLAINTEXT not in sealed
    assert open_sealed(recipient, sender.public_key, sealed) == PLAINTEXT


def test_empty_plaintext_round_trip(
    sender: TransportPrivateKey, recipient: TransportPrivateKey
) -> None:
    sealed = seal(sender, recipient.public_key, b"")
    assert len(sealed) == SEALING_OVERHEAD
    assert open_sealed(recipient, sender.public_key, sealed) == b""


def test_nonces_are_fresh(sender: TransportPrivateKey, recipient: TransportPrivateKey) -> None:
    first = seal(sender, recipient.public_key, PLAINTEXT)
    second = seal(sender, recipient.public_key, PLAINTEXT)
    assert first[:NONCE_BYTES] != second[:NONCE_BYTES]
    assert first != second


@pytest.mark.parametrize("position", [0, NONCE_BYTES - 1, NONCE_BYTES, NONCE_BYTES + 16, -1])
def test_tampered_message_is_rejected(
    sender: TransportPrivateKey, recipient: TransportPrivateKey, position: int
) -> None:
    sealed = bytearray(seal(sender, recipient.public_key, PLAINTEXT))
    sealed[position] ^= 0x80
    with pytest.raises(SealingError):
        open_sealed(recipient, sender.public_key, bytes(sealed))


def test_truncated_or_extended_message_is_rejected(
    sender: TransportPrivateKey, recipient: TransportPrivateKey
) -> None:
    sealed = seal(sender, recipient.public_key, PLAINTEXT)
    for damaged in [sealed[:-1], sealed + b"\x00", sealed[: SEALING_OVERHEAD - 1], b""]:
        with pytest.raises(SealingError):
            open_sealed(recipient, sender.public_key, damaged)


def test_wrong_recipient_cannot_open(
    sender: TransportPrivateKey, recipient: TransportPrivateKey
) -> None:
    sealed = seal(sender, recipient.public_key, PLAINTEXT)
    with pytest.raises(SealingError):
        open_sealed(TransportPrivateKey.generate(), sender.public_key, sealed)
    # The sender cannot open its own message as if it were the recipient either.
    with pytest.raises(SealingError):
        open_sealed(sender, sender.public_key, sealed)


def test_wrong_sender_is_detected(
    sender: TransportPrivateKey, recipient: TransportPrivateKey
) -> None:
    # Box authenticates the sender: a message from someone else does not open as sender's.
    impostor = TransportPrivateKey.generate()
    sealed = seal(impostor, recipient.public_key, PLAINTEXT)
    with pytest.raises(SealingError):
        open_sealed(recipient, sender.public_key, sealed)
    assert open_sealed(recipient, impostor.public_key, sealed) == PLAINTEXT


@pytest.mark.parametrize("encoding", SMALL_ORDER_KEYS)
def test_small_order_public_key_is_refused(
    sender: TransportPrivateKey, recipient: TransportPrivateKey, encoding: bytes
) -> None:
    small = TransportPublicKey.decode(encoding)
    with pytest.raises(SealingError):
        seal(sender, small, PLAINTEXT)
    sealed = seal(sender, recipient.public_key, PLAINTEXT)
    with pytest.raises(SealingError):
        open_sealed(recipient, small, sealed)


def test_public_key_round_trip(sender: TransportPrivateKey) -> None:
    encoded = sender.public_key.encode()
    assert len(encoded) == TRANSPORT_KEY_BYTES
    assert TransportPublicKey.decode(encoded) == sender.public_key


@pytest.mark.parametrize("length", [0, 31, 33])
def test_public_key_of_wrong_length_is_refused(length: int) -> None:
    with pytest.raises(DecodeError):
        TransportPublicKey.decode(b"\x09" * length)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_private_key_of_wrong_length_is_refused(length: int) -> None:
    with pytest.raises(DecodeError):
        TransportPrivateKey(b"\x09" * length)


def test_private_key_round_trip(sender: TransportPrivateKey) -> None:
    restored = TransportPrivateKey(sender.secret())
    assert restored.public_key == sender.public_key


def test_repr_does_not_reveal_the_secret(sender: TransportPrivateKey) -> None:
    secret = sender.secret()
    for text in (repr(sender), str(sender)):
        assert secret.hex() not in text
        assert repr(secret) not in text
    assert sender.public_key.encode().hex() in repr(sender)
