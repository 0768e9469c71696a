"""Unit tests for evote.crypto.group: Scalar and Point API, decoding rules R1–R3, R5.

Random cross-checks against the reference implementation live in
``tests/property/test_group_properties.py``; known answers in ``test_group_vectors.py``.
"""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evote.crypto.group import (
    BASE,
    IDENTITY,
    ONE,
    POINT_BYTES,
    SCALAR_BYTES,
    ZERO,
    L,
    Point,
    Scalar,
    base_mul,
    mul,
    secret_response,
    small_multiple,
)
from evote.errors import DecodeError, InvalidInput, InvalidPoint, NonCanonicalScalar
from tests.reference import ed25519_ref as ref

B_BYTES = b"\x58" + b"\x66" * 31

scalar_ints = st.one_of(
    st.sampled_from([0, 1, 2, L - 2, L - 1]),
    st.integers(min_value=0, max_value=L - 1),
)
nonzero_scalar_ints = st.integers(min_value=1, max_value=L - 1)


# --- Scalar -----------------------------------------------------------------------------------


class TestScalarDecode:
    @pytest.mark.parametrize("n", [0, 1, 2**252, L - 1])
    def test_canonical_values_round_trip(self, n: int) -> None:
        data = n.to_bytes(32, "little")
        scalar = Scalar.decode(data)
        assert scalar.value == n
        assert scalar.encode() == data

    @pytest.mark.parametrize("n", [L, L + 1, 2 * L, 2**253, 2**255, 2**255 + 1, 2**256 - 1])
    def test_values_at_or_above_l_are_rejected(self, n: int) -> None:
        with pytest.raises(NonCanonicalScalar):
            Scalar.decode(n.to_bytes(32, "little"))

    @pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
    def test_wrong_lengths_are_rejected(self, length: int) -> None:
        with pytest.raises(NonCanonicalScalar):
            Scalar.decode(bytes(length))

    def test_non_canonical_scalar_is_a_decode_error(self) -> None:
        assert issubclass(NonCanonicalScalar, DecodeError)


class TestScalar:
    def test_constructor_reduces(self) -> None:
        assert Scalar(L).value == 0
        assert Scalar(L + 5) == Scalar(5)
        assert Scalar(-1).value == L - 1
        assert Scalar(-L) == ZERO
        assert Scalar(2**512).value == 2**512 % L

    def test_encode_is_32_bytes_little_endian(self) -> None:
        assert Scalar(1).encode() == b"\x01" + bytes(31)
        assert Scalar(L - 1).encode() == (L - 1).to_bytes(32, "little")
        assert len(ZERO.encode()) == SCALAR_BYTES

    def test_constants(self) -> None:
        assert ZERO.value == 0
        assert ZERO.is_zero()
        assert ONE.value == 1
        assert not ONE.is_zero()

    def test_arithmetic_wraps_mod_l(self) -> None:
        assert Scalar(L - 1) + Scalar(2) == Scalar(1)
        assert Scalar(0) - Scalar(1) == Scalar(L - 1)
        assert -Scalar(1) == Scalar(L - 1)
        assert -ZERO == ZERO
        assert Scalar(L - 1) * Scalar(L - 1) == ONE  # (−1)·(−1)

    def test_inverse(self) -> None:
        assert Scalar(2).inverse() * Scalar(2) == ONE
        assert Scalar(L - 1).inverse() == Scalar(L - 1)
        with pytest.raises(InvalidInput):
            ZERO.inverse()
        with pytest.raises(InvalidInput):
            Scalar(L).inverse()

    def test_from_digest(self) -> None:
        digest = bytes(range(64))
        assert Scalar.from_digest(digest).value == int.from_bytes(digest, "little") % L
        assert Scalar.from_digest(b"\xff" * 64).value == (2**512 - 1) % L
        for length in (0, 32, 63, 65):
            with pytest.raises(InvalidInput):
                Scalar.from_digest(bytes(length))

    def test_equality_and_hash(self) -> None:
        assert Scalar(3) == Scalar(3 + L)
        assert hash(Scalar(3)) == hash(Scalar(3 + L))
        assert len({Scalar(3), Scalar(3 + L), Scalar(4)}) == 2
        assert Scalar(3) != 3
        assert Scalar(1) != BASE
        assert repr(Scalar(1)) == "Scalar(0x" + "0" * 63 + "1)"


class TestSecretResponse:
    @pytest.mark.parametrize(
        ("u", "c", "x"),
        [
            (5, 2, 3),
            (0, 0, 0),
            (0, 1, 1),
            (1, 0, L - 1),
            (L - 1, L - 1, L - 1),
            (7, L - 1, 2**252),
        ],
    )
    def test_matches_integer_formula(self, u: int, c: int, x: int) -> None:
        expected = (u - c * x) % L
        result = secret_response(Scalar(u), Scalar(c), Scalar(x))
        assert result.value == expected
        assert result == Scalar(u) - Scalar(c) * Scalar(x)

    def test_schnorr_equation_holds(self) -> None:
        # The verifier's recomputation a = v·B + c·X from the spec's sign convention (§1).
        u, c, x = Scalar(1234567), Scalar(7654321), Scalar(L - 99)
        v = secret_response(u, c, x)
        assert base_mul(v) + mul(c, base_mul(x)) == base_mul(u)


# --- immutability -----------------------------------------------------------------------------


class TestImmutability:
    def test_scalar_attributes_cannot_be_set(self) -> None:
        s = Scalar(5)
        with pytest.raises(AttributeError):
            s.value = 6
        with pytest.raises(AttributeError):
            s.extra = 1
        assert s.value == 5

    def test_point_attributes_cannot_be_set(self) -> None:
        p = base_mul(Scalar(5))
        encoding = p.encode()
        with pytest.raises(AttributeError):
            p._encoding = B_BYTES
        with pytest.raises(AttributeError):
            p.extra = 1
        assert p.encode() == encoding

    def test_no_instance_dict(self) -> None:
        assert not hasattr(Scalar(1), "__dict__")
        assert not hasattr(BASE, "__dict__")

    def test_point_cannot_be_constructed_directly(self) -> None:
        with pytest.raises(TypeError):
            Point()

    def test_arithmetic_returns_new_values(self) -> None:
        a = Scalar(5)
        b = a + ONE
        assert a.value == 5
        assert b.value == 6
        p = BASE
        q = p + BASE
        assert p.encode() == B_BYTES
        assert q != p


# --- Point ------------------------------------------------------------------------------------


class TestPointDecode:
    def test_base_point(self) -> None:
        p = Point.decode(B_BYTES)
        assert p == BASE
        assert p.encode() == B_BYTES
        assert not p.is_identity()

    @pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
    def test_wrong_lengths_are_rejected(self, length: int) -> None:
        data = (B_BYTES * 2)[:length]
        with pytest.raises(InvalidPoint):
            Point.decode(data)
        with pytest.raises(InvalidPoint):
            Point.decode(data, allow_identity=True)

    @pytest.mark.parametrize(
        "data",
        [bytes(32), b"\xff" * 32, b"\x00" * 31 + b"\x80", b"\xed" + b"\xff" * 30 + b"\x7f"],
        ids=["zeros", "ones", "x0-sign", "y=p"],
    )
    def test_garbage_gives_invalid_point_not_a_libsodium_error(self, data: bytes) -> None:
        with pytest.raises(InvalidPoint):
            Point.decode(data)

    @given(st.binary(min_size=32, max_size=32))
    def test_any_32_bytes_decode_or_raise_invalid_point(self, data: bytes) -> None:
        try:
            point = Point.decode(data)
        except InvalidPoint:
            return
        assert point.encode() == data

    def test_invalid_point_is_a_decode_error(self) -> None:
        assert issubclass(InvalidPoint, DecodeError)


class TestPoint:
    def test_equality_and_hash(self) -> None:
        assert Point.decode(B_BYTES) == BASE
        assert hash(Point.decode(B_BYTES)) == hash(BASE)
        assert len({BASE, Point.decode(B_BYTES), base_mul(Scalar(2))}) == 2
        assert BASE != B_BYTES
        assert repr(BASE) == f"Point({B_BYTES.hex()})"

    def test_identity(self) -> None:
        assert IDENTITY.is_identity()
        assert IDENTITY.encode() == b"\x01" + bytes(31)
        assert len(BASE.encode()) == POINT_BYTES

    def test_scalar_times_point_in_both_orders(self) -> None:
        three_b = base_mul(Scalar(3))
        assert BASE * Scalar(3) == three_b
        assert Scalar(3) * BASE == three_b
        assert Scalar(0) * BASE == IDENTITY
        assert IDENTITY * Scalar(3) == IDENTITY

    def test_negation(self) -> None:
        assert -BASE + BASE == IDENTITY
        minus_b = -BASE
        assert -minus_b == BASE
        assert base_mul(Scalar(L - 1)) == -BASE

    def test_order_of_base(self) -> None:
        assert mul(Scalar(L - 1), BASE) + BASE == IDENTITY

    def test_small_multiple(self) -> None:
        for j in range(20):
            assert small_multiple(j) == base_mul(Scalar(j))
        assert small_multiple(0) is IDENTITY
        with pytest.raises(InvalidInput):
            small_multiple(-1)

    @given(nonzero_scalar_ints)
    def test_arithmetic_results_are_valid_external_points(self, k: int) -> None:
        # Internal arithmetic never produces torsion: every non-identity result re-decodes.
        p = base_mul(Scalar(k))
        for q in (p, p + BASE, p - BASE, -p, mul(Scalar(k), BASE)):
            assert q.is_identity() or Point.decode(q.encode()) == q

    def test_results_agree_with_reference(self) -> None:
        p = base_mul(Scalar(123456789))
        q = p + base_mul(Scalar(987654321))
        expected = ref.scalar_mult(123456789 + 987654321, ref.BASE)
        assert q.encode() == ref.encode(expected)


@given(scalar_ints, scalar_ints)
def test_group_homomorphism(a: int, b: int) -> None:
    sa, sb = Scalar(a), Scalar(b)
    assert base_mul(sa + sb) == base_mul(sa) + base_mul(sb)
    assert base_mul(sa - sb) == base_mul(sa) - base_mul(sb)
    assert base_mul(sa * sb) == mul(sa, base_mul(sb))
    assert base_mul(-sa) == -base_mul(sa)


def test_points_and_scalars_survive_pickling_for_worker_processes() -> None:
    # Pickles here are made by the test itself (worker processes exchange them the same way).
    point = base_mul(Scalar(12345))
    assert pickle.loads(pickle.dumps(point)) == point  # noqa: S301
    assert pickle.loads(pickle.dumps(IDENTITY)).is_identity()  # noqa: S301
    assert pickle.loads(pickle.dumps(Scalar(L - 1))) == Scalar(L - 1)  # noqa: S301


def test_an_unpickled_point_is_validated() -> None:
    forged = pickle.dumps(base_mul(Scalar(3))).replace(base_mul(Scalar(3)).encode(), b"\x00" * 32)
    with pytest.raises(InvalidPoint):
        pickle.loads(forged)  # noqa: S301 - a forged pickle, on purpose
