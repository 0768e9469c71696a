"""Disjunctive Chaum–Pedersen range proof: ``(α, β)`` encrypts some ``σ ∈ [lo, hi]``.

Crypto spec §3.6.3 (ElectionGuard 2.0's prover with fixed-base commitments), hash inputs of
§5.4::

    c = Hq(label, H_E, D_b, c_idx, s_idx | "contest", lo, hi, K, α, β, [a_lo..a_hi], [b_lo..b_hi])

*Statement* ``(K, α, β, lo, hi)``: there are ``ξ`` and ``j ∈ [lo, hi]`` with ``α = ξ·B`` and
``β − j·B = ξ·K``. *Witness* ``(ξ, σ)``. The proof is ``([c_j], [v_j])``; the verifier
recomputes ``a_j = v_j·B + c_j·α`` and ``b_j = v_j·K + c_j·(β − j·B)`` and accepts iff
``Σ c_j ≡ c``. Special soundness makes it a proof of knowledge of ``ξ``; with the strong
Fiat–Shamir hash above, a (ciphertext, proof) pair cannot be mauled or replayed under another
ballot binding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from evote.crypto.elgamal import Ciphertext
from evote.crypto.encoding import Value
from evote.crypto.group import (
    SCALAR_BYTES,
    L,
    Point,
    Scalar,
    base_mul,
    mul,
    small_multiple,
)
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.proofs.statements import RangeStatement
from evote.crypto.rng import hedged_scalar
from evote.errors import DecodeError, InvalidInput, ProofError

#: The largest number of branches a range proof may have: a denial-of-service cap (§6).
MAX_BRANCHES: Final = 64
BRANCH_BYTES: Final = 2 * SCALAR_BYTES
_PROOF = "range"


@dataclass(frozen=True, slots=True)
class RangeProof:
    """Challenges ``c_lo..c_hi`` and responses ``v_lo..v_hi``, one pair per possible value."""

    challenges: tuple[Scalar, ...]
    responses: tuple[Scalar, ...]

    def encode(self) -> bytes:
        """Packed ``c_lo ‖ v_lo ‖ c_lo+1 ‖ v_lo+1 ‖ …``, 64 bytes per branch."""
        return b"".join(
            c.encode() + v.encode() for c, v in zip(self.challenges, self.responses, strict=True)
        )

    @classmethod
    def decode(cls, data: bytes, branches: int) -> RangeProof:
        """Parse a packed proof of exactly ``branches`` branches; every scalar canonical (R3)."""
        if not 1 <= branches <= MAX_BRANCHES:
            raise DecodeError(f"a range proof has 1 to {MAX_BRANCHES} branches, not {branches}")
        if len(data) != branches * BRANCH_BYTES:
            raise DecodeError(
                f"a {branches}-branch range proof is {branches * BRANCH_BYTES} bytes, "
                f"got {len(data)}"
            )
        scalars = [
            Scalar.decode(data[i : i + SCALAR_BYTES]) for i in range(0, len(data), SCALAR_BYTES)
        ]
        return cls(tuple(scalars[0::2]), tuple(scalars[1::2]))


def _challenge(
    statement: RangeStatement,
    lo: int,
    hi: int,
    key: Point,
    ciphertext: Ciphertext,
    commitments_a: list[Point],
    commitments_b: list[Point],
) -> Scalar:
    return hash_to_scalar(
        statement.label,
        statement.election_hash,
        statement.binding,
        statement.contest_index,
        statement.position,
        lo,
        hi,
        key,
        ciphertext.alpha,
        ciphertext.beta,
        commitments_a,
        commitments_b,
    )


def _check_bounds(lo: int, hi: int) -> None:
    if lo < 0 or hi < lo:
        raise InvalidInput(f"a range needs 0 ≤ lo ≤ hi, got [{lo}, {hi}]")
    if hi - lo + 1 > MAX_BRANCHES:
        raise InvalidInput(f"a range may span at most {MAX_BRANCHES} values, got [{lo}, {hi}]")


def prove_range(
    ciphertext: Ciphertext,
    value: int,
    nonce: Scalar,
    lo: int,
    hi: int,
    key: Point,
    statement: RangeStatement,
) -> RangeProof:
    """Prove that ``ciphertext = encrypt(value, nonce, key)`` with ``lo ≤ value ≤ hi``.

    Costs ``(hi−lo)·2 + 2`` fixed-base and ``hi−lo+1`` variable-base multiplications.
    """
    _check_bounds(lo, hi)
    if not lo <= value <= hi:
        raise InvalidInput(f"cannot prove {value} ∈ [{lo}, {hi}]: the value is outside the range")
    hedge: list[Value] = [
        statement.election_hash,
        statement.binding,
        statement.contest_index,
        statement.position,
    ]
    nonces: list[Scalar] = []
    challenges: list[Scalar] = []
    commitments_a: list[Point] = []
    commitments_b: list[Point] = []
    for branch, j in enumerate(range(lo, hi + 1)):
        u = hedged_scalar(nonce, hedge, 2 * branch)
        nonces.append(u)
        commitments_a.append(base_mul(u))
        pad = mul(u, key)
        if j == value:
            challenges.append(Scalar(0))  # filled in once the total challenge is known
            commitments_b.append(pad)
        else:
            c_j = hedged_scalar(nonce, hedge, 2 * branch + 1)
            challenges.append(c_j)
            commitments_b.append(pad + base_mul(c_j * Scalar(value - j)))
    total = _challenge(statement, lo, hi, key, ciphertext, commitments_a, commitments_b)
    real = value - lo
    simulated_sum = Scalar(sum(c.value for i, c in enumerate(challenges) if i != real))
    challenges[real] = total - simulated_sum
    responses = tuple(u - c * nonce for u, c in zip(nonces, challenges, strict=True))
    return RangeProof(tuple(challenges), responses)


def verify_range(
    ciphertext: Ciphertext,
    proof: RangeProof,
    lo: int,
    hi: int,
    key: Point,
    statement: RangeStatement,
) -> None:
    """Check the proof; raise :class:`ProofError` naming the failing field. Returns nothing.

    ``ciphertext`` and ``key`` must be validated points (they are, when they come from
    decoders or from sums of decoded points). Costs ``k`` fixed-base and ``3k``
    variable-base multiplications for ``k = hi − lo + 1`` branches.
    """
    _check_bounds(lo, hi)
    branches = hi - lo + 1
    if len(proof.challenges) != branches or len(proof.responses) != branches:
        raise ProofError(
            _PROOF,
            "branch_count",
            f"expected {branches} branches for [{lo}, {hi}], got "
            f"{len(proof.challenges)} challenges and {len(proof.responses)} responses",
        )
    alpha, beta = ciphertext.alpha, ciphertext.beta
    if alpha.is_identity():
        raise ProofError(
            _PROOF, "alpha", "the ciphertext's α is the identity (no encryption nonce)"
        )
    commitments_a: list[Point] = []
    commitments_b: list[Point] = []
    challenge_sum = 0
    for j, c_j, v_j in zip(range(lo, hi + 1), proof.challenges, proof.responses, strict=True):
        commitments_a.append(base_mul(v_j) + mul(c_j, alpha))
        shifted = beta if j == 0 else beta - small_multiple(j)
        commitments_b.append(mul(v_j, key) + mul(c_j, shifted))
        challenge_sum += c_j.value
    expected = _challenge(statement, lo, hi, key, ciphertext, commitments_a, commitments_b)
    if challenge_sum % L != expected.value:
        raise ProofError(_PROOF, "challenge", "the challenges do not sum to the statement's hash")
