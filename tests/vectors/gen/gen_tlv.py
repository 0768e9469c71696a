"""Generate ``tests/vectors/tlv.json``: golden vectors for the canonical TLV encoding.

Run from the repository root::

    .venv/bin/python -m tests.vectors.gen.gen_tlv          # rewrite tests/vectors/tlv.json
    .venv/bin/python -m tests.vectors.gen.gen_tlv --check  # exit 1 if the file is stale

Every expected byte string below is assembled by hand from the byte layout of crypto spec
§5.2 (``type (1 byte) ‖ length (4 bytes, big-endian) ‖ payload``). This script deliberately
imports nothing from ``evote``: it must stay an independent second opinion on
``evote.crypto.encoding``. Point encodings come from the pure-Python RFC 8032 reference in
``tests/reference/ed25519_ref.py``, which does not import evote or PyNaCl either.

JSON value notation (shared with ``tests/unit/crypto/test_encoding.py``)::

    {"text": "..."}     str (JSON escapes keep non-ASCII and non-NFC text exact)
    {"bytes": "hex"}    bytes
    {"uint": "123"}     int >= 0, as a decimal string (safe for any JSON reader)
    {"int": "-1"}       a negative int (only in "unencodable_values")
    {"bool": true}      a bool (only in "unencodable_values")
    {"point": "hex"}    a point, by its 32-byte encoding
    {"scalar": "hex"}   a scalar, by its 32-byte little-endian encoding
    {"list": [...]}     a list of values
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Final

from tests.reference import ed25519_ref as ref

OUTPUT: Final = Path(__file__).resolve().parent.parent / "tlv.json"

#: The group order, written out again here rather than imported.
L: Final = 2**252 + 27742317777372353535851937790883648493

JsonValue = dict[str, object]


# --- the byte layout of spec §5.2, by hand --------------------------------------------------


def header(kind: int, length: int) -> bytes:
    return bytes([kind]) + length.to_bytes(4, "big")


def tlv_text(text: str) -> bytes:
    payload = text.encode("utf-8")
    return header(0x01, len(payload)) + payload


def tlv_bytes(data: bytes) -> bytes:
    return header(0x02, len(data)) + data


def tlv_uint(n: int) -> bytes:
    payload = b"" if n == 0 else n.to_bytes((n.bit_length() + 7) // 8, "big")
    return header(0x03, len(payload)) + payload


def tlv_point(encoding: bytes) -> bytes:
    return header(0x04, 32) + encoding


def tlv_scalar(n: int) -> bytes:
    return header(0x05, 32) + n.to_bytes(32, "little")


def tlv_list(*items: bytes) -> bytes:
    body = b"".join(items)
    return header(0x08, len(body)) + body


# --- JSON value notation --------------------------------------------------------------------


def j_text(text: str) -> JsonValue:
    return {"text": text}


def j_bytes(data: bytes) -> JsonValue:
    return {"bytes": data.hex()}


def j_uint(n: int) -> JsonValue:
    return {"uint": str(n)}


def j_point(encoding: bytes) -> JsonValue:
    return {"point": encoding.hex()}


def j_scalar(n: int) -> JsonValue:
    return {"scalar": n.to_bytes(32, "little").hex()}


def j_list(*items: JsonValue) -> JsonValue:
    return {"list": list(items)}


def valid(name: str, value: JsonValue, encoding: bytes) -> dict[str, object]:
    return {"name": name, "value": value, "encoding": encoding.hex()}


def invalid(name: str, encoding: bytes, error: str) -> dict[str, object]:
    return {"name": name, "encoding": encoding.hex(), "error": error}


# --- points from the reference implementation -----------------------------------------------


def _first_off_curve_y() -> int:
    y = 2
    while ref.decode(y.to_bytes(32, "little")) is not None:
        y += 1
    return y


def _first_noncanonical_alias() -> bytes:
    """y + p for the smallest y ≤ 18 that is the y of a curve point (x even)."""
    for y in range(19):
        if ref.decode(y.to_bytes(32, "little")) is not None and y not in (0, 1):
            return (y + ref.P).to_bytes(32, "little")
    raise AssertionError("no curve point with a small y")  # pragma: no cover


def build_vectors() -> dict[str, object]:
    b = ref.encode(ref.BASE)
    b2 = ref.encode(ref.scalar_mult(2, ref.BASE))
    b_minus = ref.encode(ref.scalar_mult(L - 1, ref.BASE))
    identity = ref.encode(ref.IDENTITY)
    t8 = ref.encode(ref.T8)
    b_plus_t8 = ref.encode(ref.add(ref.BASE, ref.T8))
    off_curve = _first_off_curve_y().to_bytes(32, "little")
    alias = _first_noncanonical_alias()
    x0_sign = (1 | (1 << 255)).to_bytes(32, "little")  # y = 1, x = 0, sign bit set
    params = [
        "evote/v1",
        "params",
        "edwards25519-prime-order",
    ]

    valid_vectors = [
        valid("empty text", j_text(""), header(0x01, 0)),
        valid("ascii text", j_text("evote/v1"), bytes.fromhex("01 00000008") + b"evote/v1"),
        valid("NFC text, 2-byte UTF-8", j_text("\u00e9"), bytes.fromhex("01 00000002 c3a9")),
        valid(
            "text, 3- and 4-byte UTF-8", j_text("\u6295\U0001f5f3"), tlv_text("\u6295\U0001f5f3")
        ),
        valid("empty bytes", j_bytes(b""), bytes.fromhex("02 00000000")),
        valid("bytes 00 ff", j_bytes(b"\x00\xff"), bytes.fromhex("02 00000002 00ff")),
        valid("bytes, 32 zeros", j_bytes(bytes(32)), tlv_bytes(bytes(32))),
        valid("uint 0 (empty payload)", j_uint(0), bytes.fromhex("03 00000000")),
        valid("uint 1", j_uint(1), bytes.fromhex("03 00000001 01")),
        valid("uint 127", j_uint(127), bytes.fromhex("03 00000001 7f")),
        valid("uint 255", j_uint(255), bytes.fromhex("03 00000001 ff")),
        valid("uint 256", j_uint(256), bytes.fromhex("03 00000002 0100")),
        valid("uint 2^32 - 1", j_uint(2**32 - 1), bytes.fromhex("03 00000004 ffffffff")),
        valid("uint 2^64", j_uint(2**64), bytes.fromhex("03 00000009 01 0000000000000000")),
        valid("uint L", j_uint(L), tlv_uint(L)),
        valid("point B", j_point(b), bytes.fromhex("04 00000020") + b"\x58" + b"\x66" * 31),
        valid("point 2B", j_point(b2), tlv_point(b2)),
        valid("point (L-1)B = -B", j_point(b_minus), tlv_point(b_minus)),
        valid("scalar 0", j_scalar(0), bytes.fromhex("05 00000020") + bytes(32)),
        valid("scalar 1", j_scalar(1), bytes.fromhex("05 00000020 01") + bytes(31)),
        valid("scalar L-1", j_scalar(L - 1), tlv_scalar(L - 1)),
        valid("empty list", j_list(), bytes.fromhex("08 00000000")),
        valid(
            "list of one uint",
            j_list(j_uint(0)),
            bytes.fromhex("08 00000005 03 00000000"),
        ),
        valid(
            "nested lists",
            j_list(j_list(), j_list(j_uint(1)), j_list(j_bytes(b""), j_text(""))),
            tlv_list(tlv_list(), tlv_list(tlv_uint(1)), tlv_list(tlv_bytes(b""), tlv_text(""))),
        ),
        valid(
            "point and scalar side by side (same 32-byte payload kinds, different types)",
            j_list(j_point(b), j_scalar(int.from_bytes(b, "little") % L)),
            tlv_list(tlv_point(b), tlv_scalar(int.from_bytes(b, "little") % L)),
        ),
        valid(
            "hash transcript prefix (H_P shape)",
            j_list(
                *(j_text(t) for t in params), j_point(b), j_uint(L), j_text("sha512-tlv"), j_uint(1)
            ),
            tlv_list(
                *(tlv_text(t) for t in params),
                tlv_point(b),
                tlv_uint(L),
                tlv_text("sha512-tlv"),
                tlv_uint(1),
            ),
        ),
    ]

    invalid_encodings = [
        invalid("empty input", b"", "EncodingError"),
        invalid("truncated header (4 bytes)", bytes.fromhex("03000000"), "EncodingError"),
        invalid(
            "truncated header inside a list", bytes.fromhex("08 00000003 030000"), "EncodingError"
        ),
        invalid("trailing byte", bytes.fromhex("03 00000000 00"), "EncodingError"),
        invalid("two values", tlv_uint(1) + tlv_uint(2), "EncodingError"),
        invalid(
            "uint with leading zero byte (0)", bytes.fromhex("03 00000001 00"), "EncodingError"
        ),
        invalid(
            "uint with leading zero byte (1)", bytes.fromhex("03 00000002 0001"), "EncodingError"
        ),
        invalid("unknown type 0x00", bytes.fromhex("00 00000000"), "EncodingError"),
        invalid("reserved type 0x06", bytes.fromhex("06 00000001 01"), "EncodingError"),
        invalid("reserved type 0x07", bytes.fromhex("07 00000001 01"), "EncodingError"),
        invalid("unknown type 0x09", bytes.fromhex("09 00000000"), "EncodingError"),
        invalid("unknown type 0xff", bytes.fromhex("ff 00000000"), "EncodingError"),
        invalid("length past the end", bytes.fromhex("02 00000005 0102"), "EncodingError"),
        invalid("length 2^32 - 1", bytes.fromhex("02 ffffffff 00"), "EncodingError"),
        invalid(
            "item runs past its list (bytes exist after the list)",
            bytes.fromhex("08 00000005 02 00000001 aa"),
            "EncodingError",
        ),
        invalid(
            "item runs past its list; the overrun bytes would parse as the next item",
            tlv_list(header(0x08, 5) + header(0x02, 5) + tlv_uint(0)),
            "EncodingError",
        ),
        invalid("invalid UTF-8 (0xff)", bytes.fromhex("01 00000001 ff"), "EncodingError"),
        invalid("invalid UTF-8 (overlong '/')", bytes.fromhex("01 00000002 c0af"), "EncodingError"),
        invalid("invalid UTF-8 (surrogate)", bytes.fromhex("01 00000003 eda080"), "EncodingError"),
        invalid("invalid UTF-8 (truncated)", bytes.fromhex("01 00000001 c3"), "EncodingError"),
        invalid("non-NFC text (e + U+0301)", bytes.fromhex("01 00000003 65cc81"), "EncodingError"),
        invalid("point payload of 31 bytes", header(0x04, 31) + b[:31], "EncodingError"),
        invalid("point payload of 33 bytes", header(0x04, 33) + b + b"\x00", "EncodingError"),
        invalid("point payload empty", header(0x04, 0), "EncodingError"),
        invalid("point: identity", tlv_point(identity), "InvalidPoint"),
        invalid("point: order-8 torsion point", tlv_point(t8), "InvalidPoint"),
        invalid("point: B + T8", tlv_point(b_plus_t8), "InvalidPoint"),
        invalid("point: off the curve", tlv_point(off_curve), "InvalidPoint"),
        invalid("point: non-canonical y + p", tlv_point(alias), "InvalidPoint"),
        invalid("point: x = 0 with sign bit set", tlv_point(x0_sign), "InvalidPoint"),
        invalid("point inside a list: identity", tlv_list(tlv_point(identity)), "InvalidPoint"),
        invalid("scalar payload of 31 bytes", header(0x05, 31) + bytes(31), "EncodingError"),
        invalid("scalar payload of 33 bytes", header(0x05, 33) + bytes(33), "EncodingError"),
        invalid("scalar L", tlv_scalar(L), "NonCanonicalScalar"),
        invalid("scalar L + 1", tlv_scalar(L + 1), "NonCanonicalScalar"),
        invalid(
            "scalar 2^256 - 1",
            header(0x05, 32) + b"\xff" * 32,
            "NonCanonicalScalar",
        ),
    ]

    encode_only = [
        {
            "name": "identity point: encodable (internal value, R5) but refused by decode (R1)",
            "value": j_point(identity),
            "encoding": tlv_point(identity).hex(),
            "decode_error": "InvalidPoint",
        },
    ]

    unencodable_values = [
        {"name": "bool true", "value": {"bool": True}, "error": "InvalidInput"},
        {"name": "bool false", "value": {"bool": False}, "error": "InvalidInput"},
        {"name": "negative int", "value": {"int": "-1"}, "error": "InvalidInput"},
        {"name": "non-NFC text", "value": j_text("e\u0301"), "error": "InvalidInput"},
        {"name": "lone surrogate", "value": j_text("\ud800"), "error": "InvalidInput"},
        {
            "name": "bool inside a list",
            "value": j_list(j_uint(1), {"bool": True}),
            "error": "InvalidInput",
        },
    ]

    return {
        "description": (
            "Golden vectors for evote's canonical TLV encoding (crypto spec section 5.2). "
            "Generated by tests/vectors/gen/gen_tlv.py; do not edit by hand."
        ),
        "valid": valid_vectors,
        "encode_only": encode_only,
        "invalid_encodings": invalid_encodings,
        "unencodable_values": unencodable_values,
    }


def render() -> str:
    return json.dumps(build_vectors(), indent=2, ensure_ascii=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is stale: rerun python -m tests.vectors.gen.gen_tlv", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
