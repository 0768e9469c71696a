"""One table from evote's errors to gRPC status codes, and the guard every RPC runs in.

The table is read from the most specific class up (the error's MRO), so a subclass can get a
more precise code than its parent. Domain messages are meant for the caller and are passed
on; anything that is not an :class:`~evote.errors.EvoteError` is a bug, logged here and
answered INTERNAL without details. Storage integrity failures are answered DATA_LOSS with a
fixed message (the details, such as file paths, stay in the server's log).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Final, TypeVar

import grpc

from evote.errors import (
    BoardError,
    CheckpointError,
    ConsistencyError,
    DecodeError,
    DuplicateEntry,
    EntryRejected,
    EvoteError,
    InvalidInput,
    StoreCorrupted,
    StoreWriteFailed,
    VerificationError,
)
from evote.record.ballot_box import BallotRejected
from evote.record.ballot_station import ElectionNotOpen
from evote.record.proof_workers import ProofWorkersUnavailable

log = logging.getLogger(__name__)

#: Domain error → status code (docs: board-services-storage.md §2.8).
STATUS_OF: Final[Mapping[type[EvoteError], grpc.StatusCode]] = {
    DecodeError: grpc.StatusCode.INVALID_ARGUMENT,
    EntryRejected: grpc.StatusCode.INVALID_ARGUMENT,
    BallotRejected: grpc.StatusCode.INVALID_ARGUMENT,
    ElectionNotOpen: grpc.StatusCode.FAILED_PRECONDITION,
    # Only where a duplicate is not the idempotent success (Cast, Audit handle it themselves).
    DuplicateEntry: grpc.StatusCode.ALREADY_EXISTS,
    VerificationError: grpc.StatusCode.INVALID_ARGUMENT,
    CheckpointError: grpc.StatusCode.INVALID_ARGUMENT,
    # The caller's tree and ours disagree: a precondition of the request, not its syntax.
    ConsistencyError: grpc.StatusCode.FAILED_PRECONDITION,
    StoreCorrupted: grpc.StatusCode.DATA_LOSS,
    # The disk cannot write now (full, I/O error): nothing was stored and a retry may succeed.
    StoreWriteFailed: grpc.StatusCode.UNAVAILABLE,
    BoardError: grpc.StatusCode.FAILED_PRECONDITION,
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    # The proof checkers are down: nothing was admitted, and a retried Cast is idempotent.
    ProofWorkersUnavailable: grpc.StatusCode.UNAVAILABLE,
}

_HIDDEN: Final[Mapping[grpc.StatusCode, str]] = {
    grpc.StatusCode.DATA_LOSS: "the board's storage failed an integrity check; refusing to serve",
}


class Refused(Exception):
    """Raised by a servicer to answer a precise status (NOT_FOUND, OUT_OF_RANGE, ABORTED...)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def status_of(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and the details a caller gets for ``error``."""
    if isinstance(error, Refused):
        return error.code, error.details
    if isinstance(error, EvoteError):
        for cls in type(error).__mro__:
            code = STATUS_OF.get(cls)
            if code is not None:
                return code, _HIDDEN.get(code, str(error))
    return grpc.StatusCode.INTERNAL, "internal error"


S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")


def rpc(
    method: Callable[[S, Req, grpc.ServicerContext], Resp],
) -> Callable[[S, Req, grpc.ServicerContext], Resp]:
    """Run a servicer method, answering any exception with its mapped status."""

    @functools.wraps(method)
    def guarded(self: S, request: Req, context: grpc.ServicerContext) -> Resp:
        try:
            return method(self, request, context)
        except Exception as error:
            code, details = status_of(error)
            if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS):
                log.exception("%s failed", getattr(method, "__qualname__", "rpc"))
            context.abort(code, details)

    return guarded
