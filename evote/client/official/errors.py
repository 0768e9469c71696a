"""What can stop an official's step, each error saying whether the board, the step or the entry
is at fault; nothing was signed or posted when one is raised."""

from __future__ import annotations

import grpc

from evote.errors import EvoteError, VerificationError


class BoardUntrusted(VerificationError):
    """What the board served does not check out: another election, an entry or a checkpoint
    that is not signed as the manifest says, or entries that do not match the signed root.
    Nothing was signed or posted."""


class StepRefused(EvoteError):
    """The step cannot be taken on the board as it is now (wrong phase, something it needs is
    not on the board yet, or it was taken already). Nothing was signed or posted."""


class EntryRefused(VerificationError):
    """An entry handed in to sign or to post does not check against the board (another
    election, wrong signers, or a body that is not what the board gives). Nothing was signed
    or posted."""


class ServerRefused(EvoteError):
    """A call to the election's services failed; ``code`` is the gRPC status."""

    def __init__(self, message: str, code: grpc.StatusCode) -> None:
        super().__init__(message)
        self.code = code
