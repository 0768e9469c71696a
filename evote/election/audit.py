"""Benaloh cast-or-audit: checking an audited ballot from its revealed seed (crypto spec §3.7).

When a voter challenges the device, it publishes the ballot with its seed and the choices it
claims to have encrypted. Anyone recomputes every nonce and ciphertext from the seed and
compares them byte for byte with the ballot; a mismatch is evidence of a cheating device. An
audited ballot is never counted, and its ballot id can never be cast.

Both schemes recompute the same way: the election context's scheme derives each selection's
nonce from the seed (scheme A ``ξ``, scheme B ``ρ``) and encrypts the claimed value with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from evote.crypto import encoding
from evote.crypto.elgamal import SEED_BYTES
from evote.election.ballot import EncryptedBallot, contest_index, verify_ballot
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.errors import DecodeError, VerificationError

AUDIT_TAG: Final = "evote/v1/audit"


class AuditMismatch(VerificationError):
    """An audited ballot does not re-encrypt to what was posted: the device cheated."""


@dataclass(frozen=True, slots=True)
class AuditReveal:
    """An audited ballot: the ballot, its seed and the claimed choices (per part, per option)."""

    ballot: EncryptedBallot[Any, Any]
    seed: bytes
    votes: tuple[tuple[int, ...], ...]

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [
                AUDIT_TAG,
                encoding.decode(self.ballot.to_tlv()),
                self.seed,
                [list(v) for v in self.votes],
            ]
        )

    @classmethod
    def from_tlv(cls, data: bytes, where: Manifest | ElectionContext) -> AuditReveal:
        """Parse an audit; ``where`` is the election context (or, for scheme A, the manifest)."""
        fields = encoding.expect_list(encoding.decode(data), 4, what="audit")
        if fields[0] != AUDIT_TAG:
            raise DecodeError("not an evote v1 audit reveal")
        ballot = EncryptedBallot.from_value(fields[1], where)
        seed = encoding.expect_bytes(fields[2], SEED_BYTES, what="audit.seed")
        parts = encoding.expect_list(fields[3], len(ballot.contests), what="audit.votes")
        votes = tuple(
            tuple(
                encoding.expect_int(v, what="audit.vote")
                for v in encoding.expect_list(p, what="audit.votes")
            )
            for p in parts
        )
        return cls(ballot, seed, votes)


def verify_audit(reveal: AuditReveal, context: ElectionContext) -> None:
    """Re-encrypt from the seed and compare; raise :class:`AuditMismatch` or ``ProofError``."""
    ballot = reveal.ballot
    manifest = context.manifest
    parts = manifest.style(ballot.style).parts
    if len(ballot.contests) != len(parts):
        raise AuditMismatch(f"the ballot has {len(ballot.contests)} parts for {len(parts)}")
    binding = ballot.binding(context)
    scheme = context.scheme
    if len(reveal.votes) != len(parts):
        raise AuditMismatch(f"the reveal gives {len(reveal.votes)} parts for {len(parts)}")
    for part, contest, votes in zip(parts, ballot.contests, reveal.votes, strict=True):
        definition, district = manifest.part(part)
        shape = definition.shape(district)
        if len(votes) != len(shape.option_limits) or len(contest.selections) != len(votes):
            raise AuditMismatch(f"{part}: the reveal gives {len(votes)} option values")
        index = contest_index(manifest, part)
        for option, (vote, selection) in enumerate(zip(votes, contest.selections, strict=True)):
            nonce = scheme.selection_nonce(
                context.extended_hash, binding, reveal.seed, index, option
            )
            if not 0 <= vote <= shape.option_limits[option]:
                raise AuditMismatch(f"{part}: option {option} claims the impossible value {vote}")
            if scheme.encrypt(vote, nonce) != selection.ciphertext:
                raise AuditMismatch(
                    f"{part}: option {option} does not re-encrypt from the revealed seed"
                )
    verify_ballot(ballot, context)
