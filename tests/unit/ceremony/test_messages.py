"""The key ceremony's board bodies (crypto spec §3.5): each round-trips through canonical TLV,
and every malformed body is refused with a :class:`DecodeError` naming what is wrong."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable
from typing import Protocol

import pytest

from evote.ceremony import messages
from evote.ceremony.messages import (
    Commit,
    Complaint,
    GuardianKey,
    JointKey,
    KeyCheck,
    SealedShares,
    ShareReveal,
    TransportKey,
    commitment_hash,
)
from evote.ceremony.outcome import verify_key_check
from evote.crypto import encoding
from evote.crypto.group import IDENTITY, L, Scalar, base_mul
from evote.crypto.hashing import hash32
from evote.crypto.sealing import TransportPrivateKey, open_sealed, seal
from evote.errors import DecodeError, InvalidPoint, NonCanonicalScalar
from tests.unit.ceremony import Rehearsal, ceremony_manifest


class Body(Protocol):
    def to_tlv(self) -> bytes: ...


Mutation = Callable[[list[encoding.Decoded]], object]

REHEARSAL = Rehearsal.deal(ceremony_manifest(3, 2))
_COMPLAINTS, _OUTCOME = REHEARSAL.run()
assert not _COMPLAINTS
CONTEXT = _OUTCOME.require_context()

TRANSPORT = REHEARSAL.transport[2]
COMMIT = REHEARSAL.commits[2]
REVEAL = REHEARSAL.reveals[2]
SEALED = REHEARSAL.sealed[2]
COMPLAINT = Complaint(3, 2, "the share for guardian 3 does not match the dealer's commitments")
SHARE_REVEAL = ShareReveal(2, 3, Scalar(12345))
KEY_CHECK = REHEARSAL.trustee(2).key_check(CONTEXT)
JOINT_KEY = JointKey(CONTEXT.joint_key, CONTEXT.extended_hash, CONTEXT.verification_keys)

PARSERS: dict[str, Callable[[bytes], Body]] = {
    "transport": TransportKey.from_tlv,
    "commit": Commit.from_tlv,
    "reveal": GuardianKey.from_tlv,
    "shares": SealedShares.from_tlv,
    "complaint": Complaint.from_tlv,
    "share-reveal": ShareReveal.from_tlv,
    "key-check": KeyCheck.from_tlv,
    "joint-key": JointKey.from_tlv,
}
SAMPLES: dict[str, Body] = {
    "transport": TRANSPORT,
    "commit": COMMIT,
    "reveal": REVEAL,
    "shares": SEALED,
    "complaint": COMPLAINT,
    "share-reveal": SHARE_REVEAL,
    "key-check": KEY_CHECK,
    "joint-key": JOINT_KEY,
}


def _mutated(data: bytes, change: Mutation) -> bytes:
    value = encoding.decode(data)
    assert isinstance(value, list)
    change(value)
    return encoding.encode(value)


def _item(value: list[encoding.Decoded], *path: int) -> list[encoding.Decoded]:
    for index in path:
        inner = value[index]
        assert isinstance(inner, list)
        value = inner
    return value


def _set(path: tuple[int, ...], index: int, new: encoding.Decoded) -> Mutation:
    def change(value: list[encoding.Decoded]) -> None:
        _item(value, *path)[index] = new

    return change


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


# --- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_every_body_round_trips_byte_for_byte(kind: str) -> None:
    data = SAMPLES[kind].to_tlv()
    decoded = PARSERS[kind](data)
    assert decoded == SAMPLES[kind]
    assert decoded.to_tlv() == data


def test_transport_key_round_trip_keeps_the_key_usable() -> None:
    recipient, sender = TransportPrivateKey.generate(), TransportPrivateKey.generate()
    decoded = TransportKey.from_tlv(TransportKey(4, recipient.public_key).to_tlv())
    assert decoded.guardian == 4
    assert decoded.key == recipient.public_key
    assert open_sealed(recipient, sender.public_key, seal(sender, decoded.key, b"s")) == b"s"


def test_commit_round_trip_holds_the_commitment_hash() -> None:
    decoded = Commit.from_tlv(COMMIT.to_tlv())
    assert decoded.digest == commitment_hash(REHEARSAL.base_hash, 2, REVEAL.commitments)


def test_sealed_shares_round_trip_and_lookup_by_recipient() -> None:
    decoded = SealedShares.from_tlv(SEALED.to_tlv())
    assert [recipient for recipient, _ in decoded.sealed] == [1, 3]
    assert decoded.for_recipient(1) == SEALED.sealed[0][1]
    assert decoded.for_recipient(3) == SEALED.sealed[1][1]
    assert decoded.for_recipient(2) is None
    assert decoded.for_recipient(4) is None


def test_empty_sealed_shares_round_trip() -> None:
    empty = SealedShares(1, ())
    assert SealedShares.from_tlv(empty.to_tlv()) == empty


def test_complaint_round_trip_keeps_the_reason_text() -> None:
    reason = "guardian 2 sent a share to guardian 3 that is not ℓ-consistent"
    complaint = Complaint(3, 2, reason)
    decoded = Complaint.from_tlv(complaint.to_tlv())
    assert (decoded.complainer, decoded.accused, decoded.reason) == (3, 2, reason)


def test_share_reveal_round_trip_keeps_the_scalar() -> None:
    share = Scalar(L - 1)
    decoded = ShareReveal.from_tlv(ShareReveal(1, 5, share).to_tlv())
    assert (decoded.dealer, decoded.recipient, decoded.share) == (1, 5, share)


def test_key_check_round_trip_still_verifies() -> None:
    decoded = KeyCheck.from_tlv(KEY_CHECK.to_tlv())
    verify_key_check(decoded, CONTEXT)


def test_guardian_key_round_trip_of_a_quorum_one_reveal() -> None:
    single = Rehearsal.deal(ceremony_manifest(1, 1)).reveals[1]
    assert len(single.commitments) == 1
    assert GuardianKey.from_tlv(single.to_tlv()) == single


# --- refusals common to every body ----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "other"), list(itertools.permutations(SAMPLES, 2)))
def test_a_body_of_one_kind_is_refused_as_another(kind: str, other: str) -> None:
    with pytest.raises(DecodeError):
        PARSERS[other](SAMPLES[kind].to_tlv())


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_a_wrong_tag_is_refused(kind: str) -> None:
    data = _mutated(SAMPLES[kind].to_tlv(), _set((), 0, "evote/v1/something-else"))
    with pytest.raises(DecodeError, match="not an"):
        PARSERS[kind](data)


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_a_missing_item_is_refused(kind: str) -> None:
    with pytest.raises(DecodeError, match=r"expected [34] items"):
        PARSERS[kind](_mutated(SAMPLES[kind].to_tlv(), lambda v: v.pop()))


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_an_extra_item_is_refused(kind: str) -> None:
    with pytest.raises(DecodeError, match=r"expected [34] items"):
        PARSERS[kind](_mutated(SAMPLES[kind].to_tlv(), lambda v: v.append(0)))


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_trailing_bytes_are_refused(kind: str) -> None:
    with pytest.raises(DecodeError, match="trailing"):
        PARSERS[kind](SAMPLES[kind].to_tlv() + b"\x03\x00\x00\x00\x00")


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_a_truncated_body_is_refused(kind: str) -> None:
    with pytest.raises(DecodeError):
        PARSERS[kind](SAMPLES[kind].to_tlv()[:-1])


@pytest.mark.parametrize("kind", list(SAMPLES))
@pytest.mark.parametrize("body", [b"", encoding.encode("text"), encoding.encode(7)])
def test_a_body_that_is_not_a_list_is_refused(kind: str, body: bytes) -> None:
    with pytest.raises(DecodeError):
        PARSERS[kind](body)


# --- refusals of each field -----------------------------------------------------------------------

GUARDIAN_AS_TEXT = "expected an unsigned integer, got str"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set((), 1, "2"), f"guardian: {GUARDIAN_AS_TEXT}"),
        (_set((), 2, bytes(31)), "transport key: expected 32 bytes, got 31"),
        (_set((), 2, bytes(33)), "transport key: expected 32 bytes, got 33"),
        (_set((), 2, base_mul(Scalar(5))), "transport key: expected bytes, got Point"),
    ],
    ids=["guardian-text", "key-short", "key-long", "key-point"],
)
def test_transport_key_refuses_malformed_fields(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        TransportKey.from_tlv(_mutated(TRANSPORT.to_tlv(), change))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set((), 1, b"\x02"), "guardian: expected an unsigned integer, got bytes"),
        (_set((), 2, bytes(31)), "commitment hash: expected 32 bytes, got 31"),
        (_set((), 2, bytes(64)), "commitment hash: expected 32 bytes, got 64"),
        (_set((), 2, "digest"), "commitment hash: expected bytes, got str"),
    ],
    ids=["guardian-bytes", "digest-short", "digest-long", "digest-text"],
)
def test_commit_refuses_malformed_fields(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        Commit.from_tlv(_mutated(COMMIT.to_tlv(), change))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set((), 1, "2"), f"guardian: {GUARDIAN_AS_TEXT}"),
        (_set((), 2, b"boxes"), "sealed shares: expected a list, got bytes"),
        (_set((2,), 0, b"box"), "sealed share: expected a list, got bytes"),
        (lambda v: _item(v, 2, 0).append(b""), "sealed share: expected 2 items, got 3"),
        (lambda v: _item(v, 2, 0).pop(), "sealed share: expected 2 items, got 1"),
        (_set((2, 0), 0, "1"), f"recipient: {GUARDIAN_AS_TEXT}"),
        (_set((2, 0), 1, 7), "sealed share: expected bytes, got int"),
    ],
    ids=[
        "guardian-text",
        "not-a-list",
        "item-not-a-list",
        "item-long",
        "item-short",
        "recipient-text",
        "box-int",
    ],
)
def test_sealed_shares_refuse_malformed_fields(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        SealedShares.from_tlv(_mutated(SEALED.to_tlv(), change))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set((), 1, "3"), f"complainer: {GUARDIAN_AS_TEXT}"),
        (_set((), 2, Scalar(2)), "accused: expected an unsigned integer, got Scalar"),
        (_set((), 3, b"bad share"), "reason: expected text, got bytes"),
    ],
    ids=["complainer-text", "accused-scalar", "reason-bytes"],
)
def test_complaint_refuses_malformed_fields(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        Complaint.from_tlv(_mutated(COMPLAINT.to_tlv(), change))


def test_complaint_refuses_a_reason_that_is_not_nfc_text() -> None:
    decomposed = "e\u0301".encode()  # "é" as e + combining acute: not NFC
    items = [encoding.encode(x) for x in (Complaint.TAG, 3, 2)]
    items.append(struct.pack(">BI", encoding.TEXT, len(decomposed)) + decomposed)
    body = b"".join(items)
    with pytest.raises(DecodeError, match="NFC"):
        Complaint.from_tlv(struct.pack(">BI", encoding.LIST, len(body)) + body)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set((), 1, "2"), f"dealer: {GUARDIAN_AS_TEXT}"),
        (_set((), 2, b"\x03"), "recipient: expected an unsigned integer, got bytes"),
        (_set((), 3, 12345), "share: expected a scalar, got int"),
        (_set((), 3, base_mul(Scalar(12345))), "share: expected a scalar, got Point"),
        (_set((), 3, Scalar(12345).encode()), "share: expected a scalar, got bytes"),
    ],
    ids=["dealer-text", "recipient-bytes", "share-int", "share-point", "share-bytes"],
)
def test_share_reveal_refuses_malformed_fields(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        ShareReveal.from_tlv(_mutated(SHARE_REVEAL.to_tlv(), change))


def test_share_reveal_refuses_a_non_canonical_share() -> None:
    unreduced = _replace_once(
        SHARE_REVEAL.to_tlv(), Scalar(12345).encode(), (12345 + L).to_bytes(32, "little")
    )
    with pytest.raises(NonCanonicalScalar):
        ShareReveal.from_tlv(unreduced)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set((), 1, "2"), f"guardian: {GUARDIAN_AS_TEXT}"),
        (_set((), 2, KEY_CHECK.share.encode()), "key-check share: expected a point, got bytes"),
        (_set((), 2, Scalar(3)), "key-check share: expected a point, got Scalar"),
        (_set((), 3, KEY_CHECK.proof.encode()[:63]), "64 bytes, got 63"),
        (_set((), 3, KEY_CHECK.proof.encode() + b"\x00"), "64 bytes, got 65"),
        (_set((), 3, KEY_CHECK.proof.challenge), "key-check proof: expected bytes, got Scalar"),
    ],
    ids=[
        "guardian-text",
        "share-bytes",
        "share-scalar",
        "proof-short",
        "proof-long",
        "proof-scalar",
    ],
)
def test_key_check_refuses_malformed_fields(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        KeyCheck.from_tlv(_mutated(KEY_CHECK.to_tlv(), change))


def test_key_check_refuses_an_identity_share() -> None:
    data = KeyCheck(2, IDENTITY, KEY_CHECK.proof).to_tlv()
    with pytest.raises(InvalidPoint):
        KeyCheck.from_tlv(data)


@pytest.mark.parametrize("half", [0, 1], ids=["challenge", "response"])
def test_key_check_refuses_a_non_canonical_proof_scalar(half: int) -> None:
    proof = KEY_CHECK.proof.encode()
    value = int.from_bytes(proof[32 * half : 32 * half + 32], "little") + L
    forged = proof[: 32 * half] + value.to_bytes(32, "little") + proof[32 * half + 32 :]
    data = _replace_once(KEY_CHECK.to_tlv(), proof, forged)
    with pytest.raises(NonCanonicalScalar):
        KeyCheck.from_tlv(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set((), 1, "2"), "guardian-key.guardian: expected an unsigned integer, got str"),
        (_set((), 2, b"commitments"), "guardian-key.commitments: expected a list"),
        (_set((2,), 0, REVEAL.commitments[0].encode()), "commitment: expected a point, got bytes"),
        (_set((), 3, b"proofs"), "guardian-key.proofs: expected a list"),
        (lambda v: _item(v, 3).pop(), "guardian-key.proofs: expected 2 items, got 1"),
        (lambda v: _item(v, 3).append(REVEAL.proofs[0].encode()), "expected 2 items, got 3"),
        (lambda v: _item(v, 2).pop(), "guardian-key.proofs: expected 1 items, got 2"),
        (_set((3,), 1, REVEAL.proofs[1].encode()[:40]), "64 bytes, got 40"),
        (_set((3,), 0, REVEAL.proofs[0].challenge), "guardian-key.proof: expected bytes"),
    ],
    ids=[
        "guardian-text",
        "commitments-bytes",
        "commitment-bytes",
        "proofs-bytes",
        "proof-missing",
        "proof-extra",
        "commitment-missing",
        "proof-short",
        "proof-scalar",
    ],
)
def test_guardian_key_refuses_malformed_fields(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        GuardianKey.from_tlv(_mutated(REVEAL.to_tlv(), change))


def test_guardian_key_refuses_an_identity_commitment() -> None:
    data = GuardianKey(2, (IDENTITY, REVEAL.commitments[1]), REVEAL.proofs).to_tlv()
    with pytest.raises(InvalidPoint):
        GuardianKey.from_tlv(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set((), 1, CONTEXT.joint_key.encode()), "joint-key.key: expected a point, got bytes"),
        (_set((), 2, bytes(31)), "joint-key.extended_hash: expected 32 bytes, got 31"),
        (_set((), 2, "hash"), "joint-key.extended_hash: expected bytes, got str"),
        (_set((), 3, b"keys"), "joint-key.verification_keys: expected a list"),
        (_set((3,), 0, 1), "joint-key.verification_key: expected a point, got int"),
    ],
    ids=["key-bytes", "hash-short", "hash-text", "keys-bytes", "key-int"],
)
def test_joint_key_refuses_malformed_fields(change: Mutation, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        JointKey.from_tlv(_mutated(JOINT_KEY.to_tlv(), change))


def test_joint_key_refuses_an_identity_key() -> None:
    data = JointKey(IDENTITY, CONTEXT.extended_hash, CONTEXT.verification_keys).to_tlv()
    with pytest.raises(InvalidPoint):
        JointKey.from_tlv(data)


# --- the commitment hash and the kinds ------------------------------------------------------------


def test_commitment_hash_is_h32_of_base_hash_index_and_commitments() -> None:
    expected = hash32("ceremony-commit", REHEARSAL.base_hash, 2, list(REVEAL.commitments))
    assert commitment_hash(REHEARSAL.base_hash, 2, REVEAL.commitments) == expected
    assert len(expected) == 32


def test_commitment_hash_binds_ceremony_guardian_and_every_commitment() -> None:
    hashed, commitments = REHEARSAL.base_hash, REVEAL.commitments
    digest = commitment_hash(hashed, 2, commitments)
    other = base_mul(Scalar(7))
    variants = [
        commitment_hash(bytes(32), 2, commitments),
        commitment_hash(hashed, 1, commitments),
        commitment_hash(hashed, 2, commitments[::-1]),
        commitment_hash(hashed, 2, (other, commitments[1])),
        commitment_hash(hashed, 2, (commitments[0], other)),
        commitment_hash(hashed, 2, commitments[:1]),
        commitment_hash(hashed, 2, (*commitments, other)),
    ]
    assert digest not in variants
    assert len(set(variants)) == len(variants)


def test_kinds_and_tags_are_distinct() -> None:
    kinds = [
        messages.TRANSPORT,
        messages.COMMIT,
        messages.REVEAL,
        messages.SHARES,
        messages.COMPLAINT,
        messages.SHARE_REVEAL,
        messages.JOINT_KEY,
        messages.KEY_CHECK,
    ]
    assert len(set(kinds)) == len(kinds)
    tags = [
        TransportKey.TAG,
        Commit.TAG,
        SealedShares.TAG,
        Complaint.TAG,
        ShareReveal.TAG,
        KeyCheck.TAG,
        messages.GUARDIAN_KEY_TAG,
        messages.JOINT_KEY_TAG,
        messages.SHARE_PLAINTEXT_TAG,
    ]
    assert len(set(tags)) == len(tags)
    assert all(tag.startswith("evote/v1/") for tag in tags)


def test_a_transport_key_never_carries_the_private_half() -> None:
    private = TransportPrivateKey.generate()
    body = TransportKey(1, private.public_key).to_tlv()
    assert private.secret() not in body
    assert private.secret().hex() not in repr(private)
