"""Exponential ElGamal on G (crypto spec §3.6.1, §3.6.2, §3.8, R5)."""

from __future__ import annotations

import pytest
from nacl import bindings as sodium

from evote.crypto import dlog, elgamal
from evote.crypto.elgamal import (
    CIPHERTEXT_BYTES,
    SEED_BYTES,
    ZERO_CIPHERTEXT,
    Ciphertext,
    decrypt_to_point,
    encrypt,
    selection_nonce,
    sum_ciphertexts,
)
from evote.crypto.encoding import decode, encode
from evote.crypto.group import (
    BASE,
    IDENTITY,
    L,
    Point,
    Scalar,
    base_mul,
    mul,
    small_multiple,
)
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.rng import random_scalar
from evote.errors import DecodeError, InvalidInput, InvalidPoint

SECRET = Scalar(0x1234_5678_9ABC_DEF0_1122_3344_5566_7788)
KEY = base_mul(SECRET)
ELECTION_HASH = bytes(range(32))
BINDING = bytes(range(32, 64))
SEED = bytes(range(64, 96))
#: A point of order 8 (a torsion point); adding it to a point of G leaves G.
TORSION_8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")


def _decrypt(ciphertext: Ciphertext, bound: int = 100) -> int:
    return dlog.discrete_log(decrypt_to_point(ciphertext, SECRET), bound)


# --- encryption -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 2, 7, 100])
def test_encrypt_has_the_specified_form(value: int) -> None:
    nonce = Scalar(987654321)
    ciphertext = encrypt(value, nonce, KEY)
    assert ciphertext.alpha == base_mul(nonce)
    assert ciphertext.beta == mul(nonce, KEY) + base_mul(Scalar(value))


def test_encrypting_zero_skips_the_add() -> None:
    nonce = random_scalar()
    assert encrypt(0, nonce, KEY).beta == mul(nonce, KEY)


@pytest.mark.parametrize("value", [0, 1, 5, 99, 100])
def test_decrypt_inverts_encrypt(value: int) -> None:
    assert _decrypt(encrypt(value, random_scalar(), KEY)) == value


def test_decrypt_to_point_gives_value_times_base() -> None:
    assert decrypt_to_point(encrypt(3, random_scalar(), KEY), SECRET) == small_multiple(3)
    assert decrypt_to_point(encrypt(0, random_scalar(), KEY), SECRET) == IDENTITY


def test_decrypting_with_the_wrong_secret_fails() -> None:
    ciphertext = encrypt(4, random_scalar(), KEY)
    assert decrypt_to_point(ciphertext, SECRET + Scalar(1)) != small_multiple(4)


def test_fresh_nonces_give_distinct_ciphertexts_of_the_same_value() -> None:
    first = encrypt(1, random_scalar(), KEY)
    second = encrypt(1, random_scalar(), KEY)
    assert first != second
    assert _decrypt(first) == _decrypt(second) == 1


def test_encrypt_refuses_a_zero_nonce() -> None:
    with pytest.raises(InvalidInput, match="non-zero"):
        encrypt(1, Scalar(0), KEY)
    with pytest.raises(InvalidInput, match="non-zero"):
        encrypt(1, Scalar(L), KEY)


def test_encrypt_refuses_the_identity_key() -> None:
    with pytest.raises(InvalidInput, match="identity"):
        encrypt(1, random_scalar(), IDENTITY)


def test_encrypt_refuses_a_negative_value() -> None:
    with pytest.raises(InvalidInput, match="negative"):
        encrypt(-1, random_scalar(), KEY)


# --- homomorphism ----------------------------------------------------------------------------


def test_addition_is_componentwise() -> None:
    a = encrypt(2, random_scalar(), KEY)
    b = encrypt(5, random_scalar(), KEY)
    total = a + b
    assert total.alpha == a.alpha + b.alpha
    assert total.beta == a.beta + b.beta
    assert _decrypt(total) == 7


def test_sum_of_ciphertexts_decrypts_to_the_sum_of_values() -> None:
    values = [1, 0, 3, 1, 1, 0, 2]
    nonces = [random_scalar() for _ in values]
    total = sum_ciphertexts([encrypt(v, n, KEY) for v, n in zip(values, nonces, strict=True)])
    assert _decrypt(total) == sum(values)
    # The sum is itself an encryption of the sum under the summed nonce.
    assert total == encrypt(sum(values), Scalar(sum(n.value for n in nonces)), KEY)


def test_sum_of_no_ciphertexts_is_the_zero_ciphertext() -> None:
    assert sum_ciphertexts([]) == ZERO_CIPHERTEXT
    assert ZERO_CIPHERTEXT.alpha.is_identity()
    assert ZERO_CIPHERTEXT.beta.is_identity()
    assert _decrypt(ZERO_CIPHERTEXT) == 0


def test_zero_ciphertext_is_neutral() -> None:
    ciphertext = encrypt(3, random_scalar(), KEY)
    assert ciphertext + ZERO_CIPHERTEXT == ciphertext
    assert ZERO_CIPHERTEXT + ciphertext == ciphertext


def test_colluding_nonces_give_an_identity_alpha_without_crashing() -> None:
    # R5: nonces ξ and L − ξ cancel; the aggregate α is I and β is the tally in clear.
    xi = random_scalar()
    total = encrypt(1, xi, KEY) + encrypt(2, -xi, KEY)
    assert total.alpha == IDENTITY
    assert total.beta == small_multiple(3)
    assert decrypt_to_point(total, SECRET) == small_multiple(3)
    assert _decrypt(total) == 3


# --- encoding -------------------------------------------------------------------------------


def test_ciphertext_encode_decode_round_trip() -> None:
    ciphertext = encrypt(1, random_scalar(), KEY)
    data = ciphertext.encode()
    assert len(data) == CIPHERTEXT_BYTES
    assert data == ciphertext.alpha.encode() + ciphertext.beta.encode()
    assert Ciphertext.decode(data) == ciphertext


def test_ciphertext_from_tlv() -> None:
    ciphertext = encrypt(1, random_scalar(), KEY)
    assert Ciphertext.from_tlv(decode(encode(ciphertext.encode())), what="ct") == ciphertext
    with pytest.raises(DecodeError, match="ct"):
        Ciphertext.from_tlv(decode(encode(ciphertext.encode()[:-1])), what="ct")
    with pytest.raises(DecodeError, match="ct"):
        Ciphertext.from_tlv(decode(encode(7)), what="ct")


@pytest.mark.parametrize("length", [0, 32, 63, 65, 128])
def test_ciphertext_decode_rejects_wrong_lengths(length: int) -> None:
    with pytest.raises(DecodeError):
        Ciphertext.decode(b"\x58" * length)


def test_ciphertext_decode_rejects_identity_halves() -> None:
    valid = encrypt(1, random_scalar(), KEY)
    with pytest.raises(InvalidPoint):
        Ciphertext.decode(IDENTITY.encode() + valid.beta.encode())
    with pytest.raises(InvalidPoint):
        Ciphertext.decode(valid.alpha.encode() + IDENTITY.encode())
    with pytest.raises(InvalidPoint):
        ZERO_CIPHERTEXT.decode(ZERO_CIPHERTEXT.encode())


def test_ciphertext_decode_rejects_torsion_shifted_halves() -> None:
    valid = encrypt(1, random_scalar(), KEY)
    shifted_alpha = sodium.crypto_core_ed25519_add(valid.alpha.encode(), TORSION_8)
    shifted_beta = sodium.crypto_core_ed25519_add(valid.beta.encode(), TORSION_8)
    with pytest.raises(InvalidPoint):
        Ciphertext.decode(shifted_alpha + valid.beta.encode())
    with pytest.raises(InvalidPoint):
        Ciphertext.decode(valid.alpha.encode() + shifted_beta)


def test_ciphertext_decode_rejects_off_curve_bytes() -> None:
    with pytest.raises(InvalidPoint):
        Ciphertext.decode(b"\xff" * CIPHERTEXT_BYTES)


def test_ciphertext_is_immutable() -> None:
    ciphertext = encrypt(1, random_scalar(), KEY)
    with pytest.raises(AttributeError):
        ciphertext.alpha = BASE  # type: ignore[misc]


# --- nonces and seeds -------------------------------------------------------------------------


def test_selection_nonce_is_the_specified_hash() -> None:
    expected = hash_to_scalar("selection-nonce", ELECTION_HASH, BINDING, SEED, 2, 5)
    assert selection_nonce(ELECTION_HASH, BINDING, SEED, 2, 5) == expected
    assert not expected.is_zero()


def test_selection_nonce_is_deterministic() -> None:
    first = selection_nonce(ELECTION_HASH, BINDING, SEED, 0, 0)
    assert selection_nonce(ELECTION_HASH, BINDING, SEED, 0, 0) == first


@pytest.mark.parametrize(
    "changed",
    [
        (bytes(32), BINDING, SEED, 0, 0),
        (ELECTION_HASH, bytes(32), SEED, 0, 0),
        (ELECTION_HASH, BINDING, bytes(32), 0, 0),
        (ELECTION_HASH, BINDING, SEED, 1, 0),
        (ELECTION_HASH, BINDING, SEED, 0, 1),
    ],
)
def test_selection_nonce_depends_on_every_input(
    changed: tuple[bytes, bytes, bytes, int, int],
) -> None:
    assert selection_nonce(*changed) != selection_nonce(ELECTION_HASH, BINDING, SEED, 0, 0)


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_selection_nonce_refuses_a_wrong_seed_length(length: int) -> None:
    with pytest.raises(InvalidInput, match="seed"):
        selection_nonce(ELECTION_HASH, BINDING, b"\x00" * length, 0, 0)


def test_new_ballot_seeds_are_fresh() -> None:
    seeds = {elgamal.new_ballot_seed() for _ in range(8)}
    assert len(seeds) == 8
    assert all(len(seed) == SEED_BYTES for seed in seeds)


def test_seeded_ballot_reproduces_for_an_audit() -> None:
    # Benaloh: the revealed seed recomputes every ciphertext byte for byte (§3.7).
    def ballot(seed: bytes) -> list[bytes]:
        return [
            encrypt(v, selection_nonce(ELECTION_HASH, BINDING, seed, 0, s), KEY).encode()
            for s, v in enumerate([0, 1, 0])
        ]

    seed = elgamal.new_ballot_seed()
    assert ballot(seed) == ballot(seed)
    assert ballot(seed) != ballot(elgamal.new_ballot_seed())


def test_ciphertext_points_are_validated_group_elements() -> None:
    ciphertext = encrypt(6, random_scalar(), KEY)
    assert Point.decode(ciphertext.alpha.encode()) == ciphertext.alpha
    assert Point.decode(ciphertext.beta.encode()) == ciphertext.beta
