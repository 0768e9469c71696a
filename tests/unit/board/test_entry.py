"""The board's entry envelope: strict decoding, exact bytes, and the envelope rules."""

from __future__ import annotations

import hashlib

import pytest

from evote.board.entry import (
    ENVELOPE_TAG,
    MAX_BODY_BYTES,
    MAX_SIGNATURES,
    Entry,
    EntryKind,
    EntryRules,
    merge_signatures,
    signed_message,
)
from evote.crypto import encoding
from evote.crypto.signing import SigningKey
from evote.errors import DecodeError, EntryRejected, InvalidInput, InvalidSignature

ELECTION_ID = hashlib.sha256(b"test election").digest()
OTHER_ELECTION_ID = hashlib.sha256(b"another election").digest()
VOTER = SigningKey(b"\x01" * 32)
OFFICIAL_A = SigningKey(b"\x02" * 32)
OFFICIAL_B = SigningKey(b"\x03" * 32)
RULES = EntryRules.of(
    ELECTION_ID, [EntryKind("ballot"), EntryKind("official", 2), EntryKind("audit")]
)
BODY = b"an opaque ballot body"


def envelope(kind: str, election_id: bytes, body: bytes, signatures: list[list[bytes]]) -> bytes:
    """Encode an envelope by hand, with whatever signatures the test wants."""
    return encoding.encode([ENVELOPE_TAG, kind, election_id, body, signatures])


def signature_pairs(entry: Entry) -> list[list[bytes]]:
    return [[s.signer.encode(), s.signature] for s in entry.signatures]


def test_create_decode_round_trip() -> None:
    entry = Entry.create("official", ELECTION_ID, BODY, [OFFICIAL_A, OFFICIAL_B])
    again = Entry.decode(entry.encoded)
    assert again == entry
    assert (again.kind, again.election_id, again.body) == ("official", ELECTION_ID, BODY)
    assert again.signers == (OFFICIAL_A.verify_key, OFFICIAL_B.verify_key)
    again.verify_signatures()
    # The stored bytes are exactly the TLV envelope of the documented layout.
    assert entry.encoded == envelope("official", ELECTION_ID, BODY, signature_pairs(entry))


def test_signatures_cover_the_documented_message() -> None:
    entry = Entry.create("ballot", ELECTION_ID, BODY, [VOTER])
    message = encoding.encode(
        ["evote/v1", "board-entry", "ballot", ELECTION_ID, hashlib.sha256(BODY).digest()]
    )
    assert signed_message("ballot", ELECTION_ID, BODY) == message
    VOTER.verify_key.verify(message, entry.signatures[0].signature)


def test_tracking_code_is_the_leaf_hash_of_the_stored_bytes() -> None:
    entry = Entry.create("ballot", ELECTION_ID, BODY, [VOTER])
    assert entry.tracking_code == hashlib.sha256(b"\x00" + entry.encoded).digest()
    other = Entry.create("ballot", ELECTION_ID, BODY + b"!", [VOTER])
    assert other.tracking_code != entry.tracking_code


def test_decode_keeps_the_exact_bytes() -> None:
    data = Entry.create("ballot", ELECTION_ID, BODY, [VOTER]).encoded
    entry = Entry.decode(data)
    assert entry.encoded is data
    checked = RULES.check(data)
    assert checked.encoded is data
    assert checked.tracking_code == hashlib.sha256(b"\x00" + data).digest()


def test_valid_entries_pass_the_rules() -> None:
    RULES.check(Entry.create("ballot", ELECTION_ID, BODY, [VOTER]).encoded)
    RULES.check(Entry.create("official", ELECTION_ID, BODY, [OFFICIAL_A, OFFICIAL_B]).encoded)
    # More signers than the minimum is fine.
    RULES.check(Entry.create("ballot", ELECTION_ID, BODY, [VOTER, OFFICIAL_A]).encoded)


def test_body_at_the_size_limit_is_accepted() -> None:
    body = b"\x00" * MAX_BODY_BYTES
    assert RULES.check(Entry.create("ballot", ELECTION_ID, body, [VOTER]).encoded).body == body


def test_undeclared_kind_is_refused() -> None:
    data = Entry.create("tally", ELECTION_ID, BODY, [VOTER]).encoded
    with pytest.raises(EntryRejected, match="kind 'tally' is not declared"):
        RULES.check(data)


def test_entry_of_another_election_is_refused() -> None:
    data = Entry.create("ballot", OTHER_ELECTION_ID, BODY, [VOTER]).encoded
    with pytest.raises(EntryRejected, match="belongs to another election"):
        RULES.check(data)


@pytest.mark.parametrize("signers", [[], [OFFICIAL_A]])
def test_too_few_signatures_are_refused(signers: list[SigningKey]) -> None:
    data = Entry.create("official", ELECTION_ID, BODY, signers).encoded
    with pytest.raises(EntryRejected, match=rf"has {len(signers)} signatures, needs at least 2"):
        RULES.check(data)


def test_a_ballot_without_signature_is_refused() -> None:
    data = Entry.create("ballot", ELECTION_ID, BODY, []).encoded
    with pytest.raises(EntryRejected, match="has 0 signatures, needs at least 1"):
        RULES.check(data)


def test_the_same_signer_twice_does_not_count_twice() -> None:
    data = Entry.create("official", ELECTION_ID, BODY, [OFFICIAL_A, OFFICIAL_A]).encoded
    with pytest.raises(EntryRejected, match="the same key signed twice"):
        RULES.check(data)
    with pytest.raises(InvalidSignature, match="the same key signed twice"):
        Entry.decode(data).verify_signatures()


def test_tampered_body_is_refused() -> None:
    entry = Entry.create("ballot", ELECTION_ID, BODY, [VOTER])
    data = envelope("ballot", ELECTION_ID, BODY + b"x", signature_pairs(entry))
    with pytest.raises(EntryRejected, match="ballot entry: signature does not verify"):
        RULES.check(data)


def test_tampered_kind_is_refused() -> None:
    entry = Entry.create("ballot", ELECTION_ID, BODY, [VOTER])
    data = envelope("audit", ELECTION_ID, BODY, signature_pairs(entry))
    with pytest.raises(EntryRejected, match="audit entry: signature does not verify"):
        RULES.check(data)


def test_tampered_election_id_is_refused() -> None:
    # Signed for another election, relabelled as ours: cross-election replay.
    entry = Entry.create("ballot", OTHER_ELECTION_ID, BODY, [VOTER])
    data = envelope("ballot", ELECTION_ID, BODY, signature_pairs(entry))
    with pytest.raises(EntryRejected, match="signature does not verify"):
        RULES.check(data)


@pytest.mark.parametrize("position", [0, 31, 32, 63])
def test_tampered_signature_is_refused(position: int) -> None:
    entry = Entry.create("ballot", ELECTION_ID, BODY, [VOTER])
    signature = bytearray(entry.signatures[0].signature)
    signature[position] ^= 0x01
    data = envelope("ballot", ELECTION_ID, BODY, [[VOTER.verify_key.encode(), bytes(signature)]])
    with pytest.raises(EntryRejected, match="signature does not verify"):
        RULES.check(data)


def test_one_bad_signature_among_good_ones_is_refused() -> None:
    entry = Entry.create("official", ELECTION_ID, BODY, [OFFICIAL_A, OFFICIAL_B])
    pairs = signature_pairs(entry)
    pairs[1][1] = OFFICIAL_B.sign(b"something else")
    with pytest.raises(EntryRejected, match="signature does not verify"):
        RULES.check(envelope("official", ELECTION_ID, BODY, pairs))


def test_signature_swapped_to_another_signer_is_refused() -> None:
    entry = Entry.create("official", ELECTION_ID, BODY, [OFFICIAL_A, OFFICIAL_B])
    pairs = signature_pairs(entry)
    pairs[0][1], pairs[1][1] = pairs[1][1], pairs[0][1]
    with pytest.raises(EntryRejected, match="signature does not verify"):
        RULES.check(envelope("official", ELECTION_ID, BODY, pairs))


def test_signature_for_another_kind_cannot_be_replayed() -> None:
    # The official signed an "audit" entry with this body; an attacker reuses that signature
    # on a "ballot" entry with the same body. The kind is the domain tag of the signature.
    audit = Entry.create("audit", ELECTION_ID, BODY, [OFFICIAL_A])
    RULES.check(audit.encoded)
    replayed = envelope("ballot", ELECTION_ID, BODY, signature_pairs(audit))
    with pytest.raises(EntryRejected, match="ballot entry: signature does not verify"):
        RULES.check(replayed)
    assert signed_message("audit", ELECTION_ID, BODY) != signed_message("ballot", ELECTION_ID, BODY)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x08",
        b"\xff" * 10,
        b"\x08\x00\x00\x00\x05abc",
        encoding.encode("just text"),
        encoding.encode([ENVELOPE_TAG, "ballot", ELECTION_ID, BODY]),
        encoding.encode([ENVELOPE_TAG, "ballot", ELECTION_ID, BODY, [], "extra"]),
    ],
    ids=["empty", "truncated", "garbage", "overlong", "not-a-list", "4-fields", "6-fields"],
)
def test_malformed_tlv_is_refused(data: bytes) -> None:
    with pytest.raises(EntryRejected, match="malformed entry"):
        RULES.check(data)
    with pytest.raises(DecodeError):
        Entry.decode(data)


def test_trailing_bytes_are_refused() -> None:
    data = Entry.create("ballot", ELECTION_ID, BODY, [VOTER]).encoded
    with pytest.raises(EntryRejected, match="malformed entry: 1 trailing bytes"):
        RULES.check(data + b"\x00")


@pytest.mark.parametrize("tag", ["evote/v2/entry", "evote/v1/entr", ""])
def test_wrong_envelope_tag_is_refused(tag: str) -> None:
    entry = Entry.create("ballot", ELECTION_ID, BODY, [VOTER])
    data = encoding.encode([tag, "ballot", ELECTION_ID, BODY, signature_pairs(entry)])
    with pytest.raises(EntryRejected, match="not an evote v1 entry envelope"):
        RULES.check(data)


def test_envelope_tag_as_bytes_is_refused() -> None:
    entry = Entry.create("ballot", ELECTION_ID, BODY, [VOTER])
    data = encoding.encode(
        [ENVELOPE_TAG.encode(), "ballot", ELECTION_ID, BODY, signature_pairs(entry)]
    )
    with pytest.raises(EntryRejected, match="not an evote v1 entry envelope"):
        RULES.check(data)


def test_oversized_body_is_refused() -> None:
    body = b"\x00" * (MAX_BODY_BYTES + 1)
    signature = VOTER.sign(signed_message("ballot", ELECTION_ID, body))
    data = envelope("ballot", ELECTION_ID, body, [[VOTER.verify_key.encode(), signature]])
    with pytest.raises(EntryRejected, match=f"the limit is {MAX_BODY_BYTES}"):
        RULES.check(data)
    with pytest.raises(DecodeError, match="the limit is"):
        Entry.create("ballot", ELECTION_ID, body, [VOTER])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (["Ballot", ELECTION_ID, BODY], "not a valid kind name"),
        (["ballot", ELECTION_ID[:31], BODY], "entry.election_id"),
        (["ballot", ELECTION_ID, "text body"], "entry.body"),
        ([b"ballot", ELECTION_ID, BODY], "entry.kind"),
    ],
)
def test_badly_typed_fields_are_refused(fields: list[str | bytes], message: str) -> None:
    data = encoding.encode([ENVELOPE_TAG, *fields, []])
    with pytest.raises(EntryRejected, match=message):
        RULES.check(data)


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ([VOTER.verify_key.encode()], r"entry.signatures\[0\]"),
        ([VOTER.verify_key.encode()[:31], b"\x00" * 64], r"entry.signatures\[0\]"),
        ([VOTER.verify_key.encode(), b"\x00" * 63], r"entry.signatures\[0\]"),
        ([b"\x00" * 32, b"\x00" * 64], "malformed entry"),  # the identity is not a valid key
    ],
)
def test_malformed_signature_items_are_refused(pair: list[bytes], message: str) -> None:
    with pytest.raises(EntryRejected, match=message):
        RULES.check(envelope("ballot", ELECTION_ID, BODY, [pair]))


def test_too_many_signatures_are_refused() -> None:
    entry = Entry.create("ballot", ELECTION_ID, BODY, [VOTER])
    pairs = signature_pairs(entry) * (MAX_SIGNATURES + 1)
    with pytest.raises(EntryRejected, match=f"at most {MAX_SIGNATURES} signatures"):
        RULES.check(envelope("ballot", ELECTION_ID, BODY, pairs))


@pytest.mark.parametrize("name", ["", "Ballot", "1ballot", "bal lot", "b" * 65])
def test_invalid_kind_names_cannot_be_declared(name: str) -> None:
    with pytest.raises(InvalidInput):
        EntryKind(name)


@pytest.mark.parametrize("minimum", [-1, MAX_SIGNATURES + 1])
def test_invalid_signature_minimum_cannot_be_declared(minimum: int) -> None:
    with pytest.raises(InvalidInput):
        EntryKind("ballot", minimum)


def test_rules_need_a_32_byte_election_id() -> None:
    with pytest.raises(InvalidInput):
        EntryRules.of(ELECTION_ID[:16], [EntryKind("ballot")])


# --- merging separately made signatures ----------------------------------------------------------


def test_signatures_made_apart_merge_into_one_entry() -> None:
    first = Entry.create("official", ELECTION_ID, BODY, [OFFICIAL_A])
    second = Entry.create("official", ELECTION_ID, BODY, [OFFICIAL_B])
    merged = merge_signatures([first, second, first])
    assert merged.signers == (OFFICIAL_A.verify_key, OFFICIAL_B.verify_key)
    RULES.check(merged.encoded)


def test_merging_adds_the_given_signers() -> None:
    merged = merge_signatures([Entry.create("official", ELECTION_ID, BODY, [OFFICIAL_A])], [VOTER])
    assert set(merged.signers) == {OFFICIAL_A.verify_key, VOTER.verify_key}


def test_copies_of_different_entries_do_not_merge() -> None:
    first = Entry.create("official", ELECTION_ID, BODY, [OFFICIAL_A])
    other = Entry.create("official", ELECTION_ID, BODY + b"!", [OFFICIAL_B])
    with pytest.raises(EntryRejected, match="one and the same entry"):
        merge_signatures([first, other])


def test_a_forged_copy_does_not_merge() -> None:
    good = Entry.create("official", ELECTION_ID, BODY, [OFFICIAL_A])
    forged = Entry.decode(good.encoded[:-1] + bytes([good.encoded[-1] ^ 1]))
    with pytest.raises(InvalidSignature):
        merge_signatures([good, forged])
