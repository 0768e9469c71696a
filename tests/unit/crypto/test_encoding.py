"""Unit tests for the canonical TLV encoding (crypto spec §5.2) and its golden vectors.

The vectors in ``tests/vectors/tlv.json`` are built by ``tests/vectors/gen/gen_tlv.py`` from
the spec's byte layout, independently of ``evote.crypto.encoding``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evote.crypto.encoding import (
    MAX_DEPTH,
    MAX_PAYLOAD,
    Decoded,
    Value,
    decode,
    encode,
    expect_bytes,
    expect_int,
    expect_list,
    expect_point,
    expect_scalar,
    expect_text,
)
from evote.crypto.group import BASE, IDENTITY, L, Point, Scalar, base_mul
from evote.errors import (
    DecodeError,
    EncodingError,
    EvoteError,
    InvalidInput,
    InvalidPoint,
    NonCanonicalScalar,
)
from tests.vectors.gen import gen_tlv

VECTORS_PATH = Path(__file__).resolve().parents[2] / "vectors" / "tlv.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))

ERRORS: dict[str, type[EvoteError]] = {
    "EncodingError": EncodingError,
    "InvalidPoint": InvalidPoint,
    "NonCanonicalScalar": NonCanonicalScalar,
    "InvalidInput": InvalidInput,
}


def build(spec: dict[str, Any]) -> Any:
    """The Python value described by the vectors' JSON notation (see gen_tlv.py)."""
    ((kind, raw),) = spec.items()
    if kind == "text":
        assert isinstance(raw, str)
        return raw
    if kind == "bytes":
        return bytes.fromhex(raw)
    if kind in ("uint", "int"):
        return int(raw)
    if kind == "bool":
        assert isinstance(raw, bool)
        return raw
    if kind == "point":
        encoding = bytes.fromhex(raw)
        return Point.decode(encoding, allow_identity=True)
    if kind == "scalar":
        return Scalar.decode(bytes.fromhex(raw))
    if kind == "list":
        return [build(item) for item in raw]
    raise AssertionError(f"unknown vector notation {kind!r}")


def _ids(section: str) -> list[str]:
    return [str(v["name"]) for v in VECTORS[section]]


# --- golden vectors ---------------------------------------------------------------------------


def test_vector_file_is_up_to_date_with_its_generator() -> None:
    assert VECTORS_PATH.read_text(encoding="utf-8") == gen_tlv.render()


def test_vector_file_covers_every_section() -> None:
    assert len(VECTORS["valid"]) >= 20
    assert len(VECTORS["invalid_encodings"]) >= 30
    assert VECTORS["encode_only"]
    assert VECTORS["unencodable_values"]
    errors = {v["error"] for v in VECTORS["invalid_encodings"]}
    assert errors == {"EncodingError", "InvalidPoint", "NonCanonicalScalar"}


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=_ids("valid"))
def test_golden_encode(vector: dict[str, Any]) -> None:
    assert encode(build(vector["value"])).hex() == vector["encoding"]


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=_ids("valid"))
def test_golden_decode(vector: dict[str, Any]) -> None:
    decoded = decode(bytes.fromhex(vector["encoding"]))
    expected = build(vector["value"])
    assert decoded == expected
    assert type(decoded) is type(expected)


@pytest.mark.parametrize("vector", VECTORS["encode_only"], ids=_ids("encode_only"))
def test_golden_encode_only(vector: dict[str, Any]) -> None:
    assert encode(build(vector["value"])).hex() == vector["encoding"]
    with pytest.raises(ERRORS[vector["decode_error"]]) as excinfo:
        decode(bytes.fromhex(vector["encoding"]))
    assert excinfo.type is ERRORS[vector["decode_error"]]


@pytest.mark.parametrize("vector", VECTORS["invalid_encodings"], ids=_ids("invalid_encodings"))
def test_golden_invalid_encodings(vector: dict[str, Any]) -> None:
    error = ERRORS[vector["error"]]
    with pytest.raises(error) as excinfo:
        decode(bytes.fromhex(vector["encoding"]))
    assert excinfo.type is error


@pytest.mark.parametrize("vector", VECTORS["unencodable_values"], ids=_ids("unencodable_values"))
def test_golden_unencodable_values(vector: dict[str, Any]) -> None:
    error = ERRORS[vector["error"]]
    with pytest.raises(error) as excinfo:
        encode(build(vector["value"]))
    assert excinfo.type is error


# --- encoder ----------------------------------------------------------------------------------


class TestEncode:
    def test_tuple_encodes_like_list(self) -> None:
        assert encode((1, "a", (b"x",))) == encode([1, "a", [b"x"]])
        assert decode(encode((1, 2))) == [1, 2]

    def test_point_and_scalar_with_the_same_bytes_differ(self) -> None:
        # A point whose encoding, read as a little-endian integer, is below L.
        point = next(
            p
            for k in range(1, 200)
            if int.from_bytes((p := base_mul(Scalar(k))).encode(), "little") < L
        )
        scalar = Scalar.decode(point.encode())
        assert scalar.encode() == point.encode()  # same 32 payload bytes ...
        assert encode(point) != encode(scalar)  # ... kept apart by the type byte
        assert encode(point)[1:] == encode(scalar)[1:]
        assert decode(encode(point)) == point
        assert decode(encode(scalar)) == scalar

    def test_leaf_types_are_kept_apart(self) -> None:
        leaves: list[Value] = ["", b"", 0, [], Scalar(0)]
        encodings = {encode(v) for v in leaves}
        assert len(encodings) == 5

    @pytest.mark.parametrize(
        "value",
        [True, False, -1, -(2**300), 1.0, None, {"a": 1}, {1}, bytearray(b"x"), object()],
        ids=repr,
    )
    def test_unencodable_values(self, value: Any) -> None:
        with pytest.raises(InvalidInput):
            encode(value)
        with pytest.raises(InvalidInput):
            encode([1, [value]])

    @pytest.mark.parametrize("text", ["e\u0301", "\u212b", "\ud800", "a\udfffb"], ids=repr)
    def test_unencodable_text(self, text: str) -> None:
        with pytest.raises(InvalidInput):
            encode(text)

    def test_identity_encodes(self) -> None:
        assert encode(IDENTITY) == bytes.fromhex("0400000020") + b"\x01" + bytes(31)

    def test_self_referential_list_is_refused(self) -> None:
        loop: list[Any] = []
        loop.append(loop)
        with pytest.raises(InvalidInput):
            encode(loop)

    def test_deep_nesting_is_refused_cleanly(self) -> None:
        value: list[Any] = []
        for _ in range(100_000):
            value = [value]
        with pytest.raises(InvalidInput):
            encode(value)


# --- decoder ----------------------------------------------------------------------------------


class TestDecode:
    @pytest.mark.parametrize("data", [bytearray(b"\x03\x00\x00\x00\x00"), "0300000000", None])
    def test_non_bytes_input(self, data: Any) -> None:
        with pytest.raises(EncodingError):
            decode(data)

    def test_length_above_the_payload_cap(self) -> None:
        with pytest.raises(EncodingError):
            decode(bytes([0x02]) + (MAX_PAYLOAD + 1).to_bytes(4, "big"))

    def test_deeply_nested_input_is_a_clean_encoding_error(self) -> None:
        data = bytes.fromhex("0800000000")
        for _ in range(50_000):
            data = b"\x08" + len(data).to_bytes(4, "big") + data
        with pytest.raises(EncodingError):
            decode(data)

    def test_nesting_up_to_the_limit_decodes_and_one_more_level_is_refused(self) -> None:
        data = bytes.fromhex("0800000000")
        value: list[Any] = []
        for _ in range(MAX_DEPTH - 1):
            data = b"\x08" + len(data).to_bytes(4, "big") + data
            value = [value]
        assert decode(data) == value
        assert encode(value) == data
        with pytest.raises(EncodingError, match="nest"):
            decode(b"\x08" + len(data).to_bytes(4, "big") + data)
        with pytest.raises(InvalidInput, match="nest"):
            encode([value])

    def test_errors_are_decode_errors(self) -> None:
        for error in (EncodingError, InvalidPoint, NonCanonicalScalar):
            assert issubclass(error, DecodeError)

    def test_error_inside_a_list_propagates(self) -> None:
        bad_scalar = bytes.fromhex("0500000020") + L.to_bytes(32, "little")
        good = encode("ok")
        body = good + bad_scalar
        with pytest.raises(NonCanonicalScalar):
            decode(b"\x08" + len(body).to_bytes(4, "big") + body)

    def test_decoded_values_have_the_expected_types(self) -> None:
        p = base_mul(Scalar(9))
        decoded = decode(encode(["t", b"b", 7, p, Scalar(3), []]))
        assert isinstance(decoded, list)
        assert [type(item) for item in decoded] == [str, bytes, int, Point, Scalar, list]


# --- typed accessors --------------------------------------------------------------------------


class TestAccessors:
    def test_accept_the_right_type(self) -> None:
        p = base_mul(Scalar(2))
        assert expect_list([1, 2], 2, what="w") == [1, 2]
        assert expect_list([], what="w") == []
        assert expect_point(p, what="w") == p
        assert expect_scalar(Scalar(1), what="w") == Scalar(1)
        assert expect_bytes(b"ab", 2, what="w") == b"ab"
        assert expect_bytes(b"", what="w") == b""
        assert expect_int(5, what="w") == 5
        assert expect_text("x", what="w") == "x"

    @pytest.mark.parametrize(
        ("accessor", "value"),
        [
            (lambda v: expect_list(v, what="w"), b"x"),
            (lambda v: expect_list(v, 3, what="w"), [1, 2]),
            (lambda v: expect_point(v, what="w"), Scalar(1)),
            (lambda v: expect_scalar(v, what="w"), 1),
            (lambda v: expect_bytes(v, what="w"), "x"),
            (lambda v: expect_bytes(v, 3, what="w"), b"xy"),
            (lambda v: expect_int(v, what="w"), b"\x01"),
            (lambda v: expect_text(v, what="w"), b"x"),
        ],
    )
    def test_reject_the_wrong_type(self, accessor: Any, value: Decoded) -> None:
        with pytest.raises(DecodeError) as excinfo:
            accessor(value)
        assert "w:" in str(excinfo.value)


def test_value_alias_accepts_nested_sequences() -> None:
    value: Value = ["a", (b"b", [1, Scalar(2), BASE])]
    assert decode(encode(value)) == ["a", [b"b", [1, Scalar(2), BASE]]]
