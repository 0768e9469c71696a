"""What a proof is about: the context every challenge hash binds (crypto spec §5.1 rule 2).

These are scheme-neutral, so that every homomorphic scheme binds the same election, ballot
and position into its proofs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evote.errors import InvalidInput

HASH_BYTES = 32


@dataclass(frozen=True, slots=True)
class RangeStatement:
    """Binds a range proof to one position of one ballot of one election.

    ``election_hash`` is ``H_E``, ``binding`` the ballot binding ``D_b`` (credential and ballot
    id), ``contest_index`` the contest, and ``selection_index`` the option, or ``None`` for the
    proof on the contest's sum.
    """

    election_hash: bytes
    binding: bytes
    contest_index: int
    selection_index: int | None

    def __post_init__(self) -> None:
        if len(self.election_hash) != HASH_BYTES or len(self.binding) != HASH_BYTES:
            raise InvalidInput("election hash and ballot binding are 32-byte hashes")
        if self.contest_index < 0 or (
            self.selection_index is not None and self.selection_index < 0
        ):
            raise InvalidInput("contest and selection indices are non-negative")

    @property
    def label(self) -> Literal["range-selection", "range-contest"]:
        return "range-contest" if self.selection_index is None else "range-selection"

    @property
    def position(self) -> int | str:
        """The hashed position item: the option index, or the text ``"contest"``."""
        return "contest" if self.selection_index is None else self.selection_index


@dataclass(frozen=True, slots=True)
class DecryptionTarget:
    """Binds a decryption share to one election and one decrypted object.

    ``target_id`` names the object: a contest and option of the tally, or a spoiled ballot.
    """

    election_hash: bytes
    target_id: bytes

    def __post_init__(self) -> None:
        if len(self.election_hash) != HASH_BYTES:
            raise InvalidInput("the election hash is a 32-byte hash")
        if not self.target_id:
            raise InvalidInput("a decryption target needs a non-empty identifier")
