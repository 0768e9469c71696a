"""Hypothesis properties of exponential ElGamal (crypto spec §7: round trip, homomorphism)."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from evote.crypto.dlog import discrete_log
from evote.crypto.elgamal import Ciphertext, decrypt_to_point, encrypt, sum_ciphertexts
from evote.crypto.group import IDENTITY, L, Scalar, base_mul, small_multiple

MAX_VALUE = 10**4
values = st.integers(min_value=0, max_value=MAX_VALUE)
nonzero_scalars = st.integers(min_value=1, max_value=L - 1).map(Scalar)


@given(value=values, nonce=nonzero_scalars, secret=nonzero_scalars)
def test_decrypt_inverts_encrypt(value: int, nonce: Scalar, secret: Scalar) -> None:
    ciphertext = encrypt(value, nonce, base_mul(secret))
    point = decrypt_to_point(ciphertext, secret)
    assert point == small_multiple(value)
    assert discrete_log(point, MAX_VALUE) == value


@given(a=values, b=values, nonce_a=nonzero_scalars, nonce_b=nonzero_scalars, secret=nonzero_scalars)
def test_homomorphism(a: int, b: int, nonce_a: Scalar, nonce_b: Scalar, secret: Scalar) -> None:
    key = base_mul(secret)
    total = encrypt(a, nonce_a, key) + encrypt(b, nonce_b, key)
    assert discrete_log(decrypt_to_point(total, secret), 2 * MAX_VALUE) == a + b


@given(a=values, b=values, nonce_a=nonzero_scalars, nonce_b=nonzero_scalars, secret=nonzero_scalars)
def test_sum_is_an_encryption_under_the_summed_nonce(
    a: int, b: int, nonce_a: Scalar, nonce_b: Scalar, secret: Scalar
) -> None:
    assume(not (nonce_a + nonce_b).is_zero())
    key = base_mul(secret)
    assert encrypt(a, nonce_a, key) + encrypt(b, nonce_b, key) == encrypt(
        a + b, nonce_a + nonce_b, key
    )


@given(
    votes=st.lists(st.integers(min_value=0, max_value=6), max_size=12),
    secret=nonzero_scalars,
    data=st.data(),
)
def test_sum_of_many_decrypts_to_the_sum(
    votes: list[int], secret: Scalar, data: st.DataObject
) -> None:
    key = base_mul(secret)
    nonces = data.draw(st.lists(nonzero_scalars, min_size=len(votes), max_size=len(votes)))
    total = sum_ciphertexts([encrypt(v, n, key) for v, n in zip(votes, nonces, strict=True)])
    assert discrete_log(decrypt_to_point(total, secret), 6 * 12) == sum(votes)


@given(a=values, b=values, nonce=nonzero_scalars, secret=nonzero_scalars)
def test_colluding_nonces_cancel_the_pad(a: int, b: int, nonce: Scalar, secret: Scalar) -> None:
    # R5: A = I, and β carries the total in clear; nothing crashes.
    key = base_mul(secret)
    total = encrypt(a, nonce, key) + encrypt(b, -nonce, key)
    assert total.alpha == IDENTITY
    assert total.beta == small_multiple(a + b)
    assert discrete_log(decrypt_to_point(total, secret), 2 * MAX_VALUE) == a + b


@given(value=values, nonce=nonzero_scalars, secret=nonzero_scalars)
def test_ciphertext_encoding_round_trip(value: int, nonce: Scalar, secret: Scalar) -> None:
    ciphertext = encrypt(value, nonce, base_mul(secret))
    # β = I needs ξ·z ≡ −σ (probability 2^-252); decoders rightly refuse it (R5).
    assume(not ciphertext.beta.is_identity())
    assert Ciphertext.decode(ciphertext.encode()) == ciphertext


@given(value=values, nonce=nonzero_scalars, secret=nonzero_scalars, other=nonzero_scalars)
def test_wrong_secret_does_not_decrypt(
    value: int, nonce: Scalar, secret: Scalar, other: Scalar
) -> None:
    assume(other != secret)
    ciphertext = encrypt(value, nonce, base_mul(secret))
    assert decrypt_to_point(ciphertext, other) != small_multiple(value)
