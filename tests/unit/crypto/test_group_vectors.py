"""Known-answer tests for evote.crypto.group (crypto spec §3.1, §7, §8.1).

Expected values come from the independent pure-Python RFC 8032 implementation in
``tests/reference/ed25519_ref.py``; a few literal encodings anchor that reference itself.
The libsodium edge cases of §8.1 are re-created through our wrappers where the wrappers make
them visible, and probed directly (``TestLibsodiumAssumptions``) where the wrappers rely on them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from nacl import bindings as sodium
from nacl import exceptions as nacl_exceptions

from evote.crypto.group import (
    BASE,
    FIELD_PRIME,
    IDENTITY,
    L,
    Point,
    Scalar,
    base_mul,
    mul,
    small_multiple,
)
from evote.errors import InvalidPoint
from tests.reference import ed25519_ref as ref

B_HEX = "58" + "66" * 31
TWO_B_HEX = "c9a3f86aae465f0e56513864510f3997561fa2c9e85ea21dc2292309f3cd6022"
MINUS_B_HEX = "58" + "66" * 30 + "e6"  # −B: same y, x negated, so only the sign bit flips
IDENTITY_HEX = "01" + "00" * 31
# The two order-8 encodings (sign bit clear) in libsodium's small-order blacklist.
ORDER_8_HEX = {
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
}

NON_IDENTITY_TORSION = ref.TORSION[1:]


def _enc(pt: ref.EdPoint) -> bytes:
    return ref.encode(pt)


# --- the reference itself ---------------------------------------------------------------------


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "relative", ["reference/ed25519_ref.py", "vectors/gen/gen_tlv.py"], ids=lambda r: r
)
def test_second_opinions_import_neither_evote_nor_nacl(relative: str) -> None:
    path = Path(__file__).resolve().parents[2] / relative
    roots = {name.split(".")[0] for name in _imported_modules(path)}
    assert roots  # the file was found and parsed
    assert not roots & {"evote", "nacl"}


class TestReferenceAnchors:
    def test_known_encodings(self) -> None:
        assert _enc(ref.BASE).hex() == B_HEX
        assert _enc(ref.scalar_mult(2, ref.BASE)).hex() == TWO_B_HEX
        assert _enc(ref.scalar_mult(L - 1, ref.BASE)).hex() == MINUS_B_HEX
        assert _enc(ref.IDENTITY).hex() == IDENTITY_HEX

    def test_reference_constants_agree_with_group_module(self) -> None:
        assert ref.L == L
        assert ref.P == FIELD_PRIME

    def test_base_has_order_l(self) -> None:
        assert ref.is_on_curve(ref.BASE)
        assert ref.is_identity(ref.scalar_mult(L, ref.BASE))
        assert not ref.is_identity(ref.scalar_mult(L - 1, ref.BASE))

    def test_torsion_group(self) -> None:
        orders = sorted(ref.order(t) for t in ref.TORSION)
        assert orders == [1, 2, 4, 4, 8, 8, 8, 8]
        assert len({_enc(t) for t in ref.TORSION}) == 8
        assert all(ref.is_on_curve(t) for t in ref.TORSION)
        assert ref.is_identity(ref.TORSION[0])
        # (0, −1) has order 2; (±√−1, 0) have order 4.
        assert ref.to_affine(ref.TORSION[4]) == (0, FIELD_PRIME - 1)
        # Sign bit ignored, the order-8 points are exactly libsodium's blacklisted encodings.
        order8 = {_enc(t) for t in ref.TORSION if ref.order(t) == 8}
        assert {bytes([*e[:31], e[31] & 0x7F]).hex() for e in order8} == ORDER_8_HEX

    def test_strict_decode_follows_rfc_8032(self) -> None:
        alias = (1 + FIELD_PRIME).to_bytes(32, "little")  # y = p + 1 ≡ 1
        assert ref.decode(alias, strict=True) is None
        lax = ref.decode(alias, strict=False)
        assert lax is not None
        assert ref.is_identity(lax)
        x0_sign = (1 | 1 << 255).to_bytes(32, "little")
        assert ref.decode(x0_sign, strict=True) is None
        assert ref.decode(x0_sign, strict=False) is not None
        assert not ref.is_canonical(alias)
        assert not ref.is_canonical(x0_sign)
        assert ref.is_canonical(bytes.fromhex(B_HEX))


# --- known multiples of B ---------------------------------------------------------------------


KNOWN_SCALARS = [*range(11), L - 1]


@pytest.mark.parametrize("k", KNOWN_SCALARS)
def test_base_mul_known_answers(k: int) -> None:
    expected = _enc(ref.scalar_mult(k, ref.BASE))
    assert base_mul(Scalar(k)).encode() == expected
    assert mul(Scalar(k), BASE).encode() == expected


@pytest.mark.parametrize("k", KNOWN_SCALARS)
def test_known_multiples_decode_to_themselves(k: int) -> None:
    encoding = _enc(ref.scalar_mult(k, ref.BASE))
    if k == 0:
        assert Point.decode(encoding, allow_identity=True) is IDENTITY
    else:
        assert Point.decode(encoding) == base_mul(Scalar(k))


def test_repeated_addition_walks_the_known_multiples() -> None:
    acc = IDENTITY
    for k in range(11):
        assert acc.encode() == _enc(ref.scalar_mult(k, ref.BASE))
        assert small_multiple(k) == acc
        acc = acc + BASE


def test_l_minus_one_times_b_is_minus_b() -> None:
    assert base_mul(Scalar(L - 1)).encode().hex() == MINUS_B_HEX
    assert base_mul(Scalar(L - 1)) == -BASE
    assert base_mul(Scalar(L - 1)) + BASE == IDENTITY


# --- §8.1 edge cases through the wrappers ---------------------------------------------------


class TestWrapperEdgeCases:
    def test_base_mul_zero_is_identity(self) -> None:
        assert base_mul(Scalar(0)) is IDENTITY
        assert base_mul(Scalar(L)) is IDENTITY  # libsodium raises for k = L
        assert small_multiple(0) is IDENTITY

    def test_scalar_l_plus_one_reduces(self) -> None:
        assert Scalar(L + 1) == Scalar(1)
        assert Scalar(L + 1).value == 1
        assert base_mul(Scalar(L + 1)) == BASE

    def test_two_to_255_plus_one_is_reduced_not_truncated(self) -> None:
        # libsodium's base_noclamp clears bit 255 and would return B; the wrapper reduces mod L.
        k = 2**255 + 1
        result = base_mul(Scalar(k))
        assert result.encode() == _enc(ref.scalar_mult(k, ref.BASE))
        assert result != BASE

    def test_mul_by_zero_is_identity(self) -> None:
        assert mul(Scalar(0), BASE) is IDENTITY
        assert mul(Scalar(L), base_mul(Scalar(7))) is IDENTITY

    def test_mul_of_identity_is_identity(self) -> None:
        assert mul(Scalar(1), IDENTITY) is IDENTITY  # libsodium's noclamp(1, I) raises
        assert mul(Scalar(2), IDENTITY) is IDENTITY
        assert mul(Scalar(0), IDENTITY) is IDENTITY

    def test_identity_arithmetic_does_not_raise(self) -> None:
        assert IDENTITY + IDENTITY == IDENTITY
        assert IDENTITY - IDENTITY == IDENTITY
        assert -IDENTITY == IDENTITY
        assert BASE - BASE == IDENTITY
        assert (BASE - BASE).is_identity()
        assert BASE + IDENTITY == BASE
        assert IDENTITY - BASE == -BASE


# --- Point.decode rejections (R1, R2) ---------------------------------------------------------


def _non_canonical_encodings() -> list[bytes]:
    """Every y ∈ [p, 2^255) (aliases of y ∈ [0, 18]), with the sign bit clear and set."""
    return [
        ((FIELD_PRIME + y) | (sign << 255)).to_bytes(32, "little")
        for y in range(19)
        for sign in (0, 1)
    ]


X_ZERO_SIGN_SET = [
    (1 | 1 << 255).to_bytes(32, "little"),  # (0, 1) = I with the sign bit set
    ((FIELD_PRIME - 1) | 1 << 255).to_bytes(32, "little"),  # (0, −1) with the sign bit set
]

REJECTED: dict[str, bytes] = {
    "identity": bytes.fromhex(IDENTITY_HEX),
    **{f"torsion[{k}]": _enc(ref.TORSION[k]) for k in range(1, 8)},
    **{f"B+torsion[{k}]": _enc(ref.add(ref.BASE, ref.TORSION[k])) for k in range(1, 8)},
    **{
        f"2B+torsion[{k}]": _enc(ref.add(ref.scalar_mult(2, ref.BASE), ref.TORSION[k]))
        for k in range(1, 8)
    },
    **{f"non-canonical[{i}]": e for i, e in enumerate(_non_canonical_encodings())},
    "x=0, sign set, y=1": X_ZERO_SIGN_SET[0],
    "x=0, sign set, y=-1": X_ZERO_SIGN_SET[1],
}


class TestDecodeRejections:
    def test_t8_and_b_plus_t8(self) -> None:
        t8 = _enc(ref.T8)
        b_t8 = _enc(ref.add(ref.BASE, ref.T8))
        for encoding in (t8, b_t8):
            with pytest.raises(InvalidPoint):
                Point.decode(encoding)
            with pytest.raises(InvalidPoint):
                Point.decode(encoding, allow_identity=True)

    @pytest.mark.parametrize("name", sorted(REJECTED))
    def test_rejected_with_and_without_allow_identity(self, name: str) -> None:
        encoding = REJECTED[name]
        assert not ref.is_valid_group_element(encoding)
        with pytest.raises(InvalidPoint):
            Point.decode(encoding)
        if name != "identity":
            with pytest.raises(InvalidPoint):
                Point.decode(encoding, allow_identity=True)

    def test_every_non_canonical_y_is_rejected(self) -> None:
        encodings = _non_canonical_encodings()
        assert len(encodings) == 38
        for encoding in encodings:
            assert ref.decode(encoding, strict=True) is None
            with pytest.raises(InvalidPoint):
                Point.decode(encoding, allow_identity=True)

    def test_non_canonical_aliases_that_are_on_the_curve_lie_outside_g(self) -> None:
        # Spec R2: every alias y + p of a curve point is a point outside G, so a validated
        # point has a unique encoding.
        on_curve = 0
        for encoding in _non_canonical_encodings():
            pt = ref.decode(encoding, strict=False)
            if pt is not None:
                on_curve += 1
                assert not ref.is_in_prime_subgroup(pt) or ref.is_identity(pt)
        assert on_curve > 0

    def test_allow_identity_accepts_the_identity_only(self) -> None:
        assert Point.decode(bytes.fromhex(IDENTITY_HEX), allow_identity=True) is IDENTITY
        assert Point.decode(bytes.fromhex(B_HEX), allow_identity=True) == BASE
        with pytest.raises(InvalidPoint):
            Point.decode(bytes.fromhex(IDENTITY_HEX))
        with pytest.raises(InvalidPoint):
            Point.decode(bytes.fromhex(IDENTITY_HEX), allow_identity=False)


# --- libsodium behaviour the wrappers depend on (§3.1 table, §8.1 probe) ---------------------


def _le(n: int) -> bytes:
    return n.to_bytes(32, "little")


class TestLibsodiumAssumptions:
    """Canaries: if a libsodium upgrade changes these, the wrappers' special cases need review."""

    def test_base_noclamp_refuses_identity_results(self) -> None:
        for k in (0, L):
            with pytest.raises(nacl_exceptions.RuntimeError):
                sodium.crypto_scalarmult_ed25519_base_noclamp(_le(k))

    def test_base_noclamp_does_not_reduce(self) -> None:
        b = bytes.fromhex(B_HEX)
        assert sodium.crypto_scalarmult_ed25519_base_noclamp(_le(L + 1)) == b
        assert sodium.crypto_scalarmult_ed25519_base_noclamp(_le(2**255 + 1)) == b

    def test_noclamp_refuses_identity_and_torsion(self) -> None:
        with pytest.raises(nacl_exceptions.RuntimeError):
            sodium.crypto_scalarmult_ed25519_noclamp(_le(1), bytes.fromhex(IDENTITY_HEX))
        b_t8 = _enc(ref.add(ref.BASE, ref.T8))
        with pytest.raises(nacl_exceptions.RuntimeError):
            sodium.crypto_scalarmult_ed25519_noclamp(_le(2), b_t8)

    def test_add_accepts_torsion(self) -> None:
        b_t8 = _enc(ref.add(ref.BASE, ref.T8))
        result = sodium.crypto_core_ed25519_add(bytes.fromhex(B_HEX), b_t8)
        assert result == _enc(ref.add(ref.scalar_mult(2, ref.BASE), ref.T8))

    def test_is_valid_point_rejects_identity_and_torsion(self) -> None:
        for pt in (ref.IDENTITY, ref.T8, ref.add(ref.BASE, ref.T8)):
            assert not sodium.crypto_core_ed25519_is_valid_point(_enc(pt))
        assert sodium.crypto_core_ed25519_is_valid_point(bytes.fromhex(B_HEX))

    def test_from_uniform(self) -> None:
        assert sodium.crypto_core_ed25519_from_uniform(bytes(32)).hex() == IDENTITY_HEX
        r = bytes(range(1, 33))
        p = sodium.crypto_core_ed25519_from_uniform(r)
        flipped = sodium.crypto_core_ed25519_from_uniform(bytes([*r[:31], r[31] ^ 0x80]))
        decoded = ref.decode(p)
        assert decoded is not None
        assert ref.is_in_prime_subgroup(decoded)
        assert flipped == _enc(ref.neg(decoded))

    def test_scalar_reduce_is_int_mod_l(self) -> None:
        for n in (0, L - 1, L, L + 1, 2**512 - 1, 2**256 + 12345):
            reduced = sodium.crypto_core_ed25519_scalar_reduce(n.to_bytes(64, "little"))
            assert int.from_bytes(reduced, "little") == n % L
