"""What the observer reports: a finding, one poll, and a board that rewrote its history."""

from __future__ import annotations

from dataclasses import dataclass

from evote.client.observer.verification import MirrorVerification
from evote.errors import ConsistencyError


class HistoryRewritten(ConsistencyError):
    """The board contradicted what it signed or served before: it rewrote its history.

    ``earlier`` is the last checkpoint the observer had verified (``None`` before the first),
    ``later`` the one that contradicts it; both are notes signed by the log, so together they
    prove the fork to anyone holding the manifest. ``entry`` names the entry that changed,
    when one is known.
    """

    def __init__(
        self, message: str, *, earlier: str | None, later: str, entry: int | None = None
    ) -> None:
        super().__init__(message)
        self.earlier = earlier
        self.later = later
        self.entry = entry

    def diagnostics(self) -> str:
        earlier = self.earlier or "(none verified yet)\n"
        return (
            f"THE BOARD REWROTE ITS HISTORY: {self}\n\n"
            f"earlier checkpoint (verified before):\n{earlier}\n"
            f"later checkpoint (contradicts it):\n{self.later}"
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """Something the observer checked that did not check out.

    ``check`` is ``"checkpoint"`` (a signature or cosignature, or a checkpoint the board
    cannot back with entries), ``"entry"`` (an envelope or signature), ``"proof"`` (a ballot's
    or an audit's proofs) or ``"ceremony"`` (the election context could not be recomputed).
    """

    check: str
    message: str
    entry: int | None = None

    def __str__(self) -> str:
        where = "" if self.entry is None else f"entry {self.entry}: "
        return f"{self.check}: {where}{self.message}"


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll saw, for the live line."""

    poll: int
    size: int
    new_entries: int
    ballots: int
    failures: int
    new_findings: tuple[Finding, ...] = ()
    cosigned: int | None = None
    verification: MirrorVerification | None = None
    unavailable: str | None = None
    warning: str | None = None
