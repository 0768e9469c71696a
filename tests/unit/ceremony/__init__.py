"""Tests of the key ceremony (crypto spec §3.5, §3.9, §7), and the builders they share.

:func:`ceremony_manifest` writes a manifest naming freshly generated guardian keys;
:class:`BoardRecorder` stands in for the board behind ``run_ceremony``'s ``post``;
:class:`Rehearsal` plays rounds 0–3 with :class:`Trustee` objects the test holds, so that a
test can forge what only a dealer can (a sealed share, an answer) before rounds 4 and 5;
:func:`decrypt_with` decrypts a ciphertext with the key shares of a set of finished trustees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from evote.ceremony import messages
from evote.ceremony.messages import (
    SHARE_PLAINTEXT_TAG,
    Commit,
    Complaint,
    GuardianKey,
    KeyCheck,
    SealedShares,
    ShareReveal,
    TransportKey,
)
from evote.ceremony.outcome import CeremonyOutcome, judge
from evote.ceremony.trustee import Trustee
from evote.crypto import encoding, threshold
from evote.crypto.elgamal import Ciphertext
from evote.crypto.group import Point, Scalar
from evote.crypto.proofs.chaum_pedersen import prove_decryption_share, verify_decryption_share
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.sealing import seal
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import mock_manifest

#: What a parser of each ceremony kind posted by ``run_ceremony`` returns.
PARSERS: dict[str, Callable[[bytes], object]] = {
    messages.TRANSPORT: TransportKey.from_tlv,
    messages.COMMIT: Commit.from_tlv,
    messages.REVEAL: GuardianKey.from_tlv,
    messages.SHARES: SealedShares.from_tlv,
    messages.COMPLAINT: Complaint.from_tlv,
    messages.SHARE_REVEAL: ShareReveal.from_tlv,
    messages.KEY_CHECK: KeyCheck.from_tlv,
}


def guardian_keys(count: int) -> tuple[SigningKey, ...]:
    return tuple(SigningKey.generate() for _ in range(count))


def ceremony_manifest(
    guardians: int | Sequence[SigningKey], quorum: int, *, name: str = "Ceremony rehearsal"
) -> Manifest:
    """A manifest of the reference contests with ``guardians`` (a count, or their keys)."""
    keys = guardian_keys(guardians) if isinstance(guardians, int) else tuple(guardians)
    return mock_manifest(
        name,
        REFERENCE_CONTESTS,
        officials=guardian_keys(1),
        official_quorum=1,
        authority=SigningKey.generate(),
        guardians=keys,
        guardian_quorum=quorum,
        log_key=SigningKey.generate(),
        witnesses=[("witness.test", SigningKey.generate())],
        witness_quorum=1,
    )


@dataclass
class BoardRecorder:
    """``post(kind, body, guardian)`` for ``run_ceremony``: keeps every entry in order."""

    entries: list[tuple[str, bytes, int]] = field(default_factory=list)

    def post(self, kind: str, body: bytes, guardian: int) -> None:
        self.entries.append((kind, body, guardian))

    def bodies(self, kind: str) -> list[tuple[int, bytes]]:
        return [(guardian, body) for k, body, guardian in self.entries if k == kind]

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.entries]


def share_plaintext(
    base_hash: bytes, dealer: int, recipient: int, share: Scalar
) -> list[encoding.Value]:
    """The plaintext a dealer seals: ``["evote/v1/ceremony-share", H_B, i, ℓ, s_i,ℓ]``."""
    return [SHARE_PLAINTEXT_TAG, base_hash, dealer, recipient, share]


def honest_answer(trustee: Trustee, complaint: Complaint) -> ShareReveal | None:
    return trustee.answer(complaint)


@dataclass
class Rehearsal:
    """Rounds 0–3 played honestly by trustees the test holds; rounds 4–5 on request."""

    manifest: Manifest
    trustees: tuple[Trustee, ...]
    transport: dict[int, TransportKey]
    commits: dict[int, Commit]
    reveals: dict[int, GuardianKey]
    sealed: dict[int, SealedShares]

    @classmethod
    def deal(cls, manifest: Manifest) -> Rehearsal:
        trustees = tuple(Trustee(manifest, i) for i in range(1, len(manifest.guardians) + 1))
        transport = {t.index: t.transport_key() for t in trustees}
        return cls(
            manifest,
            trustees,
            transport,
            {t.index: t.commit() for t in trustees},
            {t.index: t.reveal() for t in trustees},
            {t.index: t.seal_shares(transport) for t in trustees},
        )

    def trustee(self, index: int) -> Trustee:
        return self.trustees[index - 1]

    @property
    def base_hash(self) -> bytes:
        return self.trustees[0].base_hash

    def reseal(self, dealer: int, recipient: int, plaintext: encoding.Value) -> None:
        """Dealer replaces its box for ``recipient`` with ``plaintext``, sealed by its own key."""
        box = seal(
            self.trustee(dealer).transport,
            self.transport[recipient].key,
            encoding.encode(plaintext),
        )
        self.replace_box(dealer, recipient, box)

    def replace_box(self, dealer: int, recipient: int, box: bytes) -> None:
        self.sealed[dealer] = SealedShares(
            dealer,
            tuple((r, box if r == recipient else old) for r, old in self.sealed[dealer].sealed),
        )

    def complaints(self) -> list[Complaint]:
        """Round 4: every trustee checks every dealer and complains about the bad ones."""
        return [
            complaint
            for trustee in self.trustees
            for complaint in trustee.receive(
                self.transport, self.commits, self.reveals, self.sealed
            )
        ]

    def answers(
        self,
        complaints: Iterable[Complaint],
        answer: Callable[[Trustee, Complaint], ShareReveal | None] = honest_answer,
    ) -> list[ShareReveal]:
        answered = (answer(self.trustee(c.accused), c) for c in complaints)
        return [reveal for reveal in answered if reveal is not None]

    def judge(
        self, complaints: Sequence[Complaint], answers: Sequence[ShareReveal]
    ) -> CeremonyOutcome:
        return judge(
            self.manifest,
            self.transport,
            self.commits,
            self.reveals,
            self.sealed,
            complaints,
            answers,
        )

    def run(
        self, answer: Callable[[Trustee, Complaint], ShareReveal | None] = honest_answer
    ) -> tuple[list[Complaint], CeremonyOutcome]:
        """Rounds 4 and the judgement; finishes every trustee when everyone qualified."""
        complaints = self.complaints()
        outcome = self.judge(complaints, self.answers(complaints, answer))
        if outcome.context is not None:
            for trustee in self.trustees:
                trustee.finish(outcome)
        return complaints, outcome


def decryption_target(context: ElectionContext) -> DecryptionTarget:
    return DecryptionTarget(context.extended_hash, b"ceremony-test-ciphertext")


def decrypt_with(
    trustees: Iterable[Trustee], context: ElectionContext, ciphertext: Ciphertext
) -> Point:
    """``Bc − Σ w_ℓ·M_ℓ`` over exactly the given trustees, each share proved and verified."""
    shares: dict[int, Point] = {}
    for trustee in trustees:
        assert trustee.key_share is not None
        share = prove_decryption_share(
            ciphertext, trustee.key_share, trustee.index, decryption_target(context)
        )
        verify_decryption_share(
            ciphertext, share, context.verification_key(trustee.index), decryption_target(context)
        )
        shares[trustee.index] = share.share
    return ciphertext.beta - threshold.combine_shares(shares, len(shares))
