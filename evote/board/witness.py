"""A witness: cosigns a log's checkpoints only after checking that the log only grew.

C2SP ``tlog-witness``: the log presents (old size, consistency proof, new checkpoint); the
witness keeps only the latest checkpoint it cosigned per log, verifies the log's signature and
the consistency proof from that checkpoint, and only then cosigns. A witness that cosigned
size ``n`` never cosigns a tree that does not extend it, so two inconsistent views cannot both
gather a majority quorum. The caller supplies the time and persists :attr:`state`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evote.board.checkpoint import Checkpoint, cosign, open_checkpoint
from evote.board.merkle import EMPTY_ROOT, verify_consistency
from evote.board.note import NoteSignature, check_key_name
from evote.crypto.signing import SigningKey, VerifyKey
from evote.errors import CheckpointError


@dataclass(frozen=True, slots=True)
class WitnessState:
    """The last tree the witness cosigned for one log, and when."""

    size: int
    root: bytes
    timestamp: int


class Witness:
    """One witness of one log."""

    def __init__(
        self,
        name: str,
        key: SigningKey,
        origin: str,
        log_key: VerifyKey,
        state: WitnessState | None = None,
    ) -> None:
        check_key_name(name)
        self.name = name
        self._key = key
        self.origin = origin
        self.log_key = log_key
        self.state = state or WitnessState(0, EMPTY_ROOT, 0)

    @property
    def verify_key(self) -> VerifyKey:
        return self._key.verify_key

    def add_checkpoint(
        self, text: str, old_size: int, proof: Sequence[bytes], timestamp: int
    ) -> NoteSignature:
        """Check ``text`` against the last cosigned tree and return this witness's cosignature.

        Raises :class:`CheckpointError` if the log's signature is bad, if ``old_size`` is not
        the size this witness last cosigned (the log must ask again from that size), or if the
        new tree does not extend the old one (:class:`ConsistencyError`).
        """
        checkpoint, note = open_checkpoint(text, self.origin, self.log_key)
        if old_size != self.state.size:
            raise CheckpointError(
                f"witness {self.name} last cosigned size {self.state.size}, not {old_size}: "
                "send a consistency proof from that size"
            )
        if timestamp < self.state.timestamp:
            raise CheckpointError(
                f"witness {self.name}: the clock went backwards ({timestamp} < "
                f"{self.state.timestamp})"
            )
        self._check_extends(checkpoint, proof)
        signature = cosign(note, self.name, self._key, timestamp)
        self.state = WitnessState(checkpoint.size, checkpoint.root, timestamp)
        return signature

    def _check_extends(self, checkpoint: Checkpoint, proof: Sequence[bytes]) -> None:
        verify_consistency(
            self.state.size, checkpoint.size, self.state.root, checkpoint.root, proof
        )
