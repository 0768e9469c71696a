"""The public judgement of a key ceremony, which anyone can compute from the board.

Rules (crypto spec §3.5): a guardian is disqualified if it missed a round, if its reveal does
not match its commitment, if a proof of knowledge fails, if it did not seal a share to every
other guardian, if it did not answer a complaint with a share that checks against its
commitments, or if ``t`` or more distinct guardians complained about it (at least one of them
is honest). A complaint answered with a good share stays on the record against the
complainer. If anyone is disqualified the ceremony **restarts** without them (a new manifest,
so a new ``H_B``): a contribution is never dropped silently after the keys are visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evote.ceremony.messages import (
    Commit,
    Complaint,
    GuardianKey,
    KeyCheck,
    SealedShares,
    ShareReveal,
    TransportKey,
    commitment_hash,
)
from evote.crypto import threshold
from evote.crypto.elgamal import Ciphertext
from evote.crypto.group import Scalar, base_mul, mul
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.proofs.chaum_pedersen import DecryptionShare, verify_decryption_share
from evote.crypto.proofs.schnorr import verify_coefficient
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.sealing import usable
from evote.election.context import ElectionContext, base_hash
from evote.election.manifest import Manifest
from evote.errors import CeremonyError, ProofError, VerificationError


@dataclass(frozen=True, slots=True)
class CeremonyOutcome:
    qualified: tuple[int, ...]
    disqualified: Mapping[int, str]
    unfounded_complaints: tuple[Complaint, ...]
    revealed_shares: tuple[ShareReveal, ...]
    context: ElectionContext | None

    def require_context(self) -> ElectionContext:
        if self.context is None:
            reasons = "; ".join(
                f"guardian {i}: {why}" for i, why in sorted(self.disqualified.items())
            )
            raise CeremonyError(
                f"the ceremony must restart without guardians {sorted(self.disqualified)} "
                f"(a new manifest): {reasons}"
            )
        return self.context

    def revealed_shares_for(self, recipient: int) -> dict[int, Scalar]:
        return {r.dealer: r.share for r in self.revealed_shares if r.recipient == recipient}


_Posted = TransportKey | Commit | GuardianKey | SealedShares


def judge(
    manifest: Manifest,
    transport_keys: Mapping[int, TransportKey],
    commits: Mapping[int, Commit],
    reveals: Mapping[int, GuardianKey],
    sealed: Mapping[int, SealedShares],
    complaints: Sequence[Complaint],
    share_reveals: Sequence[ShareReveal],
) -> CeremonyOutcome:
    """Decide the ceremony from its public messages.

    Each message must come from the guardian it names: the mappings are keyed by the signer of
    the entry, and a complaint's complainer and an answer's dealer must be its entry's signer
    (the board reader checks that; otherwise one guardian could complain in others' names).
    """
    guardians = range(1, len(manifest.guardians) + 1)
    hashed = base_hash(manifest)
    disqualified: dict[int, str] = {}
    for i in guardians:
        reason = dealer_problem(i, manifest, hashed, transport_keys, commits, reveals, sealed)
        if reason is not None:
            disqualified[i] = reason
    unfounded: list[Complaint] = []
    valid_reveals: list[ShareReveal] = []
    complainers: dict[int, set[int]] = {}
    filed: set[tuple[int, int]] = set()
    for complaint in complaints:
        accused, complainer = complaint.accused, complaint.complainer
        if complainer not in guardians:
            continue  # nobody to hold to account; the board reader refuses such entries
        if accused not in guardians or accused == complainer or (complainer, accused) in filed:
            disqualified.setdefault(
                complainer, "filed a complaint that names no other guardian once"
            )
            continue
        filed.add((complainer, accused))
        complainers.setdefault(accused, set()).add(complainer)
        if accused in disqualified:
            continue
        answer = next(
            (r for r in share_reveals if (r.dealer, r.recipient) == (accused, complainer)), None
        )
        if answer is None:
            disqualified[accused] = f"did not answer the complaint of guardian {complainer}"
            continue
        try:
            threshold.verify_share(answer.share, complainer, reveals[accused].commitments)
        except VerificationError:
            disqualified[accused] = f"the share it revealed for guardian {complainer} is wrong"
            continue
        unfounded.append(complaint)
        valid_reveals.append(answer)
    for reveal in share_reveals:
        if (reveal.recipient, reveal.dealer) not in filed and reveal.dealer in guardians:
            disqualified.setdefault(
                reveal.dealer, f"revealed its share for guardian {reveal.recipient} unasked"
            )
    for accused, who in complainers.items():
        if len(who) >= manifest.guardian_quorum and accused not in disqualified:
            disqualified[accused] = f"{len(who)} guardians complained (at least one is honest)"
    qualified = tuple(i for i in guardians if i not in disqualified)
    context = None
    if not disqualified:
        context = ElectionContext.create(manifest, [reveals[i].commitments for i in guardians])
    return CeremonyOutcome(qualified, disqualified, tuple(unfounded), tuple(valid_reveals), context)


def dealer_problem(
    i: int,
    manifest: Manifest,
    hashed: bytes,
    transport_keys: Mapping[int, TransportKey],
    commits: Mapping[int, Commit],
    reveals: Mapping[int, GuardianKey],
    sealed: Mapping[int, SealedShares],
) -> str | None:
    """Why dealer ``i``'s public messages disqualify it, or ``None`` if they are in order."""
    rounds: tuple[tuple[str, Mapping[int, _Posted]], ...] = (
        ("transport key", transport_keys),
        ("commitment", commits),
        ("reveal", reveals),
        ("sealed shares", sealed),
    )
    for name, messages in rounds:
        if i not in messages:
            return f"missed the {name} round"
        if messages[i].guardian != i:
            return f"its {name} names guardian {messages[i].guardian}"
    if not usable(transport_keys[i].key):
        return "posted an unusable transport key"
    reveal = reveals[i]
    if len(reveal.proofs) != len(reveal.commitments):
        return f"revealed {len(reveal.proofs)} proofs for {len(reveal.commitments)} commitments"
    if len(reveal.commitments) != manifest.guardian_quorum:
        return f"revealed {len(reveal.commitments)} commitments, not {manifest.guardian_quorum}"
    if commitment_hash(hashed, i, reveal.commitments) != commits[i].digest:
        return "its reveal does not match its commitment"
    for degree, (point, proof) in enumerate(zip(reveal.commitments, reveal.proofs, strict=True)):
        try:
            verify_coefficient(point, proof, hashed, i, degree)
        except VerificationError:
            return f"its proof of knowledge of coefficient {degree} fails"
    recipients = [recipient for recipient, _ in sealed[i].sealed]
    others = set(range(1, len(manifest.guardians) + 1)) - {i}
    needed = set(sealing_recipients(i, len(manifest.guardians), transport_keys))
    if len(set(recipients)) != len(recipients) or not needed <= set(recipients) <= others:
        return "did not seal exactly one share to every other guardian"
    return None


def sealing_recipients(
    dealer: int, guardians: int, transport_keys: Mapping[int, TransportKey]
) -> list[int]:
    """The guardians a dealer seals shares to: every other one with a posted, usable key.

    A guardian with no or an unusable transport key is disqualified on its own account, so the
    honest dealers are not blamed for not sealing to it.
    """
    return [
        j
        for j in range(1, guardians + 1)
        if j != dealer and j in transport_keys and usable(transport_keys[j].key)
    ]


def key_check_ciphertext(context: ElectionContext) -> Ciphertext:
    """The public test ciphertext ``(ξ·B, ξ·K)``, ``ξ = Hq("key-check", H_E)``: an encryption of
    0 that every guardian must show it can still take part in decrypting before the opening."""
    nonce = hash_to_scalar("key-check", context.extended_hash)
    return Ciphertext(base_mul(nonce), mul(nonce, context.joint_key))


def key_check_target(context: ElectionContext) -> DecryptionTarget:
    return DecryptionTarget(context.extended_hash, b"key-check")


def verify_key_check(check: KeyCheck, context: ElectionContext) -> None:
    """Raise unless the guardian's share of the test ciphertext is proved correct."""
    if not 1 <= check.guardian <= len(context.verification_keys):
        raise ProofError("key check", "guardian", f"there is no guardian {check.guardian}")
    verify_decryption_share(
        key_check_ciphertext(context),
        DecryptionShare(check.guardian, check.share, check.proof),
        context.verification_key(check.guardian),
        key_check_target(context),
    )
