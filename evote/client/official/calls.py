"""What a failed call to the election's services means to an official, a guardian or the
credential authority posting on the control port, or to anyone reading the board: the address,
the role certificate or the phase to check, as a
:class:`~evote.client.official.errors.ServerRefused` that keeps the gRPC status.
"""

from __future__ import annotations

import contextlib
import functools

import grpc

from evote.client.calls import failures_as
from evote.client.official.errors import ServerRefused


def rpc_refusal(
    code: grpc.StatusCode, details: str | None, *, server: str, doing: str
) -> ServerRefused:
    """The error a person gets for a failed call: what happened and what to do about it."""
    detail = f": {details}" if details else ""
    if code == grpc.StatusCode.UNAVAILABLE:
        message = (
            f"{server} is not reachable while {doing} (server down?){detail}. Check the address "
            "and that `evote serve` runs there, that --ca is the election's ca.pem, and on the "
            "control port that --role-dir holds a valid role certificate (one the server does "
            "not accept also shows as unavailable); then run the same command again: it is safe"
        )
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        message = f"{server} did not answer in time while {doing}; run the same command again"
    elif code == grpc.StatusCode.PERMISSION_DENIED:
        message = (
            f"wrong role: the server refused {doing}{detail}. Use the role directory "
            "`evote ca issue` gave the party this belongs to (officials: --role official; "
            "guardian i: --role guardian:i; the credential authority: --role "
            "credential-authority)"
        )
    elif code == grpc.StatusCode.UNAUTHENTICATED:
        message = (
            f"the control port did not accept your role certificate while {doing}{detail}; "
            "give --role-dir the directory `evote ca issue` wrote"
        )
    elif code == grpc.StatusCode.FAILED_PRECONDITION:
        message = f"wrong phase: the server refused {doing}{detail}"
    elif code == grpc.StatusCode.INVALID_ARGUMENT:
        message = f"the server refused {doing}{detail}; nothing was changed"
    else:
        message = f"{server} answered {code.name} while {doing}{detail}"
    return ServerRefused(message, code)


def calling(server: str, doing: str) -> contextlib.AbstractContextManager[None]:
    """Turn a failed gRPC call into a :class:`ServerRefused` a person can act on."""
    return failures_as(functools.partial(rpc_refusal, server=server, doing=doing))
