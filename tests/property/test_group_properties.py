"""Hypothesis cross-checks of evote.crypto.group against the pure-Python RFC 8032 reference.

Crypto spec §7: add, sub, neg, scalar multiplication and validation of the libsodium wrappers
agree with ``tests/reference/ed25519_ref.py`` on random inputs; every torsion-shifted point
and every non-canonical scalar is rejected; scalar arithmetic obeys the field laws.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from nacl import bindings as sodium

from evote.crypto.group import (
    BASE,
    IDENTITY,
    ONE,
    ZERO,
    L,
    Point,
    Scalar,
    base_mul,
    mul,
    secret_response,
)
from evote.errors import InvalidPoint, NonCanonicalScalar
from tests.reference import ed25519_ref as ref

EDGE_SCALARS = [0, 1, 2, 3, 8, L - 8, L - 2, L - 1, 2**252, (L - 1) // 2]

scalar_ints = st.one_of(st.sampled_from(EDGE_SCALARS), st.integers(min_value=0, max_value=L - 1))
nonzero_scalar_ints = scalar_ints.filter(lambda n: n != 0)
scalars = scalar_ints.map(Scalar)
any_ints = st.one_of(scalar_ints, st.integers(min_value=-(2**600), max_value=2**600))
torsion_index = st.integers(min_value=1, max_value=7)


def ref_multiple(k: int) -> ref.EdPoint:
    return ref.scalar_mult(k, ref.BASE)


def to_ref(point: Point) -> ref.EdPoint:
    decoded = ref.decode(point.encode())
    assert decoded is not None
    return decoded


def _with_y_plus_p(encoding: bytes) -> bytes:
    """The non-canonical alias y + p if it fits in 255 bits, else the encoding unchanged."""
    value = int.from_bytes(encoding, "little")
    y, sign = value & ((1 << 255) - 1), value >> 255
    if y + ref.P < 2**255:
        return ((y + ref.P) | (sign << 255)).to_bytes(32, "little")
    return encoding


# Candidate encodings: uniform bytes (mostly invalid), valid points, valid points with the
# sign bit flipped (still valid: −P), torsion-shifted points, small y (aliasable) values.
candidate_encodings = st.one_of(
    st.binary(min_size=32, max_size=32),
    nonzero_scalar_ints.map(lambda k: ref.encode(ref_multiple(k))),
    nonzero_scalar_ints.map(lambda k: ref.encode(ref_multiple(k))).map(
        lambda e: bytes([*e[:31], e[31] ^ 0x80])
    ),
    st.tuples(scalar_ints, torsion_index).map(
        lambda kt: ref.encode(ref.add(ref_multiple(kt[0]), ref.TORSION[kt[1]]))
    ),
    st.tuples(st.integers(min_value=0, max_value=40), st.booleans()).map(
        lambda yb: (yb[0] | (int(yb[1]) << 255)).to_bytes(32, "little")
    ),
    st.tuples(st.integers(min_value=0, max_value=18), st.booleans()).map(
        lambda yb: _with_y_plus_p((yb[0] | (int(yb[1]) << 255)).to_bytes(32, "little"))
    ),
)


# --- cross-checks of the arithmetic ---------------------------------------------------------


@given(scalar_ints)
def test_base_mul_matches_reference(k: int) -> None:
    assert base_mul(Scalar(k)).encode() == ref.encode(ref_multiple(k))


@given(scalar_ints, scalar_ints)
def test_add_sub_match_reference(a: int, b: int) -> None:
    p, q = base_mul(Scalar(a)), base_mul(Scalar(b))
    rp, rq = ref_multiple(a), ref_multiple(b)
    assert (p + q).encode() == ref.encode(ref.add(rp, rq))
    assert (p - q).encode() == ref.encode(ref.sub(rp, rq))
    assert (q - p).encode() == ref.encode(ref.sub(rq, rp))


@given(scalar_ints)
def test_neg_matches_reference(a: int) -> None:
    p = base_mul(Scalar(a))
    assert (-p).encode() == ref.encode(ref.neg(ref_multiple(a)))
    assert (-p).encode() == ref.encode(ref_multiple(L - a))


@given(scalar_ints, scalar_ints)
def test_mul_matches_reference(k: int, a: int) -> None:
    p = base_mul(Scalar(a))
    expected = ref.encode(ref.scalar_mult(k, to_ref(p))) if a else ref.encode(ref.IDENTITY)
    assert mul(Scalar(k), p).encode() == expected
    assert (p * Scalar(k)).encode() == expected
    assert (Scalar(k) * p).encode() == expected
    assert mul(Scalar(k), p) == base_mul(Scalar(k * a))


@given(any_ints)
def test_unreduced_scalars_give_the_true_multiple(k: int) -> None:
    # The wrapper reduces mod L (R4); libsodium alone would truncate to 255 bits.
    assert base_mul(Scalar(k)).encode() == ref.encode(ref_multiple(k))


# --- validation -------------------------------------------------------------------------------


@given(candidate_encodings)
@example(bytes(32))
@example(b"\x01" + bytes(31))
@example(b"\x58" + b"\x66" * 31)
def test_decode_accepts_exactly_the_reference_group_elements(data: bytes) -> None:
    expected = ref.is_valid_group_element(data)
    # libsodium's own check agrees with the reference (it rejects the identity too).
    assert bool(sodium.crypto_core_ed25519_is_valid_point(data)) == expected
    try:
        point = Point.decode(data)
    except InvalidPoint:
        assert not expected
    else:
        assert expected
        assert point.encode() == data
        assert not point.is_identity()


@given(candidate_encodings)
def test_allow_identity_only_adds_the_identity(data: bytes) -> None:
    expected = ref.is_valid_group_element(data) or data == ref.encode(ref.IDENTITY)
    try:
        point = Point.decode(data, allow_identity=True)
    except InvalidPoint:
        assert not expected
    else:
        assert expected
        assert point.encode() == data


@given(scalar_ints)
def test_every_torsion_shift_is_rejected(k: int) -> None:
    base = ref_multiple(k)
    for t in ref.TORSION[1:]:
        shifted = ref.add(base, t)
        encoding = ref.encode(shifted)
        assert not ref.is_in_prime_subgroup(shifted)
        with pytest.raises(InvalidPoint):
            Point.decode(encoding)
        with pytest.raises(InvalidPoint):
            Point.decode(encoding, allow_identity=True)


@given(nonzero_scalar_ints)
def test_valid_points_round_trip(k: int) -> None:
    p = base_mul(Scalar(k))
    assert Point.decode(p.encode()) == p
    assert Point.decode(p.encode(), allow_identity=True) == p


@given(st.binary(min_size=0, max_size=64).filter(lambda b: len(b) != 32))
def test_decode_rejects_wrong_lengths(data: bytes) -> None:
    with pytest.raises(InvalidPoint):
        Point.decode(data)
    with pytest.raises(NonCanonicalScalar):
        Scalar.decode(data)


# --- scalars ---------------------------------------------------------------------------------


@given(st.integers(min_value=L, max_value=2**256 - 1))
@example(L)
@example(2**256 - 1)
def test_every_value_at_or_above_l_is_rejected(n: int) -> None:
    with pytest.raises(NonCanonicalScalar):
        Scalar.decode(n.to_bytes(32, "little"))


@given(scalar_ints)
def test_every_value_below_l_round_trips(n: int) -> None:
    data = n.to_bytes(32, "little")
    scalar = Scalar.decode(data)
    assert scalar.value == n
    assert scalar.encode() == data


@given(st.binary(min_size=32, max_size=32))
def test_scalar_decode_accepts_iff_below_l(data: bytes) -> None:
    below = int.from_bytes(data, "little") < L
    try:
        Scalar.decode(data)
    except NonCanonicalScalar:
        assert not below
    else:
        assert below


@given(any_ints, any_ints)
def test_scalar_ops_match_integers_mod_l(a: int, b: int) -> None:
    sa, sb = Scalar(a), Scalar(b)
    assert sa.value == a % L
    assert (sa + sb).value == (a + b) % L
    assert (sa - sb).value == (a - b) % L
    assert (sa * sb).value == (a * b) % L
    assert (-sa).value == (-a) % L


@given(scalars, scalars, scalars)
def test_scalar_field_laws(a: Scalar, b: Scalar, c: Scalar) -> None:
    assert a + b == b + a
    assert a * b == b * a
    assert (a + b) + c == a + (b + c)
    assert (a * b) * c == a * (b * c)
    assert a * (b + c) == a * b + a * c
    assert a + ZERO == a
    assert a * ONE == a
    assert a + (-a) == ZERO
    assert a - b == a + (-b)
    assert 0 <= (a - b).value < L


@given(nonzero_scalar_ints)
def test_scalar_inverse(n: int) -> None:
    s = Scalar(n)
    assert s * s.inverse() == ONE
    assert s.inverse().inverse() == s


@given(scalars, scalars, scalars)
def test_secret_response_is_u_minus_c_x(u: Scalar, c: Scalar, x: Scalar) -> None:
    v = secret_response(u, c, x)
    assert v == u - c * x
    assert v.value == (u.value - c.value * x.value) % L
    assert 0 <= v.value < L


@given(scalars, scalars, nonzero_scalar_ints)
def test_schnorr_verification_equation(u: Scalar, c: Scalar, x: int) -> None:
    assume(not u.is_zero())
    secret = Scalar(x)
    v = secret_response(u, c, secret)
    assert base_mul(v) + mul(c, base_mul(secret)) == base_mul(u)


@given(scalars)
def test_identity_is_absorbing_and_neutral(k: Scalar) -> None:
    p = base_mul(k)
    assert mul(k, IDENTITY) is IDENTITY
    assert mul(ZERO, p if not p.is_identity() else BASE) is IDENTITY
    assert p + IDENTITY == p
    assert p - p == IDENTITY
