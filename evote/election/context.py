"""The election context every proof binds: ``H_B`` before the key exists, ``H_E`` after.

Crypto spec §3.4, for both schemes::

    H_B = H32("base", H_P, H_M, election_id, n, t, [guardian identity keys])

where ``H_P`` is the manifest's ``scheme``: scheme A's parameter hash, or for scheme B the
family hash (the dealer's key does not exist yet when the officials sign). Then, once the key
exists::

    scheme A: H_E = H32("ext-base", H_B, K, [[K_{i,j}] for each guardian i], [K̂_1 … K̂_n])
    scheme B: H_E = H32("paillier/ext-base", H_B, H_P(n, v), [tag, n, t, v, [v_1 … v_N]])

so the group or modulus, the manifest, the guardian roster and the key cannot be mixed and
matched. Scheme B's ``H_E`` binds the dealer's whole published key, and through
``H_P(n, v)`` (:attr:`evote.crypto.paillier.ThresholdPaillier.params_hash`) the parameter set
the proofs run in.

The context carries the election's :mod:`scheme object <evote.election.schemes>`, from which
ballots, audits and tallies take their arithmetic, proofs and encodings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evote.crypto import encoding, threshold
from evote.crypto.group import Point
from evote.crypto.hashing import hash32
from evote.crypto.paillier import FAMILY_MODULUS_BITS, PaillierPublicKey
from evote.election.manifest import PAILLIER, Manifest
from evote.election.schemes import (
    ELGAMAL_CODEC,
    AnyCodec,
    AnyScheme,
    ElGamalElection,
    PaillierElection,
)
from evote.errors import DecodeError, EvoteError, InvalidInput


def base_hash(manifest: Manifest) -> bytes:
    """``H_B``: what every key-ceremony proof binds."""
    return hash32(
        "base",
        manifest.scheme,
        manifest.manifest_hash,
        manifest.election_id,
        len(manifest.guardians),
        manifest.guardian_quorum,
        [key.encode() for key in manifest.guardians],
    )


def paillier_extended_hash(hashed_base: bytes, scheme: PaillierElection) -> bytes:
    """Scheme B's ``H_E``: ``H_B``, the key's ``H_P`` and the whole published key."""
    return hash32("paillier/ext-base", hashed_base, scheme.params_hash, scheme.key.to_value())


def check_paillier_key(manifest: Manifest, key: PaillierPublicKey) -> None:
    """Raise :class:`InvalidInput` unless ``key`` is a key of this scheme B election: the
    manifest names scheme B, the key is dealt to its guardians with its quorum, and its modulus
    has exactly the family's size."""
    if manifest.scheme_name != PAILLIER:
        raise InvalidInput("the manifest names scheme A (elgamal): it takes no Paillier key")
    if key.guardians != len(manifest.guardians):
        raise InvalidInput(
            f"the Paillier key is dealt to {key.guardians} guardians, the manifest names "
            f"{len(manifest.guardians)}"
        )
    if key.quorum != manifest.guardian_quorum:
        raise InvalidInput(
            f"the Paillier key has quorum {key.quorum}, the manifest {manifest.guardian_quorum}"
        )
    if key.n.bit_length() != FAMILY_MODULUS_BITS:
        raise InvalidInput(
            f"the Paillier modulus has {key.n.bit_length()} bits; the manifest's scheme family "
            f"names {FAMILY_MODULUS_BITS}"
        )


@dataclass(frozen=True, slots=True)
class ElectionContext:
    """The manifest with the election's public key: what ballots, tallies and shares are bound
    to. ``scheme`` holds the key (the joint ElGamal key and the guardians' commitments, or the
    dealer's Paillier key); build a context with :meth:`create` or :meth:`for_paillier`."""

    manifest: Manifest
    scheme: AnyScheme
    base_hash: bytes
    extended_hash: bytes

    @classmethod
    def create(cls, manifest: Manifest, commitments: Sequence[Sequence[Point]]) -> ElectionContext:
        """Scheme A: derive ``K``, every ``K̂_ℓ`` and ``H_E`` from the guardians' commitments."""
        if manifest.scheme_name == PAILLIER:
            raise InvalidInput("the manifest names scheme B (paillier): its key is the dealer's")
        quorum = manifest.guardian_quorum
        if len(commitments) != len(manifest.guardians):
            raise InvalidInput(
                f"{len(manifest.guardians)} guardians must each publish commitments, "
                f"got {len(commitments)}"
            )
        if any(len(c) != quorum for c in commitments):
            raise InvalidInput(f"every guardian commits to exactly {quorum} coefficients")
        frozen = tuple(tuple(c) for c in commitments)
        key = threshold.joint_key(frozen)
        verification = tuple(
            threshold.verification_key(index, frozen) for index in range(1, len(frozen) + 1)
        )
        hashed_base = base_hash(manifest)
        extended = hash32(
            "ext-base", hashed_base, key, [list(c) for c in frozen], list(verification)
        )
        return cls(manifest, ElGamalElection(key, frozen, verification), hashed_base, extended)

    @classmethod
    def for_paillier(cls, manifest: Manifest, key: PaillierPublicKey) -> ElectionContext:
        """Scheme B: the context of the key the dealer published (:func:`check_paillier_key`)."""
        check_paillier_key(manifest, key)
        scheme = PaillierElection(key)
        hashed_base = base_hash(manifest)
        return cls(manifest, scheme, hashed_base, paillier_extended_hash(hashed_base, scheme))

    # --- the key, in a form worker processes can take --------------------------------------------

    def key_bytes(self) -> bytes:
        """The public key in canonical TLV: scheme A's commitments, or scheme B's key."""
        if isinstance(self.scheme, PaillierElection):
            return encoding.encode(self.scheme.key.to_value())
        return encoding.encode([list(own) for own in self.elgamal.commitments])

    @classmethod
    def from_key_bytes(cls, manifest: Manifest, data: bytes) -> ElectionContext:
        """The inverse of :meth:`key_bytes`: everything is derived again from the manifest and
        the key. Raises :class:`DecodeError` for bytes that are not a key of this election."""
        value = encoding.decode(data)
        try:
            if manifest.scheme_name == PAILLIER:
                return cls.for_paillier(manifest, PaillierPublicKey.from_value(value))
            rows = [
                [
                    encoding.expect_point(point, what="commitment")
                    for point in encoding.expect_list(row, what="commitments")
                ]
                for row in encoding.expect_list(value, what="commitments")
            ]
            return cls.create(manifest, rows)
        except InvalidInput as error:
            raise DecodeError(f"election key: {error}") from error

    # --- scheme A's key ---------------------------------------------------------------------------

    @property
    def elgamal(self) -> ElGamalElection:
        """Scheme A's key material; :class:`InvalidInput` in a scheme B election."""
        if not isinstance(self.scheme, ElGamalElection):
            raise InvalidInput(
                "this is a scheme B (paillier) election: it has no joint ElGamal key"
            )
        return self.scheme

    @property
    def commitments(self) -> tuple[tuple[Point, ...], ...]:
        return self.elgamal.commitments

    @property
    def joint_key(self) -> Point:
        return self.elgamal.joint_key

    @property
    def verification_keys(self) -> tuple[Point, ...]:
        return self.elgamal.verification_keys

    def verification_key(self, guardian: int) -> Point:
        return self.elgamal.verification_key(guardian)

    # --- scheme B's key ---------------------------------------------------------------------------

    @property
    def paillier(self) -> PaillierElection:
        """Scheme B's key; :class:`InvalidInput` in a scheme A election."""
        if not isinstance(self.scheme, PaillierElection):
            raise InvalidInput("this is a scheme A (elgamal) election: it has no Paillier key")
        return self.scheme

    @property
    def paillier_key(self) -> PaillierPublicKey:
        return self.paillier.key


def manifest_and_codec(
    where: Manifest | ElectionContext, *, error: type[EvoteError] = DecodeError
) -> tuple[Manifest, AnyCodec]:
    """What a decoder needs: the manifest, and the codec of the election's scheme.

    Scheme A's encodings and sums need no key, so a manifest is enough; scheme B's residues are
    as wide as the dealer's ``n²``, so its entries decode (and its ciphertexts add) only with
    the election context: ``error`` (:class:`DecodeError` by default) says so otherwise.
    """
    if isinstance(where, ElectionContext):
        return where.manifest, where.scheme
    if where.scheme_name == PAILLIER:
        raise error(
            "this election uses scheme B (paillier): its entries decode only with the dealer's "
            "key, through the election context"
        )
    return where, ELGAMAL_CODEC
