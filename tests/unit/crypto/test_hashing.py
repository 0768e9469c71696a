"""Tests for evote.crypto.hashing (Hq, H32; crypto spec §3.3, §5.2) and evote.crypto.rng.

Expected digests are computed here with hashlib over TLV bytes assembled by hand, so they do
not depend on evote.crypto.encoding.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evote.crypto import rng
from evote.crypto.encoding import Value
from evote.crypto.group import BASE, L, Scalar, base_mul
from evote.crypto.hashing import PROTOCOL_PREFIX, Label, hash32, hash_to_scalar

B_BYTES = bytes.fromhex("58" + "66" * 31)
LABELS: tuple[Label, ...] = get_args(Label)


# --- TLV by hand (spec §5.2) ------------------------------------------------------------------


def _h(kind: int, length: int) -> bytes:
    return bytes([kind]) + length.to_bytes(4, "big")


def t_text(s: str) -> bytes:
    payload = s.encode("utf-8")
    return _h(0x01, len(payload)) + payload


def t_bytes(b: bytes) -> bytes:
    return _h(0x02, len(b)) + b


def t_uint(n: int) -> bytes:
    payload = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return _h(0x03, len(payload)) + payload


def t_point(encoding: bytes) -> bytes:
    return _h(0x04, 32) + encoding


def t_scalar(n: int) -> bytes:
    return _h(0x05, 32) + n.to_bytes(32, "little")


def t_list(*items: bytes) -> bytes:
    body = b"".join(items)
    return _h(0x08, len(body)) + body


def transcript(label: str, *items: bytes) -> bytes:
    """TLV(["evote/v1", label, items…])."""
    return t_list(t_text("evote/v1"), t_text(label), *items)


def expected_h32(label: str, *items: bytes) -> bytes:
    return hashlib.sha512(transcript(label, *items)).digest()[:32]


def expected_hq(label: str, *items: bytes) -> int:
    return int.from_bytes(hashlib.sha512(transcript(label, *items)).digest(), "little") % L


# --- fixed inputs -----------------------------------------------------------------------------


def test_protocol_prefix() -> None:
    assert PROTOCOL_PREFIX == "evote/v1"


def test_h32_params_shape() -> None:
    # H_P = H32("params", "edwards25519-prime-order", B, L, "sha512-tlv", protocol_version)
    got = hash32("params", "edwards25519-prime-order", BASE, L, "sha512-tlv", 1)
    want = expected_h32(
        "params",
        t_text("edwards25519-prime-order"),
        t_point(B_BYTES),
        t_uint(L),
        t_text("sha512-tlv"),
        t_uint(1),
    )
    assert got == want
    assert len(got) == 32
    # Pinned, so that any change to the encoding or hashing shows up as a diff.
    assert got.hex() == "1ca97528defcb6f88369ee25242472844b21653b57b016ecb2d9af4bd91f2eda"


def test_hq_pok_coefficient_shape() -> None:
    got = hash_to_scalar("pok-coefficient", bytes(32), 3, 0, BASE)
    want = expected_hq(
        "pok-coefficient", t_bytes(bytes(32)), t_uint(3), t_uint(0), t_point(B_BYTES)
    )
    assert got.value == want
    assert got.value == 0x43420A5D7F6533AF68E2E0287032522C6EF321CADA5F49FFA11F6DD17721CD1


def test_hq_with_every_item_type() -> None:
    p = base_mul(Scalar(5))
    items: tuple[Value, ...] = (
        "text",
        b"\x00\x01",
        0,
        2**70,
        p,
        Scalar(L - 1),
        ["nested", [1, b""]],
        (),
    )
    got = hash_to_scalar("range-selection", *items)
    want = expected_hq(
        "range-selection",
        t_text("text"),
        t_bytes(b"\x00\x01"),
        _h(0x03, 0),
        t_uint(2**70),
        t_point(p.encode()),
        t_scalar(L - 1),
        t_list(t_text("nested"), t_list(t_uint(1), t_bytes(b""))),
        t_list(),
    )
    assert got.value == want


def test_h32_is_the_prefix_of_the_digest_hq_reduces() -> None:
    items: tuple[bytes, ...] = (b"abc",)
    digest = hashlib.sha512(transcript("confirmation", t_bytes(b"abc"))).digest()
    assert hash32("confirmation", *items) == digest[:32]
    assert hash_to_scalar("confirmation", *items) == Scalar(int.from_bytes(digest, "little"))


@pytest.mark.parametrize("label", LABELS)
def test_every_label_hashes_as_its_text(label: Label) -> None:
    assert hash32(label) == expected_h32(label)
    assert hash_to_scalar(label, 7).value == expected_hq(label, t_uint(7))


@given(
    st.sampled_from(LABELS),
    st.lists(st.one_of(st.binary(max_size=20), st.integers(min_value=0, max_value=2**80))),
)
def test_matches_hand_built_transcript(label: Label, items: list[bytes | int]) -> None:
    encoded = [t_bytes(i) if isinstance(i, bytes) else t_uint(i) for i in items]
    assert hash32(label, *items) == expected_h32(label, *encoded)
    assert hash_to_scalar(label, *items).value == expected_hq(label, *encoded)


# --- separation -------------------------------------------------------------------------------


def test_labels_are_distinct() -> None:
    assert len(set(LABELS)) == len(LABELS)


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(LABELS, 2)))
def test_label_separation(first: Label, second: Label) -> None:
    items = ("same", BASE, 1)
    assert hash32(first, *items) != hash32(second, *items)
    assert hash_to_scalar(first, *items) != hash_to_scalar(second, *items)


def test_item_boundaries_are_bound() -> None:
    assert hash32("params", "ab", "c") != hash32("params", "a", "bc")
    assert hash32("params", ["a"]) != hash32("params", "a")
    assert hash32("params", b"a") != hash32("params", "a")
    assert hash32("params", 0) != hash32("params", b"")
    assert hash32("params", "", "") != hash32("params", "")
    assert hash32("params") != hash32("params", [])


def test_point_and_scalar_items_are_separated() -> None:
    p = next(
        p
        for k in range(1, 200)
        if int.from_bytes((p := base_mul(Scalar(k))).encode(), "little") < L
    )
    s = Scalar.decode(p.encode())
    assert hash32("params", p) != hash32("params", s)


# --- rng --------------------------------------------------------------------------------------


class TestRandomScalar:
    def test_non_zero_and_in_range(self) -> None:
        drawn = [rng.random_scalar() for _ in range(64)]
        assert all(0 < s.value < L for s in drawn)
        assert len(set(drawn)) == len(drawn)

    def test_draws_64_bytes_and_reduces(self, monkeypatch: pytest.MonkeyPatch) -> None:
        requested: list[int] = []
        raw = (L + 5).to_bytes(64, "little")

        def fake(length: int) -> bytes:
            requested.append(length)
            return raw

        monkeypatch.setattr(rng, "random_bytes", fake)
        assert rng.random_scalar() == Scalar(5)
        assert requested == [64]

    @pytest.mark.parametrize("zero", [0, L, 7 * L])
    def test_redraws_zero(self, monkeypatch: pytest.MonkeyPatch, zero: int) -> None:
        outputs = iter([zero.to_bytes(64, "little"), (3).to_bytes(64, "little")])
        monkeypatch.setattr(rng, "random_bytes", lambda length: next(outputs))
        assert rng.random_scalar() == Scalar(3)

    def test_random_bytes(self) -> None:
        assert len(rng.random_bytes(32)) == 32
        assert rng.random_bytes(32) != rng.random_bytes(32)


class TestHedgedScalar:
    def test_differs_on_each_call(self) -> None:
        witness = Scalar(42)
        nonces = [rng.hedged_scalar(witness, ["statement", BASE], 0) for _ in range(16)]
        assert len(set(nonces)) == len(nonces)
        assert all(0 < n.value < L for n in nonces)

    def test_is_hq_of_fresh_randomness_witness_statement_branch(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fresh = bytes(range(32))
        monkeypatch.setattr(rng, "random_bytes", lambda length: fresh[:length])
        got = rng.hedged_scalar(Scalar(9), ["st", 1], 2)
        want = expected_hq(
            "proof-nonce",
            t_bytes(fresh),
            t_scalar(9),
            t_list(t_text("st"), t_uint(1)),
            t_uint(2),
        )
        assert got.value == want

    def test_binds_witness_statement_and_branch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # With the randomness fixed (a broken RNG), the nonce still changes with every input.
        monkeypatch.setattr(rng, "random_bytes", lambda length: bytes(length))
        base = rng.hedged_scalar(Scalar(1), "s", 0)
        assert rng.hedged_scalar(Scalar(1), "s", 0) == base
        assert rng.hedged_scalar(Scalar(2), "s", 0) != base
        assert rng.hedged_scalar(Scalar(1), "t", 0) != base
        assert rng.hedged_scalar(Scalar(1), "s", 1) != base
