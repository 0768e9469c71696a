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


class SplitView(HistoryRewritten):
    """The log signed two histories: a checkpoint that reached the observer another way (a
    voter's receipt, another observer's or witness's gossip) contradicts the observer's own.

    ``earlier`` is the observer's own checkpoint and ``later`` the other one; both are signed by
    the log key, so together they prove the equivocation to anyone holding the manifest.
    ``source`` says where the other checkpoint came from.
    """

    def __init__(
        self,
        message: str,
        *,
        earlier: str | None,
        later: str,
        source: str,
        entry: int | None = None,
    ) -> None:
        super().__init__(message, earlier=earlier, later=later, entry=entry)
        self.source = source

    def diagnostics(self) -> str:
        earlier = self.earlier or "(none verified yet)\n"
        return (
            f"THE BOARD SHOWED TWO HISTORIES (split view): {self}\n\n"
            f"this observer's checkpoint:\n{earlier}\n"
            f"the checkpoint from {self.source} (contradicts it):\n{self.later}"
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """Something the observer checked that did not check out.

    ``check`` is ``"checkpoint"`` (a signature or cosignature, or a checkpoint the board
    cannot back with entries), ``"entry"`` (an envelope or signature), ``"proof"`` (a ballot's
    or an audit's proofs), ``"ceremony"`` (the election context could not be recomputed) or
    ``"registration"`` (the registry's public counts disagree with the credential list:
    :mod:`evote.client.observer.registration`).
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
