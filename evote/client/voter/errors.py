"""The voter's errors: each says what happened and what the voter can do about it."""

from __future__ import annotations

from evote.errors import EvoteError


class VoterError(EvoteError):
    """Something the voter can act on went wrong; the message says what to do. Unless it says
    otherwise, nothing in the voter directory changed."""


class ServerUnavailable(VoterError):
    """The election server could not be reached or did not answer in time; trying the same
    command again is safe."""


class SetupRefused(VoterError):
    """The public board does not show the election the voter was given, or its setup does not
    check out (signatures, checkpoint, key ceremony, joint key); nothing of the voter's was
    sent."""


class EnrollmentRefused(VoterError):
    """The registry refused the enrollment: unknown code, code already used, or registration
    closed."""


class NotOpenForVoting(VoterError):
    """Voting is not possible now: the election has not opened yet, or it has closed."""


class BallotRefused(VoterError):
    """The ballot box refused the ballot (its reason is in the message); nothing was cast."""


class InvalidChoice(VoterError):
    """A choice does not fit the ballot: it names the contest and what it allows."""
