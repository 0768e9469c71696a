"""Chaum–Pedersen proof of a correct decryption share (crypto spec §3.9.1).

Guardian ``ℓ`` with key share ``z_ℓ`` (public verification key ``K̂_ℓ = z_ℓ·B``) publishes
``M_ℓ = z_ℓ·A`` for an aggregate ciphertext ``(A, Bc)`` and proves ``log_B K̂_ℓ = log_A M_ℓ``::

    c = Hq("decrypt-share", H_E, target_id, ℓ, K̂_ℓ, A, Bc, M_ℓ, a, b)   a = u·B, b = u·A

``K̂_ℓ``, ``A``, ``Bc`` and ``M_ℓ`` are all hashed: with the commitments alone a guardian can
prove a false share (weak Fiat–Shamir; spec §8.1 and the regression test). When ``A`` is the
identity the share is the identity too, and no proof is needed or accepted (R5).
"""

from __future__ import annotations

from dataclasses import dataclass

from evote.crypto.elgamal import Ciphertext
from evote.crypto.group import IDENTITY, Point, Scalar, base_mul, mul, secret_response
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.rng import hedged_scalar
from evote.errors import ProofError

_PROOF = "decryption share"


@dataclass(frozen=True, slots=True)
class DecryptionShare:
    """Guardian ``guardian``'s share ``M_ℓ`` of one decryption, with its proof.

    ``proof`` is ``None`` exactly when the ciphertext's ``A`` is the identity.
    """

    guardian: int
    share: Point
    proof: CompactProof | None


def _challenge(
    target: DecryptionTarget,
    guardian: int,
    verification_key: Point,
    ciphertext: Ciphertext,
    share: Point,
    a: Point,
    b: Point,
) -> Scalar:
    return hash_to_scalar(
        "decrypt-share",
        target.election_hash,
        target.target_id,
        guardian,
        verification_key,
        ciphertext.alpha,
        ciphertext.beta,
        share,
        a,
        b,
    )


def prove_decryption_share(
    ciphertext: Ciphertext, key_share: Scalar, guardian: int, target: DecryptionTarget
) -> DecryptionShare:
    """Compute ``M_ℓ = z_ℓ·A`` and its proof (1F + 2V)."""
    if ciphertext.alpha.is_identity():
        return DecryptionShare(guardian, IDENTITY, None)
    share = mul(key_share, ciphertext.alpha)
    u = hedged_scalar(key_share, [target.election_hash, target.target_id, guardian], 0)
    c = _challenge(
        target,
        guardian,
        base_mul(key_share),
        ciphertext,
        share,
        base_mul(u),
        mul(u, ciphertext.alpha),
    )
    return DecryptionShare(guardian, share, CompactProof(c, secret_response(u, c, key_share)))


def verify_decryption_share(
    ciphertext: Ciphertext,
    decryption_share: DecryptionShare,
    verification_key: Point,
    target: DecryptionTarget,
) -> None:
    """Raise :class:`ProofError` unless the share is ``z_ℓ·A`` for ``K̂_ℓ = z_ℓ·B`` (1F + 3V)."""
    guardian, share, proof = (
        decryption_share.guardian,
        decryption_share.share,
        decryption_share.proof,
    )
    if ciphertext.alpha.is_identity():
        if not share.is_identity() or proof is not None:
            raise ProofError(
                _PROOF, "share", "for an identity A the share must be the identity, unproved"
            )
        return
    if proof is None:
        raise ProofError(_PROOF, "proof", f"guardian {guardian} gave no proof for its share")
    if share.is_identity():
        raise ProofError(_PROOF, "share", "the share is the identity but A is not")
    a = base_mul(proof.response) + mul(proof.challenge, verification_key)
    b = mul(proof.response, ciphertext.alpha) + mul(proof.challenge, share)
    if _challenge(target, guardian, verification_key, ciphertext, share, a, b) != proof.challenge:
        raise ProofError(
            _PROOF, "challenge", f"guardian {guardian}'s share does not match its proof"
        )
