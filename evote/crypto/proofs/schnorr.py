"""Schnorr proof of knowledge of a key-ceremony coefficient (crypto spec §3.5, round 2).

*Statement* ``K_{i,j} = a_{i,j}·B``; *witness* ``a_{i,j}``. The challenge binds the base hash
``H_B`` and the guardian and coefficient indices ``(i, j)``, so a proof cannot be copied to
another guardian, slot or election (the ElectionGuard issue #278 lesson)::

    c = Hq("pok-coefficient", H_B, i, j, K_{i,j}, h)     with h = u·B,  v = u − c·a
"""

from __future__ import annotations

from evote.crypto.group import Point, Scalar, base_mul, mul, secret_response
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.rng import hedged_scalar
from evote.errors import InvalidInput, ProofError

_PROOF = "coefficient knowledge"


def _challenge(
    base_hash: bytes, guardian: int, coefficient: int, commitment: Point, h: Point
) -> Scalar:
    return hash_to_scalar("pok-coefficient", base_hash, guardian, coefficient, commitment, h)


def prove_coefficient(
    secret: Scalar, base_hash: bytes, guardian: int, coefficient: int
) -> tuple[Point, CompactProof]:
    """Commit to ``secret`` as ``K = secret·B`` and prove knowledge of it; ``(K, proof)``."""
    if secret.is_zero():
        raise InvalidInput("a key-ceremony coefficient must be non-zero")
    commitment = base_mul(secret)
    u = hedged_scalar(secret, [base_hash, guardian, coefficient], 0)
    c = _challenge(base_hash, guardian, coefficient, commitment, base_mul(u))
    return commitment, CompactProof(c, secret_response(u, c, secret))


def verify_coefficient(
    commitment: Point, proof: CompactProof, base_hash: bytes, guardian: int, coefficient: int
) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows knowledge of ``log_B commitment``."""
    if commitment.is_identity():
        raise ProofError(_PROOF, "commitment", "a coefficient commitment cannot be the identity")
    h = base_mul(proof.response) + mul(proof.challenge, commitment)
    if _challenge(base_hash, guardian, coefficient, commitment, h) != proof.challenge:
        raise ProofError(_PROOF, "challenge", f"guardian {guardian}, coefficient {coefficient}")
