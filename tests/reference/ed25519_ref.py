"""An independent, deliberately naive edwards25519 implementation (RFC 8032) for the tests.

Nothing here imports PyNaCl or evote: the tests use this module as the second opinion against
which the libsodium wrappers of :mod:`evote.crypto.group` are checked. It is written for
clarity, not speed or side-channel safety, and must never be used outside the test suite.

Curve: ``-x² + y² = 1 + d·x²·y²`` over GF(p), ``p = 2^255 − 19``, ``d = −121665/121666``.
Points are held in extended homogeneous coordinates ``(X : Y : Z : T)`` with ``x = X/Z``,
``y = Y/Z`` and ``x·y = T/Z`` (RFC 8032 §5.1.4). Encoding and decoding follow §5.1.2–§5.1.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Field prime.
P: Final = 2**255 - 19
#: Prime order of the base point.
L: Final = 2**252 + 27742317777372353535851937790883648493
#: Curve constant d = −121665 / 121666 mod p.
D: Final = (-121665 * pow(121666, -1, P)) % P
#: A square root of −1 mod p (2^((p−1)/4)).
SQRT_M1: Final = pow(2, (P - 1) // 4, P)


@dataclass(frozen=True, slots=True)
class EdPoint:
    """A curve point in extended coordinates. Compare with :func:`equal`, not ``==``."""

    X: int
    Y: int
    Z: int
    T: int


def _inv(z: int) -> int:
    return pow(z, P - 2, P)


def from_affine(x: int, y: int) -> EdPoint:
    """The point (x, y); the caller guarantees it is on the curve."""
    x %= P
    y %= P
    return EdPoint(x, y, 1, (x * y) % P)


def to_affine(pt: EdPoint) -> tuple[int, int]:
    zi = _inv(pt.Z)
    return (pt.X * zi) % P, (pt.Y * zi) % P


def is_on_curve(pt: EdPoint) -> bool:
    """True iff the affine point satisfies the curve equation and T is consistent."""
    if pt.Z % P == 0:
        return False
    x, y = to_affine(pt)
    if (-x * x + y * y - 1 - D * x * x * y * y) % P != 0:
        return False
    return (pt.T * pt.Z - pt.X * pt.Y) % P == 0


IDENTITY: Final = EdPoint(0, 1, 1, 0)


def add(p1: EdPoint, p2: EdPoint) -> EdPoint:
    """Complete addition formula for a = −1 (RFC 8032 §5.1.4)."""
    a = ((p1.Y - p1.X) * (p2.Y - p2.X)) % P
    b = ((p1.Y + p1.X) * (p2.Y + p2.X)) % P
    c = (2 * p1.T * p2.T * D) % P
    d = (2 * p1.Z * p2.Z) % P
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return EdPoint((e * f) % P, (g * h) % P, (f * g) % P, (e * h) % P)


def double(pt: EdPoint) -> EdPoint:
    """Dedicated doubling (RFC 8032 §5.1.4)."""
    a = (pt.X * pt.X) % P
    b = (pt.Y * pt.Y) % P
    c = (2 * pt.Z * pt.Z) % P
    h = a + b
    e = h - (pt.X + pt.Y) ** 2
    g = a - b
    f = c + g
    return EdPoint((e * f) % P, (g * h) % P, (f * g) % P, (e * h) % P)


def neg(pt: EdPoint) -> EdPoint:
    return EdPoint((-pt.X) % P, pt.Y, pt.Z, (-pt.T) % P)


def sub(p1: EdPoint, p2: EdPoint) -> EdPoint:
    return add(p1, neg(p2))


def scalar_mult(k: int, pt: EdPoint) -> EdPoint:
    """k·pt for any integer k (not reduced: the true multiple, also outside the subgroup)."""
    if k < 0:
        return scalar_mult(-k, neg(pt))
    result = IDENTITY
    addend = pt
    while k:
        if k & 1:
            result = add(result, addend)
        addend = double(addend)
        k >>= 1
    return result


def equal(p1: EdPoint, p2: EdPoint) -> bool:
    """Projective equality: x1/z1 == x2/z2 and y1/z1 == y2/z2."""
    return (p1.X * p2.Z - p2.X * p1.Z) % P == 0 and (p1.Y * p2.Z - p2.Y * p1.Z) % P == 0


def is_identity(pt: EdPoint) -> bool:
    return equal(pt, IDENTITY)


# --- encoding (RFC 8032 §5.1.2) and decoding (§5.1.3) ------------------------------------------


def encode(pt: EdPoint) -> bytes:
    """The canonical 32-byte encoding: y little-endian, bit 255 = low bit of x."""
    x, y = to_affine(pt)
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _recover_x(y: int, sign: int) -> int | None:
    """x with x² = (y² − 1)/(d·y² + 1) and x ≡ sign (mod 2), or None. Here 0 ≤ y < p."""
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    # Candidate root (u/v)^((p+3)/8) = u·v³·(u·v⁷)^((p−5)/8)   (RFC 8032 §5.1.3 step 2).
    x = (u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P)) % P
    vxx = (v * x * x) % P
    if vxx == u:
        pass
    elif vxx == (-u) % P:
        x = (x * SQRT_M1) % P
    else:
        return None
    if x == 0 and sign == 1:
        return None
    if x & 1 != sign:
        x = P - x
    return x


def decode(data: bytes, *, strict: bool = True) -> EdPoint | None:
    """Decode 32 bytes to a curve point, or None if it is not one (RFC 8032 §5.1.3).

    With ``strict`` (the RFC's rule) a y ≥ p and an x = 0 with the sign bit set are refused.
    Without it, y is reduced mod p and the sign bit of x = 0 is ignored: what a lax decoder
    (for example libsodium's ``crypto_core_ed25519_add``) accepts.
    """
    if len(data) != 32:
        return None
    value = int.from_bytes(data, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= P:
        if strict:
            return None
        y -= P
    x = _recover_x(y, sign)
    if x is None and not strict:
        x = _recover_x(y, 0)
        if x != 0:
            return None
    if x is None:
        return None
    return from_affine(x, y)


def is_canonical(data: bytes) -> bool:
    """True iff ``data`` is the encoding :func:`encode` gives for the point it decodes to."""
    pt = decode(data, strict=False)
    return pt is not None and encode(pt) == data


def is_in_prime_subgroup(pt: EdPoint) -> bool:
    """True iff L·pt is the identity (pt ∈ ⟨B⟩, the identity included)."""
    return is_identity(scalar_mult(L, pt))


def order(pt: EdPoint) -> int:
    """The order of a point of small order (1, 2, 4 or 8); raises if it is not one."""
    acc = pt
    for n in (1, 2, 4, 8):
        if is_identity(acc):
            return n
        acc = double(acc)
    raise ValueError("not a point of small order")


def is_valid_group_element(data: bytes) -> bool:
    """What a strict decoder of G must accept: canonical, on the curve, in ⟨B⟩, not I."""
    pt = decode(data, strict=True)
    if pt is None or not is_canonical(data):
        return False
    return is_in_prime_subgroup(pt) and not is_identity(pt)


# --- the base point and the torsion subgroup ---------------------------------------------------


def _base_point() -> EdPoint:
    """B = (x, 4/5) with x even ("positive"), RFC 8032 §5.1."""
    y = (4 * pow(5, -1, P)) % P
    x = _recover_x(y, 0)
    if x is None:  # pragma: no cover - 4/5 is on the curve
        raise AssertionError("4/5 is not the y of a curve point")
    return from_affine(x, y)


BASE: Final = _base_point()


def _point_of_order_8() -> EdPoint:
    """The torsion component L·Q of the first curve point Q = (x, y), y = 2, 3, …, of order 8.

    Every curve point is (a point of G) + (a point of the 8-torsion); multiplying by L kills
    the first part, so L·Q is a torsion point and, for a suitable Q, a generator of it.
    """
    y = 2
    while True:
        x = _recover_x(y, 0)
        if x is not None:
            t = scalar_mult(L, from_affine(x, y))
            if order(t) == 8:
                return t
        y += 1


T8: Final = _point_of_order_8()
#: The 8 torsion points k·T8 for k = 0..7; TORSION[0] is the identity, TORSION[4] is (0, −1).
TORSION: Final = tuple(scalar_mult(k, T8) for k in range(8))
