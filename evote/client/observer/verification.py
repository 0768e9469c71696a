"""The verifier's whole-record checks, run on a board whose election is still in progress."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from evote.record import kinds
from evote.verify import checks
from evote.verify.report import VerificationReport

#: Whole-record verification runs when one of these arrives.
PHASE_KINDS: Final = frozenset({kinds.CLOSE, kinds.TALLY, kinds.RESULT})


def applicable_checks(present: Iterable[str]) -> frozenset[str]:
    """The verifier's checks whose inputs are all on a board holding entries of these kinds.

    A board in the middle of an election fails the checks that want what is still to come
    (check 3 wants one ``result`` entry): those are left out until their inputs are there.
    """
    seen = set(present)
    names = {checks.RECORD, checks.MANIFEST}
    if kinds.JOINT_KEY in seen or kinds.PAILLIER_KEY in seen:
        names |= {checks.GUARDIANS, checks.JOINT_KEY}
    if kinds.OPEN in seen:
        names.add(checks.KEY_CHECKS)
    if kinds.CREDENTIALS in seen:
        names |= {checks.CREDENTIALS, checks.BALLOTS, checks.AUDITS}
    if kinds.TALLY in seen:
        names |= {checks.COUNTED_SET, checks.TALLY, checks.CLOSING_CHECKPOINT}
    if kinds.RESULT in seen:
        names = {info.name for info in checks.CHECKS}
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class MirrorVerification:
    """One whole-record run of the verifier on the mirror, and the checks that count."""

    report: VerificationReport
    applicable: frozenset[str]
    size: int

    def failing(self) -> list[str]:
        """The applicable checks that did not pass (failed, or skipped for a failure)."""
        return [
            check.name
            for check in self.report.checks
            if check.name in self.applicable and check.status != "pass"
        ]

    @property
    def passed(self) -> bool:
        return not self.failing()

    @property
    def complete(self) -> bool:
        """Whether every check ran (the result is on the board)."""
        return len(self.applicable) == len(checks.CHECKS)

    @property
    def waiting_for_witnesses(self) -> bool:
        """Only the closing checkpoint's witness quorum is missing: cosignatures may come."""
        return self.failing() == [checks.CLOSING_CHECKPOINT]

    def problems(self) -> list[str]:
        """Every failure of the applicable checks, one line each."""
        lines = []
        for check in self.report.checks:
            if check.name not in self.applicable or check.status == "pass":
                continue
            if check.status == "skipped":
                lines.append(f"check {check.number} ({check.name}): {check.skipped_because}")
            lines.extend(
                f"check {check.number} ({check.name}): {failure.message}"
                for failure in check.failures
            )
        return lines
