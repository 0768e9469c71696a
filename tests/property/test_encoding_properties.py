"""Hypothesis properties of the canonical TLV encoding (crypto spec §5.2, §7).

Round trip, injectivity, agreement with an independent hand-written encoder, and strictness:
every malformed input raises the specific evote error, never a built-in exception.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from evote.crypto.encoding import Decoded, Value, decode, encode
from evote.crypto.group import L, Point, Scalar, base_mul
from evote.errors import EncodingError, InvalidInput, InvalidPoint, NonCanonicalScalar
from tests.reference import ed25519_ref as ref

KNOWN_TYPES = {0x01, 0x02, 0x03, 0x04, 0x05, 0x08}


def header(kind: int, length: int) -> bytes:
    return bytes([kind]) + length.to_bytes(4, "big")


def oracle(value: Value) -> bytes:
    """An independent encoder written from the spec's table (no code shared with evote)."""
    if isinstance(value, Point):
        return header(0x04, 32) + value.encode()
    if isinstance(value, Scalar):
        return header(0x05, 32) + value.value.to_bytes(32, "little")
    if isinstance(value, bytes):
        return header(0x02, len(value)) + value
    if isinstance(value, str):
        payload = value.encode("utf-8")
        return header(0x01, len(payload)) + payload
    if isinstance(value, int):
        payload = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
        return header(0x03, len(payload)) + payload
    body = b"".join(oracle(item) for item in value)
    return header(0x08, len(body)) + body


def normalize(value: Value) -> Decoded:
    """What decode returns for ``value``: tuples become lists."""
    if isinstance(value, str | bytes | int | Point | Scalar):
        return value
    return [normalize(item) for item in value]


# --- strategies -------------------------------------------------------------------------------

nfc_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12).map(
    lambda s: unicodedata.normalize("NFC", s)
)
uints = st.one_of(
    st.sampled_from([0, 1, 127, 128, 255, 256, 2**32 - 1, 2**32, 2**64, L - 1, L]),
    st.integers(min_value=0, max_value=2**300),
)
scalar_values = st.integers(min_value=0, max_value=L - 1).map(Scalar)
points = st.integers(min_value=1, max_value=L - 1).map(lambda k: base_mul(Scalar(k)))
leaves: st.SearchStrategy[Value] = st.one_of(
    nfc_text, st.binary(max_size=40), uints, points, scalar_values
)
values: st.SearchStrategy[Value] = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.lists(children, max_size=4).map(tuple)
    ),
    max_leaves=12,
)

# A small domain, so that two independent draws are often equal or nearly equal.
small_leaves: st.SearchStrategy[Value] = st.one_of(
    st.sampled_from(["", "a", "ab", "b"]),
    st.sampled_from([b"", b"a", b"\x00", b"ab"]),
    st.integers(min_value=0, max_value=2),
    st.sampled_from([0, 1]).map(Scalar),
)
small_values: st.SearchStrategy[Value] = st.recursive(
    small_leaves, lambda children: st.lists(children, max_size=3), max_leaves=5
)

non_nfc_text = st.text(
    alphabet=st.sampled_from("aeoAEc\u0301\u0300\u0308\u0327\u212b\u2126"), min_size=1, max_size=6
).filter(lambda s: not unicodedata.is_normalized("NFC", s))
invalid_utf8 = st.binary(min_size=1, max_size=12).filter(lambda b: not _is_utf8(b))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _wrap_in_list(item: bytes, before: bytes = b"", after: bytes = b"") -> bytes:
    body = before + item + after
    return header(0x08, len(body)) + body


def _raises_exactly(error: type[Exception], data: bytes) -> None:
    with pytest.raises(error) as excinfo:
        decode(data)
    assert excinfo.type is error


# --- round trip and injectivity ---------------------------------------------------------------


@given(values)
def test_decode_inverts_encode(value: Value) -> None:
    assert decode(encode(value)) == normalize(value)


@given(values)
def test_encode_agrees_with_independent_oracle(value: Value) -> None:
    assert encode(value) == oracle(value)


@given(values)
def test_encode_is_deterministic_and_reencodes_identically(value: Value) -> None:
    data = encode(value)
    assert encode(value) == data
    decoded = decode(data)
    assert encode(decoded) == data


@given(small_values, small_values)
def test_injective_on_close_values(a: Value, b: Value) -> None:
    if normalize(a) != normalize(b):
        assert encode(a) != encode(b)
    else:
        assert encode(a) == encode(b)


@given(values, values)
def test_injective(a: Value, b: Value) -> None:
    assert (encode(a) == encode(b)) == (normalize(a) == normalize(b))


@given(st.lists(small_values, max_size=4), st.lists(small_values, max_size=4))
def test_list_concatenation_is_unambiguous(a: list[Value], b: list[Value]) -> None:
    # Self-delimiting items: a list's body is the concatenation of its items' encodings, and
    # two different item sequences never produce the same body.
    body_a = b"".join(encode(item) for item in a)
    body_b = b"".join(encode(item) for item in b)
    assert encode(a) == header(0x08, len(body_a)) + body_a
    assert (body_a == body_b) == (normalize(a) == normalize(b))


# --- strictness -------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=2**200), st.integers(min_value=1, max_value=4))
def test_non_minimal_ints_are_rejected(n: int, extra_zeros: int) -> None:
    minimal = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    payload = b"\x00" * extra_zeros + minimal
    _raises_exactly(EncodingError, header(0x03, len(payload)) + payload)
    _raises_exactly(EncodingError, _wrap_in_list(header(0x03, len(payload)) + payload))


@given(values, st.binary(min_size=1, max_size=8))
def test_trailing_bytes_are_rejected(value: Value, trailing: bytes) -> None:
    _raises_exactly(EncodingError, encode(value) + trailing)


@given(values, st.data())
def test_every_strict_prefix_is_rejected(value: Value, data: st.DataObject) -> None:
    full = encode(value)
    cut = data.draw(st.integers(min_value=0, max_value=len(full) - 1))
    _raises_exactly(EncodingError, full[:cut])


@given(st.binary(max_size=4))
def test_truncated_headers_are_rejected(data: bytes) -> None:
    _raises_exactly(EncodingError, data)


@given(
    st.integers(min_value=0, max_value=255).filter(lambda t: t not in KNOWN_TYPES),
    st.binary(max_size=8),
)
def test_unknown_types_are_rejected(kind: int, payload: bytes) -> None:
    _raises_exactly(EncodingError, header(kind, len(payload)) + payload)
    _raises_exactly(EncodingError, _wrap_in_list(header(kind, len(payload)) + payload))


@given(
    st.sampled_from(sorted(KNOWN_TYPES)),
    st.binary(max_size=40),
    st.integers(min_value=1, max_value=2**32 - 1),
)
def test_lengths_past_the_end_are_rejected(kind: int, payload: bytes, excess: int) -> None:
    length = min(len(payload) + excess, 2**32 - 1)
    _raises_exactly(EncodingError, header(kind, length) + payload)


@given(values, st.integers(min_value=1, max_value=64))
def test_item_overrunning_its_list_is_rejected(value: Value, shrink: int) -> None:
    # The list header claims fewer bytes than its item needs, even though the bytes follow.
    item = encode(value)
    claimed = max(len(item) - shrink, 0)
    _raises_exactly(EncodingError, header(0x08, claimed) + item)


@given(invalid_utf8)
def test_invalid_utf8_is_rejected(payload: bytes) -> None:
    _raises_exactly(EncodingError, header(0x01, len(payload)) + payload)


@given(non_nfc_text)
def test_non_nfc_text_is_rejected_both_ways(text: str) -> None:
    payload = text.encode("utf-8")
    _raises_exactly(EncodingError, header(0x01, len(payload)) + payload)
    with pytest.raises(InvalidInput):
        encode(text)
    with pytest.raises(InvalidInput):
        encode(["ok", [text]])


@given(st.booleans(), st.lists(uints, max_size=3))
def test_bools_are_rejected(flag: bool, others: list[int]) -> None:
    with pytest.raises(InvalidInput):
        encode(flag)
    with pytest.raises(InvalidInput):
        encode([*others, flag])


@given(st.integers(max_value=-1))
def test_negative_ints_are_rejected(n: int) -> None:
    with pytest.raises(InvalidInput):
        encode(n)
    with pytest.raises(InvalidInput):
        encode([0, n])


@given(st.sampled_from([0x04, 0x05]), st.binary(max_size=64).filter(lambda b: len(b) != 32))
def test_wrong_size_point_and_scalar_payloads_are_rejected(kind: int, payload: bytes) -> None:
    _raises_exactly(EncodingError, header(kind, len(payload)) + payload)
    _raises_exactly(EncodingError, _wrap_in_list(header(kind, len(payload)) + payload))


@given(
    st.one_of(
        st.binary(min_size=32, max_size=32),
        st.tuples(st.integers(min_value=0, max_value=L - 1), st.integers(1, 7)).map(
            lambda kt: ref.encode(ref.add(ref.scalar_mult(kt[0], ref.BASE), ref.TORSION[kt[1]]))
        ),
    )
)
def test_invalid_point_payloads_raise_invalid_point(payload: bytes) -> None:
    assume(not ref.is_valid_group_element(payload))
    _raises_exactly(InvalidPoint, header(0x04, 32) + payload)
    _raises_exactly(InvalidPoint, _wrap_in_list(header(0x04, 32) + payload, before=encode("x")))


@given(st.integers(min_value=L, max_value=2**256 - 1))
def test_scalar_payloads_at_or_above_l_raise_non_canonical_scalar(n: int) -> None:
    payload = n.to_bytes(32, "little")
    _raises_exactly(NonCanonicalScalar, header(0x05, 32) + payload)
    _raises_exactly(NonCanonicalScalar, _wrap_in_list(header(0x05, 32) + payload, after=b""))


@given(st.binary(max_size=48))
def test_arbitrary_bytes_never_raise_builtin_errors(data: bytes) -> None:
    try:
        decoded = decode(data)
    except (EncodingError, InvalidPoint, NonCanonicalScalar):
        return
    # Anything that does decode is canonical: it re-encodes to the same bytes.
    assert encode(decoded) == data
