"""The board's entry envelope: kind, election, opaque body, and the signatures over them.

An entry is stored as its canonical TLV encoding::

    ["evote/v1/entry", kind, election_id, body, [[signer_key, signature], …]]

and every leaf hash, tracking code and signature covers those stored bytes or parts of them;
an entry is never re-serialized to be checked. Each signature is an Ed25519 signature over
the TLV of ``["evote/v1", "board-entry", kind, election_id, SHA-256(body)]``: the kind is the
per-type domain tag, and the election id stops cross-election replay.

The board does not know what a ballot is. The layers above declare the entry kinds
(:class:`EntryKind`) with their minimum number of signatures; who may sign is checked there.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from evote.board.merkle import leaf_hash
from evote.crypto import encoding
from evote.crypto.signing import SIGNATURE_BYTES, VERIFY_KEY_BYTES, SigningKey, VerifyKey
from evote.errors import DecodeError, EntryRejected, InvalidInput, InvalidSignature

ENVELOPE_TAG: Final = "evote/v1/entry"
ELECTION_ID_BYTES: Final = 32
MAX_BODY_BYTES: Final = 1 << 20
MAX_SIGNATURES: Final = 64
_KIND_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]{0,63}")


@dataclass(frozen=True, slots=True)
class EntryKind:
    """A kind of entry declared by a layer above: its name and how many signers it needs."""

    name: str
    min_signatures: int = 1

    def __post_init__(self) -> None:
        if not _KIND_PATTERN.fullmatch(self.name):
            raise InvalidInput(f"entry kind {self.name!r}: use lowercase letters, digits and '-'")
        if not 0 <= self.min_signatures <= MAX_SIGNATURES:
            raise InvalidInput(f"entry kind {self.name!r}: invalid signature minimum")


@dataclass(frozen=True, slots=True)
class EntrySignature:
    signer: VerifyKey
    signature: bytes


def signed_message(kind: str, election_id: bytes, body: bytes) -> bytes:
    """What every signer of an entry signs."""
    return encoding.encode(
        ["evote/v1", "board-entry", kind, election_id, hashlib.sha256(body).digest()]
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """A parsed entry together with the exact bytes it was parsed from."""

    kind: str
    election_id: bytes
    body: bytes
    signatures: tuple[EntrySignature, ...]
    encoded: bytes

    @classmethod
    def create(
        cls, kind: str, election_id: bytes, body: bytes, signers: Iterable[SigningKey]
    ) -> Entry:
        """Build and sign an entry; its ``encoded`` bytes are what goes on the board."""
        message = signed_message(kind, election_id, body)
        signatures = [[key.verify_key.encode(), key.sign(message)] for key in signers]
        return cls.decode(encoding.encode([ENVELOPE_TAG, kind, election_id, body, signatures]))

    @classmethod
    def decode(cls, data: bytes) -> Entry:
        """Parse the envelope strictly (no signature is checked here)."""
        fields = encoding.expect_list(encoding.decode(data), 5, what="entry")
        if fields[0] != ENVELOPE_TAG:
            raise DecodeError(f"not an evote v1 entry envelope (tag {fields[0]!r})")
        kind = encoding.expect_text(fields[1], what="entry.kind")
        if not _KIND_PATTERN.fullmatch(kind):
            raise DecodeError(f"entry.kind {kind!r} is not a valid kind name")
        election_id = encoding.expect_bytes(fields[2], ELECTION_ID_BYTES, what="entry.election_id")
        body = encoding.expect_bytes(fields[3], what="entry.body")
        if len(body) > MAX_BODY_BYTES:
            raise DecodeError(f"entry.body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
        items = encoding.expect_list(fields[4], what="entry.signatures")
        if len(items) > MAX_SIGNATURES:
            raise DecodeError(f"an entry carries at most {MAX_SIGNATURES} signatures")
        signatures = []
        for position, item in enumerate(items):
            where = f"entry.signatures[{position}]"
            pair = encoding.expect_list(item, 2, what=where)
            signer = VerifyKey.decode(encoding.expect_bytes(pair[0], VERIFY_KEY_BYTES, what=where))
            signature = encoding.expect_bytes(pair[1], SIGNATURE_BYTES, what=where)
            signatures.append(EntrySignature(signer, signature))
        return cls(kind, election_id, body, tuple(signatures), data)

    @property
    def tracking_code(self) -> bytes:
        """The entry's Merkle leaf hash, ``SHA-256(0x00 ‖ stored bytes)``.

        What a voter or observer uses to find the entry, and what its inclusion proof starts
        from; the store indexes entries by it, so the rebuilt tree checks the index too.
        """
        return leaf_hash(self.encoded)

    @property
    def signers(self) -> tuple[VerifyKey, ...]:
        return tuple(signature.signer for signature in self.signatures)

    def verify_signatures(self) -> None:
        """Raise :class:`InvalidSignature` unless every signature verifies and signers differ."""
        message = signed_message(self.kind, self.election_id, self.body)
        if len(set(self.signers)) != len(self.signers):
            raise InvalidSignature(f"{self.kind} entry: the same key signed twice")
        for signature in self.signatures:
            signature.signer.verify(message, signature.signature)


def merge_signatures(copies: Sequence[Entry], signers: Iterable[SigningKey] = ()) -> Entry:
    """One entry carrying every signature of ``copies`` (the same kind, election and body,
    each signed separately, e.g. by guardians on their own machines) and of ``signers``.

    A signer's signature is kept once; every signature is checked.
    """
    if not copies:
        raise InvalidInput("merging signatures needs at least one signed copy")
    first = copies[0]
    for copy in copies[1:]:
        if (copy.kind, copy.election_id, copy.body) != (first.kind, first.election_id, first.body):
            raise EntryRejected("the copies to merge are not signatures of one and the same entry")
    message = signed_message(first.kind, first.election_id, first.body)
    gathered: dict[VerifyKey, bytes] = {}
    for copy in copies:
        copy.verify_signatures()
        for signature in copy.signatures:
            gathered.setdefault(signature.signer, signature.signature)
    for key in signers:
        gathered.setdefault(key.verify_key, key.sign(message))
    signatures = [[signer.encode(), signature] for signer, signature in gathered.items()]
    merged = Entry.decode(
        encoding.encode([ENVELOPE_TAG, first.kind, first.election_id, first.body, signatures])
    )
    merged.verify_signatures()
    return merged


@dataclass(frozen=True, slots=True)
class EntryRules:
    """The board's envelope rules for one election: its id and the kinds declared above."""

    election_id: bytes
    kinds: Mapping[str, EntryKind]

    @classmethod
    def of(cls, election_id: bytes, kinds: Sequence[EntryKind]) -> EntryRules:
        if len(election_id) != ELECTION_ID_BYTES:
            raise InvalidInput(f"an election id is {ELECTION_ID_BYTES} bytes")
        return cls(election_id, {kind.name: kind for kind in kinds})

    def check(self, data: bytes) -> Entry:
        """Parse ``data`` and enforce the envelope rules; raise :class:`EntryRejected`."""
        try:
            entry = Entry.decode(data)
        except DecodeError as error:
            raise EntryRejected(f"malformed entry: {error}") from error
        kind = self.kinds.get(entry.kind)
        if kind is None:
            raise EntryRejected(f"entry kind {entry.kind!r} is not declared for this board")
        if entry.election_id != self.election_id:
            raise EntryRejected(f"{entry.kind} entry belongs to another election")
        if len(entry.signatures) < kind.min_signatures:
            raise EntryRejected(
                f"{entry.kind} entry has {len(entry.signatures)} signatures, "
                f"needs at least {kind.min_signatures}"
            )
        try:
            entry.verify_signatures()
        except InvalidSignature as error:
            raise EntryRejected(f"{entry.kind} entry: {error}") from error
        return entry
