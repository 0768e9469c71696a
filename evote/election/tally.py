"""The tally: homomorphic aggregates, guardians' decryption shares, and the decrypted counts.

For every part of every contest and every option, the aggregate is the homomorphic sum of the
counted ballots' ciphertexts (crypto spec §3.8, §4.3). Guardians publish a decryption share of
each with a proof bound to ``H_E`` and to the target ``tally/<part>/<option>``, and any ``t``
shares combine to the count:

* scheme A: ``M_ℓ = z_ℓ·A`` with a Chaum–Pedersen proof; ``tally·B = Bc − Σ w_ℓ·M_ℓ`` (§3.9);
* scheme B: ``c_i = c^{2Δs_i}`` with its proof; ``tally = L(Π c_i^{2λ_i})·(4Δ²)⁻¹ mod n`` (§4.5).

Aggregation, the share entries, the verification of shares and the combination are one code
path for both; the tally and the shares carry the codec of their scheme, so they encode
themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic

from typing_extensions import TypeVar

from evote.crypto import encoding
from evote.crypto.proofs.chaum_pedersen import DecryptionShare
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.signing import VerifyKey
from evote.election.ballot import EncryptedBallot
from evote.election.contest import C
from evote.election.context import ElectionContext, manifest_and_codec
from evote.election.manifest import Manifest
from evote.election.outcome import outcome_lines
from evote.election.schemes import ELGAMAL_CODEC, AnyCodec
from evote.errors import DecodeError, InvalidInput, VerificationError

T = TypeVar("T")
#: A scheme's decryption share (with its proof); scheme A's where nothing else is said.
S = TypeVar("S", default=DecryptionShare)

TALLY_TAG: Final = "evote/v1/tally"
SHARES_TAG: Final = "evote/v1/decryption-share"
#: The board entry kind of a guardian's decryption shares.
SHARES_KIND: Final = "decryption-share"
RESULT_TAG: Final = "evote/v1/result"

#: Aggregates (or counts, or shares) per ballot part, per option, in manifest order.
PerPart = dict[str, tuple[Any, ...]]


def all_parts(manifest: Manifest) -> list[str]:
    return [part for contest in manifest.contests for part in contest.parts()]


def target(context: ElectionContext, part: str, option: int) -> DecryptionTarget:
    return DecryptionTarget(context.extended_hash, f"tally/{part}/{option}".encode())


def aggregate(
    where: Manifest | ElectionContext, ballots: Iterable[EncryptedBallot[Any, Any]]
) -> PerPart:
    """Sum the ciphertexts of the given (counted) ballots per part and option. ``where`` is the
    election context (or, for scheme A, whose sums need no key, the manifest)."""
    manifest, codec = manifest_and_codec(where, error=InvalidInput)
    totals: dict[str, list[Any]] = {}
    for part in all_parts(manifest):
        contest, district = manifest.part(part)
        totals[part] = [codec.zero()] * len(contest.options(district))
    for ballot in ballots:
        for part, encrypted in zip(
            manifest.style(ballot.style).parts, ballot.contests, strict=True
        ):
            sums = totals[part]
            for option, selection in enumerate(encrypted.selections):
                sums[option] = codec.add(sums[option], selection.ciphertext)
    return {part: tuple(sums) for part, sums in totals.items()}


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


def _count(value: encoding.Decoded, what: str) -> int:
    return encoding.expect_int(value, what=what)


@dataclass(frozen=True, slots=True)
class EncryptedTally(Generic[C]):
    """The aggregates, and which board entries were counted (leaf indices, ascending)."""

    counted: tuple[int, ...]
    totals: dict[str, tuple[C, ...]]
    #: How the aggregates encode themselves and combine: the election's scheme.
    codec: AnyCodec = field(default=ELGAMAL_CODEC, compare=False, repr=False)

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [
                TALLY_TAG,
                list(self.counted),
                [
                    [part, [self.codec.ciphertext_value(c) for c in ciphertexts]]
                    for part, ciphertexts in self.totals.items()
                ],
            ]
        )

    @classmethod
    def from_tlv(cls, data: bytes, where: Manifest | ElectionContext) -> EncryptedTally[Any]:
        """Parse a tally; ``where`` is the election context (or, for scheme A, the manifest)."""
        manifest, codec = manifest_and_codec(where)
        fields = encoding.expect_list(encoding.decode(data), 3, what="tally")
        if fields[0] != TALLY_TAG:
            raise DecodeError("not an evote v1 encrypted tally")
        counted = tuple(
            encoding.expect_int(i, what="tally.counted")
            for i in encoding.expect_list(fields[1], what="tally.counted")
        )

        def read(value: encoding.Decoded, what: str) -> Any:
            return codec.read_aggregate(value, what=what)

        return EncryptedTally(counted, _per_part(fields[2], manifest, "tally", read), codec)


@dataclass(frozen=True, slots=True)
class GuardianShares(Generic[S]):
    """One guardian's decryption shares of every aggregate, with proofs."""

    guardian: int
    shares: dict[str, tuple[S, ...]]
    #: How the shares encode themselves: the election's scheme.
    codec: AnyCodec = field(default=ELGAMAL_CODEC, compare=False, repr=False)

    def to_tlv(self) -> bytes:
        return encoding.encode(
            [
                SHARES_TAG,
                self.guardian,
                [
                    [part, [self.codec.share_value(share) for share in shares]]
                    for part, shares in self.shares.items()
                ],
            ]
        )

    @classmethod
    def from_tlv(cls, data: bytes, where: Manifest | ElectionContext) -> GuardianShares[Any]:
        """Parse a share entry; ``where`` is the context (or, for scheme A, the manifest)."""
        manifest, codec = manifest_and_codec(where)
        fields = encoding.expect_list(encoding.decode(data), 3, what="shares")
        if fields[0] != SHARES_TAG:
            raise DecodeError("not an evote v1 decryption-share entry")
        guardian = encoding.expect_int(fields[1], what="shares.guardian")

        def share(value: encoding.Decoded, what: str) -> Any:
            return codec.read_share(value, guardian, what=what)

        return GuardianShares(guardian, _per_part(fields[2], manifest, "shares", share), codec)


def decrypt_totals(
    context: ElectionContext,
    guardian: int,
    totals: PerPart,
    decrypt: Callable[[Any, DecryptionTarget], Any],
) -> GuardianShares[Any]:
    """Guardian ``guardian``'s share entry of the aggregates ``totals``: ``decrypt(aggregate,
    target)`` is the guardian's proved partial decryption in the election's scheme."""
    return GuardianShares(
        guardian,
        {
            part: tuple(
                decrypt(ciphertext, target(context, part, option))
                for option, ciphertext in enumerate(ciphertexts)
            )
            for part, ciphertexts in totals.items()
        },
        context.scheme,
    )


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
    totals: PerPart,
    shares: Mapping[int, GuardianShares[Any]],
    quorum: int,
    bound: int,
    *,
    codec: AnyCodec = ELGAMAL_CODEC,
) -> dict[str, tuple[int, ...]]:
    """Each option's count from ``quorum`` or more guardians' (verified) shares, within
    ``[0, bound]`` (:class:`TallyOutOfRange` otherwise), combined by the scheme's ``codec``.

    Scheme A reads ``count·B = Bc − Σ w_ℓ·M_ℓ`` off by baby-step giant-step (an aggregate with
    an identity pad is ``β`` in clear: R5); scheme B combines to the count directly.
    """
    return {
        part: tuple(
            codec.combine(
                ciphertext,
                {guardian: entry.shares[part][option] for guardian, entry in shares.items()},
                quorum,
                bound,
            )
            for option, ciphertext in enumerate(ciphertexts)
        )
        for part, ciphertexts in totals.items()
    }


def counted_ballots(cast: Mapping[int, EncryptedBallot[Any, Any]]) -> tuple[int, ...]:
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


def encrypted_tally(
    where: Manifest | ElectionContext, cast: Mapping[int, EncryptedBallot[Any, Any]]
) -> EncryptedTally[Any]:
    """The tally of the admitted ballots ``cast`` (by board index): the counted indices and
    the sums of their ciphertexts per part and option. ``where`` is the election context (or,
    for scheme A, the manifest)."""
    _, codec = manifest_and_codec(where, error=InvalidInput)
    counted = counted_ballots(cast)
    return EncryptedTally(counted, aggregate(where, (cast[index] for index in counted)), codec)


def tally_result(
    where: Manifest | ElectionContext,
    tally: EncryptedTally[Any],
    shares: Mapping[int, GuardianShares[Any]],
    registered: int,
) -> TallyResult:
    """The result the guardians' (verified) ``shares`` decrypt ``tally`` to: the counts of
    every part and option, each contest's outcome under its counting rule (``registered``
    credentials, the counted ballots as participants), and the guardians combined. The tally's
    own codec (its scheme) combines the shares."""
    manifest = where.manifest if isinstance(where, ElectionContext) else where
    if len(shares) < manifest.guardian_quorum:
        raise InvalidInput(
            f"{len(shares)} guardians' shares verify; decrypting needs {manifest.guardian_quorum}"
        )
    highest = max(
        max(contest.shape(district).option_limits)
        for contest, district in (manifest.part(part) for part in all_parts(manifest))
    )
    counted = len(tally.counted)
    counts = combine_counts(
        tally.totals, shares, manifest.guardian_quorum, highest * counted, codec=tally.codec
    )
    lines = outcome_lines(manifest, counts, registered=registered, participants=counted)
    return TallyResult(tuple(sorted(shares)), counts, lines)


def check_guardian_shares(
    body: bytes,
    signers: Sequence[VerifyKey],
    context: ElectionContext,
    tally: EncryptedTally[Any],
) -> GuardianShares[Any]:
    """The decryption shares in a ``decryption-share`` entry's ``body``, if they count: the
    guardian exists and alone signed (``signers``), and every share's proof verifies against
    its verification key and the tally's aggregate (target ``tally/<part>/<option>``).
    Raises :class:`InvalidInput` saying which share fails, or :class:`DecodeError`."""
    manifest = context.manifest
    shares = GuardianShares.from_tlv(body, context)
    guardian = shares.guardian
    if not 1 <= guardian <= len(manifest.guardians):
        raise InvalidInput(f"the shares name guardian {guardian}, and there is none")
    if tuple(signers) != (manifest.guardians[guardian - 1],):
        raise InvalidInput(f"the shares are not signed by guardian {guardian}'s identity key alone")
    for part, values in shares.shares.items():
        for option, (share, ciphertext) in enumerate(zip(values, tally.totals[part], strict=True)):
            if share.guardian != guardian:
                raise InvalidInput(
                    f"guardian {share.guardian}'s share is filed under guardian {guardian}"
                )
            try:
                context.scheme.verify_share(ciphertext, share, target(context, part, option))
            except VerificationError as error:
                raise InvalidInput(
                    f"guardian {guardian}'s share of {part}[{option}] fails: {error}"
                ) from None
    return shares


def shares_by_guardian(
    entries: Iterable[GuardianShares[S]], part: str, option: int
) -> Mapping[int, S]:
    return {entry.guardian: entry.shares[part][option] for entry in entries}
