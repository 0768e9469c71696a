"""The election layer's view of a homomorphic scheme: one object per election, bound to its key.

Ballots, contests, audits and tallies are written once, generic over the scheme's ciphertext,
nonce, range proof and decryption share; the scheme object of the election context
(:attr:`evote.election.context.ElectionContext.scheme`) supplies the arithmetic, the proofs and
the canonical encodings:

================  ===============================  ========================================
                  scheme A (:class:`ElGamalElection`)  scheme B (:class:`PaillierElection`)
================  ===============================  ========================================
ciphertext        ``α‖β``, 64 bytes                ``c``, fixed-width bytes of ``n²``
selection nonce   ``Hq("selection-nonce", …)``     ``Hunit("paillier/selection-nonce", …)``
contest nonce     ``Σ ξ mod L`` (never 0)          ``Π ρ mod n``
range proof       ``c‖v`` per branch, packed       ``[[A_j], [e_j], [z_j]]``
fingerprint       ``α`` (a copied pad)             ``c``
decryption share  ``[M_ℓ, c‖v or empty]``          ``[i, c_i, a, b, z]``
================  ===============================  ========================================

Scheme A's encodings are exactly those it always had. Its encodings and arithmetic need no key,
so :data:`ELGAMAL_CODEC` serves decoders given only a manifest; everything of scheme B, its
encodings included (residues are as wide as ``n²``), needs the dealer's key.

A *codec* (:class:`BallotCodec`) is the part without the election key; an *election scheme*
(:class:`ElectionScheme`) adds encryption, nonces, proofs and share checks under the key.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Protocol, TypeVar

from evote.crypto import elgamal, paillier
from evote.crypto.elgamal import CIPHERTEXT_BYTES, ZERO_CIPHERTEXT, Ciphertext
from evote.crypto.encoding import Decoded, Value, expect_bytes, expect_list
from evote.crypto.group import POINT_BYTES, Point, Scalar, base_mul
from evote.crypto.paillier import (
    PaillierCiphertext,
    PaillierDecryptionShare,
    PaillierPublicKey,
    PaillierRangeProof,
    ThresholdPaillier,
)
from evote.crypto.proofs.chaum_pedersen import DecryptionShare, verify_decryption_share
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.proofs.range import BRANCH_BYTES, RangeProof
from evote.crypto.proofs.statements import DecryptionTarget, RangeStatement
from evote.crypto.scheme import SCHEME_A, ElGamalEd25519, HomomorphicScheme
from evote.errors import DecodeError, InvalidInput, ProofError

C = TypeVar("C")
N = TypeVar("N")
P = TypeVar("P")
S = TypeVar("S")


class BallotCodec(Protocol[C, P, S]):
    """Encodings, the homomorphic sum, fingerprints and the combination of shares."""

    @property
    def name(self) -> str:
        """``elgamal`` or ``paillier``: the manifest's word for the scheme."""
        ...

    def zero(self) -> C:
        """The neutral element of :meth:`add`: the aggregate of no ballot."""
        ...

    def add(self, a: C, b: C) -> C: ...

    def fingerprint(self, ciphertext: C) -> bytes:
        """What weeding compares: a ciphertext seen twice is a copied one."""
        ...

    def ciphertext_value(self, ciphertext: C) -> Value: ...

    def read_ciphertext(self, value: Decoded, *, what: str) -> C:
        """A ballot's ciphertext, validated (scheme A refuses an identity half)."""
        ...

    def read_aggregate(self, value: Decoded, *, what: str) -> C:
        """A tally's aggregate, validated (scheme A allows the identity: R5)."""
        ...

    def proof_value(self, proof: P) -> Value: ...

    def read_proof(self, value: Decoded, branches: int, *, what: str) -> P: ...

    def share_value(self, share: S) -> Value: ...

    def read_share(self, value: Decoded, guardian: int, *, what: str) -> S:
        """Guardian ``guardian``'s decryption share (of one aggregate) with its proof."""
        ...

    def combine(self, ciphertext: C, shares: Mapping[int, S], quorum: int, bound: int) -> int:
        """The total in ``[0, bound]`` from ``quorum`` or more verified shares."""
        ...


class ElectionScheme(BallotCodec[C, P, S], Protocol[C, N, P, S]):
    """A scheme bound to one election's public key."""

    def encrypt(self, value: int, nonce: N) -> C: ...

    def selection_nonce(
        self, election_hash: bytes, binding: bytes, seed: bytes, contest: int, option: int
    ) -> N:
        """The nonce of option ``option`` of contest ``contest`` from the ballot seed."""
        ...

    def contest_nonce(self, nonces: Sequence[N]) -> N:
        """The nonce of the sum of a contest's ciphertexts, from theirs."""
        ...

    def made_with_nonce(self, ciphertext: C, nonce: N) -> bool:
        """Whether ``ciphertext`` encrypts some value with ``nonce``."""
        ...

    def prove_range(
        self, ciphertext: C, value: int, nonce: N, lo: int, hi: int, statement: RangeStatement
    ) -> P: ...

    def verify_range(
        self, ciphertext: C, proof: P, lo: int, hi: int, statement: RangeStatement
    ) -> None:
        """Raise :class:`ProofError` unless ``ciphertext`` encrypts a value in ``[lo, hi]``."""
        ...

    def check_total(self, total: C) -> None:
        """Raise :class:`ProofError` if a contest's sum is degenerate (scheme A's R5)."""
        ...

    def verify_share(self, ciphertext: C, share: S, target: DecryptionTarget) -> None:
        """Raise :class:`ProofError` unless ``share`` is its guardian's share of ``ciphertext``."""
        ...


AnyCodec = BallotCodec[Any, Any, Any]
AnyScheme = ElectionScheme[Any, Any, Any, Any]


class _OnTheKey(ABC, Generic[C, N, P]):
    """Encryption, sums, range proofs and combination: the crypto layer's
    :class:`HomomorphicScheme` under the election's public key, so that neither scheme writes
    them again (scheme A's key-less codec keeps its own sum and combination)."""

    __slots__ = ()

    @abstractmethod
    def _homomorphic(self) -> HomomorphicScheme[C, N, Any, Any, P, Any]:
        """The crypto layer's scheme."""

    @abstractmethod
    def _public_key(self) -> object:
        """The election's public key, in the crypto layer's type."""

    def encrypt(self, value: int, nonce: N) -> C:
        return self._homomorphic().encrypt(value, nonce, self._public_key())

    def add(self, a: C, b: C) -> C:
        return self._homomorphic().add(a, b)

    def combine(self, ciphertext: C, shares: Mapping[int, Any], quorum: int, bound: int) -> int:
        return self._homomorphic().combine(ciphertext, shares, quorum, bound)

    def prove_range(
        self, ciphertext: C, value: int, nonce: N, lo: int, hi: int, statement: RangeStatement
    ) -> P:
        return self._homomorphic().prove_range(
            ciphertext, value, nonce, lo, hi, self._public_key(), statement
        )

    def verify_range(
        self, ciphertext: C, proof: P, lo: int, hi: int, statement: RangeStatement
    ) -> None:
        self._homomorphic().verify_range(ciphertext, proof, lo, hi, self._public_key(), statement)


# --- scheme A ------------------------------------------------------------------------------------


def _point(data: bytes, what: str) -> Point:
    return Point.decode(expect_bytes(data, POINT_BYTES, what=what), allow_identity=True)


class ElGamalCodec:
    """Scheme A's encodings and arithmetic: none of them needs the election key."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return "elgamal"

    def zero(self) -> Ciphertext:
        return ZERO_CIPHERTEXT

    def add(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        return a + b

    def fingerprint(self, ciphertext: Ciphertext) -> bytes:
        return ciphertext.alpha.encode()

    def ciphertext_value(self, ciphertext: Ciphertext) -> Value:
        return ciphertext.encode()

    def read_ciphertext(self, value: Decoded, *, what: str) -> Ciphertext:
        return Ciphertext.decode(expect_bytes(value, CIPHERTEXT_BYTES, what=what))

    def read_aggregate(self, value: Decoded, *, what: str) -> Ciphertext:
        raw = expect_bytes(value, CIPHERTEXT_BYTES, what=what)
        return Ciphertext(_point(raw[:POINT_BYTES], what), _point(raw[POINT_BYTES:], what))

    def proof_value(self, proof: RangeProof) -> Value:
        return proof.encode()

    def read_proof(self, value: Decoded, branches: int, *, what: str) -> RangeProof:
        return RangeProof.decode(expect_bytes(value, branches * BRANCH_BYTES, what=what), branches)

    def share_value(self, share: DecryptionShare) -> Value:
        return [share.share.encode(), b"" if share.proof is None else share.proof.encode()]

    def read_share(self, value: Decoded, guardian: int, *, what: str) -> DecryptionShare:
        point, proof = expect_list(value, 2, what=what)
        proof_bytes = expect_bytes(proof, what=what)
        return DecryptionShare(
            guardian,
            _point(expect_bytes(point, POINT_BYTES, what=what), what),
            None if proof_bytes == b"" else CompactProof.decode(proof_bytes),
        )

    def combine(
        self,
        ciphertext: Ciphertext,
        shares: Mapping[int, DecryptionShare],
        quorum: int,
        bound: int,
    ) -> int:
        return SCHEME_A.combine(ciphertext, shares, quorum, bound)


#: Scheme A's codec: what decoders use when they are given a manifest and no context.
ELGAMAL_CODEC: Final = ElGamalCodec()


@dataclass(frozen=True, slots=True)
class ElGamalElection(ElGamalCodec, _OnTheKey[Ciphertext, Scalar, RangeProof]):
    """Scheme A under the joint key ``K`` the guardians' ceremony made (crypto spec §3.5)."""

    joint_key: Point
    commitments: tuple[tuple[Point, ...], ...]
    verification_keys: tuple[Point, ...]

    def _homomorphic(self) -> ElGamalEd25519:
        return SCHEME_A

    def _public_key(self) -> Point:
        return self.joint_key

    def verification_key(self, guardian: int) -> Point:
        if not 1 <= guardian <= len(self.verification_keys):
            raise InvalidInput(f"there is no guardian {guardian}")
        return self.verification_keys[guardian - 1]

    def selection_nonce(
        self, election_hash: bytes, binding: bytes, seed: bytes, contest: int, option: int
    ) -> Scalar:
        return elgamal.selection_nonce(election_hash, binding, seed, contest, option)

    def contest_nonce(self, nonces: Sequence[Scalar]) -> Scalar:
        total = Scalar(sum(nonce.value for nonce in nonces))
        if total.is_zero():
            raise InvalidInput(
                "this ballot seed makes the contest's nonces cancel; draw a new seed"
            )
        return total

    def made_with_nonce(self, ciphertext: Ciphertext, nonce: Scalar) -> bool:
        return base_mul(nonce) == ciphertext.alpha

    def check_total(self, total: Ciphertext) -> None:
        if total.alpha.is_identity():  # R5: only a deliberately crafted ballot gets here
            raise ProofError("contest", "total", "the options' nonces cancel out: a crafted ballot")

    def verify_share(
        self, ciphertext: Ciphertext, share: DecryptionShare, target: DecryptionTarget
    ) -> None:
        if not 1 <= share.guardian <= len(self.verification_keys):
            raise ProofError("decryption share", "guardian", f"no guardian {share.guardian}")
        verify_decryption_share(ciphertext, share, self.verification_key(share.guardian), target)


# --- scheme B ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaillierElection(_OnTheKey[PaillierCiphertext, int, PaillierRangeProof]):
    """Scheme B under the key the dealer published (crypto spec §4)."""

    key: PaillierPublicKey
    _threshold: ThresholdPaillier = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_threshold", ThresholdPaillier(self.key))

    def _homomorphic(self) -> ThresholdPaillier:
        return self._threshold

    def _public_key(self) -> PaillierPublicKey:
        return self.key

    @property
    def name(self) -> str:
        return "paillier"

    @property
    def params_hash(self) -> bytes:
        """``H_P`` of the dealer's key: binds ``n`` and ``v`` (:class:`ThresholdPaillier`)."""
        return self._threshold.params_hash

    def zero(self) -> PaillierCiphertext:
        return paillier.ZERO_CIPHERTEXT

    def fingerprint(self, ciphertext: PaillierCiphertext) -> bytes:
        return self.key.residue(ciphertext.value)

    def ciphertext_value(self, ciphertext: PaillierCiphertext) -> Value:
        return ciphertext.to_value(self.key)

    def read_ciphertext(self, value: Decoded, *, what: str) -> PaillierCiphertext:
        return PaillierCiphertext.from_value(value, self.key, what=what)

    def read_aggregate(self, value: Decoded, *, what: str) -> PaillierCiphertext:
        return PaillierCiphertext.from_value(value, self.key, what=what)

    def proof_value(self, proof: PaillierRangeProof) -> Value:
        return proof.to_value(self.key)

    def read_proof(self, value: Decoded, branches: int, *, what: str) -> PaillierRangeProof:
        try:
            return PaillierRangeProof.from_value(value, self.key, branches)
        except DecodeError as error:
            raise DecodeError(f"{what}: {error}") from error

    def share_value(self, share: PaillierDecryptionShare) -> Value:
        return share.to_value(self.key)

    def read_share(self, value: Decoded, guardian: int, *, what: str) -> PaillierDecryptionShare:
        try:
            share = PaillierDecryptionShare.from_value(value, self.key)
        except DecodeError as error:
            raise DecodeError(f"{what}: {error}") from error
        if share.guardian != guardian:
            raise DecodeError(f"{what}: guardian {share.guardian}'s share filed under {guardian}")
        return share

    def selection_nonce(
        self, election_hash: bytes, binding: bytes, seed: bytes, contest: int, option: int
    ) -> int:
        return paillier.selection_nonce(election_hash, binding, seed, contest, option, self.key)

    def contest_nonce(self, nonces: Sequence[int]) -> int:
        return math.prod(nonces) % self.key.n

    def made_with_nonce(self, ciphertext: PaillierCiphertext, nonce: int) -> bool:
        return paillier.made_with_nonce(ciphertext, nonce, self.key)

    def check_total(self, total: PaillierCiphertext) -> None:
        """Nothing to check: a product of units of ``Z*_{n²}`` is one, and never degenerate."""

    def verify_share(
        self,
        ciphertext: PaillierCiphertext,
        share: PaillierDecryptionShare,
        target: DecryptionTarget,
    ) -> None:
        self._threshold.verify_partial(ciphertext, share, self.key, target)


def _static_checks(
    a: ElGamalElection, b: PaillierElection, codec: ElGamalCodec
) -> tuple[AnyScheme, AnyScheme, AnyCodec]:
    """mypy rejects this function unless both schemes implement :class:`ElectionScheme`."""
    checked_a: ElectionScheme[Ciphertext, Scalar, RangeProof, DecryptionShare] = a
    checked_b: ElectionScheme[
        PaillierCiphertext, int, PaillierRangeProof, PaillierDecryptionShare
    ] = b
    checked_codec: BallotCodec[Ciphertext, RangeProof, DecryptionShare] = codec
    return checked_a, checked_b, checked_codec
