"""Ed25519 signatures through the signing wrapper (crypto spec §3.5, §6)."""

from __future__ import annotations

import pytest
from nacl import bindings as sodium

from evote.crypto.group import BASE, IDENTITY, Point
from evote.crypto.signing import SEED_BYTES, SIGNATURE_BYTES, SigningKey, VerifyKey
from evote.errors import DecodeError, InvalidPoint, InvalidSignature

MESSAGE = b"board entry: guardian 2 acknowledges (K, H_E)"
#: A point of order 8 and the small-order encodings libsodium blacklists.
TORSION_8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
ORDER_2 = bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
#: The identity with a non-canonical y = p + 1.
NON_CANONICAL_IDENTITY = bytes.fromhex(
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
)


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


def test_sign_verify_round_trip(key: SigningKey) -> None:
    signature = key.sign(MESSAGE)
    assert len(signature) == SIGNATURE_BYTES
    key.verify_key.verify(MESSAGE, signature)


def test_signing_is_deterministic_for_a_seed(key: SigningKey) -> None:
    again = SigningKey(key.seed())
    assert again.sign(MESSAGE) == key.sign(MESSAGE)
    assert again.verify_key == key.verify_key


def test_empty_message_round_trip(key: SigningKey) -> None:
    key.verify_key.verify(b"", key.sign(b""))


def test_tampered_message_is_rejected(key: SigningKey) -> None:
    signature = key.sign(MESSAGE)
    with pytest.raises(InvalidSignature):
        key.verify_key.verify(MESSAGE + b"!", signature)
    with pytest.raises(InvalidSignature):
        key.verify_key.verify(bytes([MESSAGE[0] ^ 1]) + MESSAGE[1:], signature)


@pytest.mark.parametrize("position", [0, 31, 32, 63])
def test_tampered_signature_is_rejected(key: SigningKey, position: int) -> None:
    signature = bytearray(key.sign(MESSAGE))
    signature[position] ^= 0x01
    with pytest.raises(InvalidSignature):
        key.verify_key.verify(MESSAGE, bytes(signature))


@pytest.mark.parametrize("length", [0, 63, 65])
def test_signature_of_wrong_length_is_rejected(key: SigningKey, length: int) -> None:
    with pytest.raises(InvalidSignature):
        key.verify_key.verify(MESSAGE, b"\x00" * length)


def test_wrong_key_is_rejected(key: SigningKey) -> None:
    signature = key.sign(MESSAGE)
    with pytest.raises(InvalidSignature):
        SigningKey.generate().verify_key.verify(MESSAGE, signature)


def test_signature_with_non_canonical_s_is_rejected(key: SigningKey) -> None:
    # s + L is another encoding of the same response; RFC 8032 verifiers must refuse it.
    signature = key.sign(MESSAGE)
    order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(signature[32:], "little") + order
    with pytest.raises(InvalidSignature):
        key.verify_key.verify(MESSAGE, signature[:32] + s.to_bytes(32, "little"))


def test_verify_key_round_trip(key: SigningKey) -> None:
    encoded = key.verify_key.encode()
    assert len(encoded) == 32
    decoded = VerifyKey.decode(encoded)
    assert decoded == key.verify_key
    decoded.verify(MESSAGE, key.sign(MESSAGE))


def test_verify_key_decode_rejects_the_identity() -> None:
    with pytest.raises(InvalidPoint):
        VerifyKey.decode(IDENTITY.encode())
    with pytest.raises(InvalidPoint):
        VerifyKey.decode(NON_CANONICAL_IDENTITY)


@pytest.mark.parametrize("encoding", [TORSION_8, ORDER_2, b"\x00" * 32])
def test_verify_key_decode_rejects_small_order_points(encoding: bytes) -> None:
    with pytest.raises(InvalidPoint):
        VerifyKey.decode(encoding)


def test_verify_key_decode_rejects_torsion_shifted_keys(key: SigningKey) -> None:
    genuine = key.verify_key.encode()
    shifted = sodium.crypto_core_ed25519_add(genuine, TORSION_8)
    assert shifted != genuine
    with pytest.raises(InvalidPoint):
        VerifyKey.decode(shifted)


def test_verify_key_decode_rejects_off_curve_bytes() -> None:
    with pytest.raises(InvalidPoint):
        VerifyKey.decode(b"\xff" * 32)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_verify_key_decode_rejects_wrong_lengths(length: int) -> None:
    with pytest.raises(DecodeError):
        VerifyKey.decode(b"\x58" * length)


def test_generated_verify_keys_are_valid_group_elements(key: SigningKey) -> None:
    Point.decode(key.verify_key.encode())
    assert VerifyKey.decode(BASE.encode()).encode() == BASE.encode()


def test_repr_does_not_reveal_the_seed(key: SigningKey) -> None:
    seed = key.seed()
    assert len(seed) == SEED_BYTES
    for text in (repr(key), str(key), f"{key!r}", f"{[key]}"):
        assert seed.hex() not in text
        assert seed.hex().upper() not in text
        assert repr(seed) not in text
    assert key.verify_key.encode().hex() in repr(key)


def test_seed_round_trip(key: SigningKey) -> None:
    assert SigningKey(key.seed()).seed() == key.seed()


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_seed_of_wrong_length_is_refused(length: int) -> None:
    with pytest.raises(DecodeError):
        SigningKey(b"\x01" * length)


def test_generated_keys_are_distinct() -> None:
    assert len({SigningKey.generate().seed() for _ in range(5)}) == 5
