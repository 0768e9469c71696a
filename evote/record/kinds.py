"""The entry kinds of an election, their bodies, and who signs each (docs/election-record.md).

A scheme A record has the kinds of :data:`ALL_KINDS`; a scheme B record those of
:data:`PAILLIER_KINDS`, where the dealer's ceremony replaces the guardians' (the three
``paillier-*`` kinds below). A board takes only its election's scheme's kinds
(:func:`entry_rules`).

==================  =========================================  ===================================
kind                body                                       signed by
==================  =========================================  ===================================
manifest            :class:`Manifest` (its TLV)                a quorum of officials
ceremony-*          the key ceremony's rounds (ceremony.messages)  the guardian each names
guardian-key        :class:`GuardianKey`                       that guardian
joint-key           :class:`JointKey`                          a quorum of officials, every guardian
key-check           :class:`KeyCheck`                          that guardian
paillier-key        :class:`DealtKey` (scheme B)               the dealer, a quorum of officials
paillier-share      :class:`SealedKeyShare` (scheme B)         the dealer
paillier-key-check  :class:`PaillierKeyCheck` (scheme B)       that guardian
credentials         :class:`CredentialList`                    the credential authority
open                :class:`PhaseMark` ("open")                a quorum of officials
ballot              :class:`EncryptedBallot`                   the ballot's credential
audit               :class:`AuditReveal`                       the ballot's credential
close               :class:`PhaseMark` ("close")               a quorum of officials
tally               :class:`EncryptedTally`                    a quorum of officials
decryption-share    :class:`GuardianShares`                    that guardian
result              :class:`TallyResult`                       a quorum of officials
==================  =========================================  ===================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from evote.board.entry import EntryKind, EntryRules
from evote.ceremony import messages as ceremony
from evote.crypto import encoding
from evote.crypto.signing import VerifyKey
from evote.election.manifest import ELGAMAL, PAILLIER, SchemeName
from evote.election.tally import SHARES_KIND
from evote.errors import DecodeError

MANIFEST: Final = "manifest"
GUARDIAN_KEY: Final = ceremony.REVEAL
JOINT_KEY: Final = ceremony.JOINT_KEY
CEREMONY_TRANSPORT: Final = ceremony.TRANSPORT
CEREMONY_COMMIT: Final = ceremony.COMMIT
CEREMONY_SHARES: Final = ceremony.SHARES
CEREMONY_COMPLAINT: Final = ceremony.COMPLAINT
CEREMONY_SHARE_REVEAL: Final = ceremony.SHARE_REVEAL
KEY_CHECK: Final = ceremony.KEY_CHECK
PAILLIER_KEY: Final = ceremony.PAILLIER_KEY
PAILLIER_SHARE: Final = ceremony.PAILLIER_SHARE
PAILLIER_KEY_CHECK: Final = ceremony.PAILLIER_KEY_CHECK
CREDENTIALS: Final = "credentials"
OPEN: Final = "open"
BALLOT: Final = "ballot"
AUDIT: Final = "audit"
CLOSE: Final = "close"
TALLY: Final = "tally"
DECRYPTION_SHARE: Final = SHARES_KIND
RESULT: Final = "result"

ALL_KINDS: Final = (
    MANIFEST,
    CEREMONY_TRANSPORT,
    CEREMONY_COMMIT,
    GUARDIAN_KEY,
    CEREMONY_SHARES,
    CEREMONY_COMPLAINT,
    CEREMONY_SHARE_REVEAL,
    JOINT_KEY,
    KEY_CHECK,
    CREDENTIALS,
    OPEN,
    BALLOT,
    AUDIT,
    CLOSE,
    TALLY,
    DECRYPTION_SHARE,
    RESULT,
)

#: Every kind of a scheme B record, in phase order: the dealer's ceremony replaces the
#: guardians' (transport keys, the dealer's key, sealed shares, the guardians' key checks).
PAILLIER_KINDS: Final = (
    MANIFEST,
    CEREMONY_TRANSPORT,
    PAILLIER_KEY,
    PAILLIER_SHARE,
    PAILLIER_KEY_CHECK,
    *ALL_KINDS[ALL_KINDS.index(CREDENTIALS) :],
)

_CREDENTIALS_TAG: Final = "evote/v1/credentials"
_PHASE_TAG: Final = "evote/v1/phase"


def record_kinds(scheme: SchemeName = ELGAMAL) -> tuple[str, ...]:
    """The kinds of a record of the scheme, in phase order (:data:`ALL_KINDS` for scheme A)."""
    return PAILLIER_KINDS if scheme == PAILLIER else ALL_KINDS


def entry_rules(election_id: bytes, scheme: SchemeName = ELGAMAL) -> EntryRules:
    """The board's envelope rules for an election: the kinds of its scheme's record
    (``manifest.scheme_name``), each signed at least once."""
    return EntryRules.of(election_id, [EntryKind(kind) for kind in record_kinds(scheme)])


@dataclass(frozen=True, slots=True)
class CredentialList:
    """The public voting credentials, sorted by their bytes (which unlinks them from voters)."""

    credentials: tuple[VerifyKey, ...]

    def to_tlv(self) -> bytes:
        return encoding.encode([_CREDENTIALS_TAG, [key.encode() for key in self.credentials]])

    @classmethod
    def from_tlv(cls, data: bytes) -> CredentialList:
        fields = encoding.expect_list(encoding.decode(data), 2, what="credentials")
        if fields[0] != _CREDENTIALS_TAG:
            raise DecodeError("not an evote v1 credential list")
        keys = tuple(
            VerifyKey.decode(encoding.expect_bytes(k, 32, what="credentials.key"))
            for k in encoding.expect_list(fields[1], what="credentials.keys")
        )
        encoded = [key.encode() for key in keys]
        if encoded != sorted(set(encoded)):
            raise DecodeError("the credential list must be sorted and free of duplicates")
        return cls(keys)


@dataclass(frozen=True, slots=True)
class PhaseMark:
    """Opening or closing of the election, with the officials' clock time (seconds)."""

    phase: Literal["open", "close"]
    timestamp: int

    def to_tlv(self) -> bytes:
        return encoding.encode([_PHASE_TAG, self.phase, self.timestamp])

    @classmethod
    def from_tlv(cls, data: bytes, phase: Literal["open", "close"]) -> PhaseMark:
        fields = encoding.expect_list(encoding.decode(data), 3, what=phase)
        if fields[0] != _PHASE_TAG or fields[1] != phase:
            raise DecodeError(f"not an evote v1 {phase} mark")
        return cls(phase, encoding.expect_int(fields[2], what=f"{phase}.timestamp"))
