"""Encrypted ballots: their canonical form, binding, confirmation code and verification.

A ballot answers one ballot style: one encrypted contest per part of the style, in order.
Its proofs are bound (crypto spec §3.6.1) to

    D_b = H32("ballot-binding", H_E, ballot_id, credential, style, sequence)

so a ballot copied under another credential, ballot id, style or sequence number fails its
proofs. ``sequence`` counts a voter's ballots (revoting): the highest valid one counts, so an
old ballot appended again can never become the counted one. The confirmation code

    H_C = H32("confirmation", H_E, D_b, [contests])

is shown to the voter before the cast-or-audit choice. Unlike crypto spec §3.6.1 it does not
chain the device's previous code: the board's signed log already shows order and omissions, and
a chain would link the ballots one device cast for different voters.
This module holds no prover code: encryption is in :mod:`evote.election.encrypt`.

A ballot is generic over its scheme's ciphertext and range proof and carries the codec it was
made or read with, so it encodes itself; decoders take the election context (or, for scheme A
only, the manifest: :func:`evote.election.context.manifest_and_codec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Generic

from evote.crypto import encoding
from evote.crypto.hashing import hash32
from evote.crypto.signing import VerifyKey
from evote.election.contest import C, EncryptedContest, P, verify_contest
from evote.election.context import ElectionContext, manifest_and_codec
from evote.election.manifest import Manifest
from evote.election.schemes import ELGAMAL_CODEC, AnyCodec
from evote.errors import DecodeError, InvalidInput, ProofError

BALLOT_TAG: Final = "evote/v1/ballot"
BALLOT_ID_BYTES: Final = 16


def ballot_binding(
    extended_hash: bytes, ballot_id: bytes, credential: VerifyKey, style: str, sequence: int
) -> bytes:
    """``D_b``: binds every proof of a ballot to its id, credential, style and sequence."""
    return hash32("ballot-binding", extended_hash, ballot_id, credential.encode(), style, sequence)


@dataclass(frozen=True, slots=True)
class EncryptedBallot(Generic[C, P]):
    ballot_id: bytes
    credential: VerifyKey
    sequence: int
    style: str
    contests: tuple[EncryptedContest[C, P], ...]
    #: How the ballot encodes itself: its election's scheme (scheme A's needs no key).
    codec: AnyCodec = field(default=ELGAMAL_CODEC, compare=False, repr=False)

    def binding(self, context: ElectionContext) -> bytes:
        return ballot_binding(
            context.extended_hash, self.ballot_id, self.credential, self.style, self.sequence
        )

    def contests_value(self) -> list[encoding.Value]:
        return [contest.to_value(self.codec) for contest in self.contests]

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [
                BALLOT_TAG,
                self.ballot_id,
                self.credential.encode(),
                self.sequence,
                self.style,
                self.contests_value(),
            ]
        )

    def confirmation_code(self, context: ElectionContext) -> bytes:
        """``H_C``, shown to the voter before cast or audit."""
        return hash32(
            "confirmation", context.extended_hash, self.binding(context), self.contests_value()
        )

    @classmethod
    def from_value(
        cls, value: encoding.Decoded, where: Manifest | ElectionContext
    ) -> EncryptedBallot[Any, Any]:
        """Parse against the manifest: the style fixes every contest's shape; the scheme of
        ``where`` (a context, or a scheme A manifest) reads every ciphertext and proof."""
        manifest, codec = manifest_and_codec(where)
        fields = encoding.expect_list(value, 6, what="ballot")
        if fields[0] != BALLOT_TAG:
            raise DecodeError("not an evote v1 ballot")
        ballot_id = encoding.expect_bytes(fields[1], BALLOT_ID_BYTES, what="ballot.ballot_id")
        credential = VerifyKey.decode(
            encoding.expect_bytes(fields[2], 32, what="ballot.credential")
        )
        sequence = encoding.expect_int(fields[3], what="ballot.sequence")
        style_id = encoding.expect_text(fields[4], what="ballot.style")
        try:
            style = manifest.style(style_id)
        except InvalidInput as error:
            raise DecodeError(f"ballot.style: {error}") from error
        items = encoding.expect_list(fields[5], len(style.parts), what="ballot.contests")
        contests = []
        for part, item in zip(style.parts, items, strict=True):
            contest, district = manifest.part(part)
            contests.append(
                EncryptedContest.from_tlv(
                    item, contest.shape(district), what=f"ballot.{part}", codec=codec
                )
            )
        return EncryptedBallot(ballot_id, credential, sequence, style_id, tuple(contests), codec)

    @classmethod
    def from_tlv(cls, data: bytes, where: Manifest | ElectionContext) -> EncryptedBallot[Any, Any]:
        return cls.from_value(encoding.decode(data), where)


def contest_index(manifest: Manifest, part: str) -> int:
    """The position of a part's contest in the manifest: the contest index proofs bind."""
    contest, _ = manifest.part(part)
    return manifest.contests.index(contest)


def verify_ballot(ballot: EncryptedBallot[Any, Any], context: ElectionContext) -> None:
    """Verify every proof of the ballot; raise :class:`ProofError` naming the contest part."""
    manifest = context.manifest
    style = manifest.style(ballot.style)
    if len(ballot.contests) != len(style.parts):
        raise ProofError(
            "ballot", "contests", f"style {style.id} has {len(style.parts)} contest parts"
        )
    binding = ballot.binding(context)
    for part, contest in zip(style.parts, ballot.contests, strict=True):
        definition, district = manifest.part(part)
        try:
            verify_contest(
                contest,
                definition.shape(district),
                contest_index(manifest, part),
                context.scheme,
                context.extended_hash,
                binding,
            )
        except ProofError as error:
            raise ProofError(error.proof, f"{part}.{error.field}", error.detail) from error
