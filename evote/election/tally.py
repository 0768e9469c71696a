"""The tally: homomorphic aggregates, guardians' decryption shares, and the decrypted counts.

For every part of every contest and every option, the aggregate ``(A, Bc)`` is the sum of the
counted ballots' ciphertexts (crypto spec §3.8). Guardians publish ``M_ℓ = z_ℓ·A`` with a
Chaum–Pedersen proof bound to ``H_E`` and to the target ``tally/<part>/<option>``; any ``t``
shares combine to ``tally·B = Bc − M`` (§3.9).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from evote.crypto import dlog, encoding, threshold
from evote.crypto.elgamal import CIPHERTEXT_BYTES, ZERO_CIPHERTEXT, Ciphertext
from evote.crypto.group import POINT_BYTES, Point
from evote.crypto.proofs.chaum_pedersen import DecryptionShare, verify_decryption_share
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.signing import VerifyKey
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.election.outcome import outcome_lines
from evote.errors import DecodeError, InvalidInput, VerificationError

T = TypeVar("T")

TALLY_TAG: Final = "evote/v1/tally"
SHARES_TAG: Final = "evote/v1/decryption-share"
#: The board entry kind of a guardian's decryption shares.
SHARES_KIND: Final = "decryption-share"
RESULT_TAG: Final = "evote/v1/result"

#: Aggregates (or counts, or shares) per ballot part, per option, in manifest order.
PerPart = dict[str, tuple[Ciphertext, ...]]


def all_parts(manifest: Manifest) -> list[str]:
    return [part for contest in manifest.contests for part in contest.parts()]


def target(context: ElectionContext, part: str, option: int) -> DecryptionTarget:
    return DecryptionTarget(context.extended_hash, f"tally/{part}/{option}".encode())


def aggregate(manifest: Manifest, ballots: Iterable[EncryptedBallot]) -> PerPart:
    """Sum the ciphertexts of the given (counted) ballots per part and option."""
    totals: dict[str, list[Ciphertext]] = {}
    for part in all_parts(manifest):
        contest, district = manifest.part(part)
        totals[part] = [ZERO_CIPHERTEXT] * len(contest.options(district))
    for ballot in ballots:
        for part, encrypted in zip(
            manifest.style(ballot.style).parts, ballot.contests, strict=True
        ):
            sums = totals[part]
            for option, selection in enumerate(encrypted.selections):
                sums[option] = sums[option] + selection.ciphertext
    return {part: tuple(sums) for part, sums in totals.items()}


def _decode_point(data: bytes, what: str) -> Point:
    return Point.decode(encoding.expect_bytes(data, POINT_BYTES, what=what), allow_identity=True)


def _per_part(
    value: encoding.Decoded,
    manifest: Manifest,
    what: str,
    decode_option: Callable[[encoding.Decoded, str], T],
) -> dict[str, tuple[T, ...]]:
    """Parse ``[[part, [one value per option]] per part]`` in manifest order, lengths checked."""
    parts = all_parts(manifest)
    items = encoding.expect_list(value, len(parts), what=f"{what}.parts")
    result: dict[str, tuple[T, ...]] = {}
    for part, item in zip(parts, items, strict=True):
        name, values = encoding.expect_list(item, 2, what=f"{what}.part")
        if name != part:
            raise DecodeError(f"{what}: expected part {part!r}, got {name!r}")
        contest, district = manifest.part(part)
        options = encoding.expect_list(
            values, len(contest.options(district)), what=f"{what}.{part}"
        )
        result[part] = tuple(decode_option(option, f"{what}.{part}") for option in options)
    return result


def _ciphertext(value: encoding.Decoded, what: str) -> Ciphertext:
    raw = encoding.expect_bytes(value, CIPHERTEXT_BYTES, what=what)
    return Ciphertext(
        _decode_point(raw[:POINT_BYTES], what), _decode_point(raw[POINT_BYTES:], what)
    )


def _count(value: encoding.Decoded, what: str) -> int:
    return encoding.expect_int(value, what=what)


@dataclass(frozen=True, slots=True)
class EncryptedTally:
    """The aggregates, and which board entries were counted (leaf indices, ascending)."""

    counted: tuple[int, ...]
    totals: PerPart

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [
                TALLY_TAG,
                list(self.counted),
                [
                    [part, [c.encode() for c in ciphertexts]]
                    for part, ciphertexts in self.totals.items()
                ],
            ]
        )

    @classmethod
    def from_tlv(cls, data: bytes, manifest: Manifest) -> EncryptedTally:
        fields = encoding.expect_list(encoding.decode(data), 3, what="tally")
        if fields[0] != TALLY_TAG:
            raise DecodeError("not an evote v1 encrypted tally")
        counted = tuple(
            encoding.expect_int(i, what="tally.counted")
            for i in encoding.expect_list(fields[1], what="tally.counted")
        )
        totals = _per_part(fields[2], manifest, "tally", _ciphertext)
        return cls(counted, totals)


@dataclass(frozen=True, slots=True)
class GuardianShares:
    """One guardian's decryption shares of every aggregate, with proofs."""

    guardian: int
    shares: dict[str, tuple[DecryptionShare, ...]]

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [
                SHARES_TAG,
                self.guardian,
                [
                    [
                        part,
                        [
                            [s.share.encode(), b"" if s.proof is None else s.proof.encode()]
                            for s in shares
                        ],
                    ]
                    for part, shares in self.shares.items()
                ],
            ]
        )

    @classmethod
    def from_tlv(cls, data: bytes, manifest: Manifest) -> GuardianShares:
        fields = encoding.expect_list(encoding.decode(data), 3, what="shares")
        if fields[0] != SHARES_TAG:
            raise DecodeError("not an evote v1 decryption-share entry")
        guardian = encoding.expect_int(fields[1], what="shares.guardian")

        def share(value: encoding.Decoded, what: str) -> DecryptionShare:
            point, proof = encoding.expect_list(value, 2, what=what)
            proof_bytes = encoding.expect_bytes(proof, what=what)
            return DecryptionShare(
                guardian,
                _decode_point(encoding.expect_bytes(point, POINT_BYTES, what=what), what),
                None if proof_bytes == b"" else CompactProof.decode(proof_bytes),
            )

        shares = _per_part(fields[2], manifest, "shares", share)
        return cls(guardian, shares)


@dataclass(frozen=True, slots=True)
class TallyResult:
    """The decrypted counts per part and option, the guardians whose shares were combined,
    and the outcome of each contest in words (recomputed by verifiers from the counts)."""

    guardians: tuple[int, ...]
    counts: dict[str, tuple[int, ...]]
    outcomes: tuple[str, ...]

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [
                RESULT_TAG,
                list(self.guardians),
                [[part, list(counts)] for part, counts in self.counts.items()],
                list(self.outcomes),
            ]
        )

    @classmethod
    def from_tlv(cls, data: bytes, manifest: Manifest) -> TallyResult:
        fields = encoding.expect_list(encoding.decode(data), 4, what="result")
        if fields[0] != RESULT_TAG:
            raise DecodeError("not an evote v1 result")
        guardians = tuple(
            encoding.expect_int(g, what="result.guardians")
            for g in encoding.expect_list(fields[1], what="result")
        )
        counts = _per_part(fields[2], manifest, "result", _count)
        outcomes = tuple(
            encoding.expect_text(o, what="result.outcomes")
            for o in encoding.expect_list(fields[3], what="result")
        )
        return cls(guardians, counts, outcomes)


def combine_counts(
    totals: PerPart, shares: Mapping[int, GuardianShares], quorum: int, bound: int
) -> dict[str, tuple[int, ...]]:
    """Each option's count from ``quorum`` or more guardians' (verified) shares.

    ``count·B = Bc − Σ w_ℓ·M_ℓ`` read off by baby-step giant-step within ``[0, bound]``; an
    aggregate with an identity pad is ``β`` in clear (R5).
    """
    counts: dict[str, tuple[int, ...]] = {}
    for part, ciphertexts in totals.items():
        values = []
        for option, ciphertext in enumerate(ciphertexts):
            if ciphertext.alpha.is_identity():
                values.append(dlog.discrete_log(ciphertext.beta, bound))
                continue
            combined = threshold.combine_shares(
                {guardian: entry.shares[part][option].share for guardian, entry in shares.items()},
                quorum,
            )
            values.append(dlog.discrete_log(ciphertext.beta - combined, bound))
        counts[part] = tuple(values)
    return counts


def counted_ballots(cast: Mapping[int, EncryptedBallot]) -> tuple[int, ...]:
    """The board indices of the ballots that count: each credential's ballot with the highest
    sequence number, ascending. ``cast`` holds the admitted ballots by board index.

    The ballot box admits a credential's ballots with rising sequence numbers only, so on an
    honest board this is also each credential's last ballot; taking the highest sequence keeps
    a replayed old ballot from ever becoming the counted one.
    """
    best: dict[bytes, tuple[int, int]] = {}
    for index, ballot in cast.items():
        credential = ballot.credential.encode()
        if credential not in best or best[credential][0] < ballot.sequence:
            best[credential] = (ballot.sequence, index)
    return tuple(sorted(index for _, index in best.values()))


def encrypted_tally(manifest: Manifest, cast: Mapping[int, EncryptedBallot]) -> EncryptedTally:
    """The tally of the admitted ballots ``cast`` (by board index): the counted indices and
    the sums of their ciphertexts per part and option."""
    counted = counted_ballots(cast)
    return EncryptedTally(counted, aggregate(manifest, (cast[index] for index in counted)))


def tally_result(
    manifest: Manifest,
    tally: EncryptedTally,
    shares: Mapping[int, GuardianShares],
    registered: int,
) -> TallyResult:
    """The result the guardians' (verified) ``shares`` decrypt ``tally`` to: the counts of
    every part and option, each contest's outcome under its counting rule (``registered``
    credentials, the counted ballots as participants), and the guardians combined."""
    if len(shares) < manifest.guardian_quorum:
        raise InvalidInput(
            f"{len(shares)} guardians' shares verify; decrypting needs {manifest.guardian_quorum}"
        )
    highest = max(
        max(contest.shape(district).option_limits)
        for contest, district in (manifest.part(part) for part in all_parts(manifest))
    )
    counted = len(tally.counted)
    counts = combine_counts(tally.totals, shares, manifest.guardian_quorum, highest * counted)
    lines = outcome_lines(manifest, counts, registered=registered, participants=counted)
    return TallyResult(tuple(sorted(shares)), counts, lines)


def check_guardian_shares(
    body: bytes,
    signers: Sequence[VerifyKey],
    context: ElectionContext,
    tally: EncryptedTally,
) -> GuardianShares:
    """The decryption shares in a ``decryption-share`` entry's ``body``, if they count: the
    guardian exists and alone signed (``signers``), and every share's proof verifies against
    its verification key and the tally's aggregate (target ``tally/<part>/<option>``).
    Raises :class:`InvalidInput` saying which share fails, or :class:`DecodeError`."""
    manifest = context.manifest
    shares = GuardianShares.from_tlv(body, manifest)
    guardian = shares.guardian
    if not 1 <= guardian <= len(manifest.guardians):
        raise InvalidInput(f"the shares name guardian {guardian}, and there is none")
    if tuple(signers) != (manifest.guardians[guardian - 1],):
        raise InvalidInput(f"the shares are not signed by guardian {guardian}'s identity key alone")
    key = context.verification_keys[guardian - 1]
    for part, values in shares.shares.items():
        for option, (share, ciphertext) in enumerate(zip(values, tally.totals[part], strict=True)):
            if share.guardian != guardian:
                raise InvalidInput(
                    f"guardian {share.guardian}'s share is filed under guardian {guardian}"
                )
            try:
                verify_decryption_share(ciphertext, share, key, target(context, part, option))
            except VerificationError as error:
                raise InvalidInput(
                    f"guardian {guardian}'s share of {part}[{option}] fails: {error}"
                ) from None
    return shares


def shares_by_guardian(
    entries: Iterable[GuardianShares], part: str, option: int
) -> Mapping[int, DecryptionShare]:
    return {entry.guardian: entry.shares[part][option] for entry in entries}
