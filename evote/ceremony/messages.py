"""The key ceremony's board entries (crypto spec §3.5), in canonical TLV.

========================  =====================================================  ==================
kind                      body                                                   round
========================  =====================================================  ==================
ceremony-transport        ``[tag, i, X25519 public key]``                        0: transport keys
ceremony-commit           ``[tag, i, h_i]``, h_i = H32("ceremony-commit", …)     1: commit
guardian-key              ``[tag, i, [K_i,j], [proofs]]`` (:class:`GuardianKey`)  2: reveal
ceremony-shares           ``[tag, i, [[ℓ, Box(s_i,ℓ)] for ℓ ≠ i]]``              3: sealed shares
ceremony-complaint        ``[tag, ℓ, i, reason]``                                4: complaints
ceremony-share-reveal     ``[tag, i, ℓ, s_i,ℓ]``                                 4: answers
joint-key                 :class:`JointKey`, signed by officials and every        5: acknowledgement
                          guardian
key-check                 ``[tag, ℓ, M_ℓ, proof]`` on the public test ciphertext  before opening
========================  =====================================================  ==================

Scheme B has one trusted dealer instead (:mod:`evote.ceremony.dealer`; crypto spec §4.2):

========================  =====================================================  ==================
kind                      body                                                   signed by
========================  =====================================================  ==================
ceremony-transport        as above: each guardian's ceremony-only X25519 key     guardian ``i``
paillier-key              :class:`DealtKey` ``[tag, H_B, X25519 key, key]``       dealer, officials
paillier-share            :class:`SealedKeyShare` ``[tag, i, Box(s_i)]``          the dealer
paillier-key-check        :class:`PaillierKeyCheck` ``[tag, i, proved share]``    guardian ``i``
========================  =====================================================  ==================

Each is signed by the guardian it names (the joint key also by an official quorum). A sealed
share's plaintext is ``TLV(["evote/v1/ceremony-share", H_B, i, ℓ, s_i,ℓ])``, so a share cannot
be replayed into another ceremony or to another recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from evote.crypto import encoding
from evote.crypto.group import Point, Scalar
from evote.crypto.hashing import hash32
from evote.crypto.paillier import PaillierDecryptionShare, PaillierPublicKey
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.sealing import TRANSPORT_KEY_BYTES, TransportPublicKey
from evote.errors import DecodeError

TRANSPORT: Final = "ceremony-transport"
REVEAL: Final = "guardian-key"
JOINT_KEY: Final = "joint-key"
COMMIT: Final = "ceremony-commit"
SHARES: Final = "ceremony-shares"
COMPLAINT: Final = "ceremony-complaint"
SHARE_REVEAL: Final = "ceremony-share-reveal"
KEY_CHECK: Final = "key-check"
SHARE_PLAINTEXT_TAG: Final = "evote/v1/ceremony-share"
GUARDIAN_KEY_TAG: Final = "evote/v1/guardian-key"
JOINT_KEY_TAG: Final = "evote/v1/joint-key"


def _fields(data: bytes, tag: str, count: int) -> list[encoding.Decoded]:
    fields = encoding.expect_list(encoding.decode(data), count, what=tag)
    if fields[0] != tag:
        raise DecodeError(f"not an {tag} body")
    return fields


def commitment_hash(base_hash: bytes, guardian: int, commitments: tuple[Point, ...]) -> bytes:
    """``h_i = H32("ceremony-commit", H_B, i, [K_i,0 … K_i,t−1])``."""
    return hash32("ceremony-commit", base_hash, guardian, list(commitments))


@dataclass(frozen=True, slots=True)
class TransportKey:
    guardian: int
    key: TransportPublicKey
    TAG = "evote/v1/ceremony-transport"

    def to_tlv(self) -> bytes:
        return encoding.encode([self.TAG, self.guardian, self.key.encode()])

    @classmethod
    def from_tlv(cls, data: bytes) -> TransportKey:
        fields = _fields(data, cls.TAG, 3)
        key = encoding.expect_bytes(fields[2], TRANSPORT_KEY_BYTES, what="transport key")
        return cls(encoding.expect_int(fields[1], what="guardian"), TransportPublicKey(key))


@dataclass(frozen=True, slots=True)
class Commit:
    guardian: int
    digest: bytes
    TAG = "evote/v1/ceremony-commit"

    def to_tlv(self) -> bytes:
        return encoding.encode([self.TAG, self.guardian, self.digest])

    @classmethod
    def from_tlv(cls, data: bytes) -> Commit:
        fields = _fields(data, cls.TAG, 3)
        return cls(
            encoding.expect_int(fields[1], what="guardian"),
            encoding.expect_bytes(fields[2], 32, what="commitment hash"),
        )


@dataclass(frozen=True, slots=True)
class SealedShares:
    """Dealer ``guardian``'s shares, each sealed to its recipient: ``{ℓ: Box(…)}``."""

    guardian: int
    sealed: tuple[tuple[int, bytes], ...]
    TAG = "evote/v1/ceremony-shares"

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [self.TAG, self.guardian, [[recipient, box] for recipient, box in self.sealed]]
        )

    @classmethod
    def from_tlv(cls, data: bytes) -> SealedShares:
        fields = _fields(data, cls.TAG, 3)
        sealed = []
        for item in encoding.expect_list(fields[2], what="sealed shares"):
            recipient, box = encoding.expect_list(item, 2, what="sealed share")
            sealed.append(
                (
                    encoding.expect_int(recipient, what="recipient"),
                    encoding.expect_bytes(box, what="sealed share"),
                )
            )
        return cls(encoding.expect_int(fields[1], what="guardian"), tuple(sealed))

    def for_recipient(self, recipient: int) -> bytes | None:
        return dict(self.sealed).get(recipient)


@dataclass(frozen=True, slots=True)
class Complaint:
    """Guardian ``complainer`` says dealer ``accused``'s share to it is bad or missing."""

    complainer: int
    accused: int
    reason: str
    TAG = "evote/v1/ceremony-complaint"

    def to_tlv(self) -> bytes:
        return encoding.encode([self.TAG, self.complainer, self.accused, self.reason])

    @classmethod
    def from_tlv(cls, data: bytes) -> Complaint:
        fields = _fields(data, cls.TAG, 4)
        return cls(
            encoding.expect_int(fields[1], what="complainer"),
            encoding.expect_int(fields[2], what="accused"),
            encoding.expect_text(fields[3], what="reason"),
        )


@dataclass(frozen=True, slots=True)
class ShareReveal:
    """Dealer ``dealer``'s answer to a complaint: the share for ``recipient``, in clear."""

    dealer: int
    recipient: int
    share: Scalar
    TAG = "evote/v1/ceremony-share-reveal"

    def to_tlv(self) -> bytes:
        return encoding.encode([self.TAG, self.dealer, self.recipient, self.share])

    @classmethod
    def from_tlv(cls, data: bytes) -> ShareReveal:
        fields = _fields(data, cls.TAG, 4)
        return cls(
            encoding.expect_int(fields[1], what="dealer"),
            encoding.expect_int(fields[2], what="recipient"),
            encoding.expect_scalar(fields[3], what="share"),
        )


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """Guardian ``guardian`` shows it can still decrypt: its share of the public test
    ciphertext, with a Chaum–Pedersen proof (target ``key-check``)."""

    guardian: int
    share: Point
    proof: CompactProof
    TAG = "evote/v1/key-check"

    def to_tlv(self) -> bytes:
        return encoding.encode([self.TAG, self.guardian, self.share, self.proof.encode()])

    @classmethod
    def from_tlv(cls, data: bytes) -> KeyCheck:
        fields = _fields(data, cls.TAG, 4)
        return cls(
            encoding.expect_int(fields[1], what="guardian"),
            encoding.expect_point(fields[2], what="key-check share"),
            CompactProof.decode(encoding.expect_bytes(fields[3], what="key-check proof")),
        )


@dataclass(frozen=True, slots=True)
class GuardianKey:
    """Guardian ``guardian``'s Feldman commitments ``K_{i,j}`` and their Schnorr proofs."""

    guardian: int
    commitments: tuple[Point, ...]
    proofs: tuple[CompactProof, ...]

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [
                GUARDIAN_KEY_TAG,
                self.guardian,
                list(self.commitments),
                [proof.encode() for proof in self.proofs],
            ]
        )

    @classmethod
    def from_tlv(cls, data: bytes) -> GuardianKey:
        fields = encoding.expect_list(encoding.decode(data), 4, what="guardian-key")
        if fields[0] != GUARDIAN_KEY_TAG:
            raise DecodeError("not an evote v1 guardian-key body")
        commitments = tuple(
            encoding.expect_point(c, what="guardian-key.commitment")
            for c in encoding.expect_list(fields[2], what="guardian-key.commitments")
        )
        proofs = tuple(
            CompactProof.decode(encoding.expect_bytes(p, what="guardian-key.proof"))
            for p in encoding.expect_list(fields[3], len(commitments), what="guardian-key.proofs")
        )
        return cls(
            encoding.expect_int(fields[1], what="guardian-key.guardian"), commitments, proofs
        )


@dataclass(frozen=True, slots=True)
class JointKey:
    """The election key ``K``, ``H_E`` and every guardian's verification key ``K̂_ℓ``."""

    joint_key: Point
    extended_hash: bytes
    verification_keys: tuple[Point, ...]

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [JOINT_KEY_TAG, self.joint_key, self.extended_hash, list(self.verification_keys)]
        )

    @classmethod
    def from_tlv(cls, data: bytes) -> JointKey:
        fields = encoding.expect_list(encoding.decode(data), 4, what="joint-key")
        if fields[0] != JOINT_KEY_TAG:
            raise DecodeError("not an evote v1 joint-key body")
        return cls(
            encoding.expect_point(fields[1], what="joint-key.key"),
            encoding.expect_bytes(fields[2], 32, what="joint-key.extended_hash"),
            tuple(
                encoding.expect_point(k, what="joint-key.verification_key")
                for k in encoding.expect_list(fields[3], what="joint-key.verification_keys")
            ),
        )


# --- scheme B: the dealer's ceremony (crypto spec §4.2) -------------------------------------------

PAILLIER_KEY: Final = "paillier-key"
PAILLIER_SHARE: Final = "paillier-share"
PAILLIER_KEY_CHECK: Final = "paillier-key-check"
PAILLIER_SHARE_PLAINTEXT_TAG: Final = "evote/v1/paillier-share-plaintext"


@dataclass(frozen=True, slots=True)
class DealtKey:
    """The dealer's published key: ``[tag, H_B, dealer transport key, (n, t, v, [v_i])]``.

    Signed by the dealer and an official quorum. ``H_B`` ties it to this election's manifest
    and roster; the dealer's ceremony-only X25519 key is the sender of every sealed share.
    """

    base_hash: bytes
    transport: TransportPublicKey
    key: PaillierPublicKey
    TAG = "evote/v1/dealt-key"

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [self.TAG, self.base_hash, self.transport.encode(), self.key.to_value()]
        )

    @classmethod
    def from_tlv(cls, data: bytes) -> DealtKey:
        fields = _fields(data, cls.TAG, 4)
        return cls(
            encoding.expect_bytes(fields[1], 32, what="dealt key.base_hash"),
            TransportPublicKey.decode(
                encoding.expect_bytes(fields[2], TRANSPORT_KEY_BYTES, what="dealt key.transport")
            ),
            PaillierPublicKey.from_value(fields[3]),
        )


@dataclass(frozen=True, slots=True)
class SealedKeyShare:
    """Guardian ``guardian``'s Paillier key share, sealed to its transport key by the dealer.

    The plaintext is ``TLV([PAILLIER_SHARE_PLAINTEXT_TAG, H_B, H_P, i, [tag, i, s_i]])``: a
    share cannot be replayed into another election, onto another key or to another guardian.
    """

    guardian: int
    sealed: bytes
    TAG = "evote/v1/paillier-share"

    def to_tlv(self) -> bytes:
        return encoding.encode([self.TAG, self.guardian, self.sealed])

    @classmethod
    def from_tlv(cls, data: bytes) -> SealedKeyShare:
        fields = _fields(data, cls.TAG, 3)
        return cls(
            encoding.expect_int(fields[1], what="paillier share.guardian"),
            encoding.expect_bytes(fields[2], what="paillier share.sealed"),
        )


@dataclass(frozen=True, slots=True)
class PaillierKeyCheck:
    """Guardian ``guardian`` accepted its share: its proved decryption share of the public test
    ciphertext (:func:`evote.crypto.paillier.key_check_ciphertext`, target ``key-check``).

    An honest guardian posts it only after its share passed ``v^{Δ·s_i} = v_i``; the proof shows
    the share it holds matches ``v_i``.
    """

    guardian: int
    share: PaillierDecryptionShare
    TAG = "evote/v1/paillier-key-check"

    def to_tlv(self, key: PaillierPublicKey) -> bytes:
        return encoding.encode([self.TAG, self.guardian, self.share.to_value(key)])

    @classmethod
    def from_tlv(cls, data: bytes, key: PaillierPublicKey) -> PaillierKeyCheck:
        fields = _fields(data, cls.TAG, 3)
        guardian = encoding.expect_int(fields[1], what="paillier key check.guardian")
        share = PaillierDecryptionShare.from_value(fields[2], key)
        if share.guardian != guardian:
            raise DecodeError(
                f"paillier key check: guardian {guardian}'s entry holds guardian "
                f"{share.guardian}'s share"
            )
        return cls(guardian, share)
