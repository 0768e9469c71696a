"""The witness service (C2SP tlog-witness over gRPC): cosign only a log that only grew.

One :class:`evote.board.witness.Witness` per server; calls are serialised, since each
cosignature moves the witness's state. ``on_cosigned`` lets the operator persist that state
(it must be stored before the cosignature is relied on: a witness that forgets its state could
be led to cosign a fork).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc

from evote.board.witness import Witness, WitnessState
from evote.services.status import Refused, rpc
from evote.wire.v1 import witness_pb2, witness_pb2_grpc


def _now() -> int:
    return int(time.time())


class WitnessService(witness_pb2_grpc.WitnessServicer):
    def __init__(
        self,
        witness: Witness,
        *,
        clock: Callable[[], int] = _now,
        on_cosigned: Callable[[WitnessState], None] | None = None,
    ) -> None:
        self.witness = witness
        self._clock = clock
        self._on_cosigned = on_cosigned
        self._lock = threading.Lock()

    @rpc
    def AddCheckpoint(
        self, request: witness_pb2.AddCheckpointRequest, context: grpc.ServicerContext
    ) -> witness_pb2.Cosignature:
        with self._lock:
            known = self.witness.state.size
            if request.old_size != known:
                # The log must ask again with a proof from the size this witness knows.
                context.set_trailing_metadata((("evote-witness-size", str(known)),))
                raise Refused(
                    grpc.StatusCode.ABORTED,
                    f"witness {self.witness.name} last cosigned size {known}, "
                    f"not {request.old_size}",
                )
            timestamp = max(self._clock(), self.witness.state.timestamp)
            signature = self.witness.add_checkpoint(
                request.checkpoint, request.old_size, list(request.consistency_proof), timestamp
            )
            if self._on_cosigned is not None:
                self._on_cosigned(self.witness.state)
        return witness_pb2.Cosignature(line=signature.line().rstrip("\n"))
