"""A failed gRPC call, turned into an error a person can act on.

The clients' other modules never handle a gRPC status. What a failed call means depends on who
made it and what they were doing (a voter whose cast found the election closed, an official
whose post was refused for the wrong role certificate), so each client keeps its own advice:
:func:`evote.client.voter.calls.rpc_failure` and :func:`evote.client.official.calls.rpc_refusal`.
What they share is here: catching the failure and handing its status code and the server's
details to that advice, so that no caller ever sees a bare :class:`grpc.RpcError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import grpc

from evote.errors import EvoteError

#: The error a person gets for a failed call, from its status code and the server's details.
Advice = Callable[[grpc.StatusCode, str | None], EvoteError]


@contextlib.contextmanager
def failures_as(advice: Advice) -> Iterator[None]:
    """Raise ``advice``'s error for a gRPC call that fails in the block.

    The gRPC error is not chained: its status and details are in the advice's message, and its
    traceback says nothing a person can act on.
    """
    try:
        yield
    except grpc.RpcError as error:
        raise advice(error.code(), error.details()) from None
