"""One guardian's side of the key ceremony (crypto spec §3.5): its secrets and its messages.

The rounds, each producing a message for the board (signed by the guardian's identity key
when posted):

0. :meth:`Trustee.transport_key`: a ceremony-only X25519 key (never the identity key);
1. :meth:`Trustee.commit`: the hash of its Feldman commitments, before anyone reveals;
2. :meth:`Trustee.reveal`: the commitments ``K_i,j = a_i,j·B`` with Schnorr proofs;
3. :meth:`Trustee.seal_shares`: ``s_i,ℓ = P_i(ℓ)`` sealed to each other guardian;
4. :meth:`Trustee.receive`: check every other dealer (commit, proofs, its share to us against
   its commitments) and complain about each one that fails; :meth:`Trustee.answer` reveals a
   disputed share in clear;
5. :meth:`Trustee.finish`: with the public outcome, keep ``z_ℓ = Σ_i s_i,ℓ`` and check
   ``z_ℓ·B = K̂_ℓ``; then delete the coefficients and the transport key.

Before the election opens, :meth:`Trustee.key_check` proves on the board that the guardian can
still decrypt. After the close the guardian answers the tally with its ``key_share`` and
nothing else (``evote guardian decrypt`` checks the tally first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field

from evote.ceremony.messages import (
    SHARE_PLAINTEXT_TAG,
    Commit,
    Complaint,
    GuardianKey,
    KeyCheck,
    SealedShares,
    ShareReveal,
    TransportKey,
    commitment_hash,
)
from evote.ceremony.outcome import (
    CeremonyOutcome,
    dealer_problem,
    key_check_ciphertext,
    key_check_target,
    sealing_recipients,
)
from evote.crypto import encoding, threshold
from evote.crypto.elgamal import Ciphertext
from evote.crypto.group import Scalar, base_mul
from evote.crypto.proofs.chaum_pedersen import DecryptionShare, prove_decryption_share
from evote.crypto.proofs.schnorr import prove_coefficient
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.sealing import TransportPrivateKey, TransportPublicKey, open_sealed, seal
from evote.election.context import ElectionContext, base_hash
from evote.election.manifest import Manifest
from evote.election.tally import GuardianShares, PerPart, decrypt_totals
from evote.errors import CeremonyError, EvoteError, InvalidInput


@dataclass(slots=True)
class Trustee:
    """Guardian ``index`` (1..n) of the election described by ``manifest``."""

    manifest: Manifest
    index: int
    # Secrets stay out of reprs, logs and tracebacks.
    transport: TransportPrivateKey = field(default_factory=TransportPrivateKey.generate, repr=False)
    polynomial: threshold.Polynomial | None = field(default=None, repr=False)
    received: dict[int, Scalar] = field(default_factory=dict, repr=False)
    key_share: Scalar | None = field(default=None, repr=False)
    #: Draw fresh coefficients when none are given: off when restoring a saved guardian, whose
    #: coefficients may already be deleted.
    draw: InitVar[bool] = True

    def __post_init__(self, draw: bool) -> None:
        if not 1 <= self.index <= len(self.manifest.guardians):
            raise InvalidInput(f"there is no guardian {self.index} in this manifest")
        if self.polynomial is None and draw:
            self.polynomial = threshold.Polynomial.random(self.manifest.guardian_quorum)

    @property
    def base_hash(self) -> bytes:
        return base_hash(self.manifest)

    def _polynomial(self) -> threshold.Polynomial:
        if self.polynomial is None:
            raise CeremonyError(f"guardian {self.index} has deleted its coefficients")
        return self.polynomial

    # rounds 0–3 --------------------------------------------------------------------------------

    def transport_key(self) -> TransportKey:
        return TransportKey(self.index, self.transport.public_key)

    def commit(self) -> Commit:
        return Commit(
            self.index,
            commitment_hash(self.base_hash, self.index, self._polynomial().commitments()),
        )

    def reveal(self) -> GuardianKey:
        pairs = [
            prove_coefficient(coefficient, self.base_hash, self.index, degree)
            for degree, coefficient in enumerate(self._polynomial().coefficients)
        ]
        return GuardianKey(
            self.index,
            tuple(commitment for commitment, _ in pairs),
            tuple(proof for _, proof in pairs),
        )

    def share_for(self, recipient: int) -> Scalar:
        return self._polynomial().evaluate(recipient)

    def seal_shares(self, transport_keys: Mapping[int, TransportKey]) -> SealedShares:
        sealed = []
        for recipient in sealing_recipients(
            self.index, len(self.manifest.guardians), transport_keys
        ):
            key = transport_keys[recipient]
            plaintext = encoding.encode(
                [
                    SHARE_PLAINTEXT_TAG,
                    self.base_hash,
                    self.index,
                    recipient,
                    self.share_for(recipient),
                ]
            )
            sealed.append((recipient, seal(self.transport, key.key, plaintext)))
        return SealedShares(self.index, tuple(sealed))

    # round 4 ---------------------------------------------------------------------------------

    def _open_share(
        self, dealer_index: int, dealer: SealedShares, dealer_key: TransportPublicKey
    ) -> Scalar:
        box = dealer.for_recipient(self.index)
        if box is None:
            raise CeremonyError("no share sealed to me")
        fields = encoding.expect_list(
            encoding.decode(open_sealed(self.transport, dealer_key, box)), 5, what="share"
        )
        expected = [SHARE_PLAINTEXT_TAG, self.base_hash, dealer_index, self.index]
        if fields[:4] != expected:
            raise CeremonyError("the share's context is for another ceremony, dealer or recipient")
        return encoding.expect_scalar(fields[4], what="share")

    def receive(
        self,
        transport_keys: Mapping[int, TransportKey],
        commits: Mapping[int, Commit],
        reveals: Mapping[int, GuardianKey],
        sealed: Mapping[int, SealedShares],
    ) -> list[Complaint]:
        """Check every other dealer; keep the good shares; complain about the rest."""
        complaints = []
        for dealer in range(1, len(self.manifest.guardians) + 1):
            if dealer == self.index:
                self.received[dealer] = self.share_for(dealer)
                continue
            try:
                share = self._check_dealer(dealer, transport_keys, commits, reveals, sealed)
            except EvoteError as error:
                complaints.append(Complaint(self.index, dealer, str(error)))
                continue
            self.received[dealer] = share
        return complaints

    def _check_dealer(
        self,
        dealer: int,
        transport_keys: Mapping[int, TransportKey],
        commits: Mapping[int, Commit],
        reveals: Mapping[int, GuardianKey],
        sealed: Mapping[int, SealedShares],
    ) -> Scalar:
        problem = dealer_problem(
            dealer, self.manifest, self.base_hash, transport_keys, commits, reveals, sealed
        )
        if problem is not None:
            raise CeremonyError(f"guardian {dealer} {problem}")
        share = self._open_share(dealer, sealed[dealer], transport_keys[dealer].key)
        threshold.verify_share(share, self.index, reveals[dealer].commitments)
        return share

    def answer(self, complaint: Complaint) -> ShareReveal:
        """Reveal the disputed share in clear (it leaks nothing the complainer could not give)."""
        if complaint.accused != self.index:
            raise InvalidInput(f"the complaint accuses guardian {complaint.accused}, not me")
        return ShareReveal(self.index, complaint.complainer, self.share_for(complaint.complainer))

    # round 5 ---------------------------------------------------------------------------------

    def finish(self, outcome: CeremonyOutcome) -> ElectionContext:
        """Keep ``z_ℓ`` once every guardian qualified; delete coefficients and transport key."""
        context = outcome.require_context()
        shares = dict(self.received)
        shares.update(outcome.revealed_shares_for(self.index))
        missing = set(range(1, len(self.manifest.guardians) + 1)) - set(shares)
        if missing:
            raise CeremonyError(f"guardian {self.index} lacks valid shares from {sorted(missing)}")
        key_share = Scalar(sum(share.value for share in shares.values()))
        if base_mul(key_share) != context.verification_key(self.index):
            raise CeremonyError(
                f"guardian {self.index}'s key share does not match its verification key"
            )
        self.key_share = key_share
        self.polynomial = None
        self.received.clear()
        self.transport = TransportPrivateKey.generate()  # the ceremony key is forgotten
        return context

    def _key_share(self) -> Scalar:
        if self.key_share is None:
            raise CeremonyError(f"guardian {self.index} has no key share yet")
        return self.key_share

    def decrypt_tally(self, context: ElectionContext, totals: PerPart) -> GuardianShares:
        """This guardian's share of every aggregate of the tally, each with its proof."""
        key_share = self._key_share()

        def decrypt(ciphertext: Ciphertext, goal: DecryptionTarget) -> DecryptionShare:
            return prove_decryption_share(ciphertext, key_share, self.index, goal)

        return decrypt_totals(context, self.index, totals, decrypt)

    def key_check(self, context: ElectionContext) -> KeyCheck:
        share = prove_decryption_share(
            key_check_ciphertext(context), self._key_share(), self.index, key_check_target(context)
        )
        if share.proof is None:
            raise CeremonyError("the key-check ciphertext cannot have an identity pad")
        return KeyCheck(self.index, share.share, share.proof)
