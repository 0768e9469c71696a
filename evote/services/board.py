"""The public board service: checkpoints, entries in pages, proofs and receipts."""

from __future__ import annotations

from typing import Final

import grpc

from evote.board.checkpoint import Checkpoint
from evote.board.log import BulletinBoard
from evote.board.merkle import leaf_hash
from evote.board.note import parse_note
from evote.services.status import Refused, rpc
from evote.wire.v1 import board_pb2, board_pb2_grpc

#: The largest page of entries one GetEntries answers (entries are at most ~1 MiB each, so
#: the real bound is also the server's send limit; typical ballots are a few KiB).
MAX_PAGE: Final = 1000
#: The page size when the caller does not ask for one.
DEFAULT_PAGE: Final = 256


def checkpoint_size(text: str) -> int:
    """The tree size a checkpoint note states (its signature was made by our own log)."""
    return Checkpoint.parse(parse_note(text).body).size


def receipt_for(board: BulletinBoard, index: int, checkpoint: str) -> board_pb2.Receipt:
    """A receipt for entry ``index``: its tracking code and the proof against ``checkpoint``."""
    size = checkpoint_size(checkpoint)
    return board_pb2.Receipt(
        election_id=board.rules.election_id,
        tracking_code=leaf_hash(board.entry(index)),
        leaf_index=index,
        checkpoint=checkpoint,
        inclusion_proof=board.inclusion_proof(index, size),
    )


class BoardService(board_pb2_grpc.BoardServicer):
    """Read-only access to one board; every answer is checkable against a signed checkpoint."""

    def __init__(self, board: BulletinBoard) -> None:
        self.board = board

    @rpc
    def GetCheckpoint(
        self, request: board_pb2.GetCheckpointRequest, context: grpc.ServicerContext
    ) -> board_pb2.Checkpoint:
        if request.size == 0:
            return board_pb2.Checkpoint(note=self.board.latest_checkpoint())
        if request.size > self.board.size:
            raise Refused(
                grpc.StatusCode.OUT_OF_RANGE,
                f"the board has {self.board.size} entries, not {request.size}",
            )
        for text in self.board.checkpoints():
            if checkpoint_size(text) == request.size:
                return board_pb2.Checkpoint(note=text)
        raise Refused(
            grpc.StatusCode.NOT_FOUND, f"the log signed no checkpoint of size {request.size}"
        )

    @rpc
    def GetEntries(
        self, request: board_pb2.GetEntriesRequest, context: grpc.ServicerContext
    ) -> board_pb2.Entries:
        size = self.board.size
        if request.start > size:
            raise Refused(
                grpc.StatusCode.OUT_OF_RANGE, f"entry {request.start} is past the board's {size}"
            )
        limit = min(request.limit or DEFAULT_PAGE, MAX_PAGE)
        entries = self.board.entries(request.start, request.start + limit)
        return board_pb2.Entries(start=request.start, entries=entries)

    @rpc
    def GetInclusionProof(
        self, request: board_pb2.GetInclusionProofRequest, context: grpc.ServicerContext
    ) -> board_pb2.InclusionProof:
        self._check_size(request.tree_size)
        if request.index >= request.tree_size:
            raise Refused(
                grpc.StatusCode.OUT_OF_RANGE,
                f"entry {request.index} is not in a tree of {request.tree_size} entries",
            )
        path = self.board.inclusion_proof(request.index, request.tree_size)
        return board_pb2.InclusionProof(index=request.index, tree_size=request.tree_size, path=path)

    @rpc
    def GetConsistencyProof(
        self, request: board_pb2.GetConsistencyProofRequest, context: grpc.ServicerContext
    ) -> board_pb2.ConsistencyProof:
        self._check_size(request.new_size)
        if request.old_size > request.new_size:
            raise Refused(
                grpc.StatusCode.OUT_OF_RANGE,
                f"no proof from size {request.old_size} down to {request.new_size}",
            )
        path = self.board.consistency_proof(request.old_size, request.new_size)
        return board_pb2.ConsistencyProof(
            old_size=request.old_size, new_size=request.new_size, path=path
        )

    @rpc
    def GetReceipt(
        self, request: board_pb2.GetReceiptRequest, context: grpc.ServicerContext
    ) -> board_pb2.Receipt:
        index = self.board.find(request.tracking_code)
        if index is None:
            raise Refused(grpc.StatusCode.NOT_FOUND, "no entry has this tracking code")
        return receipt_for(self.board, index, self.board.latest_checkpoint())

    def _check_size(self, tree_size: int) -> None:
        if not 0 < tree_size <= self.board.size:
            raise Refused(
                grpc.StatusCode.OUT_OF_RANGE,
                f"tree size {tree_size} is not between 1 and the board's {self.board.size}",
            )
