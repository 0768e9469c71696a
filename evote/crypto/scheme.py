"""The boundary a homomorphic scheme implements (crypto spec §2), and scheme A behind it.

Callers (ballots, tallies, the verifier) use a :class:`HomomorphicScheme` and never the
group directly, so a second scheme (threshold Paillier) plugs in without touching them. Each
scheme is fixed by its parameter hash ``H_P``, which every election hash binds; a verifier
refuses parameter sets it does not know (:func:`scheme_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Generic, Protocol, TypeVar

from evote.crypto import dlog, elgamal, threshold
from evote.crypto.elgamal import Ciphertext
from evote.crypto.group import BASE, L, Point, Scalar
from evote.crypto.hashing import hash32
from evote.crypto.proofs.chaum_pedersen import (
    DecryptionShare,
    prove_decryption_share,
    verify_decryption_share,
)
from evote.crypto.proofs.range import RangeProof, prove_range, verify_range
from evote.crypto.proofs.statements import DecryptionTarget, RangeStatement
from evote.crypto.rng import random_scalar
from evote.errors import InvalidInput, VerificationError

PROTOCOL_VERSION: Final = 1

CiphertextT = TypeVar("CiphertextT")
NonceT = TypeVar("NonceT")
PublicKeyT = TypeVar("PublicKeyT", contravariant=True)
KeyShareT = TypeVar("KeyShareT", contravariant=True)
RangeProofT = TypeVar("RangeProofT")
DecryptionShareT = TypeVar("DecryptionShareT")


class HomomorphicScheme(
    Protocol, Generic[CiphertextT, NonceT, PublicKeyT, KeyShareT, RangeProofT, DecryptionShareT]
):
    """Additively homomorphic, threshold-decryptable encryption with ballot and share proofs."""

    @property
    def name(self) -> str: ...

    @property
    def params_hash(self) -> bytes:
        """``H_P``: binds the group, generators, hash and protocol version."""
        ...

    def random_nonce(self) -> NonceT: ...

    def encrypt(self, value: int, nonce: NonceT, key: PublicKeyT) -> CiphertextT: ...

    def add(self, a: CiphertextT, b: CiphertextT) -> CiphertextT: ...

    def prove_range(
        self,
        ciphertext: CiphertextT,
        value: int,
        nonce: NonceT,
        lo: int,
        hi: int,
        key: PublicKeyT,
        statement: RangeStatement,
    ) -> RangeProofT: ...

    def verify_range(
        self,
        ciphertext: CiphertextT,
        proof: RangeProofT,
        lo: int,
        hi: int,
        key: PublicKeyT,
        statement: RangeStatement,
    ) -> None:
        """Raise :class:`ProofError` unless ``ciphertext`` encrypts a value in ``[lo, hi]``."""
        ...

    def partial_decrypt(
        self, ciphertext: CiphertextT, key_share: KeyShareT, guardian: int, target: DecryptionTarget
    ) -> DecryptionShareT: ...

    def verify_partial(
        self,
        ciphertext: CiphertextT,
        share: DecryptionShareT,
        verification_key: PublicKeyT,
        target: DecryptionTarget,
    ) -> None:
        """Raise :class:`ProofError` unless ``share`` is a correct decryption share."""
        ...

    def combine(
        self,
        ciphertext: CiphertextT,
        shares: Mapping[int, DecryptionShareT],
        quorum: int,
        bound: int,
    ) -> int:
        """The plaintext total from ``quorum`` or more verified shares.

        Raises :class:`TallyOutOfRange` if the total is not in ``[0, bound]``.
        """
        ...


class ElGamalEd25519:
    """Scheme A: exponential ElGamal on the prime-order subgroup of edwards25519 (§3)."""

    name: Final = "edwards25519-elgamal"

    def __init__(self) -> None:
        self._params_hash = hash32(
            "params", "edwards25519-prime-order", BASE, L, "sha512-tlv", PROTOCOL_VERSION
        )

    @property
    def params_hash(self) -> bytes:
        return self._params_hash

    def random_nonce(self) -> Scalar:
        return random_scalar()

    def encrypt(self, value: int, nonce: Scalar, key: Point) -> Ciphertext:
        return elgamal.encrypt(value, nonce, key)

    def add(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        return a + b

    def prove_range(
        self,
        ciphertext: Ciphertext,
        value: int,
        nonce: Scalar,
        lo: int,
        hi: int,
        key: Point,
        statement: RangeStatement,
    ) -> RangeProof:
        return prove_range(ciphertext, value, nonce, lo, hi, key, statement)

    def verify_range(
        self,
        ciphertext: Ciphertext,
        proof: RangeProof,
        lo: int,
        hi: int,
        key: Point,
        statement: RangeStatement,
    ) -> None:
        verify_range(ciphertext, proof, lo, hi, key, statement)

    def partial_decrypt(
        self, ciphertext: Ciphertext, key_share: Scalar, guardian: int, target: DecryptionTarget
    ) -> DecryptionShare:
        return prove_decryption_share(ciphertext, key_share, guardian, target)

    def verify_partial(
        self,
        ciphertext: Ciphertext,
        share: DecryptionShare,
        verification_key: Point,
        target: DecryptionTarget,
    ) -> None:
        verify_decryption_share(ciphertext, share, verification_key, target)

    def combine(
        self, ciphertext: Ciphertext, shares: Mapping[int, DecryptionShare], quorum: int, bound: int
    ) -> int:
        for index, share in shares.items():
            if share.guardian != index:
                raise InvalidInput(
                    f"share filed under guardian {index} is guardian {share.guardian}'s"
                )
        if ciphertext.alpha.is_identity():
            # R5: the pad cancelled out; β is the tally in clear and no share is needed.
            return dlog.discrete_log(ciphertext.beta, bound)
        combined = threshold.combine_shares({i: s.share for i, s in shares.items()}, quorum)
        return dlog.discrete_log(ciphertext.beta - combined, bound)


SCHEME_A: Final = ElGamalEd25519()
# A static check that scheme A implements the interface: mypy rejects this line otherwise.
_SCHEME_A_IS_A_SCHEME: HomomorphicScheme[
    Ciphertext, Scalar, Point, Scalar, RangeProof, DecryptionShare
] = SCHEME_A
_KNOWN_SCHEMES: Final = {SCHEME_A.params_hash: SCHEME_A}


def scheme_for(params_hash: bytes) -> ElGamalEd25519:
    """The built-in scheme with this ``H_P``; an unknown parameter set is refused.

    Scheme B (threshold Paillier) has no entry here: its ``H_P`` binds the dealer's modulus,
    which exists only once the dealer has run, so a verifier rebuilds it from the published
    key with :func:`evote.crypto.paillier.paillier_scheme_for` (that module imports this one,
    so the lookup lives there).
    """
    scheme = _KNOWN_SCHEMES.get(params_hash)
    if scheme is None:
        raise VerificationError(
            f"unknown parameter set {params_hash.hex()}: this verifier accepts only its "
            "built-in groups"
        )
    return scheme
