"""The election context every proof binds: ``H_B`` before the key exists, ``H_E`` after.

Crypto spec §3.4::

    H_B = H32("base", H_P, H_M, election_id, n, t, [guardian identity keys])
    H_E = H32("ext-base", H_B, K, [[K_{i,j}] for each guardian i], [K̂_1 … K̂_n])

so the group, the manifest, the guardian roster and the key cannot be mixed and matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evote.crypto import threshold
from evote.crypto.group import Point
from evote.crypto.hashing import hash32
from evote.election.manifest import Manifest
from evote.errors import InvalidInput


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


@dataclass(frozen=True, slots=True)
class ElectionContext:
    """The manifest with the joint key: what ballots, tallies and shares are bound to."""

    manifest: Manifest
    commitments: tuple[tuple[Point, ...], ...]
    joint_key: Point
    verification_keys: tuple[Point, ...]
    base_hash: bytes
    extended_hash: bytes

    @classmethod
    def create(cls, manifest: Manifest, commitments: Sequence[Sequence[Point]]) -> ElectionContext:
        """Derive ``K``, every ``K̂_ℓ`` and ``H_E`` from the guardians' public commitments."""
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
        return cls(manifest, frozen, key, verification, hashed_base, extended)

    def verification_key(self, guardian: int) -> Point:
        if not 1 <= guardian <= len(self.verification_keys):
            raise InvalidInput(f"there is no guardian {guardian}")
        return self.verification_keys[guardian - 1]
