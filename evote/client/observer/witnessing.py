"""Cosigning, as one of the election's witnesses, the checkpoints the observer verified.

This is C2SP ``tlog-witness`` in the pull model: the witness follows the board and hands its
cosignature back. It cosigns each new checkpoint the observer verified, with
:class:`evote.board.witness.Witness`, from a consistency proof it computes from its own mirror.
The witness's state is the largest checkpoint in the mirror that carries its own cosignature:
the cosigned checkpoint is written to ``checkpoints.tlv`` (atomically, fsync'd) **before** the
cosignature can leave the process, so a restarted witness never forgets what it signed and
cannot be led to cosign a fork. A cosignature the board did not take stays
:attr:`Cosigner.pending` and is handed in again on later polls (the board takes a repeated
line once).
"""

from __future__ import annotations

from collections.abc import Callable

from evote.board.checkpoint import Checkpoint, cosignature_time
from evote.board.merkle import EMPTY_ROOT
from evote.board.note import ALGORITHM_COSIGNATURE_V1, SignedNote, key_id
from evote.board.witness import Witness, WitnessState
from evote.client.observer.mirror import Mirror
from evote.client.observer.reports import HistoryRewritten
from evote.crypto.signing import SigningKey
from evote.election.manifest import Manifest
from evote.errors import ConsistencyError, InvalidInput

#: ``send(size, line)``: hand a cosignature line (no newline) over the board's checkpoint of
#: ``size`` to the board; answers the checkpoint note with every cosignature attached so far.
#: :meth:`evote.client.channels.ControlClient.add_cosignature` with a witness role certificate.
CosignatureSender = Callable[[int, str], str]


class Cosigner:
    """One witness cosigning the checkpoints in ``mirror`` (see the module); ``clock`` is the
    witness's time in seconds."""

    def __init__(
        self, key: SigningKey, manifest: Manifest, mirror: Mirror, clock: Callable[[], int]
    ) -> None:
        names = [name for name, known in manifest.witnesses if known == key.verify_key]
        if not names:
            listed = ", ".join(name for name, _ in manifest.witnesses)
            raise InvalidInput(
                f"the witness key {key.verify_key.encode().hex()} is not one of this election's "
                f"witnesses ({listed}): use the key the manifest names"
            )
        name = names[0]
        self._own = key_id(name, ALGORITHM_COSIGNATURE_V1, key.verify_key)
        self._mirror = mirror
        self._clock = clock
        state = WitnessState(0, EMPTY_ROOT, 0)
        for size in sorted(mirror.checkpoints, reverse=True):
            checkpoint, note = mirror.checkpoints[size]
            if note.find(name, self._own) is not None:
                state = WitnessState(
                    size, checkpoint.root, cosignature_time(note, name, key.verify_key)
                )
                break
        self.witness = Witness(name, key, manifest.log_origin, manifest.log_key, state)
        #: The cosignature line to hand in, over the checkpoint of the given size.
        self.pending: tuple[int, str] | None = None

    @property
    def name(self) -> str:
        return self.witness.name

    @property
    def state(self) -> WitnessState:
        return self.witness.state

    def cosign(self, checkpoint: Checkpoint, served: SignedNote) -> int | None:
        """Cosign the verified checkpoint if it is newer than the witness's state, or make the
        line pending again if the board's copy (``served``) lacks it. Returns the size cosigned
        now, if any."""
        witness = self.witness
        if checkpoint.size > witness.state.size:
            return self._cosign_new(checkpoint)
        if self.pending is None and checkpoint.size == witness.state.size:
            mine = self._mirror.checkpoints[checkpoint.size][1].find(witness.name, self._own)
            if mine is not None and served.find(witness.name, self._own) is None:
                self.pending = (checkpoint.size, mine.line().rstrip("\n"))
        return None

    def _cosign_new(self, checkpoint: Checkpoint) -> int:
        witness = self.witness
        stored = self._mirror.checkpoints[checkpoint.size][1]
        if stored.find(witness.name, self._own) is not None:
            # The board holds a cosignature this witness made before its state was lost.
            witness.state = WitnessState(
                checkpoint.size,
                checkpoint.root,
                cosignature_time(stored, witness.name, witness.verify_key),
            )
            return checkpoint.size
        previous = witness.state
        proof = self._mirror.consistency_proof(previous.size, checkpoint.size)
        timestamp = max(self._clock(), previous.timestamp)
        try:
            signature = witness.add_checkpoint(stored.text(), previous.size, proof, timestamp)
        except ConsistencyError as error:
            earlier = self._mirror.checkpoints.get(previous.size)
            raise HistoryRewritten(
                f"the checkpoint of size {checkpoint.size} does not extend the one of size "
                f"{previous.size} this witness cosigned: {error}",
                earlier=None if earlier is None else earlier[1].text(),
                later=stored.text(),
            ) from error
        try:
            # Durable before the line can leave this process.
            self._mirror.add_cosignature(checkpoint.size, signature)
        except BaseException:
            witness.state = previous
            raise
        self.pending = (checkpoint.size, signature.line().rstrip("\n"))
        return checkpoint.size
