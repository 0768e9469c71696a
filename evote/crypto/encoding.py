"""The one canonical encoding (TLV) for everything evote hashes or signs.

Crypto spec §5.2. Each value encodes as ``type (1 byte) ‖ length (4 bytes, big-endian) ‖
payload``:

========  ===================  ==================================================================
type      Python value         payload
========  ===================  ==================================================================
``0x01``  ``str``              UTF-8 of NFC-normalized text (other text is refused both ways)
``0x02``  ``bytes``            raw bytes
``0x03``  ``int`` (≥ 0)        big-endian, minimal length (0 → empty payload)
``0x04``  :class:`Point`       the 32-byte canonical encoding of a validated point
``0x05``  :class:`Scalar`      32 bytes little-endian, below L
``0x08``  ``list``/``tuple``   the concatenation of the encoded items
========  ===================  ==================================================================

Types ``0x06`` and ``0x07`` are reserved for Paillier residues (mod n² and mod n).

The code is self-delimiting, so a concatenation of encodings is injective, and the type byte
keeps a point and a scalar at the same position apart. Decoding is strict: it accepts exactly
the bytes that ``encode`` produces, so every value has one encoding and one only.
"""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Sequence
from typing import Final

from evote.crypto.group import POINT_BYTES, SCALAR_BYTES, Point, Scalar
from evote.errors import DecodeError, EncodingError, InvalidInput

TEXT: Final = 0x01
BYTES: Final = 0x02
UINT: Final = 0x03
POINT: Final = 0x04
SCALAR: Final = 0x05
LIST: Final = 0x08

#: Payloads longer than this are refused when decoding (a denial-of-service guard).
MAX_PAYLOAD: Final = 1 << 30
#: Lists nest at most this deep, both ways (evote's own structures nest fewer than 8 levels).
MAX_DEPTH: Final = 32

_HEADER = struct.Struct(">BI")

#: A value the encoding can represent.
Value = str | bytes | int | Point | Scalar | Sequence["Value"]


def encode(value: Value) -> bytes:
    """The canonical TLV encoding of ``value``."""
    parts: list[bytes] = []
    _encode_into(value, parts, 0)
    return b"".join(parts)


def _encode_into(value: Value, out: list[bytes], depth: int) -> None:
    # bool is an int subclass; refuse it so True and 1 cannot be confused by accident.
    if isinstance(value, bool):
        raise InvalidInput("booleans have no canonical encoding; use 0 or 1 explicitly")
    if isinstance(value, Point):
        out.append(b"\x04\x00\x00\x00\x20")
        out.append(value.encode())
    elif isinstance(value, Scalar):
        out.append(b"\x05\x00\x00\x00\x20")
        out.append(value.encode())
    elif isinstance(value, bytes):
        out.append(_HEADER.pack(BYTES, len(value)))
        out.append(value)
    elif isinstance(value, int):
        if value < 0:
            raise InvalidInput(f"negative integers have no canonical encoding, got {value}")
        payload = value.to_bytes((value.bit_length() + 7) // 8, "big")
        out.append(_HEADER.pack(UINT, len(payload)))
        out.append(payload)
    elif isinstance(value, str):
        if not unicodedata.is_normalized("NFC", value):
            raise InvalidInput(f"text must be NFC-normalized before encoding: {value!r}")
        try:
            payload = value.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates have no UTF-8 form
            raise InvalidInput(f"text is not encodable as UTF-8: {value!r}") from exc
        out.append(_HEADER.pack(TEXT, len(payload)))
        out.append(payload)
    elif isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            raise InvalidInput(f"lists nest at most {MAX_DEPTH} levels deep")
        inner: list[bytes] = []
        for item in value:
            _encode_into(item, inner, depth + 1)
        body = b"".join(inner)
        out.append(_HEADER.pack(LIST, len(body)))
        out.append(body)
    else:
        raise InvalidInput(f"no canonical encoding for values of type {type(value).__name__}")


#: What :func:`decode` returns: lists come back as lists.
Decoded = str | bytes | int | Point | Scalar | list["Decoded"]


def decode(data: bytes) -> Decoded:
    """Parse exactly one canonical TLV value; anything else raises :class:`DecodeError`."""
    if not isinstance(data, bytes):
        raise EncodingError(f"TLV input must be bytes, got {type(data).__name__}")
    value, end = _decode_at(data, 0, len(data), 0)
    if end != len(data):
        raise EncodingError(f"{len(data) - end} trailing bytes after the TLV value")
    return value


def split_values(data: bytes) -> list[bytes]:
    """Split a concatenation of TLV values into the exact bytes of each (not parsed further)."""
    values = []
    position = 0
    while position < len(data):
        if len(data) - position < _HEADER.size:
            raise EncodingError("truncated TLV header")
        _, length = _HEADER.unpack_from(data, position)
        end = position + _HEADER.size + length
        if length > MAX_PAYLOAD or end > len(data):
            raise EncodingError(f"TLV length {length} runs past the end of the data")
        values.append(data[position:end])
        position = end
    return values


def _decode_at(data: bytes, start: int, limit: int, depth: int) -> tuple[Decoded, int]:
    if limit - start < _HEADER.size:
        raise EncodingError("truncated TLV header")
    kind, length = _HEADER.unpack_from(data, start)
    body_start = start + _HEADER.size
    end = body_start + length
    if length > MAX_PAYLOAD or end > limit:
        raise EncodingError(f"TLV length {length} runs past the end of its container")
    payload = data[body_start:end]
    if kind == LIST:
        if depth >= MAX_DEPTH:
            raise EncodingError(f"TLV lists nest at most {MAX_DEPTH} levels deep")
        items: list[Decoded] = []
        position = body_start
        while position < end:
            item, position = _decode_at(data, position, end, depth + 1)
            items.append(item)
        return items, end
    return _decode_scalar_value(kind, payload), end


def _decode_scalar_value(kind: int, payload: bytes) -> Decoded:
    if kind == BYTES:
        return payload
    if kind == UINT:
        if payload[:1] == b"\x00":
            raise EncodingError("integer has a leading zero byte (not minimal)")
        return int.from_bytes(payload, "big")
    if kind == TEXT:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EncodingError(f"text is not valid UTF-8: {exc}") from exc
        if unicodedata.normalize("NFC", text) != text:
            raise EncodingError("text is not NFC-normalized")
        return text
    if kind == POINT:
        if len(payload) != POINT_BYTES:
            raise EncodingError(f"point payload must be {POINT_BYTES} bytes, got {len(payload)}")
        return Point.decode(payload)
    if kind == SCALAR:
        if len(payload) != SCALAR_BYTES:
            raise EncodingError(f"scalar payload must be {SCALAR_BYTES} bytes, got {len(payload)}")
        return Scalar.decode(payload)
    raise EncodingError(f"unknown TLV type 0x{kind:02x}")


# --- typed accessors for parsers of structured values --------------------------------------------


def expect_list(value: Decoded, length: int | None = None, *, what: str) -> list[Decoded]:
    """``value`` as a list (of exactly ``length`` items when given), or a clear DecodeError."""
    if not isinstance(value, list):
        raise DecodeError(f"{what}: expected a list, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise DecodeError(f"{what}: expected {length} items, got {len(value)}")
    return value


def expect_point(value: Decoded, *, what: str) -> Point:
    if not isinstance(value, Point):
        raise DecodeError(f"{what}: expected a point, got {type(value).__name__}")
    return value


def expect_scalar(value: Decoded, *, what: str) -> Scalar:
    if not isinstance(value, Scalar):
        raise DecodeError(f"{what}: expected a scalar, got {type(value).__name__}")
    return value


def expect_bytes(value: Decoded, length: int | None = None, *, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise DecodeError(f"{what}: expected bytes, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise DecodeError(f"{what}: expected {length} bytes, got {len(value)}")
    return value


def expect_int(value: Decoded, *, what: str) -> int:
    if not isinstance(value, int):
        raise DecodeError(f"{what}: expected an unsigned integer, got {type(value).__name__}")
    return value


def expect_text(value: Decoded, *, what: str) -> str:
    if not isinstance(value, str):
        raise DecodeError(f"{what}: expected text, got {type(value).__name__}")
    return value
