"""One contest of an encrypted ballot: a ciphertext and range proof per option, and a range
proof on their sum (crypto spec §3.6.2–3.6.3).

Option ``s`` of contest ``c`` takes a value in ``[0, R_s]`` (``R_s = 1`` for a yes/no mark);
the contest's total lies in ``[min, max]`` (``min = 0`` allows an undervote). Nonces derive
from the ballot seed (encryption is in :mod:`evote.election.encrypt`). The verifier recomputes
the contest sum itself and never reads it from the ballot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evote.crypto.elgamal import CIPHERTEXT_BYTES, Ciphertext, sum_ciphertexts
from evote.crypto.encoding import Decoded, expect_bytes, expect_list
from evote.crypto.group import Point
from evote.crypto.proofs.range import BRANCH_BYTES, RangeProof
from evote.crypto.proofs.statements import RangeStatement
from evote.crypto.scheme import SCHEME_A
from evote.errors import InvalidInput, ProofError


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
class EncryptedSelection:
    ciphertext: Ciphertext
    proof: RangeProof


@dataclass(frozen=True, slots=True)
class EncryptedContest:
    selections: tuple[EncryptedSelection, ...]
    total_proof: RangeProof

    def to_tlv(self) -> list[bytes | list[bytes]]:
        """``[[α‖β, proof], …, total_proof]``: packed bytes items inside the canonical TLV."""
        items: list[bytes | list[bytes]] = [
            [selection.ciphertext.encode(), selection.proof.encode()]
            for selection in self.selections
        ]
        items.append(self.total_proof.encode())
        return items

    @classmethod
    def from_tlv(cls, value: Decoded, shape: ContestShape, *, what: str) -> EncryptedContest:
        """Parse and validate every point and scalar against the contest's shape."""
        items = expect_list(value, len(shape.option_limits) + 1, what=what)
        selections = []
        for index, (item, limit) in enumerate(zip(items, shape.option_limits, strict=False)):
            where = f"{what}.option[{index}]"
            pair = expect_list(item, 2, what=where)
            ciphertext = Ciphertext.decode(expect_bytes(pair[0], CIPHERTEXT_BYTES, what=where))
            proof_bytes = expect_bytes(pair[1], (limit + 1) * BRANCH_BYTES, what=f"{where}.proof")
            selections.append(
                EncryptedSelection(ciphertext, RangeProof.decode(proof_bytes, limit + 1))
            )
        branches = shape.max_total - shape.min_total + 1
        total_bytes = expect_bytes(items[-1], branches * BRANCH_BYTES, what=f"{what}.total_proof")
        return cls(tuple(selections), RangeProof.decode(total_bytes, branches))


def range_statement(
    election_hash: bytes, binding: bytes, contest: int, option: int | None
) -> RangeStatement:
    return RangeStatement(election_hash, binding, contest, option)


def verify_contest(
    contest: EncryptedContest,
    shape: ContestShape,
    contest_index: int,
    key: Point,
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
            SCHEME_A.verify_range(selection.ciphertext, selection.proof, 0, limit, key, statement)
        except ProofError as error:
            raise ProofError(
                error.proof, f"option[{option}].{error.field}", error.detail
            ) from error
    total = sum_ciphertexts([selection.ciphertext for selection in contest.selections])
    if total.alpha.is_identity():  # R5: only a deliberately crafted ballot gets here
        raise ProofError("contest", "total", "the options' nonces cancel out: a crafted ballot")
    try:
        SCHEME_A.verify_range(
            total,
            contest.total_proof,
            shape.min_total,
            shape.max_total,
            key,
            range_statement(election_hash, binding, contest_index, None),
        )
    except ProofError as error:
        raise ProofError(error.proof, f"total.{error.field}", error.detail) from error
