"""What the verifier recomputes differently for each scheme, written from the crypto layer alone.

Every numbered check of ``docs/election-record.md`` runs one code path for both schemes; the
few operations that differ are here, one class per scheme, built from the election context the
verifier derived itself (:func:`record_scheme`):

=====================  ====================================  ====================================
                       scheme A (:class:`ElGamalRecord`)     scheme B (:class:`PaillierRecord`)
=====================  ====================================  ====================================
sum of ciphertexts     ``(Σα, Σβ)``                          ``Π c mod n²``
weeding fingerprint    ``α``                                 ``c``
degenerate sum         ``Σα = I`` (R5)                       none
range proof            ``evote.crypto.proofs.range``         ``evote.crypto.paillier``
seed reuse             ``Hq("selection-nonce", …)·B = α``    ``c·ρ^{−n} ≡ 1 (mod n)``
decryption share       Chaum–Pedersen against ``K̂_ℓ``        §4.5 proof against ``v_i``
a count decrypts       ``count·B = Bc − Σ w_ℓ·M_ℓ``          ``combine(c_i) = count``
=====================  ====================================  ====================================

Nothing here proves or encrypts, and nothing comes from the election layer's own scheme
objects: the verifier reads the keys out of the context and calls the crypto layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from evote.crypto import paillier
from evote.crypto.elgamal import Ciphertext
from evote.crypto.group import IDENTITY, L, Point, Scalar, base_mul, mul
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.paillier import PaillierCiphertext, PaillierPublicKey
from evote.crypto.proofs import range as elgamal_range
from evote.crypto.proofs.chaum_pedersen import verify_decryption_share
from evote.crypto.proofs.statements import DecryptionTarget, RangeStatement
from evote.election.context import ElectionContext
from evote.errors import InvalidInput, ProofError, TallyOutOfRange


class RecordScheme(Protocol):
    """The scheme-dependent arithmetic of the checks."""

    #: What the weeding fingerprint is called in messages, and in field names.
    fingerprint_name: str
    fingerprint_field: str
    #: What fails when the shares do not decrypt an aggregate to the posted count.
    mismatch: str

    def zero(self) -> Any: ...

    def add(self, a: Any, b: Any) -> Any: ...

    def fingerprint(self, ciphertext: Any) -> bytes:
        """What a copied ciphertext repeats (weeding)."""
        ...

    def degenerate(self, total: Any) -> str | None:
        """Why a contest's sum can carry no proof, if it cannot (scheme A's R5)."""
        ...

    def verify_range(
        self, ciphertext: Any, proof: Any, lo: int, hi: int, statement: RangeStatement
    ) -> None: ...

    def seed_opens(
        self, ciphertext: Any, seed: bytes, binding: bytes, contest: int, option: int
    ) -> bool:
        """Whether the nonce the seed derives for this position made ``ciphertext``."""
        ...

    def verify_share(
        self, ciphertext: Any, share: Any, guardian: int, target: DecryptionTarget
    ) -> None:
        """Raise :class:`ProofError` unless ``share`` is guardian ``guardian``'s share."""
        ...

    def decrypts_to(
        self, ciphertext: Any, shares: Mapping[int, Any], guardians: Sequence[int], count: int
    ) -> bool:
        """Whether the (verified) shares of ``guardians`` decrypt ``ciphertext`` to ``count``."""
        ...


def lagrange_coefficient(guardian: int, guardians: Sequence[int]) -> Scalar:
    """``w_ℓ = Π_{m ∈ S, m ≠ ℓ} m·(m − ℓ)^{-1} mod L`` (§3.9.2); indices distinct, in 1..n."""
    numerator, denominator = 1, 1
    for other in guardians:
        if other != guardian:
            numerator = numerator * other % L
            denominator = denominator * (other - guardian) % L
    return Scalar(numerator * pow(denominator, -1, L))


class ElGamalRecord:
    """Scheme A: the group arithmetic of edwards25519 under ``K`` and every ``K̂_ℓ``."""

    fingerprint_name = "α"
    fingerprint_field = "alpha"
    mismatch = "count·B ≠ Bc − Σ w_ℓ·M_ℓ"

    def __init__(
        self, election_hash: bytes, joint_key: Point, verification_keys: Sequence[Point]
    ) -> None:
        self._election_hash = election_hash
        self._joint_key = joint_key
        self._verification_keys = tuple(verification_keys)

    def zero(self) -> Ciphertext:
        return Ciphertext(IDENTITY, IDENTITY)

    def add(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        return Ciphertext(a.alpha + b.alpha, a.beta + b.beta)

    def fingerprint(self, ciphertext: Ciphertext) -> bytes:
        return ciphertext.alpha.encode()

    def degenerate(self, total: Ciphertext) -> str | None:
        return "the options' α sum to the identity (R5)" if total.alpha.is_identity() else None

    def verify_range(
        self,
        ciphertext: Ciphertext,
        proof: Any,
        lo: int,
        hi: int,
        statement: RangeStatement,
    ) -> None:
        elgamal_range.verify_range(ciphertext, proof, lo, hi, self._joint_key, statement)

    def seed_opens(
        self, ciphertext: Ciphertext, seed: bytes, binding: bytes, contest: int, option: int
    ) -> bool:
        """``α = Hq("selection-nonce", H_E, D_b, seed, c, s)·B`` (crypto spec §3.6.1)."""
        nonce = hash_to_scalar(
            "selection-nonce", self._election_hash, binding, seed, contest, option
        )
        return base_mul(nonce) == ciphertext.alpha

    def verify_share(
        self, ciphertext: Ciphertext, share: Any, guardian: int, target: DecryptionTarget
    ) -> None:
        if not 1 <= guardian <= len(self._verification_keys):
            raise ProofError("decryption share", "guardian", f"there is no guardian {guardian}")
        verify_decryption_share(ciphertext, share, self._verification_keys[guardian - 1], target)

    def decrypts_to(
        self,
        ciphertext: Ciphertext,
        shares: Mapping[int, Any],
        guardians: Sequence[int],
        count: int,
    ) -> bool:
        """``count·B = Bc − Σ w_ℓ·M_ℓ``: no discrete logarithm needed."""
        combined = IDENTITY
        for guardian in guardians:
            weight = lagrange_coefficient(guardian, guardians)
            combined = combined + mul(weight, shares[guardian].share)
        return bool(base_mul(Scalar(count)) == ciphertext.beta - combined)


class PaillierRecord:
    """Scheme B: arithmetic mod ``n²`` under the dealer's published key."""

    fingerprint_name = "the ciphertext c"
    fingerprint_field = "ciphertext"
    mismatch = "Shoup's combination of the guardians' shares gives another total"

    def __init__(self, election_hash: bytes, key: PaillierPublicKey) -> None:
        self._election_hash = election_hash
        self._key = key

    def zero(self) -> PaillierCiphertext:
        return PaillierCiphertext(1)

    def add(self, a: PaillierCiphertext, b: PaillierCiphertext) -> PaillierCiphertext:
        return PaillierCiphertext(a.value * b.value % self._key.n_squared)

    def fingerprint(self, ciphertext: PaillierCiphertext) -> bytes:
        return self._key.residue(ciphertext.value)

    def degenerate(self, total: PaillierCiphertext) -> str | None:
        return None

    def verify_range(
        self,
        ciphertext: PaillierCiphertext,
        proof: Any,
        lo: int,
        hi: int,
        statement: RangeStatement,
    ) -> None:
        paillier.verify_range(ciphertext, proof, lo, hi, self._key, statement)

    def seed_opens(
        self,
        ciphertext: PaillierCiphertext,
        seed: bytes,
        binding: bytes,
        contest: int,
        option: int,
    ) -> bool:
        """``c·ρ^{−n} ≡ 1 (mod n)`` for ``ρ`` derived from the seed (§3.6.1 for scheme B)."""
        nonce = paillier.selection_nonce(
            self._election_hash, binding, seed, contest, option, self._key
        )
        return paillier.made_with_nonce(ciphertext, nonce, self._key)

    def verify_share(
        self,
        ciphertext: PaillierCiphertext,
        share: Any,
        guardian: int,
        target: DecryptionTarget,
    ) -> None:
        if share.guardian != guardian:
            raise ProofError(
                "decryption share",
                "guardian",
                f"guardian {share.guardian}'s share, not {guardian}'s",
            )
        paillier.verify_partial(ciphertext, share, self._key, target)

    def decrypts_to(
        self,
        ciphertext: PaillierCiphertext,
        shares: Mapping[int, Any],
        guardians: Sequence[int],
        count: int,
    ) -> bool:
        """Shoup's combination of the shares of ``guardians`` (§4.5) gives exactly ``count``."""
        try:
            total = paillier.combine(
                ciphertext, {g: shares[g] for g in guardians}, self._key, self._key.n - 1
            )
        except (InvalidInput, TallyOutOfRange):
            return False
        return total == count


def record_scheme(context: ElectionContext) -> RecordScheme:
    """The verifier's arithmetic for the election whose context it derived."""
    if context.manifest.scheme_name == "paillier":
        return PaillierRecord(context.extended_hash, context.paillier_key)
    return ElGamalRecord(context.extended_hash, context.joint_key, context.verification_keys)
