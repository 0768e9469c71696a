"""The public ballot box service: Cast and Audit, each answered with a receipt.

A receipt is only sent after the board committed the entry together with the checkpoint it
names; a retry of the same bytes gets the receipt of the leaf already there (OK, not
ALREADY_EXISTS), so a caller who lost an answer (DEADLINE_EXCEEDED, UNAVAILABLE) can safely
send again.
"""

from __future__ import annotations

from typing import Final, Literal

import grpc

from evote.record.ballot_station import BallotStation
from evote.services.board import receipt_for
from evote.services.status import Refused, rpc
from evote.wire.v1 import ballot_box_pb2, ballot_box_pb2_grpc, board_pb2

#: Below this many seconds left, a call gives up before checking proofs.
MIN_SECONDS_FOR_PROOFS: Final = 0.05


class BallotBoxService(ballot_box_pb2_grpc.BallotBoxServicer):
    def __init__(self, station: BallotStation) -> None:
        self.station = station

    @rpc
    def Cast(
        self, request: ballot_box_pb2.CastRequest, context: grpc.ServicerContext
    ) -> board_pb2.Receipt:
        return self._submit(request.entry, "ballot", context)

    @rpc
    def Audit(
        self, request: ballot_box_pb2.AuditRequest, context: grpc.ServicerContext
    ) -> board_pb2.Receipt:
        return self._submit(request.entry, "audit", context)

    def _submit(
        self, data: bytes, kind: Literal["ballot", "audit"], context: grpc.ServicerContext
    ) -> board_pb2.Receipt:
        def before_proofs() -> None:
            remaining = context.time_remaining()  # large when the caller set no deadline
            if remaining < MIN_SECONDS_FOR_PROOFS:
                raise Refused(grpc.StatusCode.DEADLINE_EXCEEDED, "no time left to check proofs")

        admitted = self.station.submit(data, kind, before_proofs=before_proofs)
        return receipt_for(self.station.board, admitted.index, admitted.checkpoint)
