"""The prime-order subgroup of edwards25519 through libsodium: points, scalars, arithmetic.

Design reference: crypto spec §3.1, rules R1–R6. The cofactor 8 of the full curve is the
source of most pitfalls, so every value that leaves this module is kept inside G = ⟨B⟩:

* ``Point.decode`` is the only way to turn outside bytes into a point, and it rejects the
  identity, small-order and torsion points and non-canonical encodings (R1, R2).
* ``Scalar.decode`` rejects anything that is not 32 bytes little-endian below L (R3).
* Computed scalars are reduced mod L before libsodium sees them (R4).
* The identity is a legal *internal* value: multiplying by 0 or by the identity returns it
  instead of letting libsodium raise (R5). libsodium exceptions never escape this module.
* The clamped scalar multiplications are never used: clamping changes the scalar.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final, final, overload

from nacl import bindings as _sodium
from nacl._sodium import ffi as _ffi
from nacl._sodium import lib as _lib

from evote.errors import BackendUnavailable, InvalidInput, InvalidPoint, NonCanonicalScalar

if not (_sodium.has_crypto_core_ed25519 and _sodium.has_crypto_scalarmult_ed25519):  # R6
    raise BackendUnavailable(
        "the installed libsodium was built without the crypto_core_ed25519 / "
        "crypto_scalarmult_ed25519 functions; install PyNaCl's wheel, which bundles a full build"
    )

#: Order of the base point B (and of G).
L: Final = 2**252 + 27742317777372353535851937790883648493
#: Field prime of edwards25519.
FIELD_PRIME: Final = 2**255 - 19
POINT_BYTES: Final = 32
SCALAR_BYTES: Final = 32

_IDENTITY_BYTES: Final = b"\x01" + b"\x00" * 31
_BASE_BYTES: Final = b"\x58" + b"\x66" * 31


# --- the only calls into libsodium's Ed25519 core ------------------------------------------------
# These call PyNaCl's cffi handle to libsodium directly. PyNaCl's public wrappers re-check
# argument types and format error strings on every call, which measured about a tenth of a
# ballot verification; our callers pass only 32-byte values held by Point and Scalar.


def _sbase_raw(k: bytes) -> bytes:
    """k·B for a reduced, non-zero scalar (libsodium refuses an identity result)."""
    out = _ffi.new("unsigned char[32]")
    if _lib.crypto_scalarmult_ed25519_base_noclamp(out, k) != 0:
        raise InvalidInput("fixed-base multiplication refused: the scalar is 0 mod L")
    return bytes(out)


def _smul_raw(k: bytes, p: bytes) -> bytes:
    """k·P; libsodium re-checks that P is canonical and in G and refuses an identity result."""
    out = _ffi.new("unsigned char[32]")
    if _lib.crypto_scalarmult_ed25519_noclamp(out, k, p) != 0:
        raise InvalidPoint("libsodium refused a scalar multiplication: the point is not in G")
    return bytes(out)


def _add_raw(p: bytes, q: bytes) -> bytes:
    out = _ffi.new("unsigned char[32]")
    if _lib.crypto_core_ed25519_add(out, p, q) != 0:
        raise InvalidPoint("libsodium refused a point addition: an input is not on the curve")
    return bytes(out)


def _sub_raw(p: bytes, q: bytes) -> bytes:
    out = _ffi.new("unsigned char[32]")
    if _lib.crypto_core_ed25519_sub(out, p, q) != 0:
        raise InvalidPoint("libsodium refused a point subtraction: an input is not on the curve")
    return bytes(out)


def _is_valid_raw(p: bytes) -> bool:
    return bool(_lib.crypto_core_ed25519_is_valid_point(p))


def _scalar_op(operation: Callable[[object, bytes, bytes], None], a: bytes, b: bytes) -> bytes:
    out = _ffi.new("unsigned char[32]")
    operation(out, a, b)
    return bytes(out)


# --- scalars -------------------------------------------------------------------------------------


@final
class Scalar:
    """An integer modulo L. Immutable; arithmetic reduces mod L.

    Public-value arithmetic uses Python integers, which are not constant time. Arithmetic on
    long-term secrets (guardian key shares) goes through :func:`secret_response`.
    """

    __slots__ = ("value",)
    value: int

    def __init__(self, value: int) -> None:
        object.__setattr__(self, "value", value % L)

    @classmethod
    def _reduced(cls, value: int) -> Scalar:
        scalar = object.__new__(cls)
        object.__setattr__(scalar, "value", value)
        return scalar

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Scalar is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Scalar is immutable")

    def __reduce__(self) -> tuple[Callable[[int], Scalar], tuple[int]]:
        # Immutability blocks pickle's default attribute restore; rebuild through the reducer.
        return (Scalar._reduced, (self.value,))

    @classmethod
    def decode(cls, data: bytes) -> Scalar:
        """Parse a canonical scalar (R3): exactly 32 bytes, little-endian, below L."""
        if len(data) != SCALAR_BYTES:
            raise NonCanonicalScalar(
                f"a scalar must be exactly {SCALAR_BYTES} bytes, got {len(data)}"
            )
        value = int.from_bytes(data, "little")
        if value >= L:
            raise NonCanonicalScalar(
                "scalar is not reduced: its value is not below the group order L"
            )
        return cls._reduced(value)

    @classmethod
    def from_digest(cls, digest: bytes) -> Scalar:
        """Reduce a 64-byte hash output mod L (bias below 2^-259)."""
        if len(digest) != 64:
            raise InvalidInput(f"hash-to-scalar needs a 64-byte digest, got {len(digest)} bytes")
        return cls._reduced(int.from_bytes(digest, "little") % L)

    def encode(self) -> bytes:
        return self.value.to_bytes(SCALAR_BYTES, "little")

    def __add__(self, other: Scalar) -> Scalar:
        return Scalar._reduced((self.value + other.value) % L)

    def __sub__(self, other: Scalar) -> Scalar:
        return Scalar._reduced((self.value - other.value) % L)

    @overload
    def __mul__(self, other: Scalar) -> Scalar: ...
    @overload
    def __mul__(self, other: Point) -> Point: ...
    def __mul__(self, other: Scalar | Point) -> Scalar | Point:
        # ``k * P`` lands here, not in Point.__rmul__: Python tries the left operand first.
        if isinstance(other, Point):
            return mul(self, other)
        return Scalar._reduced((self.value * other.value) % L)

    def __neg__(self) -> Scalar:
        return Scalar._reduced((-self.value) % L)

    def inverse(self) -> Scalar:
        if self.value == 0:
            raise InvalidInput("zero has no inverse modulo L")
        return Scalar._reduced(pow(self.value, -1, L))

    def is_zero(self) -> bool:
        return self.value == 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scalar) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("Scalar", self.value))

    def __repr__(self) -> str:
        return f"Scalar(0x{self.value:064x})"


ZERO: Final = Scalar(0)
ONE: Final = Scalar(1)


def secret_response(nonce: Scalar, challenge: Scalar, secret: Scalar) -> Scalar:
    """``nonce − challenge·secret mod L`` in libsodium's constant-time scalar arithmetic.

    Used wherever ``secret`` is a long-term secret (a guardian's key share or coefficient), so
    that its bits do not modulate Python big-integer timings (crypto spec §6).
    """
    product = _scalar_op(_lib.crypto_core_ed25519_scalar_mul, challenge.encode(), secret.encode())
    difference = _scalar_op(_lib.crypto_core_ed25519_scalar_sub, nonce.encode(), product)
    return Scalar._reduced(int.from_bytes(difference, "little"))


# --- points --------------------------------------------------------------------------------------


@final
class Point:
    """An element of G = ⟨B⟩, held as its unique 32-byte encoding (R2).

    Instances come only from :meth:`decode` (validated) or from arithmetic on valid points,
    so a ``Point`` is always in G. The identity exists only as an internal value (R5).
    """

    __slots__ = ("_encoding",)
    _encoding: bytes

    def __init__(self) -> None:
        raise TypeError("use Point.decode() for outside bytes; arithmetic yields new points")

    @classmethod
    def _trusted(cls, encoding: bytes) -> Point:
        point = object.__new__(cls)
        object.__setattr__(point, "_encoding", encoding)
        return point

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Point is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Point is immutable")

    def __reduce__(self) -> tuple[Callable[[bytes], Point], tuple[bytes]]:
        # Unpickling goes through the validating decoder: a pickle is outside input too.
        return (_decode_pickled_point, (self._encoding,))

    @classmethod
    def decode(cls, data: bytes, *, allow_identity: bool = False) -> Point:
        """Parse and validate a point from outside (R1).

        Rejects wrong lengths, non-canonical encodings, points off the curve, small-order
        points and points with a torsion component. The identity is rejected unless
        ``allow_identity`` is set, for the rare published value that may legally be it.
        """
        if len(data) != POINT_BYTES:
            raise InvalidPoint(f"a point must be exactly {POINT_BYTES} bytes, got {len(data)}")
        if data == _IDENTITY_BYTES:
            if allow_identity:
                return IDENTITY
            raise InvalidPoint("the identity point is not allowed here")
        if not _is_valid_raw(data):
            raise InvalidPoint(
                "not a canonical point of the prime-order subgroup (off the curve, "
                "small order, torsion component, or non-canonical encoding)"
            )
        return cls._trusted(data)

    def encode(self) -> bytes:
        return self._encoding

    def is_identity(self) -> bool:
        return self._encoding == _IDENTITY_BYTES

    def __add__(self, other: Point) -> Point:
        return Point._trusted(_add_raw(self._encoding, other._encoding))

    def __sub__(self, other: Point) -> Point:
        return Point._trusted(_sub_raw(self._encoding, other._encoding))

    def __neg__(self) -> Point:
        return Point._trusted(_sub_raw(_IDENTITY_BYTES, self._encoding))

    def __mul__(self, scalar: Scalar) -> Point:
        return mul(scalar, self)

    def __rmul__(self, scalar: Scalar) -> Point:
        return mul(scalar, self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other._encoding == self._encoding

    def __hash__(self) -> int:
        return hash(self._encoding)

    def __repr__(self) -> str:
        return f"Point({self._encoding.hex()})"


def _decode_pickled_point(encoding: bytes) -> Point:
    return Point.decode(encoding, allow_identity=True)


IDENTITY: Final = Point._trusted(_IDENTITY_BYTES)
BASE: Final = Point._trusted(_BASE_BYTES)


def base_mul(k: Scalar) -> Point:
    """k·B; the identity for k ≡ 0 (R5). One fixed-base multiplication."""
    if k.value == 0:
        return IDENTITY
    return Point._trusted(_sbase_raw(k.value.to_bytes(SCALAR_BYTES, "little")))


def mul(k: Scalar, p: Point) -> Point:
    """k·P; the identity for k ≡ 0 or P = I (R5). One variable-base multiplication."""
    if k.value == 0 or p._encoding == _IDENTITY_BYTES:
        return IDENTITY
    return Point._trusted(_smul_raw(k.value.to_bytes(SCALAR_BYTES, "little"), p._encoding))


@functools.lru_cache(maxsize=4096)
def small_multiple(j: int) -> Point:
    """j·B for a small non-negative integer (a vote value), the identity for 0. Memoized."""
    if j < 0:
        raise InvalidInput(f"a vote value cannot be negative, got {j}")
    return base_mul(Scalar(j))
