"""One contest of an encrypted ballot: a ciphertext and range proof per option, and a range
proof on their sum (crypto spec §3.6.2–3.6.3).

Option ``s`` of contest ``c`` takes a value in ``[0, R_s]`` (``R_s = 1`` for a yes/no mark);
the contest's total lies in ``[min, max]`` (``min = 0`` allows an undervote). Nonces derive
from the ballot seed (encryption is in :mod:`evote.election.encrypt`). The verifier recomputes
the contest sum itself and never reads it from the ballot.

Selections and contests are generic over the scheme's ciphertext and range proof (scheme A's
by default); the scheme object of the election context (:mod:`evote.election.schemes`)
encodes, sums and verifies them, so one code path serves both schemes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic

from typing_extensions import TypeVar

from evote.crypto.elgamal import Ciphertext
from evote.crypto.encoding import Decoded, Value, expect_list
from evote.crypto.proofs.range import RangeProof
from evote.crypto.proofs.statements import RangeStatement
from evote.election.schemes import ELGAMAL_CODEC, AnyCodec, AnyScheme, BallotCodec
from evote.errors import InvalidInput, ProofError

#: A scheme's ciphertext; scheme A's where nothing else is said.
C = TypeVar("C", default=Ciphertext)
#: A scheme's range proof; scheme A's where nothing else is said.
P = TypeVar("P", default=RangeProof)


@dataclass(frozen=True, slots=True)
class ContestShape:
    """What a contest allows: a limit per option and a range for the total."""

    option_limits: tuple[int, ...]
    min_total: int
    max_total: int

    def __post_init__(self) -> None:
        if not self.option_limits:
            raise InvalidInput("a contest needs at least one option")
        if any(limit < 1 for limit in self.option_limits):
            raise InvalidInput("every option allows at least the value 1")
        if not 0 <= self.min_total <= self.max_total <= sum(self.option_limits):
            raise InvalidInput(
                f"the total range [{self.min_total}, {self.max_total}] does not fit options "
                f"allowing {sum(self.option_limits)} in all"
            )

    def check_votes(self, votes: Sequence[int]) -> None:
        """Raise :class:`InvalidInput` unless ``votes`` is a valid plaintext for this contest."""
        if len(votes) != len(self.option_limits):
            raise InvalidInput(
                f"expected {len(self.option_limits)} option values, got {len(votes)}"
            )
        for index, (vote, limit) in enumerate(zip(votes, self.option_limits, strict=True)):
            if not 0 <= vote <= limit:
                raise InvalidInput(f"option {index}: value {vote} is outside [0, {limit}]")
        if not self.min_total <= sum(votes) <= self.max_total:
            raise InvalidInput(
                f"the contest total {sum(votes)} is outside [{self.min_total}, {self.max_total}]"
            )


@dataclass(frozen=True, slots=True)
class EncryptedSelection(Generic[C, P]):
    ciphertext: C
    proof: P


@dataclass(frozen=True, slots=True)
class EncryptedContest(Generic[C, P]):
    selections: tuple[EncryptedSelection[C, P], ...]
    total_proof: P

    def to_value(self, codec: BallotCodec[C, P, Any]) -> list[Value]:
        """``[[ciphertext, proof], …, total_proof]`` in the scheme's encodings (scheme A: packed
        ``α‖β`` and ``c‖v`` bytes items inside the canonical TLV)."""
        items: list[Value] = [
            [codec.ciphertext_value(selection.ciphertext), codec.proof_value(selection.proof)]
            for selection in self.selections
        ]
        items.append(codec.proof_value(self.total_proof))
        return items

    def to_tlv(self) -> list[Value]:
        """Scheme A's :meth:`to_value` (its encodings need no key)."""
        codec: AnyCodec = ELGAMAL_CODEC
        return self.to_value(codec)

    @classmethod
    def from_tlv(
        cls,
        value: Decoded,
        shape: ContestShape,
        *,
        what: str,
        codec: AnyCodec = ELGAMAL_CODEC,
    ) -> EncryptedContest[Any, Any]:
        """Parse and validate every ciphertext and proof against the contest's shape."""
        items = expect_list(value, len(shape.option_limits) + 1, what=what)
        selections = []
        for index, (item, limit) in enumerate(zip(items, shape.option_limits, strict=False)):
            where = f"{what}.option[{index}]"
            pair = expect_list(item, 2, what=where)
            selections.append(
                EncryptedSelection(
                    codec.read_ciphertext(pair[0], what=where),
                    codec.read_proof(pair[1], limit + 1, what=f"{where}.proof"),
                )
            )
        branches = shape.max_total - shape.min_total + 1
        total_proof = codec.read_proof(items[-1], branches, what=f"{what}.total_proof")
        return EncryptedContest(tuple(selections), total_proof)


def range_statement(
    election_hash: bytes, binding: bytes, contest: int, option: int | None
) -> RangeStatement:
    return RangeStatement(election_hash, binding, contest, option)


def homomorphic_sum(ciphertexts: Iterable[C], codec: BallotCodec[C, Any, Any]) -> C:
    """The homomorphic sum of ``ciphertexts``; the codec's zero for none."""
    total = codec.zero()
    for ciphertext in ciphertexts:
        total = codec.add(total, ciphertext)
    return total


def contest_sum(contest: EncryptedContest[C, P], codec: BallotCodec[C, P, Any]) -> C:
    """The homomorphic sum of the contest's ciphertexts: what its total proof is about."""
    return homomorphic_sum((selection.ciphertext for selection in contest.selections), codec)


def verify_contest(
    contest: EncryptedContest[Any, Any],
    shape: ContestShape,
    contest_index: int,
    scheme: AnyScheme,
    election_hash: bytes,
    binding: bytes,
) -> None:
    """Verify every option's proof and the proof on the recomputed sum; raise ProofError."""
    if len(contest.selections) != len(shape.option_limits):
        raise ProofError(
            "contest",
            "selection_count",
            f"expected {len(shape.option_limits)} options, got {len(contest.selections)}",
        )
    for option, (selection, limit) in enumerate(
        zip(contest.selections, shape.option_limits, strict=True)
    ):
        statement = range_statement(election_hash, binding, contest_index, option)
        try:
            scheme.verify_range(selection.ciphertext, selection.proof, 0, limit, statement)
        except ProofError as error:
            raise ProofError(
                error.proof, f"option[{option}].{error.field}", error.detail
            ) from error
    total = contest_sum(contest, scheme)
    scheme.check_total(total)
    try:
        scheme.verify_range(
            total,
            contest.total_proof,
            shape.min_total,
            shape.max_total,
            range_statement(election_hash, binding, contest_index, None),
        )
    except ProofError as error:
        raise ProofError(error.proof, f"total.{error.field}", error.detail) from error
