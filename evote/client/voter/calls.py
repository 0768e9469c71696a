"""Talking to the election's server: the channel, and what a failed call means to a voter.

This is the voter package's only use of gRPC: every other module gets a :class:`VoterError`
that says what to do, never a status code.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Literal

import grpc

from evote.client.calls import failures_as
from evote.client.channels import Channel, secure_channel
from evote.client.voter.errors import (
    BallotRefused,
    EnrollmentRefused,
    NotOpenForVoting,
    ServerUnavailable,
    VoterError,
)

#: What the voter was doing when a call failed (it decides the advice given).
Action = Literal["enroll", "cast", "audit", "read"]


def rpc_failure(
    code: grpc.StatusCode, details: str | None, *, server: str, action: Action
) -> VoterError:
    """The error a voter gets for a failed call: what happened and what to do about it."""
    detail = f": {details}" if details else ""
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        what = "is not reachable" if code == grpc.StatusCode.UNAVAILABLE else "did not answer"
        return ServerUnavailable(
            f"the election server {server} {what}; check the address and your connection, "
            "then run the same command again: the retry is safe"
        )
    if action == "enroll":
        if code == grpc.StatusCode.PERMISSION_DENIED:
            return EnrollmentRefused(
                "the registry does not know this enrollment code: check it against your "
                "letter and try again (a code is used exactly as printed)"
            )
        if code == grpc.StatusCode.ALREADY_EXISTS:
            return EnrollmentRefused(
                "this enrollment code was already used to enroll another credential (or this "
                f"credential is enrolled under another code){detail}; if it was not you, tell "
                "the election officials"
            )
        if code == grpc.StatusCode.FAILED_PRECONDITION:
            return EnrollmentRefused(
                f"registration is closed{detail}; ask the election officials what you can do"
            )
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return EnrollmentRefused(f"the registry refused the request{detail}")
    if action in ("cast", "audit"):
        what = "ballot" if action == "cast" else "challenged ballot"
        if code == grpc.StatusCode.FAILED_PRECONDITION:
            return NotOpenForVoting(
                f"the ballot box is not taking ballots now{detail}; the election is not open "
                "(it has not opened yet, or it has closed)"
            )
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return BallotRefused(f"the ballot box refused your {what}{detail}")
    return VoterError(f"the election server {server} answered {code.name}{detail}")


def calling(server: str, action: Action) -> contextlib.AbstractContextManager[None]:
    """Turn a failed gRPC call into the voter's error for ``action``."""
    return failures_as(functools.partial(rpc_failure, server=server, action=action))


@contextlib.contextmanager
def connect(server: str, ca_pem: bytes) -> Iterator[Channel]:
    """A TLS channel to the election's public port trusting only the election CA."""
    channel = secure_channel(server, ca_pem)
    try:
        yield channel
    finally:
        channel.close()
