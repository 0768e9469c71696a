"""The election's entry kinds: their bodies round-trip, and malformed bodies are refused."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Literal

import pytest

from evote.board.entry import Entry
from evote.ceremony.messages import GuardianKey, JointKey
from evote.crypto import encoding
from evote.crypto.proofs.schnorr import prove_coefficient, verify_coefficient
from evote.crypto.signing import SigningKey
from evote.errors import DecodeError, EntryRejected
from evote.record import kinds
from evote.record.kinds import CredentialList, PhaseMark
from tests.unit.election.test_ballot import CONTEXT, POLYNOMIALS
from tests.unit.election.test_manifest import MANIFEST, OFFICIALS

Mutation = Callable[[list[encoding.Decoded]], object]


def _mutated(data: bytes, change: Mutation) -> bytes:
    value = encoding.decode(data)
    assert isinstance(value, list)
    change(value)
    return encoding.encode(value)


def _item(value: list[encoding.Decoded], index: int) -> list[encoding.Decoded]:
    item = value[index]
    assert isinstance(item, list)
    return item


# --- the kinds and the board's envelope rules -----------------------------------------------------


def test_every_kind_of_the_record_format_is_declared_in_phase_order() -> None:
    assert kinds.ALL_KINDS == (
        "manifest",
        "ceremony-transport",
        "ceremony-commit",
        "guardian-key",
        "ceremony-shares",
        "ceremony-complaint",
        "ceremony-share-reveal",
        "joint-key",
        "key-check",
        "credentials",
        "open",
        "ballot",
        "audit",
        "close",
        "tally",
        "decryption-share",
        "result",
    )
    rules = kinds.entry_rules(MANIFEST.election_id)
    assert set(rules.kinds) == set(kinds.ALL_KINDS)
    assert all(kind.min_signatures == 1 for kind in rules.kinds.values())


def test_entry_rules_accept_a_signed_entry_of_the_election() -> None:
    rules = kinds.entry_rules(MANIFEST.election_id)
    entry = Entry.create(kinds.MANIFEST, MANIFEST.election_id, MANIFEST.to_tlv(), OFFICIALS[:2])
    assert rules.check(entry.encoded) == entry


@pytest.mark.parametrize(
    ("kind", "election_id", "signers", "message"),
    [
        ("vote", MANIFEST.election_id, OFFICIALS[:1], "kind 'vote' is not declared"),
        ("open", hashlib.sha256(b"other").digest(), OFFICIALS[:1], "another election"),
        ("open", MANIFEST.election_id, (), "has 0 signatures, needs at least 1"),
    ],
    ids=["unknown-kind", "other-election", "unsigned"],
)
def test_entry_rules_refuse_what_is_not_an_entry_of_the_election(
    kind: str, election_id: bytes, signers: tuple[SigningKey, ...], message: str
) -> None:
    entry = Entry.create(kind, election_id, PhaseMark("open", 1).to_tlv(), signers)
    with pytest.raises(EntryRejected, match=message):
        kinds.entry_rules(MANIFEST.election_id).check(entry.encoded)


# --- guardian-key ---------------------------------------------------------------------------------


def _guardian_key(guardian: int = 2) -> GuardianKey:
    pairs = [
        prove_coefficient(coefficient, CONTEXT.base_hash, guardian, j)
        for j, coefficient in enumerate(POLYNOMIALS[guardian - 1].coefficients)
    ]
    return GuardianKey(guardian, tuple(c for c, _ in pairs), tuple(p for _, p in pairs))


GUARDIAN_KEY = _guardian_key()


def test_guardian_key_round_trip_and_its_proofs_still_verify() -> None:
    data = GUARDIAN_KEY.to_tlv()
    decoded = GuardianKey.from_tlv(data)
    assert decoded == GUARDIAN_KEY
    assert decoded.to_tlv() == data
    assert decoded.commitments == CONTEXT.commitments[1]
    for j, (commitment, proof) in enumerate(zip(decoded.commitments, decoded.proofs, strict=True)):
        verify_coefficient(commitment, proof, CONTEXT.base_hash, decoded.guardian, j)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v.__setitem__(0, "evote/v1/joint-key"), "not an evote v1 guardian-key body"),
        (lambda v: v.__setitem__(1, "2"), "guardian-key.guardian: expected an unsigned integer"),
        (lambda v: _item(v, 3).pop(), "guardian-key.proofs: expected 2 items, got 1"),
        (lambda v: _item(v, 2).__setitem__(0, b"\x01" * 32), "expected a point, got bytes"),
        (lambda v: _item(v, 3).__setitem__(0, b"\x01" * 63), "64"),
        (lambda v: v.append(b""), "guardian-key: expected 4 items"),
    ],
    ids=["tag", "index", "proof-missing", "commitment-bytes", "proof-short", "extra"],
)
def test_guardian_key_refuses_malformed_bodies(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        GuardianKey.from_tlv(_mutated(GUARDIAN_KEY.to_tlv(), change))


# --- joint-key ------------------------------------------------------------------------------------

JOINT_KEY = JointKey(CONTEXT.joint_key, CONTEXT.extended_hash, CONTEXT.verification_keys)


def test_joint_key_round_trip() -> None:
    data = JOINT_KEY.to_tlv()
    assert JointKey.from_tlv(data) == JOINT_KEY
    assert JointKey.from_tlv(data).to_tlv() == data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v.__setitem__(0, "evote/v1/guardian-key"), "not an evote v1 joint-key body"),
        (lambda v: v.__setitem__(1, CONTEXT.joint_key.encode()), "joint-key.key: expected a point"),
        (lambda v: v.__setitem__(2, b"\x00" * 31), "joint-key.extended_hash: expected 32 bytes"),
        (lambda v: _item(v, 3).__setitem__(0, 1), "joint-key.verification_key: expected a point"),
        (lambda v: v.pop(), "joint-key: expected 4 items"),
    ],
    ids=["tag", "key-bytes", "hash-short", "verification-key", "short"],
)
def test_joint_key_refuses_malformed_bodies(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        JointKey.from_tlv(_mutated(JOINT_KEY.to_tlv(), change))


# --- credentials ----------------------------------------------------------------------------------

VOTERS = sorted(
    (SigningKey(bytes([0x70 + i]) * 32).verify_key for i in range(4)), key=lambda k: k.encode()
)


def test_credential_list_round_trip() -> None:
    credentials = CredentialList(tuple(VOTERS))
    data = credentials.to_tlv()
    assert CredentialList.from_tlv(data) == credentials
    assert CredentialList.from_tlv(data).to_tlv() == data
    assert CredentialList.from_tlv(CredentialList(()).to_tlv()) == CredentialList(())


@pytest.mark.parametrize(
    "order", [[3, 2, 1, 0], [0, 2, 1, 3], [0, 1, 1, 2]], ids=["reversed", "one-swap", "duplicate"]
)
def test_credential_list_must_be_sorted_and_distinct(order: list[int]) -> None:
    data = encoding.encode(["evote/v1/credentials", [VOTERS[i].encode() for i in order]])
    with pytest.raises(DecodeError, match="sorted and free of duplicates"):
        CredentialList.from_tlv(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v.__setitem__(0, "evote/v1/credential"), "not an evote v1 credential list"),
        (lambda v: _item(v, 1).__setitem__(0, b"\x00" * 31), "credentials.key: expected 32"),
        (lambda v: _item(v, 1).__setitem__(0, b"\xff" * 32), "not a canonical point"),
        (lambda v: v.append([]), "credentials: expected 2 items"),
    ],
    ids=["tag", "short-key", "invalid-key", "extra"],
)
def test_credential_list_refuses_malformed_bodies(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        CredentialList.from_tlv(_mutated(CredentialList(tuple(VOTERS)).to_tlv(), change))


# --- open and close -------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["open", "close"])
def test_phase_mark_round_trip(phase: Literal["open", "close"]) -> None:
    mark = PhaseMark(phase, 1_760_000_000)
    assert PhaseMark.from_tlv(mark.to_tlv(), phase) == mark


def test_an_open_mark_is_not_a_close_mark() -> None:
    with pytest.raises(DecodeError, match="not an evote v1 close mark"):
        PhaseMark.from_tlv(PhaseMark("open", 1).to_tlv(), "close")
    with pytest.raises(DecodeError, match="not an evote v1 open mark"):
        PhaseMark.from_tlv(PhaseMark("close", 1).to_tlv(), "open")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v.__setitem__(0, "evote/v1/open"), "not an evote v1 open mark"),
        (lambda v: v.__setitem__(2, "noon"), "open.timestamp: expected an unsigned integer"),
        (lambda v: v.append(0), "open: expected 3 items"),
    ],
    ids=["tag", "time", "extra"],
)
def test_phase_mark_refuses_malformed_bodies(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        PhaseMark.from_tlv(_mutated(PhaseMark("open", 5).to_tlv(), change), "open")
